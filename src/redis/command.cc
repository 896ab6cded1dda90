#include "redis/command.h"

#include <charconv>
#include <cmath>
#include <system_error>

namespace bananas::redis {
namespace {

template <typename Integer>
void AppendDecimal(std::string& out, Integer value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, end);
}

void AppendBulk(std::string& out, std::string_view data) {
  out += '$';
  AppendDecimal(out, data.size());
  out += "\r\n";
  out += data;
  out += "\r\n";
}

}  // namespace

Command::Command(std::string_view name) : name_(name) {
  body_.reserve(name.size() + 32);
  AppendBulk(body_, name);
  argc_ = 1;
}

Command& Command::Arg(std::string_view arg) {
  AppendBulk(body_, arg);
  ++argc_;
  return *this;
}

Command& Command::Arg(int64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  return Arg(std::string_view(digits, static_cast<size_t>(end - digits)));
}

Command& Command::Arg(uint64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  return Arg(std::string_view(digits, static_cast<size_t>(end - digits)));
}

// The shortest text that parses back to the same double (std::to_chars' round-trip promise),
// so a score or timestamp survives exactly; "%.17g" would too, but writes 0.1 as
// 0.10000000000000001. Infinities become "inf"/"-inf", which ZADD and friends accept.
Command& Command::Arg(double value) {
  if (std::isnan(value)) return Arg(std::string_view("nan"));
  char text[32];
  auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  return Arg(std::string_view(text, static_cast<size_t>(end - text)));
}

std::string Command::Encode() const {
  std::string out;
  AppendTo(out);
  return out;
}

void Command::AppendTo(std::string& out) const {
  out += '*';
  AppendDecimal(out, argc_);
  out += "\r\n";
  out += body_;
}

Pipeline& Pipeline::Add(const Command& command) {
  if (count_ == 0) first_name_ = command.name();
  command.AppendTo(buffer_);
  ++count_;
  return *this;
}

std::string Pipeline::Describe() const {
  if (count_ == 0) return "empty pipeline";
  if (count_ == 1) return first_name_;
  return first_name_ + " and " + std::to_string(count_ - 1) + " more";
}

}  // namespace bananas::redis
