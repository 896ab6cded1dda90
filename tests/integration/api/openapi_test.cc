// The OpenAPI document and the routes served agree, both ways: every route of the table is
// in the document (path and method), and every path and method of the document is served
// (a request to it reaches a handler: no "no route" 404, no 405).
#include <gtest/gtest.h>

#include <set>

#include "api/routes.h"
#include "api_fixture.h"

namespace bananas::testing {
namespace {

namespace http = boost::beast::http;

class OpenApiDocument : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    StartApi();
    HttpResult r = Get("/api/v1/openapi.json");
    ASSERT_EQ(r.status, 200) << r.Describe();
    ASSERT_TRUE(r.json.is_object()) << r.body;
    document_ = r.json;
  }

  const boost::json::object& Paths() { return document_.at("paths").as_object(); }

  // A concrete target for a templated path: {id} and {name} get values of the right form.
  static std::string Concrete(std::string path) {
    for (const auto& [param, value] : std::vector<std::pair<std::string, std::string>>{
             {"{id}", "01ARZ3NDEKTSV4RRFFQ69G5FAV-default"}, {"{name}", "default"}}) {
      for (size_t at = path.find(param); at != std::string::npos; at = path.find(param)) {
        path.replace(at, param.size(), value);
      }
    }
    return path;
  }

  boost::json::value document_;
};

TEST_F(OpenApiDocument, IsOpenApi3WithEveryRouteServed) {
  EXPECT_EQ(Str(document_, "openapi").substr(0, 2), "3.");
  for (const api::Route& route : api::RouteTable()) {
    std::string path(route.path);
    std::string method(http::to_string(route.method));
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto* entry = Paths().if_contains(path);
    ASSERT_NE(entry, nullptr) << "route " << path << " is not in the OpenAPI document";
    EXPECT_TRUE(entry->as_object().contains(method))
        << method << " " << path << " is served but not in the OpenAPI document";
  }
}

TEST_F(OpenApiDocument, EveryDocumentedOperationIsServed) {
  std::set<std::string> methods = {"get", "post", "put", "delete", "patch"};
  size_t operations = 0;
  for (const auto& [path_key, item] : Paths()) {
    std::string path(path_key);
    for (const auto& [method_key, operation] : item.as_object()) {
      std::string method(method_key);
      if (!methods.contains(method)) continue;
      ++operations;
      http::verb verb = http::string_to_verb([&] {
        std::string upper = method;
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return upper;
      }());
      // Fresh connection per call: some answers close theirs.
      HttpClient client(server_->port());
      HttpResult r = client.Send(verb, Concrete(path), method == "post" ? "{}" : "");
      EXPECT_NE(r.status, 405) << method << " " << path << " -> " << r.Describe();
      bool routed = !(r.status == 404 && r.json.is_object() &&
                      Str(r.json.at("error"), "message").rfind("no route", 0) == 0);
      EXPECT_TRUE(routed) << method << " " << path
                          << " is documented but not served: " << r.Describe();
      // Each documented answer lists the status it gave.
      const auto& responses = operation.at("responses").as_object();
      EXPECT_TRUE(responses.contains(std::to_string(r.status)))
          << method << " " << path << " answered " << r.status << ", not documented: " << r.body;
    }
  }
  EXPECT_EQ(operations, api::RouteTable().size());
}

}  // namespace
}  // namespace bananas::testing
