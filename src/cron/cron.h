// Cron expressions (SPEC §5): what a schedule says, and when it next fires.
//
// Accepted forms:
//   5 fields   minute hour day-of-month month day-of-week           ("30 2 * * *")
//   6 fields   second minute hour day-of-month month day-of-week    ("*/10 * * * * *")
//   @yearly (@annually), @monthly, @weekly, @daily (@midnight), @hourly
//   @every <duration>  ("@every 10s", "@every 1h30m" is not a duration: "@every 90m")
// Each field is a comma-separated list of `*`, `?` (day fields only), `N`, `N-M`, each with an
// optional `/step` (`N/step` means N to the field's maximum). Months take JAN-DEC, weekdays
// SUN-SAT (any case); weekday 7 is Sunday, like 0.
//
// Day matching is Vixie cron's: when both day-of-month and day-of-week are restricted (their
// text does not start with `*` or `?`), a day matches if EITHER does; otherwise both must.
//
// Time zones and DST (docs/DECISIONS.md, 2026-11-27 "Cron and DST"), again after Vixie cron:
//   - A "fixed-time" expression (second, minute and hour fields all without a leading `*`,
//     e.g. "30 2 * * *") fires once per matching wall-clock time. A wall time skipped by a
//     spring-forward gap fires at the first instant after the gap; a wall time repeated by a
//     fall-back fires at its first occurrence only.
//   - A "wildcard" expression (any of those fields starts with `*`, e.g. "0 * * * *",
//     @hourly) follows elapsed time: it fires at every instant whose local wall time
//     matches, so nothing fires for times in a gap and repeated times fire in both offsets.
//   - @every is absolute time: occurrences are the multiples of the interval since the unix
//     epoch (UTC), unaffected by zones and DST.
//
// Errors name the field, its position and the bad text:
//   cron: field "hour" (3rd): 25 out of range 0-23
//
// Thread safety: a CronSchedule is immutable after Parse; Next() is const and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "bananas/status.h"
#include "cron/time_zone.h"

namespace bananas::cron {

// Longest text accepted as an expression.
inline constexpr size_t kMaxExpressionBytes = 256;
// How far Next() looks for an occurrence (Feb 29 on a Monday can be 28 years away; an
// expression that rare is refused at Parse instead).
inline constexpr int64_t kHorizonSeconds = 10LL * 366 * 86400;

class CronSchedule {
 public:
  // InvalidArgument "cron: ..." for a bad expression, "timezone ...: ..." for a bad zone.
  [[nodiscard]] static Result<CronSchedule> Parse(std::string_view expression,
                                                  std::string_view timezone = "UTC");

  // The first occurrence strictly after `after_unix_ms` (unix ms, a whole second), or -1
  // when none exists within kHorizonSeconds.
  int64_t Next(int64_t after_unix_ms) const;

  const std::string& expression() const { return expression_; }
  const TimeZone& zone() const { return *zone_; }
  // For @every: the interval in ms; 0 otherwise.
  int64_t every_ms() const { return every_ms_; }

 private:
  CronSchedule() = default;
  // The first local (wall-clock) second in [from, until) that matches, or -1.
  int64_t MatchLocal(int64_t from, int64_t until) const;
  bool DayMatches(int day, int month, int weekday) const;
  int64_t NextAtOrAfter(int64_t utc_seconds) const;

  std::string expression_;
  std::shared_ptr<const TimeZone> zone_;
  int64_t every_ms_ = 0;
  uint64_t seconds_ = 0, minutes_ = 0, hours_ = 0, days_ = 0, months_ = 0, weekdays_ = 0;
  bool day_star_ = false, weekday_star_ = false;
  bool wildcard_time_ = false;
};

}  // namespace bananas::cron
