#include "cron/time_zone.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "cron/civil_time.h"

namespace bananas::cron {
namespace {

// Footer rules are expanded up to this year; cron looks at most a few years ahead.
constexpr int64_t kLastExpandedYear = 2200;
// Zone files are a few KiB; anything far larger is not one.
constexpr size_t kMaxTzifBytes = 1 << 20;

Status Bad(std::string_view name, std::string_view why) {
  return Status::InvalidArgument("timezone \"" + std::string(name) + "\": " + std::string(why));
}

// Reads big-endian integers from the file, failing softly at the end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool Has(size_t n) const { return bytes_.size() - pos_ >= n; }
  bool Skip(size_t n) {
    if (!Has(n)) return false;
    pos_ += n;
    return true;
  }
  std::optional<int64_t> Int(size_t width) {
    if (!Has(width)) return std::nullopt;
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(bytes_[pos_ + i]);
    pos_ += width;
    if (width == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
    if (width == 1) return static_cast<int64_t>(v);
    return static_cast<int64_t>(v);
  }
  std::string_view Rest() const { return bytes_.substr(pos_); }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

struct Header {
  char version = 0;
  int64_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

std::optional<Header> ReadHeader(Reader& r) {
  if (!r.Has(44)) return std::nullopt;
  std::string_view magic = r.Rest().substr(0, 4);
  if (magic != "TZif") return std::nullopt;
  Header h;
  h.version = r.Rest()[4];
  r.Skip(20);
  int64_t* counts[] = {&h.isutcnt, &h.isstdcnt, &h.leapcnt, &h.timecnt, &h.typecnt, &h.charcnt};
  for (int64_t* c : counts) {
    auto v = r.Int(4);
    if (!v || *v < 0 || *v > 1'000'000) return std::nullopt;
    *c = *v;
  }
  // RFC 8536 3.1: typecnt must be nonzero; the indicator counts are 0 or typecnt.
  if (h.typecnt == 0 || (h.isutcnt != 0 && h.isutcnt != h.typecnt) ||
      (h.isstdcnt != 0 && h.isstdcnt != h.typecnt)) {
    return std::nullopt;
  }
  return h;
}

size_t DataSize(const Header& h, size_t time_size) {
  return static_cast<size_t>(h.timecnt) * time_size + static_cast<size_t>(h.timecnt) +
         static_cast<size_t>(h.typecnt) * 6 + static_cast<size_t>(h.charcnt) +
         static_cast<size_t>(h.leapcnt) * (time_size + 4) + static_cast<size_t>(h.isstdcnt) +
         static_cast<size_t>(h.isutcnt);
}

// --- POSIX TZ strings (the TZif footer), e.g. "EST5EDT,M3.2.0,M11.1.0", "<+0330>-3:30".

struct DateRule {  // Mm.w.d: day d (0 = Sunday) of week w (5 = last) of month m
  int month = 0, week = 0, weekday = 0;
  int32_t time = 7200;  // local seconds after midnight; may be negative or above 24h
};

struct PosixTz {
  int32_t std_offset = 0;  // seconds east of UTC
  bool has_dst = false;
  int32_t dst_offset = 0;
  DateRule start, end;
};

class TzParser {
 public:
  explicit TzParser(std::string_view s) : s_(s) {}

  std::optional<PosixTz> Parse() {
    PosixTz tz;
    if (!Name()) return std::nullopt;
    auto std_off = Offset();
    if (!std_off) return std::nullopt;
    tz.std_offset = -*std_off;  // POSIX counts west of UTC
    if (pos_ == s_.size()) return tz;
    if (!Name()) return std::nullopt;
    tz.has_dst = true;
    tz.dst_offset = tz.std_offset + 3600;
    if (pos_ < s_.size() && s_[pos_] != ',') {
      auto dst_off = Offset();
      if (!dst_off) return std::nullopt;
      tz.dst_offset = -*dst_off;
    }
    if (pos_ == s_.size()) return std::nullopt;  // DST without a rule: unsupported
    if (!Eat(',') || !Rule(tz.start) || !Eat(',') || !Rule(tz.end)) return std::nullopt;
    if (pos_ != s_.size()) return std::nullopt;
    return tz;
  }

 private:
  bool Eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool Name() {
    if (Eat('<')) {
      size_t close = s_.find('>', pos_);
      if (close == std::string_view::npos || close == pos_) return false;
      pos_ = close + 1;
      return true;
    }
    size_t begin = pos_;
    while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    return pos_ - begin >= 3;
  }

  std::optional<int64_t> Number(int64_t max) {
    size_t begin = pos_;
    int64_t v = 0;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      v = v * 10 + (s_[pos_] - '0');
      if (v > max) return std::nullopt;
      ++pos_;
    }
    if (pos_ == begin) return std::nullopt;
    return v;
  }

  // [+-]hh[:mm[:ss]] in seconds; hours up to 167 (RFC 8536 allows -167..167 in rule times).
  std::optional<int32_t> Offset() {
    int sign = 1;
    if (Eat('-')) {
      sign = -1;
    } else {
      Eat('+');
    }
    auto h = Number(167);
    if (!h) return std::nullopt;
    int64_t seconds = *h * 3600;
    if (Eat(':')) {
      auto m = Number(59);
      if (!m) return std::nullopt;
      seconds += *m * 60;
      if (Eat(':')) {
        auto sec = Number(59);
        if (!sec) return std::nullopt;
        seconds += *sec;
      }
    }
    return static_cast<int32_t>(sign * seconds);
  }

  // Only the Mm.w.d form: the Julian forms (Jn, n) appear in no current zone.
  bool Rule(DateRule& rule) {
    if (!Eat('M')) return false;
    auto m = Number(12);
    if (!m || *m < 1 || !Eat('.')) return false;
    auto w = Number(5);
    if (!w || *w < 1 || !Eat('.')) return false;
    auto d = Number(6);
    if (!d) return false;
    rule.month = static_cast<int>(*m);
    rule.week = static_cast<int>(*w);
    rule.weekday = static_cast<int>(*d);
    if (Eat('/')) {
      auto t = Offset();
      if (!t) return false;
      rule.time = *t;
    }
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// Unix seconds at which `rule` happens in `year`, on a wall clock `offset` east of UTC.
int64_t RuleInstant(const DateRule& rule, int64_t year, int32_t offset) {
  int64_t first = DaysFromCivil(year, rule.month, 1);
  int delta = (rule.weekday - WeekdayFromDays(first) + 7) % 7;
  int64_t day = 1 + delta + 7 * (rule.week - 1);
  while (day > DaysInMonth(year, rule.month)) day -= 7;
  return (first + day - 1) * 86400 + rule.time - offset;
}

}  // namespace

std::shared_ptr<const TimeZone> TimeZone::Utc() {
  static const std::shared_ptr<const TimeZone> utc = [] {
    std::shared_ptr<TimeZone> z(new TimeZone());
    z->name_ = "UTC";
    return z;
  }();
  return utc;
}

Result<std::shared_ptr<const TimeZone>> TimeZone::FromTzif(std::string_view name,
                                                           std::string_view bytes) {
  Reader r(bytes);
  auto v1 = ReadHeader(r);
  if (!v1) return Bad(name, "not a TZif zone file");
  if (v1->version < '2') return Bad(name, "TZif version 1 files are not supported");
  if (!r.Skip(DataSize(*v1, 4))) return Bad(name, "truncated zone file");
  auto h = ReadHeader(r);
  if (!h) return Bad(name, "bad TZif v2 header");

  std::vector<int64_t> times(static_cast<size_t>(h->timecnt));
  for (auto& t : times) {
    auto v = r.Int(8);
    if (!v) return Bad(name, "truncated zone file");
    t = *v;
  }
  std::vector<size_t> type_of(static_cast<size_t>(h->timecnt));
  for (auto& t : type_of) {
    auto v = r.Int(1);
    if (!v || *v >= h->typecnt) return Bad(name, "bad transition type");
    t = static_cast<size_t>(*v);
  }
  std::vector<int32_t> offsets(static_cast<size_t>(h->typecnt));
  for (auto& o : offsets) {
    auto utoff = r.Int(4);
    // utoff must not be -2^31 and is within a day either way in practice.
    if (!utoff || *utoff < -89999 || *utoff > 93599) return Bad(name, "bad UT offset");
    o = static_cast<int32_t>(*utoff);
    if (!r.Skip(2)) return Bad(name, "truncated zone file");
  }
  if (!r.Skip(static_cast<size_t>(h->charcnt) + static_cast<size_t>(h->leapcnt) * 12 +
              static_cast<size_t>(h->isstdcnt) + static_cast<size_t>(h->isutcnt))) {
    return Bad(name, "truncated zone file");
  }
  for (size_t i = 1; i < times.size(); ++i) {
    if (times[i] <= times[i - 1]) return Bad(name, "transitions out of order");
  }

  std::shared_ptr<TimeZone> zone(new TimeZone());
  zone->name_ = std::string(name);
  zone->initial_offset_ = offsets[0];
  int32_t current = zone->initial_offset_;
  for (size_t i = 0; i < times.size(); ++i) {
    int32_t offset = offsets[type_of[i]];
    if (offset == current) continue;  // an abbreviation or isdst change only
    zone->transitions_.push_back({times[i], offset});
    current = offset;
  }

  // Footer: "\n<TZ string>\n", the rule after the last transition.
  std::string_view footer = r.Rest();
  if (footer.size() >= 2 && footer.front() == '\n') {
    size_t end = footer.find('\n', 1);
    if (end == std::string_view::npos) return Bad(name, "unterminated footer");
    std::string_view tz_string = footer.substr(1, end - 1);
    if (!tz_string.empty()) {
      auto rule = TzParser(tz_string).Parse();
      if (!rule) return Bad(name, "unsupported TZ rule \"" + std::string(tz_string) + "\"");
      int64_t after = times.empty() ? INT64_MIN : times.back();
      if (!rule->has_dst) {
        if (rule->std_offset != current) {
          int64_t at = times.empty() ? INT64_MIN : times.back() + 1;
          if (times.empty()) {
            zone->initial_offset_ = rule->std_offset;
          } else {
            zone->transitions_.push_back({at, rule->std_offset});
          }
        }
      } else {
        int64_t first_year = times.empty() ? 1970 : CivilFromSeconds(times.back()).year;
        for (int64_t year = first_year; year <= kLastExpandedYear; ++year) {
          int64_t start = RuleInstant(rule->start, year, rule->std_offset);
          int64_t end_at = RuleInstant(rule->end, year, rule->dst_offset);
          std::pair<int64_t, int32_t> two[2] = {{start, rule->dst_offset},
                                                {end_at, rule->std_offset}};
          if (two[1].first < two[0].first) std::swap(two[0], two[1]);
          for (const auto& [at, offset] : two) {
            if (at <= after || offset == current) continue;
            zone->transitions_.push_back({at, offset});
            current = offset;
            after = at;
          }
        }
      }
    }
  }
  return std::shared_ptr<const TimeZone>(std::move(zone));
}

Result<std::shared_ptr<const TimeZone>> TimeZone::Load(std::string_view name) {
  if (name == "UTC" || name == "Etc/UTC" || name == "Z") return Utc();
  if (name.empty() || name.size() > 128) return Bad(name, "must be 1 to 128 characters");
  if (name.front() == '/' || name.front() == '.') return Bad(name, "not an IANA zone name");
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-' &&
        c != '+' && c != '.') {
      return Bad(name, "not an IANA zone name");
    }
  }
  if (name.find("..") != std::string_view::npos || name.find("//") != std::string_view::npos) {
    return Bad(name, "not an IANA zone name");
  }

  static std::mutex mu;
  static auto* cache = new std::map<std::string, std::shared_ptr<const TimeZone>, std::less<>>();
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache->find(name);
    if (it != cache->end()) return it->second;
  }
  const char* dir = std::getenv("TZDIR");
  std::string path = std::string(dir != nullptr && *dir != '\0' ? dir : "/usr/share/zoneinfo") +
                     "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  if (!in) return Bad(name, "unknown time zone (no file " + path + "; is tzdata installed?)");
  std::string bytes;
  bytes.resize(kMaxTzifBytes + 1);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(in.gcount()));
  if (bytes.size() > kMaxTzifBytes) return Bad(name, "not a TZif zone file");
  auto zone = FromTzif(name, bytes);
  if (!zone) return zone.status();
  std::lock_guard<std::mutex> lock(mu);
  return cache->emplace(std::string(name), *zone).first->second;
}

int32_t TimeZone::OffsetAt(int64_t utc_seconds) const {
  auto it = std::upper_bound(
      transitions_.begin(), transitions_.end(), utc_seconds,
      [](int64_t t, const Transition& tr) { return t < tr.at; });
  if (it == transitions_.begin()) return initial_offset_;
  return std::prev(it)->offset;
}

std::optional<int64_t> TimeZone::NextTransition(int64_t utc_seconds) const {
  auto it = std::upper_bound(
      transitions_.begin(), transitions_.end(), utc_seconds,
      [](int64_t t, const Transition& tr) { return t < tr.at; });
  if (it == transitions_.end()) return std::nullopt;
  return it->at;
}

std::optional<int64_t> TimeZone::PrevTransition(int64_t utc_seconds) const {
  auto it = std::upper_bound(
      transitions_.begin(), transitions_.end(), utc_seconds,
      [](int64_t t, const Transition& tr) { return t < tr.at; });
  if (it == transitions_.begin()) return std::nullopt;
  return std::prev(it)->at;
}

}  // namespace bananas::cron
