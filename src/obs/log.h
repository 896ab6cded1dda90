// Structured logging of every service: one line per event on stderr, JSON or console,
// through spdlog.
//
//   ConfigureLogging(level, format)   once, from app/ (LOG_LEVEL, LOG_FORMAT)
//   Log(level, message, {fields})     an event: a short fixed message ("job done") plus
//                                     key/value fields (job_id, queue, ...)
//   LogEnabled(level)                 one relaxed load: guard fields that cost to build
//
// Formats. console: "2026-11-27T21:04:40.123Z INFO  job done job_id=01J… outcome=succeeded";
// values with spaces, quotes or '=' are quoted. json: one object per line,
// {"time":"…","level":"info","msg":"job done","job_id":"01J…",…}; every string is escaped
// (control characters as \u00XX, invalid UTF-8 replaced), so each line is valid JSON.
//
// Secrets: nothing here knows what a secret is. Callers never pass a password: a Redis
// endpoint is logged as redis::Options::Endpoint() or redis::RedactUrl(url).
//
// Why one process-wide logger rather than one passed down (STYLE.md prefers injection): the
// sink is the process's stderr either way, spdlog keeps its own registry, and a logger
// parameter on every Connection and loop would add noise to every constructor for no second
// implementation. Tests read the output of real processes instead of swapping the logger.
// Until ConfigureLogging runs (library users, tests) the level is info, the format console.
//
// Thread safety: all functions are thread-safe; a line is written whole.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

namespace bananas::obs {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };
enum class LogFormat { kConsole, kJson };

// One key/value of an event. Strings are copied into the line, not kept.
struct LogField {
  enum class Kind { kString, kInteger, kDouble, kBool };

  LogField(std::string_view k, std::string_view v) : key(k), kind(Kind::kString), text(v) {}
  LogField(std::string_view k, const char* v) : key(k), kind(Kind::kString), text(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), kind(Kind::kString), text(v) {}
  LogField(std::string_view k, bool v) : key(k), kind(Kind::kBool), integer(v ? 1 : 0) {}
  LogField(std::string_view k, double v) : key(k), kind(Kind::kDouble), real(v) {}
  template <typename T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
  LogField(std::string_view k, T v) : key(k), kind(Kind::kInteger), integer(static_cast<int64_t>(v)) {}

  std::string_view key;
  Kind kind;
  std::string_view text;
  int64_t integer = 0;
  double real = 0;
};

void ConfigureLogging(LogLevel level, LogFormat format);
bool LogEnabled(LogLevel level);
void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});

// The line Log would write (without the newline), for tests of the formats.
std::string FormatLogLine(LogFormat format, LogLevel level, int64_t unix_ms,
                          std::string_view message, std::initializer_list<LogField> fields);

// JSON string escaping (quotes included in the output): ", \, control characters; invalid
// UTF-8 bytes become U+FFFD.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace bananas::obs
