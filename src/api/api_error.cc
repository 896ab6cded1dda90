#include "api/api_error.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "api/utf8.h"

namespace bananas::api {

ApiError ErrorFromStatus(const Status& status) {
  using Code = Status::Code;
  switch (status.code()) {
    case Code::kInvalidArgument:
      return {400, "invalid_argument", status.message(), {}};
    case Code::kNotFound:
      return {404, "not_found", status.message(), {}};
    case Code::kAlreadyExists:
    case Code::kFailedPrecondition:
      return {409, "conflict", status.message(), {}};
    case Code::kUnavailable:
      return {503, "unavailable", status.message(), {}};
    case Code::kDeadlineExceeded:
      return {504, "timeout", status.message(), {}};
    case Code::kCorruption:
      return {500, "corrupt_data", status.message(), {}};
    default:
      return {500, "internal", status.ToString(), {}};
  }
}

std::string ErrorBody(const ApiError& error) {
  boost::json::object inner;
  inner["code"] = error.code;
  // Messages may quote the request (an id, a query value): never let its bytes break the JSON.
  inner["message"] = ToValidUtf8(error.message);
  if (error.field.empty()) {
    inner["field"] = nullptr;
  } else {
    inner["field"] = ToValidUtf8(error.field);
  }
  boost::json::object outer;
  outer["error"] = std::move(inner);
  return boost::json::serialize(outer);
}

}  // namespace bananas::api
