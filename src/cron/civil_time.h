// Proleptic Gregorian calendar arithmetic on plain integers (H. Hinnant's algorithms), used
// by the time-zone reader and the cron matcher. "Local seconds" are seconds since
// 1970-01-01T00:00:00 of a wall clock, with no zone attached.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>

namespace bananas::cron {

struct CivilTime {
  int64_t year = 1970;
  int month = 1;   // 1..12
  int day = 1;     // 1..31
  int hour = 0;    // 0..23
  int minute = 0;  // 0..59
  int second = 0;  // 0..59
  int weekday = 4;  // 0 = Sunday .. 6 = Saturday (1970-01-01 was a Thursday)
};

int64_t DaysFromCivil(int64_t year, int month, int day);
CivilTime CivilFromSeconds(int64_t seconds);
int64_t SecondsFromCivil(int64_t year, int month, int day, int hour = 0, int minute = 0,
                         int second = 0);
int DaysInMonth(int64_t year, int month);
// 0 = Sunday.
int WeekdayFromDays(int64_t days);

// Floor division for possibly negative numerators (times before 1970).
inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

}  // namespace bananas::cron
