// Standard base64 (RFC 4648 §4, with padding) for payload_base64 and binary results.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "bananas/status.h"

namespace bananas::api {

std::string EncodeBase64(std::string_view bytes);
// Accepts the standard alphabet with '=' padding (length a multiple of 4). InvalidArgument
// for any other character or a bad length; the caller names the field.
Result<std::string> DecodeBase64(std::string_view text);

}  // namespace bananas::api
