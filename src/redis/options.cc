#include "redis/options.h"

#include <charconv>
#include <optional>

#include "base/duration.h"

namespace bananas::redis {
namespace {

constexpr std::string_view kVariable = "REDIS_URL";
constexpr std::string_view kExpectedForm =
    "redis://[user:password@]host[:port][/db][?connect_timeout=2s&io_timeout=5s], or rediss://";

// A URL cut at its delimiters, nothing decoded yet. `userinfo` is everything before the last
// '@', so a password holding a raw '@', '/' or '?' still splits where its owner meant;
// percent-encoding is the portable way to write such a password.
struct UrlParts {
  std::string_view scheme;    // "redis" or "rediss" (not checked here)
  std::string_view userinfo;  // "user:password", ":password" or empty
  bool has_userinfo = false;
  std::string_view host_port;                   // "host", "host:6379", "[::1]:6379"
  std::string_view path;                        // "", "/" or "/3"
  std::string_view query;                       // after '?', without it
  size_t userinfo_begin = 0;                    // offsets into the URL, for redaction
  size_t query_begin = std::string_view::npos;  // offset of the '?'
};

// Nullopt when there is no "scheme://".
std::optional<UrlParts> SplitUrl(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  UrlParts parts;
  parts.scheme = url.substr(0, scheme_end);
  size_t rest_begin = scheme_end + 3;
  std::string_view rest = url.substr(rest_begin);
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    parts.has_userinfo = true;
    parts.userinfo = rest.substr(0, at);
    parts.userinfo_begin = rest_begin;
    rest = rest.substr(at + 1);
  }
  size_t query_begin = rest.find('?');
  if (query_begin != std::string_view::npos) {
    parts.query = rest.substr(query_begin + 1);
    parts.query_begin = static_cast<size_t>(rest.data() - url.data()) + query_begin;
    rest = rest.substr(0, query_begin);
  }
  size_t path_begin = rest.find('/');
  if (path_begin != std::string_view::npos) {
    parts.path = rest.substr(path_begin);
    rest = rest.substr(0, path_begin);
  }
  parts.host_port = rest;
  return parts;
}

Status Invalid(std::string_view redacted_url, std::string_view problem) {
  std::string msg(kVariable);
  msg += " \"";
  msg += redacted_url;
  msg += "\": ";
  msg += problem;
  return Status::InvalidArgument(msg);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes; nullopt on a malformed escape.
std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int high = HexValue(text[i + 1]);
    int low = HexValue(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

bool ParseDecimal(std::string_view text, int64_t max, int64_t& value) {
  if (text.empty() || text.size() > 18) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && value <= max;
}

bool IsValidHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_' || c == ':' || c == '%';
}

}  // namespace

Result<Options> Options::FromUrl(std::string_view url) {
  std::optional<UrlParts> parts = SplitUrl(url);
  if (!parts) {
    // Without a "://" nothing tells where a password would sit, so nothing is echoed.
    return Status::InvalidArgument(std::string(kVariable) + ": expected " +
                                   std::string(kExpectedForm));
  }
  Options options;
  if (parts->scheme == "redis") {
    options.tls = false;
  } else if (parts->scheme == "rediss") {
    options.tls = true;
  } else {
    // Only a scheme of plain letters is echoed, the URL never: what precedes "://" in a
    // mistyped URL might be anything.
    std::string problem = std::string(kVariable) + ": unknown scheme";
    bool plain = !parts->scheme.empty() && parts->scheme.size() <= 16;
    for (char c : parts->scheme) {
      plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+');
    }
    if (plain) problem += " \"" + std::string(parts->scheme) + "\"";
    return Status::InvalidArgument(problem + "; expected " + std::string(kExpectedForm));
  }
  // What error messages quote: the URL with its password masked and its query dropped (an
  // unknown parameter might carry a secret too; the faulty parameter is named on its own).
  const std::string redacted = RedactUrl(url.substr(0, parts->query_begin));

  if (parts->has_userinfo) {
    std::string_view userinfo = parts->userinfo;
    size_t colon = userinfo.find(':');
    std::string_view user = userinfo.substr(0, colon);
    std::optional<std::string> decoded_user = PercentDecode(user);
    if (!decoded_user) return Invalid(redacted, "malformed %-escape in the user name");
    options.username = std::move(*decoded_user);
    if (colon == std::string_view::npos) {
      // "redis://name@host": some clients read "name" as a password, others as a user.
      // Refusing the form beats guessing and sending a secret as a user name, or the reverse.
      return Invalid(redacted,
                     "user info without a ':'; write redis://user:password@host or "
                     "redis://:password@host");
    }
    std::optional<std::string> decoded_password = PercentDecode(userinfo.substr(colon + 1));
    if (!decoded_password) return Invalid(redacted, "malformed %-escape in the password");
    options.password = std::move(*decoded_password);
    if (options.password.empty() && !options.username.empty()) {
      return Invalid(redacted, "user \"" + options.username + "\" has an empty password");
    }
  }

  std::string_view host_port = parts->host_port;
  std::string_view port_text;
  bool has_port = false;
  if (!host_port.empty() && host_port.front() == '[') {
    size_t close = host_port.find(']');
    if (close == std::string_view::npos) return Invalid(redacted, "'[' of an IPv6 host not closed");
    options.host = std::string(host_port.substr(1, close - 1));
    std::string_view after = host_port.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Invalid(redacted, "unexpected text after the IPv6 host");
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    size_t colon = host_port.find(':');
    options.host = std::string(host_port.substr(0, colon));
    if (colon != std::string_view::npos) {
      if (host_port.find(':', colon + 1) != std::string_view::npos) {
        return Invalid(redacted, "an IPv6 host must be written in brackets, as [::1]");
      }
      port_text = host_port.substr(colon + 1);
      has_port = true;
    }
  }
  if (options.host.empty()) return Invalid(redacted, "missing host");
  for (char c : options.host) {
    if (!IsValidHostChar(c)) {
      return Invalid(redacted, "invalid character in host \"" + options.host + "\"");
    }
  }
  if (has_port) {
    int64_t port = 0;
    if (!ParseDecimal(port_text, 65535, port) || port == 0) {
      return Invalid(redacted, "invalid port \"" + std::string(port_text) + "\" (1-65535)");
    }
    options.port = static_cast<uint16_t>(port);
  }

  std::string_view db_text = parts->path.empty() ? "" : parts->path.substr(1);
  if (!db_text.empty()) {
    int64_t db = 0;
    if (!ParseDecimal(db_text, 1'000'000'000, db)) {
      return Invalid(redacted, "invalid database \"" + std::string(db_text) +
                                   "\" (expected a number, as in /0)");
    }
    options.db = static_cast<int>(db);
  }

  std::string_view query = parts->query;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    std::chrono::milliseconds* target = nullptr;
    if (key == "connect_timeout") {
      target = &options.connect_timeout;
    } else if (key == "io_timeout") {
      target = &options.io_timeout;
    } else {
      // The value is not echoed: an unknown parameter might carry anything.
      return Invalid(redacted, "unknown parameter \"" + std::string(key.substr(0, 64)) +
                                   "\" (known: connect_timeout, io_timeout)");
    }
    Result<std::chrono::milliseconds> duration =
        ParseDuration(value, std::string(kVariable) + " " + std::string(key));
    if (!duration.ok()) return duration.status();
    if (duration->count() <= 0) {
      return Invalid(redacted, std::string(key) + " must be positive");
    }
    *target = *duration;
  }
  return options;
}

std::string Options::Endpoint() const {
  std::string out;
  out.reserve(username.size() + host.size() + 16);
  if (!username.empty()) {
    out += username;
    out += '@';
  }
  bool ipv6 = host.find(':') != std::string::npos;
  if (ipv6) out += '[';
  out += host;
  if (ipv6) out += ']';
  out += ':';
  out += std::to_string(port);
  out += '/';
  out += std::to_string(db);
  return out;
}

std::string RedactUrl(std::string_view url) {
  std::optional<UrlParts> parts = SplitUrl(url);
  if (!parts || !parts->has_userinfo || parts->userinfo.empty()) return std::string(url);
  std::string_view userinfo = parts->userinfo;
  size_t colon = userinfo.find(':');
  if (colon + 1 == userinfo.size()) return std::string(url);  // "user:@host": empty password
  std::string out(url.substr(0, parts->userinfo_begin));
  if (colon == std::string_view::npos) {
    // "redis://secret@host": some clients take a lone user info as the password.
    out += "***";
  } else {
    out += userinfo.substr(0, colon);
    out += ":***";
  }
  out += url.substr(parts->userinfo_begin + userinfo.size());
  return out;
}

}  // namespace bananas::redis
