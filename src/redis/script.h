// A Lua script known by its SHA1, loaded once per connection lifetime and called by EVALSHA.
#pragma once

#include <string>
#include <string_view>

namespace bananas::redis {

class Script {
 public:
  // `name` appears in error messages ("script dequeue: ...").
  Script(std::string name, std::string source);
  const std::string& name() const { return name_; }
  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }  // lower-case hex, as SCRIPT LOAD answers

 private:
  std::string name_;
  std::string source_;
  std::string sha1_;
};

// SHA1 of `data` as 40 lower-case hex characters.
std::string Sha1Hex(std::string_view data);

}  // namespace bananas::redis
