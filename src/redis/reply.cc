#include "redis/reply.h"

#include <charconv>

namespace bananas::redis {
namespace {

// Appends a rendering of `reply` to `out`, stopping early once `out` exceeds `limit`.
void AppendDescription(const Reply& reply, size_t limit, std::string& out) {
  if (out.size() > limit) return;
  switch (reply.type) {
    case Reply::Type::kNil:
      out += "nil";
      return;
    case Reply::Type::kInteger: {
      char digits[24];
      auto [end, ec] = std::to_chars(digits, digits + sizeof digits, reply.integer);
      out.append(digits, end);
      return;
    }
    case Reply::Type::kStatus:
      out += reply.str;
      return;
    case Reply::Type::kError:
      out += "(error) ";
      out += reply.str;
      return;
    case Reply::Type::kString: {
      // Quoted, with bytes that would garble a log line escaped.
      static constexpr char kHex[] = "0123456789abcdef";
      out += '"';
      for (char c : reply.str) {
        if (out.size() > limit) return;
        auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
          out += '\\';
          out += c;
        } else if (byte < 0x20 || byte >= 0x7f) {
          out += "\\x";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xf];
        } else {
          out += c;
        }
      }
      out += '"';
      return;
    }
    case Reply::Type::kArray: {
      out += '[';
      for (size_t i = 0; i < reply.elements.size(); ++i) {
        if (out.size() > limit) return;
        if (i > 0) out += ", ";
        AppendDescription(reply.elements[i], limit, out);
      }
      out += ']';
      return;
    }
  }
}

}  // namespace

std::string Reply::Describe(size_t max_chars) const {
  std::string out;
  AppendDescription(*this, max_chars, out);
  if (out.size() > max_chars) {
    constexpr std::string_view kEllipsis = "...";
    out.resize(max_chars > kEllipsis.size() ? max_chars - kEllipsis.size() : 0);
    out += kEllipsis;
  }
  return out;
}

}  // namespace bananas::redis
