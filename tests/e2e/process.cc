#include "process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <sstream>

extern char** environ;

namespace bananas::testing {

Result<std::unique_ptr<Process>> Process::Start(ProcessOptions options) {
  if (options.args.empty()) return Status::InvalidArgument("Process: no program");
  std::map<std::string, std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    size_t eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    env[std::string(text.substr(0, eq))] = std::string(text.substr(eq + 1));
  }
  for (const auto& [name, value] : options.env) {
    if (value) {
      env[name] = *value;
    } else {
      env.erase(name);
    }
  }
  std::vector<std::string> env_strings;
  for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (std::string& arg : options.args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Status::Internal("pipe2 failed");
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return Status::Internal("pipe2 failed");
  }
  pid_t pid = ::fork();
  if (pid < 0) return Status::Internal("fork failed");
  if (pid == 0) {
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);

  std::unique_ptr<Process> process(new Process());
  process->pid_ = pid;
  Process* p = process.get();
  p->stdout_reader_ = std::thread([p, fd = out_pipe[0]] { p->Read(fd, &p->out_); });
  p->stderr_reader_ = std::thread([p, fd = err_pipe[0]] { p->Read(fd, &p->err_); });
  p->reaper_ = std::thread([p, pid] {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status)
                                 : (WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1);
    std::lock_guard<std::mutex> lock(p->mu_);
    p->exit_code_ = code;
    p->changed_.notify_all();
  });
  return process;
}

void Process::Read(int fd, std::string* into) {
  char buffer[4096];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::lock_guard<std::mutex> lock(mu_);
    into->append(buffer, static_cast<size_t>(n));
    changed_.notify_all();
  }
  ::close(fd);
  std::lock_guard<std::mutex> lock(mu_);
  (into == &out_ ? stdout_closed_ : stderr_closed_) = true;
  changed_.notify_all();
}

Process::~Process() {
  bool running;
  {
    std::lock_guard<std::mutex> lock(mu_);
    running = !exit_code_.has_value();
  }
  if (running) ::kill(pid_, SIGKILL);
  reaper_.join();
  stdout_reader_.join();
  stderr_reader_.join();
}

std::string Process::out() const {
  std::lock_guard<std::mutex> lock(mu_);
  return out_;
}

std::string Process::err() const {
  std::lock_guard<std::mutex> lock(mu_);
  return err_;
}

std::string Process::Output() const {
  std::lock_guard<std::mutex> lock(mu_);
  return "--- stdout ---\n" + out_ + "--- stderr ---\n" + err_;
}

bool Process::WaitForStdout(std::string_view text, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_for(lock, timeout,
                    [&] { return out_.find(text) != std::string::npos || stdout_closed_; });
  return out_.find(text) != std::string::npos;
}

void Process::Signal(int signal) const { ::kill(pid_, signal); }

std::optional<int> Process::WaitExit(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!changed_.wait_for(lock, timeout, [&] { return exit_code_.has_value(); })) {
    return std::nullopt;
  }
  // The exit can be seen before the readers drained the pipes: wait for their EOF too, so
  // that out() and err() are complete. Bounded, in case a grandchild inherited a pipe.
  changed_.wait_for(lock, std::chrono::seconds(10),
                    [&] { return stdout_closed_ && stderr_closed_; });
  return exit_code_;
}

std::unique_ptr<Process> RunToExit(ProcessOptions options, std::chrono::milliseconds timeout) {
  Result<std::unique_ptr<Process>> process = Process::Start(std::move(options));
  if (!process) return nullptr;
  (*process)->WaitExit(timeout);
  return std::move(*process);
}

std::string Field(const std::string& text, std::string_view prefix) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with(prefix)) {
      std::string rest = line.substr(prefix.size());
      return rest.substr(0, rest.find(' '));
    }
  }
  return "";
}

bool PortRefuses(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool refused = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0;
  ::close(fd);
  return refused;
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "bananas-e2e-XXXXXX").string();
  if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

}  // namespace bananas::testing
