// The OpenAPI 3 document of the routes (GET /api/v1/openapi.json). Hand-written JSON in
// openapi.cc; tests/integration/api/openapi_test.cc checks that its paths and the route table
// (routes.cc) are the same set, both ways.
#pragma once

#include <string_view>

namespace bananas::api {

std::string_view OpenApiDocument();

}  // namespace bananas::api
