// libFuzzer target over everything the API reads from the outside world, I/O-free:
//   mode 0  raw bytes as an HTTP request: Beast's parser with the server's limits, the
//           request target (Boost.URL), route matching, then the route's validation
//           (submit body, batch body, query parameters, job id);
//   mode 1  bytes as a submit body and as a batch body; a valid job is rendered as the 201
//           answer would be, and that JSON must parse back;
//   mode 2  bytes as a job hash (NUL-separated field/value pairs): DecodeJob, then JobToJson;
//   mode 3  the small codecs: RFC 3339 and base64 round trips.
// The first byte picks the mode. Invariants that must hold for every input abort on failure
// (libFuzzer reports the input); sanitizers catch the rest.
//
// Build and run: see docs/API.md ("Fuzzing"): cmake --preset fuzz && cmake --build --preset
// fuzz && ctest --preset fuzz.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/base64.h"
#include "api/job_json.h"
#include "api/router.h"
#include "api/submit_request.h"
#include "api/time_format.h"
#include "queue/job_codec.h"

namespace {

using namespace bananas;
namespace http = boost::beast::http;

constexpr int64_t kNow = 1'700'000'000'000;

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

// A refusal always names a code and a message; the body it makes is JSON.
void CheckError(const api::ApiError& error) {
  Check(!error.code.empty(), "error without a code");
  Check(error.http_status >= 400 && error.http_status < 600, "error status out of range");
  boost::system::error_code ec;
  boost::json::parse(api::ErrorBody(error), ec);
  Check(!ec, "error body is not JSON");
}

void RenderSubmitted(const JobSpec& spec) {
  Check(ValidateJobSpec(spec).ok(), "a parsed spec fails the broker's validation");
  Job job = api::JobFromSpec(spec, "01ARZ3NDEKTSV4RRFFQ69G5FAV-" + spec.queue, kNow);
  std::string text = boost::json::serialize(api::JobToJson(job));
  boost::system::error_code ec;
  boost::json::parse(text, ec);
  Check(!ec, "a rendered job is not JSON");
}

void FuzzBodies(std::string_view body) {
  auto json = api::ParseJsonBody(body);
  if (!json.ok()) {
    CheckError(json.error());
    return;
  }
  auto spec = api::ParseJobSpec(*json, {}, kNow);
  if (spec.ok()) {
    RenderSubmitted(*spec);
  } else {
    CheckError(spec.error());
  }
  auto batch = api::ParseBatch(*json, {}, kNow);
  if (batch.ok()) {
    Check(!batch->empty() && batch->size() <= api::kMaxBatchJobs, "batch size out of bounds");
    for (const JobSpec& s : *batch) RenderSubmitted(s);
  } else {
    CheckError(batch.error());
  }
}

void FuzzHttp(std::string_view bytes) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::system::error_code ec;
  size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  Check(used <= bytes.size(), "parser consumed more than given");
  if (!parser.is_header_done()) return;
  const auto& request = parser.get();
  std::string_view target(request.target().data(), request.target().size());
  auto parsed = api::ParseTarget(target);
  if (!parsed.ok()) {
    CheckError(parsed.error());
    return;
  }
  Check(!parsed->segments.empty(), "a target without segments");
  api::RouteMatch match = api::MatchRoute(request.method(), parsed->segments);
  if (match.route == nullptr) return;
  for (const std::string& param : match.params) {
    auto id = api::ParseJobId(param);
    if (!id.ok()) CheckError(id.error());
  }
  for (const auto& [key, value] : parsed->query) {
    auto n = api::ParseQueryInteger(key, value, 0, api::kMaxWaitMs);
    if (n.ok()) Check(*n >= 0 && *n <= api::kMaxWaitMs, "query integer out of range");
  }
  if (parser.is_done() &&
      (match.route->id == api::RouteId::kSubmit || match.route->id == api::RouteId::kSubmitBatch)) {
    FuzzBodies(request.body());
  }
}

void FuzzJobHash(std::string_view bytes) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= bytes.size(); ++i) {
    if (i == bytes.size() || bytes[i] == '\0') {
      parts.emplace_back(bytes.substr(start, i - start));
      start = i + 1;
    }
  }
  std::vector<std::pair<std::string, std::string>> fields;
  for (size_t i = 0; i + 1 < parts.size(); i += 2) fields.emplace_back(parts[i], parts[i + 1]);
  auto job = queue::DecodeJob("01ARZ3NDEKTSV4RRFFQ69G5FAV-default", fields);
  if (!job) return;
  std::string text = boost::json::serialize(api::JobToJson(*job));
  boost::system::error_code ec;
  boost::json::parse(text, ec);
  Check(!ec, "a decoded job renders as invalid JSON");
}

void FuzzCodecs(std::string_view bytes) {
  auto at = api::ParseRfc3339(bytes);
  if (at.ok()) {
    Check(*at >= 0, "a parsed time before 1970");
    if (*at < 253'402'300'800'000) {  // year 10000: FormatRfc3339 writes 4-digit years
      auto again = api::ParseRfc3339(api::FormatRfc3339(*at));
      Check(again.ok() && *again == *at, "RFC 3339 round trip changed the time");
    }
  }
  auto decoded = api::DecodeBase64(api::EncodeBase64(bytes));
  Check(decoded.ok() && *decoded == bytes, "base64 round trip changed the bytes");
  auto any = api::DecodeBase64(bytes);
  (void)any;  // only sanitizer findings matter for arbitrary text
  (void)api::IsValidUtf8(bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      FuzzHttp(input);
      break;
    case 1:
      FuzzBodies(input);
      break;
    case 2:
      FuzzJobHash(input);
      break;
    case 3:
      FuzzCodecs(input);
      break;
  }
  return 0;
}
