#include "redis_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace bananas::testing {

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return 0;
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

namespace {

bool Pings(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const char ping[] = "*1\r\n$4\r\nPING\r\n";
    if (::write(fd, ping, sizeof ping - 1) == static_cast<ssize_t>(sizeof ping - 1)) {
      timeval tv{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char buf[64];
      ssize_t n = ::read(fd, buf, sizeof buf);
      // A server with requirepass answers NOAUTH: alive all the same.
      ok = (n >= 5 && std::string(buf, 5) == "+PONG") ||
           (n >= 7 && std::string(buf, 7) == "-NOAUTH");
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace

Result<std::unique_ptr<RedisServer>> RedisServer::Start(RedisServerOptions options) {
  std::unique_ptr<RedisServer> server(new RedisServer());
  server->options_ = std::move(options);
  if (server->options_.data_dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bananas-redis-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return Status::Internal("mkdtemp failed");
    server->data_dir_ = tmpl;
    server->own_dir_ = true;
  } else {
    server->data_dir_ = server->options_.data_dir;
  }
  // A port can be taken between FreePort() and bind: try a few.
  Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    server->port_ = FreePort();
    last = server->Launch();
    if (last.ok()) return server;
  }
  return last;
}

Status RedisServer::Launch() {
  std::vector<std::string> args = {"redis-server",  "--port",       std::to_string(port_),
                                   "--bind",        "127.0.0.1",    "--dir",
                                   data_dir_,       "--save",       "",
                                   "--appendonly",  options_.appendonly ? "yes" : "no",
                                   "--daemonize",   "no",           "--logfile",
                                   data_dir_ + "/redis.log", "--protected-mode", "no"};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  pid_t pid = ::fork();
  if (pid < 0) return Status::Internal("fork failed");
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp("redis-server", argv.data());
    std::perror("execvp redis-server");
    ::_exit(127);
  }
  pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Pings(port_)) return Status::Ok();
    int wstatus = 0;
    if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::Unavailable("redis-server exited at start (port " + std::to_string(port_) +
                                 "); is it installed? see " + data_dir_ + "/redis.log");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // waiting on a child process
  }
  Kill();
  return Status::Unavailable("redis-server did not answer PING within 10s");
}

void RedisServer::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int wstatus = 0;
  ::waitpid(pid_, &wstatus, 0);
  pid_ = -1;
}

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int wstatus = 0;
  ::waitpid(pid_, &wstatus, 0);
  pid_ = -1;
}

Status RedisServer::Restart() {
  Stop();
  return Launch();
}

std::string RedisServer::url(int db) const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
}

std::string RedisServer::Cli(const std::vector<std::string>& args) const {
  std::string cmd = "redis-cli -p " + std::to_string(port_);
  for (const auto& a : args) {
    cmd += " '";
    for (char c : a) {
      if (c == '\'') {
        cmd += "'\\''";
      } else {
        cmd += c;
      }
    }
    cmd += "'";
  }
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
  ::pclose(f);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

RedisServer::~RedisServer() {
  Kill();
  if (own_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
  }
}

}  // namespace bananas::testing
