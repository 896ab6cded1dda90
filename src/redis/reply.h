// A decoded RESP2 reply. Built from hiredis' reader; owns its data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bananas::redis {

struct Reply {
  enum class Type : uint8_t { kNil, kString, kStatus, kError, kInteger, kArray };

  Type type = Type::kNil;
  std::string str;        // kString, kStatus, kError
  int64_t integer = 0;    // kInteger
  std::vector<Reply> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
  bool is_string() const { return type == Type::kString || type == Type::kStatus; }
  bool is_integer() const { return type == Type::kInteger; }
  bool is_array() const { return type == Type::kArray; }

  // A short human rendering for error messages, truncated to `max_chars`.
  std::string Describe(size_t max_chars = 200) const;
};

}  // namespace bananas::redis
