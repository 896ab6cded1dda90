#include "fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <deque>
#include <optional>
#include <system_error>

namespace bananas::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Longest poll() wait: bounds how late a setting is noticed should a wake-up be missed.
constexpr int kMaxPollMs = 100;
// Reads are bounded per call so one busy socket cannot starve the others.
constexpr size_t kReadChunk = 64 * 1024;

std::string ErrnoText(int error) { return std::generic_category().message(error); }

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Closes with a reset (SO_LINGER 0) rather than a FIN: the peer sees ECONNRESET.
void CloseWithReset(int fd) {
  if (fd < 0) return;
  linger hard{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  ::close(fd);
}

bool ParseInt(std::string_view text, int64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Length of the first complete request in `data`, 0 if more bytes are needed, -1 when the
// bytes are no request at all. `args` gets the command's words (empty for the requests
// Redis ignores without a reply: "*0" and blank inline lines).
int64_t ParseRequest(std::string_view data, std::vector<std::string>& args) {
  args.clear();
  if (data.empty()) return 0;
  if (data[0] != '*') {  // inline: one line, words split on blanks
    size_t newline = data.find('\n');
    if (newline == std::string_view::npos) return 0;
    std::string_view line = data.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t at = 0;
    while (at < line.size()) {
      while (at < line.size() && (line[at] == ' ' || line[at] == '\t')) ++at;
      size_t end = at;
      while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
      if (end > at) args.emplace_back(line.substr(at, end - at));
      at = end;
    }
    return static_cast<int64_t>(newline + 1);
  }
  size_t pos = 0;
  auto read_line = [&](std::string_view& line) {
    size_t crlf = data.find("\r\n", pos);
    if (crlf == std::string_view::npos) return false;
    line = data.substr(pos, crlf - pos);
    pos = crlf + 2;
    return true;
  };
  std::string_view line;
  if (!read_line(line)) return 0;
  int64_t count = 0;
  if (!ParseInt(line.substr(1), count)) return -1;
  for (int64_t i = 0; i < count; ++i) {
    if (!read_line(line)) return 0;
    int64_t length = 0;
    if (line.empty() || line[0] != '$' || !ParseInt(line.substr(1), length) || length < 0) {
      return -1;
    }
    if (data.size() < pos + static_cast<size_t>(length) + 2) return 0;
    args.emplace_back(data.substr(pos, static_cast<size_t>(length)));
    pos += static_cast<size_t>(length) + 2;
  }
  return static_cast<int64_t>(pos);
}

// Length of the first complete reply in `data`, 0 if more bytes are needed, -1 on bytes
// that are no RESP. Walks values iteratively: `left` counts values still to read, an
// aggregate adds its elements to it.
int64_t ReplyLength(std::string_view data) {
  size_t pos = 0;
  int64_t left = 1;
  while (left > 0) {
    if (pos >= data.size()) return 0;
    size_t crlf = data.find("\r\n", pos);
    if (crlf == std::string_view::npos) return 0;
    char type = data[pos];
    std::string_view line = data.substr(pos + 1, crlf - pos - 1);
    size_t next = crlf + 2;
    --left;
    int64_t n = 0;
    switch (type) {
      case '+':
      case '-':
      case ':':
      case '_':
      case ',':
      case '#':
      case '(':
        pos = next;
        break;
      case '$':
      case '=':
      case '!':  // bulk, verbatim, blob error
        if (!ParseInt(line, n)) return -1;
        if (n < 0) {
          pos = next;
        } else {
          if (data.size() < next + static_cast<size_t>(n) + 2) return 0;
          pos = next + static_cast<size_t>(n) + 2;
        }
        break;
      case '*':
      case '~':
      case '>':  // array, set, push
        if (!ParseInt(line, n)) return -1;
        if (n > 0) left += n;
        pos = next;
        break;
      case '%':
      case '|':  // map, attribute: key and value per entry
        if (!ParseInt(line, n)) return -1;
        if (n > 0) left += 2 * n;
        pos = next;
        break;
      default:
        return -1;
    }
  }
  return static_cast<int64_t>(pos);
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

// One client connection and its connection to Redis.
struct FaultProxy::Pair {
  int client = -1;
  int upstream = -1;
  std::string client_in;  // request bytes not yet framed
  struct Held {
    SteadyClock::time_point release;
    std::string bytes;
    bool inject = false;
    std::string error;
    bool expects_reply = true;
  };
  std::deque<Held> held;  // framed commands waiting for their release time, in order
  std::string upstream_out;
  std::string upstream_in;  // reply bytes not yet framed
  // One entry per released command still owed a reply, in order: nullopt for Redis's own
  // reply, else the injected error, sent as soon as every reply before it has been.
  std::deque<std::optional<std::string>> owed;
  std::string client_out;
  bool closing = false;
};

Result<std::unique_ptr<FaultProxy>> FaultProxy::Start(int upstream_port,
                                                      std::string upstream_host) {
  std::unique_ptr<FaultProxy> proxy(new FaultProxy());
  proxy->upstream_port_ = upstream_port;
  proxy->upstream_host_ = std::move(upstream_host);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::Internal("fault proxy: socket: " + ErrnoText(errno));
  proxy->listener_ = fd;
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, 64) != 0) {
    return Status::Internal("fault proxy: bind/listen: " + ErrnoText(errno));
  }
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  proxy->port_ = ntohs(address.sin_port);
  proxy->wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (proxy->wake_fd_ < 0) return Status::Internal("fault proxy: eventfd: " + ErrnoText(errno));
  FaultProxy* raw = proxy.get();
  proxy->thread_ = std::thread([raw] { raw->Loop(); });
  return proxy;
}

FaultProxy::~FaultProxy() {
  stop_ = true;
  if (thread_.joinable()) {
    Wake();
    thread_.join();
  }
  for (auto& pair : pairs_) {
    CloseWithReset(pair->client);
    if (pair->upstream >= 0) ::close(pair->upstream);
  }
  if (listener_ >= 0) ::close(listener_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

std::string FaultProxy::url(int db) const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
}

void FaultProxy::Wake() {
  uint64_t one = 1;
  ssize_t written = ::write(wake_fd_, &one, sizeof one);
  (void)written;  // a full counter already means "wake up"
}

void FaultProxy::SetDelay(std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(mu_);
  delay_ = delay;
}

void FaultProxy::SetBlackhole(bool on) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    blackhole_ = on;
  }
  Wake();
}

void FaultProxy::ResetConnections() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++reset_generation_;
  }
  Wake();
}

void FaultProxy::SetRefuseConnections(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  refuse_ = on;
}

void FaultProxy::InjectError(ErrorRule rule) {
  rule.command = Upper(rule.command);
  std::lock_guard<std::mutex> lock(mu_);
  rules_.push_back(std::move(rule));
}

void FaultProxy::ClearErrors() {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.clear();
}

void FaultProxy::ClearAll() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    rules_.clear();
    delay_ = std::chrono::milliseconds(0);
    blackhole_ = false;
    refuse_ = false;
  }
  Wake();
}

bool FaultProxy::MatchRule(const std::vector<std::string>& args, std::string& error) {
  std::string name = Upper(args.front());
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if (!it->command.empty() && it->command != name) continue;
    if (!it->argument.empty() &&
        std::find(args.begin() + 1, args.end(), it->argument) == args.end()) {
      continue;
    }
    error = it->error;
    if (it->count > 0 && --it->count == 0) rules_.erase(it);
    return true;
  }
  return false;
}

void FaultProxy::Loop() {
  std::vector<pollfd> fds;
  while (!stop_) {
    bool blackhole;
    uint64_t reset_generation;
    {
      std::lock_guard<std::mutex> lock(mu_);
      blackhole = blackhole_;
      reset_generation = reset_generation_;
    }
    if (reset_generation != seen_reset_generation_) {
      seen_reset_generation_ = reset_generation;
      for (auto& pair : pairs_) pair->closing = true;
    }
    auto now = SteadyClock::now();
    for (auto& pair : pairs_) {
      if (pair->closing) continue;
      Release(*pair, now);
      if (blackhole) pair->client_out.clear();
    }
    // Drop the closed pairs before polling their sockets.
    for (auto it = pairs_.begin(); it != pairs_.end();) {
      if ((*it)->closing) {
        CloseWithReset((*it)->client);
        if ((*it)->upstream >= 0) ::close((*it)->upstream);
        --connections_;
        it = pairs_.erase(it);
      } else {
        ++it;
      }
    }

    int timeout_ms = kMaxPollMs;
    for (const auto& pair : pairs_) {
      if (pair->held.empty()) continue;
      auto wait = std::chrono::ceil<std::chrono::milliseconds>(pair->held.front().release - now);
      timeout_ms = std::clamp<int>(static_cast<int>(wait.count()), 0, timeout_ms);
    }
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({listener_, POLLIN, 0});
    for (const auto& pair : pairs_) {
      short client_events = POLLIN | (pair->client_out.empty() ? 0 : POLLOUT);
      short upstream_events = POLLIN | (pair->upstream_out.empty() ? 0 : POLLOUT);
      fds.push_back({pair->client, client_events, 0});
      fds.push_back({pair->upstream, upstream_events, 0});
    }
    int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return;  // nothing sensible left to do; the destructor still cleans up
    }
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      ssize_t drained = ::read(wake_fd_, &count, sizeof count);
      (void)drained;
    }
    // Sockets first (fds index i+2 belongs to pairs_ before any new accept), then accept.
    for (size_t i = 0; i < pairs_.size(); ++i) {
      Pair& pair = *pairs_[i];
      const pollfd& client = fds[2 + 2 * i];
      const pollfd& upstream = fds[3 + 2 * i];
      if (client.revents & (POLLIN | POLLHUP | POLLERR)) ReadClient(pair);
      if (upstream.revents & (POLLIN | POLLHUP | POLLERR)) ReadUpstream(pair);
      Release(pair, SteadyClock::now());
      {
        std::lock_guard<std::mutex> lock(mu_);
        blackhole = blackhole_;
      }
      if (blackhole) pair.client_out.clear();
      // Write what there is now: poll() is only needed when a socket buffer is full.
      auto flush = [&](int fd, std::string& out) {
        while (!out.empty() && !pair.closing) {
          ssize_t sent = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
          if (sent > 0) {
            out.erase(0, static_cast<size_t>(sent));
          } else if (sent < 0 && errno == EINTR) {
            continue;
          } else if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
          } else {
            pair.closing = true;
          }
        }
      };
      flush(pair.upstream, pair.upstream_out);
      flush(pair.client, pair.client_out);
    }
    if (fds[1].revents & POLLIN) Accept();
  }
}

void FaultProxy::Accept() {
  while (true) {
    int client = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) return;  // EAGAIN: accepted all that waited
    bool refuse;
    {
      std::lock_guard<std::mutex> lock(mu_);
      refuse = refuse_;
    }
    if (refuse) {
      CloseWithReset(client);
      continue;
    }
    // Loopback: a blocking connect is immediate (or refused at once).
    int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    ::inet_pton(AF_INET, upstream_host_.c_str(), &address.sin_addr);
    if (upstream < 0 ||
        ::connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      if (upstream >= 0) ::close(upstream);
      CloseWithReset(client);
      continue;
    }
    SetNonBlocking(upstream);
    int on = 1;
    ::setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    auto pair = std::make_unique<Pair>();
    pair->client = client;
    pair->upstream = upstream;
    pairs_.push_back(std::move(pair));
    ++connections_;
  }
}

void FaultProxy::ReadClient(Pair& pair) {
  char buffer[kReadChunk];
  while (true) {
    ssize_t received = ::recv(pair.client, buffer, sizeof buffer, 0);
    if (received == 0) {
      pair.closing = true;
      break;
    }
    if (received < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) pair.closing = true;
      break;
    }
    pair.client_in.append(buffer, static_cast<size_t>(received));
    if (static_cast<size_t>(received) < sizeof buffer) break;
  }
  std::chrono::milliseconds delay;
  {
    std::lock_guard<std::mutex> lock(mu_);
    delay = delay_;
  }
  auto now = SteadyClock::now();
  std::vector<std::string> args;
  size_t consumed = 0;
  while (consumed < pair.client_in.size()) {
    std::string_view rest(pair.client_in);
    rest.remove_prefix(consumed);
    int64_t length = ParseRequest(rest, args);
    if (length == 0) break;
    if (length < 0) {  // not RESP: nothing sensible to forward
      pair.closing = true;
      break;
    }
    Pair::Held held;
    held.release = now + delay;
    held.bytes.assign(rest.substr(0, static_cast<size_t>(length)));
    held.expects_reply = !args.empty();
    if (!args.empty()) {
      ++commands_;
      held.inject = MatchRule(args, held.error);
    }
    pair.held.push_back(std::move(held));
    consumed += static_cast<size_t>(length);
  }
  pair.client_in.erase(0, consumed);
}

void FaultProxy::ReadUpstream(Pair& pair) {
  char buffer[kReadChunk];
  while (true) {
    ssize_t received = ::recv(pair.upstream, buffer, sizeof buffer, 0);
    if (received == 0) {
      pair.closing = true;
      break;
    }
    if (received < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) pair.closing = true;
      break;
    }
    pair.upstream_in.append(buffer, static_cast<size_t>(received));
    if (static_cast<size_t>(received) < sizeof buffer) break;
  }
  size_t consumed = 0;
  while (consumed < pair.upstream_in.size()) {
    std::string_view rest(pair.upstream_in);
    rest.remove_prefix(consumed);
    int64_t length = ReplyLength(rest);
    if (length == 0) break;
    if (length < 0) {
      pair.closing = true;
      break;
    }
    // The reply of the oldest command passed on; with none owed, a push (pub/sub message).
    if (!pair.owed.empty()) pair.owed.pop_front();
    pair.client_out.append(rest.substr(0, static_cast<size_t>(length)));
    consumed += static_cast<size_t>(length);
    FlushInjected(pair);
  }
  pair.upstream_in.erase(0, consumed);
}

void FaultProxy::Release(Pair& pair, SteadyClock::time_point now) {
  bool blackhole;
  {
    std::lock_guard<std::mutex> lock(mu_);
    blackhole = blackhole_;
  }
  while (!pair.held.empty() && pair.held.front().release <= now) {
    Pair::Held held = std::move(pair.held.front());
    pair.held.pop_front();
    if (blackhole) continue;  // swallowed: never reaches Redis, never answered
    if (held.inject) {
      ++injected_;
      pair.owed.emplace_back(std::move(held.error));
    } else {
      pair.upstream_out += held.bytes;
      if (held.expects_reply) pair.owed.emplace_back(std::nullopt);
    }
  }
  FlushInjected(pair);
}

void FaultProxy::FlushInjected(Pair& pair) {
  while (!pair.owed.empty() && pair.owed.front().has_value()) {
    pair.client_out += '-';
    pair.client_out += *pair.owed.front();
    pair.client_out += "\r\n";
    pair.owed.pop_front();
  }
}

}  // namespace bananas::testing
