#include "app/own_redis.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "app/signals.h"
#include "redis/command.h"
#include "redis/connection.h"
#include "redis/options.h"

namespace bananas::app {
namespace {

// A port can be taken between FreePort() and redis-server's bind; a few tries make that
// race harmless.
constexpr int kLaunchAttempts = 5;

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "";
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    struct stat info {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

// A free TCP port on 127.0.0.1 at the time of the call; 0 if none could be had.
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// Waits up to `timeout` for child `pid` to exit and reaps it. True if it did.
bool ReapWithin(pid_t pid, std::chrono::milliseconds timeout) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == pid) return true;
  // A pidfd turns "wait for a child, with a deadline" into one poll(): no sleep loop.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    // poll() returns EINTR when a signal arrives (a /debug/pprof/goroutine dump sends SIGURG
    // to every thread): wait again for what is left of the timeout.
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd poll_fd{pidfd, POLLIN, 0};
      if (::poll(&poll_fd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) >= 0 ||
          errno != EINTR || left.count() <= 0) {
        break;
      }
    }
    ::close(pidfd);
    return ::waitpid(pid, &status, WNOHANG) == pid;
  }
  // No pidfd (Linux < 5.3): sigtimedwait() for SIGCHLD, which every thread keeps blocked.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  while (true) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return true;
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return false;
    auto left_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec wait{static_cast<time_t>(left_ns / 1'000'000'000),
                  static_cast<long>(left_ns % 1'000'000'000)};
    ::sigtimedwait(&set, nullptr, &wait);
  }
}

}  // namespace

Result<std::unique_ptr<OwnRedis>> OwnRedis::Start(const std::string& data_dir,
                                                  Persistence persistence) {
  std::string binary = FindOnPath("redis-server");
  if (binary.empty()) {
    return Status::FailedPrecondition(
        "dev: redis-server is not on PATH; run scripts/setup to install it, or set REDIS_URL to "
        "use a Redis that is already running");
  }
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(data_dir, ec);
  if (!ec) std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Status::InvalidArgument("--data-dir: cannot create \"" + data_dir +
                                   "\": " + ec.message());
  }
  std::unique_ptr<OwnRedis> redis(new OwnRedis());
  redis->data_dir_ = dir.lexically_normal().string();
  redis->persistence_ = persistence;
  Status last;
  for (int attempt = 0; attempt < kLaunchAttempts; ++attempt) {
    redis->port_ = FreePort();
    if (redis->port_ == 0) return Status::Unavailable("dev: no free port on 127.0.0.1");
    last = redis->Launch(binary);
    if (last.ok()) last = redis->AwaitPing();
    if (last.ok()) return redis;
    redis->Stop();
    // Only a lost race for the port is worth another try.
    if (redis->LogTail().find("Address already in use") == std::string::npos) break;
  }
  return last;
}

Status OwnRedis::Launch(const std::string& binary) {
  // Everything the child needs is built before fork(): between fork and exec it may only make
  // async-signal-safe calls.
  const std::string log = log_path();
  std::vector<std::string> args = {
      binary,
      "--port",
      std::to_string(port_),
      "--bind",
      "127.0.0.1",
      "--dir",
      data_dir_,
      // Every write in the AOF, fsynced each second (Redis' default policy): a dev queue
      // survives restarts, like a real one. RDB snapshots off: one persistence path is enough.
      "--appendonly",
      persistence_ == Persistence::kAppendOnly ? "yes" : "no",
      "--save",
      "",
      "--daemonize",
      "no",
      "--logfile",
      log,
  };
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) return Status::Internal("dev: fork failed");
  if (pid == 0) {
    RestoreChildSignals();
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    // The parent may have died before prctl(): then nobody would ever stop this child.
    if (::getppid() != parent) ::_exit(1);
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    // Anything redis says before it opens its log (a bad argument) lands in the log too, and
    // the parent's stdout, which callers may be reading to its end, is not held open.
    int log_fd = ::open(log.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (log_fd >= 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
    }
    ::execv(argv[0], argv.data());
    const char msg[] = "bananas dev: execv redis-server failed\n";
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  pid_ = pid;
  return Status::Ok();
}

// True once something accepts TCP connections on 127.0.0.1:port. A plain connect: the
// redis::Connection would log a warning for each refusal while the child is still starting.
static bool Accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return connected;
}

Status OwnRedis::AwaitPing() {
  Result<redis::Options> options = redis::Options::FromUrl(url());
  if (!options) return options.status();
  // Quietly until the port accepts (or the child dies, which the loop below reports).
  auto listening_by = std::chrono::steady_clock::now() + kStartTimeout;
  while (!Accepts(port_) && !Exited() && std::chrono::steady_clock::now() < listening_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Short timeouts and a fast reconnect: a local server either answers within milliseconds
  // or is still loading its AOF, and the Connection paces retries by its backoff.
  options->connect_timeout = std::chrono::milliseconds(250);
  options->io_timeout = std::chrono::seconds(1);
  options->reconnect_initial = std::chrono::milliseconds(5);
  options->reconnect_max = std::chrono::milliseconds(50);
  Result<std::unique_ptr<redis::Connection>> connection = redis::Connection::Open(*options);
  if (!connection) return connection.status();

  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Exited()) {
      return Status::Unavailable("dev: redis-server exited at start; " + log_path() +
                                 " says: " + LogTail());
    }
    // LOADING errors (a large AOF being replayed) are kError replies: keep waiting.
    Result<redis::Reply> reply = (*connection)->Run(redis::Command("PING"));
    if (reply && !reply->is_error()) return Status::Ok();
  }
  return Status::Unavailable("dev: redis-server did not answer PING within " +
                             std::to_string(kStartTimeout.count()) + "s; see " + log_path());
}

std::string OwnRedis::url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

std::string OwnRedis::log_path() const { return data_dir_ + "/redis.log"; }

std::string OwnRedis::LogTail() const {
  std::ifstream in(log_path());
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    lines.push_back(line);
    if (lines.size() > 3) lines.pop_front();
  }
  std::string tail;
  for (const std::string& l : lines) {
    if (!tail.empty()) tail += " | ";
    tail += l;
  }
  return tail.empty() ? "(nothing)" : tail;
}

bool OwnRedis::Exited() {
  pid_t pid = pid_.load();
  if (pid <= 0) return true;
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return false;
  pid_ = -1;
  return true;
}

void OwnRedis::Stop() {
  pid_t pid = pid_.load();
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  if (!ReapWithin(pid, kStopTimeout)) {
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  pid_ = -1;
}

void OwnRedis::Abandon() const {
  pid_t pid = pid_.load();
  if (pid > 0) ::kill(pid, SIGTERM);
}

OwnRedis::~OwnRedis() { Stop(); }

}  // namespace bananas::app
