#include "cron/cron.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include "base/duration.h"
#include "cron/civil_time.h"

namespace bananas::cron {
namespace {

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kWeekdayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};
// @every: at least a second (occurrences are whole seconds), at most a year.
constexpr int64_t kMinEveryMs = 1000;
constexpr int64_t kMaxEveryMs = 366LL * 86400 * 1000;

enum class FieldKind { kSecond, kMinute, kHour, kDay, kMonth, kWeekday };

struct FieldInfo {
  const char* name;
  int min;
  int max;
};

FieldInfo InfoOf(FieldKind kind) {
  switch (kind) {
    case FieldKind::kSecond:
      return {"second", 0, 59};
    case FieldKind::kMinute:
      return {"minute", 0, 59};
    case FieldKind::kHour:
      return {"hour", 0, 23};
    case FieldKind::kDay:
      return {"day-of-month", 1, 31};
    case FieldKind::kMonth:
      return {"month", 1, 12};
    case FieldKind::kWeekday:
      return {"day-of-week", 0, 7};
  }
  return {"?", 0, 0};
}

std::string Ordinal(int position) {
  static constexpr const char* kOrdinals[] = {"1st", "2nd", "3rd", "4th", "5th", "6th"};
  return position >= 1 && position <= 6 ? kOrdinals[position - 1] : std::to_string(position);
}

// Quotes user text in a message, cut to a sane length.
std::string Quote(std::string_view text) {
  if (text.size() > 40) return "\"" + std::string(text.substr(0, 40)) + "...\"";
  return "\"" + std::string(text) + "\"";
}

class FieldParser {
 public:
  FieldParser(FieldKind kind, int position) : kind_(kind), info_(InfoOf(kind)), position_(position) {}

  Status Error(const std::string& what) const {
    return Status::InvalidArgument("cron: field \"" + std::string(info_.name) + "\" (" +
                                   Ordinal(position_) + "): " + what);
  }

  // The set of values as a bit mask (bit v for value v); day-of-week 7 folds into 0.
  Result<uint64_t> Parse(std::string_view text) {
    uint64_t bits = 0;
    if (text.empty()) return Error("empty");
    size_t start = 0;
    while (true) {
      size_t comma = text.find(',', start);
      std::string_view item =
          text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      auto item_bits = Item(item);
      if (!item_bits) return item_bits.status();
      bits |= *item_bits;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (kind_ == FieldKind::kWeekday && (bits & (uint64_t{1} << 7)) != 0) {
      bits = (bits & ~(uint64_t{1} << 7)) | 1;
    }
    return bits;
  }

 private:
  Result<uint64_t> Item(std::string_view item) {
    if (item.empty()) return Error("empty list entry");
    std::string_view base = item;
    int step = 1;
    size_t slash = item.find('/');
    if (slash != std::string_view::npos) {
      base = item.substr(0, slash);
      std::string_view step_text = item.substr(slash + 1);
      auto s = Number(step_text, "step");
      if (!s) return s.status();
      if (*s == 0) return Error("step 0 in " + Quote(item) + " (must be at least 1)");
      step = *s;
    }
    int low = info_.min;
    int high = kind_ == FieldKind::kWeekday ? 6 : info_.max;
    if (base == "*" || base == "?") {
      if (base == "?" && kind_ != FieldKind::kDay && kind_ != FieldKind::kWeekday) {
        return Error("\"?\" is only allowed in day-of-month and day-of-week");
      }
    } else {
      size_t dash = base.find('-');
      auto first = Value(base.substr(0, dash));
      if (!first) return first.status();
      low = *first;
      if (dash != std::string_view::npos) {
        auto last = Value(base.substr(dash + 1));
        if (!last) return last.status();
        high = *last;
        if (high < low) {
          return Error("range " + Quote(base) + " is backwards (" + std::to_string(low) + " > " +
                       std::to_string(high) + ")");
        }
      } else if (slash != std::string_view::npos) {
        high = info_.max;  // "N/step": N to the maximum
      } else {
        high = low;
      }
    }
    if (slash != std::string_view::npos && step > info_.max - info_.min + 1) {
      return Error("step " + std::to_string(step) + " in " + Quote(item) + " is larger than the " +
                   "field's range " + std::to_string(info_.min) + "-" + std::to_string(info_.max));
    }
    uint64_t bits = 0;
    for (int v = low; v <= high; v += step) bits |= uint64_t{1} << v;
    return bits;
  }

  Result<int> Number(std::string_view text, const char* what) const {
    if (text.empty()) return Error(std::string("missing ") + what);
    int v = 0;
    for (char c : text) {
      if (!std::isdigit(static_cast<unsigned char>(c))) {
        return Error(Quote(text) + " is not a number");
      }
      v = v * 10 + (c - '0');
      if (v > 100000) return Error(Quote(text) + " is too large");
    }
    return v;
  }

  // A number or, for months and weekdays, a three-letter name; checked against the range.
  Result<int> Value(std::string_view text) const {
    if (text.empty()) return Error("missing value");
    if (std::isalpha(static_cast<unsigned char>(text.front()))) {
      std::string upper(text);
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (kind_ == FieldKind::kMonth) {
        for (int i = 0; i < 12; ++i) {
          if (upper == kMonthNames[i]) return i + 1;
        }
        return Error(Quote(text) + " is not a month (JAN-DEC or 1-12)");
      }
      if (kind_ == FieldKind::kWeekday) {
        for (int i = 0; i < 7; ++i) {
          if (upper == kWeekdayNames[i]) return i;
        }
        return Error(Quote(text) + " is not a weekday (SUN-SAT or 0-7)");
      }
      return Error(Quote(text) + " is not a number");
    }
    auto n = Number(text, "value");
    if (!n) return n.status();
    if (*n < info_.min || *n > info_.max) {
      return Error(std::string(text) + " out of range " + std::to_string(info_.min) + "-" +
                   std::to_string(info_.max));
    }
    return *n;
  }

  FieldKind kind_;
  FieldInfo info_;
  int position_;
};

std::vector<std::string_view> SplitFields(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t begin = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > begin) out.push_back(text.substr(begin, i - begin));
  }
  return out;
}

bool Has(uint64_t bits, int v) { return (bits >> v) & 1; }

// The smallest set bit >= v, or -1.
int NextBit(uint64_t bits, int v, int max) {
  for (int i = v; i <= max; ++i) {
    if (Has(bits, i)) return i;
  }
  return -1;
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view expression, std::string_view timezone) {
  if (expression.size() > kMaxExpressionBytes) {
    return Status::InvalidArgument("cron: expression longer than " +
                                   std::to_string(kMaxExpressionBytes) + " bytes");
  }
  CronSchedule s;
  auto zone = TimeZone::Load(timezone.empty() ? std::string_view("UTC") : timezone);
  if (!zone) return zone.status();
  s.zone_ = *zone;
  std::vector<std::string_view> fields = SplitFields(expression);
  if (fields.empty()) return Status::InvalidArgument("cron: empty expression");
  s.expression_.clear();
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) s.expression_ += ' ';
    s.expression_ += fields[i];
  }

  std::vector<std::string_view> standard;
  if (fields[0].front() == '@') {
    std::string word(fields[0]);
    for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (word == "@every") {
      if (fields.size() != 2) {
        return Status::InvalidArgument("cron: @every takes one duration, e.g. \"@every 10s\"");
      }
      auto every = ParseDuration(fields[1], "cron: @every");
      if (!every) return every.status();
      if (every->count() < kMinEveryMs || every->count() > kMaxEveryMs ||
          every->count() % 1000 != 0) {
        return Status::InvalidArgument("cron: @every " + std::string(fields[1]) +
                                       ": must be whole seconds from 1s to 366 days");
      }
      s.every_ms_ = every->count();
      return s;
    }
    if (fields.size() != 1) {
      return Status::InvalidArgument("cron: " + Quote(fields[0]) + " takes no fields after it");
    }
    static constexpr std::pair<const char*, const char*> kDescriptors[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"}};
    const char* replacement = nullptr;
    for (const auto& [name, text] : kDescriptors) {
      if (word == name) replacement = text;
    }
    if (replacement == nullptr) {
      return Status::InvalidArgument(
          "cron: unknown descriptor " + Quote(fields[0]) +
          " (known: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @every)");
    }
    standard = SplitFields(replacement);
  } else {
    standard = fields;
  }

  if (standard.size() != 5 && standard.size() != 6) {
    return Status::InvalidArgument("cron: expected 5 fields (minute hour day-of-month month "
                                   "day-of-week) or 6 (with seconds first), got " +
                                   std::to_string(standard.size()));
  }
  const bool with_seconds = standard.size() == 6;
  const FieldKind kinds[] = {FieldKind::kSecond, FieldKind::kMinute, FieldKind::kHour,
                             FieldKind::kDay,    FieldKind::kMonth,  FieldKind::kWeekday};
  uint64_t* targets[] = {&s.seconds_, &s.minutes_, &s.hours_,
                         &s.days_,    &s.months_,  &s.weekdays_};
  s.seconds_ = 1;  // 5 fields: second 0
  for (size_t k = with_seconds ? 0 : 1, i = 0; k < 6; ++k, ++i) {
    FieldParser parser(kinds[k], static_cast<int>(i) + 1);
    auto bits = parser.Parse(standard[i]);
    if (!bits) return bits.status();
    *targets[k] = *bits;
    const bool star = standard[i].front() == '*' || standard[i].front() == '?';
    if (kinds[k] == FieldKind::kDay) s.day_star_ = star;
    if (kinds[k] == FieldKind::kWeekday) s.weekday_star_ = star;
    if (k <= 2 && star) s.wildcard_time_ = true;
  }

  // Days-of-month alone decide (weekday unrestricted): one must exist in an allowed month,
  // or the expression never fires ("0 0 30 2 *").
  if (!s.day_star_ || s.weekday_star_) {
    bool possible = s.day_star_;
    for (int m = 1; m <= 12 && !possible; ++m) {
      if (!Has(s.months_, m)) continue;
      for (int d = 1; d <= DaysInMonth(2000, m) && !possible; ++d) possible = Has(s.days_, d);
    }
    if (!possible && s.weekday_star_) {
      return Status::InvalidArgument("cron: " + Quote(s.expression_) +
                                     " never fires (no allowed day exists in an allowed month)");
    }
  }
  return s;
}

bool CronSchedule::DayMatches(int day, int month, int weekday) const {
  if (!Has(months_, month)) return false;
  if (day_star_ || weekday_star_) return Has(days_, day) && Has(weekdays_, weekday);
  return Has(days_, day) || Has(weekdays_, weekday);
}

int64_t CronSchedule::MatchLocal(int64_t from, int64_t until) const {
  int64_t t = from;
  while (t < until) {
    CivilTime c = CivilFromSeconds(t);
    if (!Has(months_, c.month)) {
      int64_t y = c.year + (c.month == 12 ? 1 : 0);
      int m = c.month == 12 ? 1 : c.month + 1;
      t = SecondsFromCivil(y, m, 1);
      continue;
    }
    if (!DayMatches(c.day, c.month, c.weekday)) {
      t = SecondsFromCivil(c.year, c.month, c.day) + 86400;
      continue;
    }
    int hour = NextBit(hours_, c.hour, 23);
    if (hour < 0) {
      t = SecondsFromCivil(c.year, c.month, c.day) + 86400;
      continue;
    }
    if (hour != c.hour) {
      t = SecondsFromCivil(c.year, c.month, c.day, hour);
      continue;
    }
    int minute = NextBit(minutes_, c.minute, 59);
    if (minute < 0) {
      t = SecondsFromCivil(c.year, c.month, c.day, c.hour) + 3600;
      continue;
    }
    if (minute != c.minute) {
      t = SecondsFromCivil(c.year, c.month, c.day, c.hour, minute);
      continue;
    }
    int second = NextBit(seconds_, c.second, 59);
    if (second < 0) {
      t = SecondsFromCivil(c.year, c.month, c.day, c.hour, c.minute) + 60;
      continue;
    }
    t = SecondsFromCivil(c.year, c.month, c.day, c.hour, c.minute, second);
    return t < until ? t : -1;
  }
  return -1;
}

// Walks the zone's constant-offset segments in UTC order from `utc`: inside a segment local
// time runs in step with UTC, so the first local match maps to the first instant. Between
// segments, a fixed-time expression also considers the wall times a gap skipped, and skips
// the second occurrence of repeated wall times (see cron.h).
int64_t CronSchedule::NextAtOrAfter(int64_t utc) const {
  const int64_t horizon = utc + kHorizonSeconds;
  int64_t segment_start = utc;
  while (segment_start < horizon) {
    const int32_t offset = zone_->OffsetAt(segment_start);
    const std::optional<int64_t> transition = zone_->NextTransition(segment_start);
    const int64_t segment_end = transition ? std::min(*transition, horizon) : horizon;

    // Where this segment began, and the offset before it: a fall-back repeats the local
    // times [begin + offset, begin + previous_offset).
    const std::optional<int64_t> begin = zone_->PrevTransition(segment_start);
    const int32_t previous_offset = begin ? zone_->OffsetAt(*begin - 1) : offset;

    int64_t local_from = segment_start + offset;
    while (true) {
      int64_t local = MatchLocal(local_from, segment_end + offset);
      if (local < 0) break;
      const bool repeated = begin && previous_offset > offset && local < *begin + previous_offset;
      if (!wildcard_time_ && repeated) {
        local_from = local + 1;  // ran at its first occurrence, before the fall-back
        continue;
      }
      return local - offset;
    }
    if (transition && *transition < horizon && !wildcard_time_) {
      const int32_t next_offset = zone_->OffsetAt(*transition);
      if (next_offset > offset &&
          MatchLocal(*transition + offset, *transition + next_offset) >= 0) {
        return *transition;  // a wall time in the gap: the first instant after it
      }
    }
    segment_start = segment_end;
  }
  return -1;
}

int64_t CronSchedule::Next(int64_t after_unix_ms) const {
  if (every_ms_ > 0) {
    return (FloorDiv(after_unix_ms, every_ms_) + 1) * every_ms_;
  }
  int64_t utc = NextAtOrAfter(FloorDiv(after_unix_ms, 1000) + 1);
  return utc < 0 ? -1 : utc * 1000;
}

}  // namespace bananas::cron
