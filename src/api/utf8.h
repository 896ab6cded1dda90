// UTF-8 checks for text that goes into JSON (JSON text must be UTF-8). Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace bananas::api {

bool IsValidUtf8(std::string_view bytes);
// `bytes` with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD: for
// text fields (name, error, host, an error message quoting input) that should be UTF-8 but
// come from outside. Payloads and results are never repaired: they go out as base64 instead.
std::string ToValidUtf8(std::string_view bytes);

}  // namespace bananas::api
