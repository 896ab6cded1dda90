#include "base/duration.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace bananas {
namespace {

Status Bad(std::string_view what, std::string_view text, std::string_view expected) {
  std::string msg(what);
  msg += ": invalid value \"";
  msg += text;
  msg += "\" (expected ";
  msg += expected;
  msg += ")";
  return Status::InvalidArgument(msg);
}

// Splits "12.5ms" into 12.5 and "ms". False when the number part does not parse.
bool SplitNumber(std::string_view text, double& number, std::string_view& unit) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  if (i == 0) return false;
  std::string digits(text.substr(0, i));
  char* end = nullptr;
  number = std::strtod(digits.c_str(), &end);
  if (end != digits.c_str() + digits.size()) return false;
  unit = text.substr(i);
  return std::isfinite(number);
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text, std::string_view what) {
  constexpr std::string_view kExpected = "a duration such as 250ms, 30s, 5m or 1h";
  double number = 0;
  std::string_view unit;
  if (!SplitNumber(text, number, unit)) return Bad(what, text, kExpected);
  double ms = 0;
  if (unit.empty() || unit == "s") {
    ms = number * 1000;
  } else if (unit == "ms") {
    ms = number;
  } else if (unit == "m") {
    ms = number * 60'000;
  } else if (unit == "h") {
    ms = number * 3'600'000;
  } else {
    return Bad(what, text, kExpected);
  }
  if (ms < 0 || ms > static_cast<double>(std::numeric_limits<int64_t>::max() / 2)) {
    return Bad(what, text, kExpected);
  }
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(ms)));
}

Result<int64_t> ParseSize(std::string_view text, std::string_view what) {
  constexpr std::string_view kExpected = "a size in bytes, optionally with KiB or MiB";
  double number = 0;
  std::string_view unit;
  if (!SplitNumber(text, number, unit)) return Bad(what, text, kExpected);
  double bytes = 0;
  if (unit.empty() || unit == "B") {
    bytes = number;
  } else if (unit == "KiB") {
    bytes = number * 1024;
  } else if (unit == "MiB") {
    bytes = number * 1024 * 1024;
  } else if (unit == "GiB") {
    bytes = number * 1024 * 1024 * 1024;
  } else {
    return Bad(what, text, kExpected);
  }
  if (bytes < 0 || bytes > 1e15) return Bad(what, text, kExpected);
  return static_cast<int64_t>(std::llround(bytes));
}

std::string FormatDuration(std::chrono::milliseconds duration) {
  int64_t ms = duration.count();
  if (ms % 3'600'000 == 0 && ms != 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms != 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace bananas
