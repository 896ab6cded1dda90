// TimeZone: an IANA time zone read from the system's TZif files (/usr/share/zoneinfo, Debian
// package tzdata; $TZDIR overrides the directory), with no download and no dependency.
//
// Why our own reader: g++ 12's libstdc++ has no std::chrono tzdb, and the zone files are a
// small, stable binary format (RFC 8536). We read the 64-bit (v2+) data; times after the
// table's last transition follow the file's footer rule (a POSIX TZ string such as
// "EST5EDT,M3.2.0,M11.1.0"), expanded into transitions up to the year 2200 at load time, so a
// lookup is one binary search. Leap-second ("right/") data is ignored.
//
// "UTC" always loads, even without tzdata.
//
// Thread safety: a TimeZone is immutable after loading; Load() is thread-safe and caches.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bananas/status.h"

namespace bananas::cron {

class TimeZone {
 public:
  // Loads (once per process, then from a cache) the zone called `name` ("America/New_York",
  // "UTC"). InvalidArgument naming the zone when the name is malformed, no such zone file
  // exists, or the file is not a valid TZif file.
  [[nodiscard]] static Result<std::shared_ptr<const TimeZone>> Load(std::string_view name);
  // Parses TZif bytes (for tests and the fuzzer); `name` is only used in messages.
  [[nodiscard]] static Result<std::shared_ptr<const TimeZone>> FromTzif(std::string_view name,
                                                                        std::string_view bytes);
  static std::shared_ptr<const TimeZone> Utc();

  const std::string& name() const { return name_; }
  // Seconds east of UTC in effect at `utc_seconds` (unix time).
  int32_t OffsetAt(int64_t utc_seconds) const;
  // The first transition (change of offset) strictly after `utc_seconds`, if any.
  std::optional<int64_t> NextTransition(int64_t utc_seconds) const;
  // The latest transition at or before `utc_seconds`, if any.
  std::optional<int64_t> PrevTransition(int64_t utc_seconds) const;

  struct Transition {
    int64_t at = 0;         // unix seconds
    int32_t offset = 0;     // seconds east of UTC from `at` on
  };

 private:
  TimeZone() = default;
  std::string name_;
  int32_t initial_offset_ = 0;            // before the first transition
  std::vector<Transition> transitions_;   // sorted by `at`; only real offset changes
};

}  // namespace bananas::cron
