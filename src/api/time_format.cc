#include "api/time_format.h"

#include <algorithm>

namespace bananas::api {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t year;
  unsigned month;
  unsigned day;
};

// The inverse (civil_from_days).
Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `pos`.
bool Digits(std::string_view text, size_t& pos, size_t n, int64_t& out) {
  if (pos + n > text.size()) return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

bool Expect(std::string_view text, size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

std::string FormatRfc3339(int64_t unix_ms) {
  if (unix_ms < 0) unix_ms = 0;
  const int64_t rest = unix_ms % 86'400'000;
  const Civil c = CivilFromDays(unix_ms / 86'400'000);
  // Written digit by digit: this runs for every time field of every job answered.
  std::string out = "0000-00-00T00:00:00.000Z";
  auto put = [&out](size_t end, int64_t value, int digits) {
    for (int i = 0; i < digits; ++i, value /= 10)
      out[end - static_cast<size_t>(i)] = static_cast<char>('0' + value % 10);
  };
  put(3, std::min<int64_t>(c.year, 9999), 4);
  put(6, c.month, 2);
  put(9, c.day, 2);
  put(12, rest / 3'600'000, 2);
  put(15, rest / 60'000 % 60, 2);
  put(18, rest / 1000 % 60, 2);
  put(22, rest % 1000, 3);
  return out;
}

Result<int64_t> ParseRfc3339(std::string_view text) {
  const Status bad = Status::InvalidArgument(
      "must be an RFC 3339 date-time such as 2025-01-02T03:04:05Z or "
      "2025-01-02T03:04:05.250+02:00");
  size_t pos = 0;
  int64_t year, month, day, hour, minute, second;
  if (!Digits(text, pos, 4, year) || !Expect(text, pos, '-') || !Digits(text, pos, 2, month) ||
      !Expect(text, pos, '-') || !Digits(text, pos, 2, day)) {
    return bad;
  }
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't')) return bad;
  ++pos;
  if (!Digits(text, pos, 2, hour) || !Expect(text, pos, ':') || !Digits(text, pos, 2, minute) ||
      !Expect(text, pos, ':') || !Digits(text, pos, 2, second)) {
    return bad;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, static_cast<unsigned>(month)) ||
      hour > 23 || minute > 59 || second > 60) {
    return bad;
  }
  int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      millis += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad;
  }
  int64_t offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int64_t offset_hours, offset_mins;
    if (!Digits(text, pos, 2, offset_hours) || !Expect(text, pos, ':') ||
        !Digits(text, pos, 2, offset_mins) || offset_hours > 23 || offset_mins > 59) {
      return bad;
    }
    offset_minutes = sign * (offset_hours * 60 + offset_mins);
  } else {
    return bad;
  }
  if (pos != text.size()) return bad;
  // A leap second (:60) is read as the first millisecond of the next minute's second 0.
  int64_t seconds =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86'400 +
      hour * 3600 + minute * 60 + second - offset_minutes * 60;
  int64_t unix_ms = seconds * 1000 + millis;
  if (unix_ms < 0) return Status::InvalidArgument("must not be before 1970-01-01T00:00:00Z");
  return unix_ms;
}

}  // namespace bananas::api
