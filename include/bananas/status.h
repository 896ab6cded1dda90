// Status and Result<T>: the one error type of Bananas.
//
// A Status is a code plus a message; an OK status costs one null pointer. Result<T> holds a
// value or a non-OK Status and follows std::expected's API, so that under C++23 it can become
// an alias. Everyday outcomes of a queue (lease lost, paused, duplicate) are codes callers
// branch on; nothing in the library throws across its public API.
//
// Thread safety: a Status or Result is a value; distinct objects may be used from distinct
// threads, one object is not synchronised.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace bananas {

class [[nodiscard]] Status {
 public:
  enum class Code : int {
    kOk = 0,
    kInvalidArgument = 1,
    kNotFound = 2,
    kAlreadyExists = 3,
    kFailedPrecondition = 4,  // paused, cancelled, already terminal
    kLeaseLost = 5,           // a stale fencing token
    kUnavailable = 6,         // Redis down or timed out; retryable
    kCancelled = 7,
    kCorruption = 8,          // data in Redis that does not decode
    kInternal = 9,            // a broken invariant, e.g. a script reply of the wrong shape
    kDeadlineExceeded = 10,
    kResourceExhausted = 11,  // Redis is full (OOM: maxmemory reached); retryable once space frees
  };

  Status() noexcept = default;
  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string_view msg) { return Status(Code::kInvalidArgument, msg); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status AlreadyExists(std::string_view msg) { return Status(Code::kAlreadyExists, msg); }
  static Status FailedPrecondition(std::string_view msg) {
    return Status(Code::kFailedPrecondition, msg);
  }
  static Status LeaseLost(std::string_view msg) { return Status(Code::kLeaseLost, msg); }
  static Status Unavailable(std::string_view msg) { return Status(Code::kUnavailable, msg); }
  static Status Cancelled(std::string_view msg) { return Status(Code::kCancelled, msg); }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status Internal(std::string_view msg) { return Status(Code::kInternal, msg); }
  static Status DeadlineExceeded(std::string_view msg) {
    return Status(Code::kDeadlineExceeded, msg);
  }
  static Status ResourceExhausted(std::string_view msg) {
    return Status(Code::kResourceExhausted, msg);
  }

  bool ok() const { return state_ == nullptr; }
  Code code() const { return state_ ? state_->code : Code::kOk; }
  // The message without the code name; empty for OK.
  const std::string& message() const;
  bool IsNotFound() const { return code() == Code::kNotFound; }
  bool IsLeaseLost() const { return code() == Code::kLeaseLost; }
  bool IsUnavailable() const { return code() == Code::kUnavailable; }
  bool IsInvalidArgument() const { return code() == Code::kInvalidArgument; }
  bool IsFailedPrecondition() const { return code() == Code::kFailedPrecondition; }
  bool IsResourceExhausted() const { return code() == Code::kResourceExhausted; }

  // "OK" or "<CodeName>: <message>".
  std::string ToString() const;
  // Returns a copy whose message is "<context>: <message>"; OK stays OK.
  Status WithContext(std::string_view context) const;

  static const char* CodeName(Code code);

 private:
  struct State {
    Code code;
    std::string message;
  };
  Status(Code code, std::string_view msg);

  std::unique_ptr<State> state_;  // null means OK
};

// A value or a non-OK Status, with std::expected's vocabulary.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit like std::expected
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Status::Internal("Result constructed from an OK status");
  }

  bool has_value() const { return value_.has_value(); }
  explicit operator bool() const { return has_value(); }
  bool ok() const { return has_value(); }

  // REQUIRES: has_value().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

  // OK when has_value(), else the error.
  const Status& status() const { return status_; }
  // REQUIRES: !has_value(). Named as std::expected's.
  const Status& error() const { return status_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace bananas

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define BANANAS_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::bananas::Status bananas_status_ = (expr);  \
    if (!bananas_status_.ok()) return bananas_status_; \
  } while (0)
