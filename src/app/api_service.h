// Wiring of the HTTP API (src/api) into the binary: `bananas api` and the API part of
// `bananas dev`. Options from the Config; nothing else.
#pragma once

#include <string>

#include "api/server.h"
#include "app/config.h"

namespace bananas::app {

api::ApiOptions ToApiOptions(const Config& config);

// "API: http://0.0.0.0:8080 (bearer token required)": the address with the bound port.
std::string DescribeApi(const api::ApiOptions& options, int bound_port);

}  // namespace bananas::app
