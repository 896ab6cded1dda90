// Parsing of the durations and sizes of SPEC §1: "250ms", "30s", "5m", "1h" (a bare number
// means seconds); sizes in bytes with KiB/MiB suffixes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "bananas/status.h"

namespace bananas {

// InvalidArgument names `what` (a variable or field) and quotes the bad text.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text, std::string_view what);
Result<int64_t> ParseSize(std::string_view text, std::string_view what);
// "1.5s", "250ms", "30s": the shortest exact rendering.
std::string FormatDuration(std::chrono::milliseconds duration);

}  // namespace bananas
