// ApiError: what an HTTP answer of 4xx/5xx says, as {"error": {"code", "message", "field"}}.
//
// `code` is for programs (stable strings, listed in docs/API.md), `message` for people, and
// `field` names the bad input ("jobs[2].priority", "wait_ms") or is empty when no single
// field is at fault. ApiResult<T> is a value or an ApiError, for the parsing steps that must
// name a field (a Status has no place for one).
//
// Plain values; thread-safe as values are.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "bananas/status.h"

namespace bananas::api {

struct ApiError {
  int http_status = 400;
  std::string code;
  std::string message;
  std::string field;

  // 400 invalid_field: the field is there but its value is wrong.
  static ApiError InvalidField(std::string field, std::string message) {
    return {400, "invalid_field", std::move(message), std::move(field)};
  }
  static ApiError MissingField(std::string field) {
    return {400, "missing_field", "is required", std::move(field)};
  }
  static ApiError UnknownField(std::string field) {
    return {400, "unknown_field", "is not a field of this request", std::move(field)};
  }
  static ApiError NotFound(std::string message, std::string field = {}) {
    return {404, "not_found", std::move(message), std::move(field)};
  }
};

// The HTTP answer for a Status from the layers below: InvalidArgument 400, NotFound 404,
// AlreadyExists/FailedPrecondition 409, Unavailable 503, DeadlineExceeded 504, the rest 500.
ApiError ErrorFromStatus(const Status& status);

// The body {"error": {...}}; "field" is null when empty.
std::string ErrorBody(const ApiError& error);

template <typename T>
class [[nodiscard]] ApiResult {
 public:
  ApiResult(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  ApiResult(ApiError error) : error_(std::move(error)) {}  // NOLINT

  bool ok() const { return value_.has_value(); }
  // REQUIRES: ok().
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  T& operator*() & { return *value_; }
  // REQUIRES: !ok().
  const ApiError& error() const { return error_; }

 private:
  std::optional<T> value_;
  ApiError error_;
};

}  // namespace bananas::api
