#include "app/api_service.h"

namespace bananas::app {

api::ApiOptions ToApiOptions(const Config& config) {
  api::ApiOptions options;
  options.redis_url = config.redis_url;
  options.prefix = config.prefix;
  options.port = config.api_port;
  options.token = config.api_token;
  options.max_body = config.api_max_body;
  options.default_max_retries = config.max_retries;
  options.result_ttl_failure = config.result_ttl_failure;
  return options;
}

std::string DescribeApi(const api::ApiOptions& options, int bound_port) {
  std::string line = "API: http://" + options.bind + ":" + std::to_string(bound_port) + " (";
  line += options.token.empty() ? "no token: open to anyone who can reach the port"
                                : "bearer token required";
  line += ", body limit " + std::to_string(options.max_body) + " bytes)";
  return line;
}

}  // namespace bananas::app
