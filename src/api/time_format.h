// RFC 3339 times for the HTTP API: formatting with milliseconds in UTC, and parsing of every
// RFC 3339 date-time form (offsets, any number of fractional digits, 't'/'z' in either case).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bananas/status.h"

namespace bananas::api {

// "2025-01-02T03:04:05.006Z". REQUIRES: unix_ms >= 0 (years 1970..9999).
std::string FormatRfc3339(int64_t unix_ms);

// Unix milliseconds of an RFC 3339 date-time ("2025-01-02T03:04:05Z",
// "2025-01-02T03:04:05.123456+02:00"). Fractions finer than a millisecond are truncated.
// InvalidArgument (naming nothing: the caller names the field) for any other text, for
// out-of-range parts (month 13, second 61, offset 24:00) and for times before 1970.
Result<int64_t> ParseRfc3339(std::string_view text);

}  // namespace bananas::api
