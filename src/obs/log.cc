#include "obs/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>

#include "obs/metrics.h"

namespace bananas::obs {
namespace {

std::atomic<int> current_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> current_format{static_cast<int>(LogFormat::kConsole)};

// spdlog does the writing (a mutex per sink, one write per line); our own formatter builds
// the line, so the logger's pattern is just the payload.
spdlog::logger& Logger() {
  static spdlog::logger* logger = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto* made = new spdlog::logger("bananas", std::move(sink));  // lives until exit
    made->set_pattern("%v");
    made->set_level(spdlog::level::trace);  // filtering is ours (LogEnabled)
    made->flush_on(spdlog::level::trace);   // stderr: every line at once
    return made;
  }();
  return *logger;
}

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::string_view ConsoleLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO ";
    case LogLevel::kWarn: return "WARN ";
    case LogLevel::kError: return "ERROR";
  }
  return "INFO ";
}

spdlog::level::level_enum SpdLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

// RFC 3339 UTC with milliseconds.
void AppendTime(std::string& out, int64_t unix_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[96];  // sized for any int fields, so GCC can prove no truncation
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  out += buffer;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one.
size_t Utf8Length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n;
  uint32_t min;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  uint32_t code = c & (0xFF >> (n + 1));
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return n;
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

void AppendValue(std::string& out, LogFormat format, const LogField& f) {
  switch (f.kind) {
    case LogField::Kind::kString:
      if (format == LogFormat::kJson || NeedsQuotes(f.text)) {
        AppendJsonString(out, f.text);
      } else {
        out += f.text;
      }
      return;
    case LogField::Kind::kInteger:
      out += std::to_string(f.integer);
      return;
    case LogField::Kind::kBool:
      out += f.integer != 0 ? "true" : "false";
      return;
    case LogField::Kind::kDouble: {
      std::string v = FormatValue(f.real);
      // JSON has no NaN or Infinity.
      if (format == LogFormat::kJson && (v == "NaN" || v == "+Inf" || v == "-Inf")) v = "null";
      out += v;
      return;
    }
  }
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c == '\n') {
      out += "\\n";
      ++i;
    } else if (c == '\r') {
      out += "\\r";
      ++i;
    } else if (c == '\t') {
      out += "\\t";
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
      ++i;
    } else {
      size_t n = Utf8Length(text, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(text.substr(i, n));
        i += n;
      }
    }
  }
  out.push_back('"');
}

std::string FormatLogLine(LogFormat format, LogLevel level, int64_t unix_ms,
                          std::string_view message, std::initializer_list<LogField> fields) {
  std::string line;
  line.reserve(96 + message.size() + fields.size() * 24);
  if (format == LogFormat::kJson) {
    line += "{\"time\":\"";
    AppendTime(line, unix_ms);
    line += "\",\"level\":\"";
    line += LevelName(level);
    line += "\",\"msg\":";
    AppendJsonString(line, message);
    for (const LogField& f : fields) {
      line.push_back(',');
      AppendJsonString(line, f.key);
      line.push_back(':');
      AppendValue(line, format, f);
    }
    line.push_back('}');
    return line;
  }
  AppendTime(line, unix_ms);
  line.push_back(' ');
  line += ConsoleLevel(level);
  line.push_back(' ');
  // The message is ours and fixed, but may quote an error text: keep it on one line.
  for (char c : message) line.push_back(c == '\n' || c == '\r' ? ' ' : c);
  for (const LogField& f : fields) {
    line.push_back(' ');
    line += f.key;
    line.push_back('=');
    AppendValue(line, format, f);
  }
  return line;
}

void ConfigureLogging(LogLevel level, LogFormat format) {
  current_level.store(static_cast<int>(level), std::memory_order_relaxed);
  current_format.store(static_cast<int>(format), std::memory_order_relaxed);
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= current_level.load(std::memory_order_relaxed);
}

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  auto format = static_cast<LogFormat>(current_format.load(std::memory_order_relaxed));
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::string line = FormatLogLine(format, level, now_ms, message, fields);
  Logger().log(SpdLevel(level), "{}", line);
}

}  // namespace bananas::obs
