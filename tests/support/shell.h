// Shell: runs a command line with bash, as a user would type it, and returns its exit code
// and combined output. For tests that check the commands of a user's guide (go tool pprof,
// curl, promtool) word for word.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace bananas::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs `command` with bash in `directory`.
inline CommandResult Shell(const std::string& command, const std::string& directory = ".") {
  std::string full = "cd " + ShellQuote(directory) + " && bash -c " + ShellQuote(command) + " 2>&1";
  CommandResult result;
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Debian's golang-go puts `go` on PATH; accept its versioned directory too.
inline void PutGoOnPath() {
  if (Shell("command -v go").exit_code == 0) return;
  const char* go_dir = "/usr/lib/go-1.19/bin";
  if (Shell(std::string("test -x ") + go_dir + "/go").exit_code == 0) {
    std::string path = std::string(go_dir) + ":" + std::getenv("PATH");
    setenv("PATH", path.c_str(), 1);
  }
}

}  // namespace bananas::testing
