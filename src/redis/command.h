// A Redis command encoded once as RESP, and a Pipeline of them sent in one round trip.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bananas::redis {

// Builder: Command("HSET").Arg(key).Arg("f").Arg(int64_t{1}). Arguments are binary-safe.
class Command {
 public:
  explicit Command(std::string_view name);
  Command& Arg(std::string_view arg);
  Command& Arg(const char* arg) { return Arg(std::string_view(arg)); }
  Command& Arg(const std::string& arg) { return Arg(std::string_view(arg)); }
  Command& Arg(int64_t value);
  Command& Arg(int value) { return Arg(static_cast<int64_t>(value)); }
  Command& Arg(uint64_t value);
  Command& Arg(double value);

  // The RESP encoding: *N\r\n then $len\r\narg\r\n for each argument.
  std::string Encode() const;
  // Appends Encode()'s bytes to `out`: pipelines and reused write buffers skip the temporary.
  void AppendTo(std::string& out) const;
  const std::string& name() const { return name_; }
  // Elements of the encoding, the name included (Redis' argc): Command("GET").Arg(k) has 2.
  size_t arg_count() const { return argc_; }

 private:
  std::string name_;
  std::string body_;  // encoded arguments, the name's included
  size_t argc_ = 0;
};

// Many commands, one write and one read. Replies come back in order, one per command.
class Pipeline {
 public:
  Pipeline& Add(const Command& command);
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  const std::string& encoded() const { return buffer_; }
  // For error messages: the first command's name and how many follow.
  std::string Describe() const;

 private:
  std::string buffer_;
  size_t count_ = 0;
  std::string first_name_;
};

}  // namespace bananas::redis
