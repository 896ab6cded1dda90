#include "redis/connection.h"

#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <random>
#include <system_error>
#include <thread>
#include <utility>

#include "obs/log.h"
#include "obs/metrics.h"
#include "redis/backoff.h"
#include "redis/errors.h"

namespace bananas::redis {
namespace {

using SteadyClock = std::chrono::steady_clock;

// One recv() takes at most this much; the buffer lives as long as the Connection.
constexpr size_t kReadChunkBytes = 64 * 1024;
// A write buffer grown past this by one huge command is released rather than kept.
constexpr size_t kKeepWriteBufferBytes = 1024 * 1024;
// A connection idle this long is checked for a close by the server (idle timeout, restart)
// before a command is written to it, so that the command is not lost to a socket known dead.
constexpr auto kIdleCheckAfter = std::chrono::seconds(1);
// Bounds a caller's block_for so that deadline arithmetic cannot overflow.
constexpr auto kLongestBlock = std::chrono::hours(24 * 365);

std::string ErrnoText(int error) { return std::generic_category().message(error); }

// Milliseconds left until `deadline`, rounded up, for poll(); 0 when it has passed.
int MillisUntil(SteadyClock::time_point deadline) {
  auto left = deadline - SteadyClock::now();
  if (left <= SteadyClock::duration::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<int64_t>(ms, INT_MAX));
}

struct ReplyObjectDeleter {
  void operator()(void* reply) const { freeReplyObject(reply); }
};
using ReplyObject = std::unique_ptr<void, ReplyObjectDeleter>;

Reply ToReply(const redisReply& raw) {
  Reply reply;
  switch (raw.type) {
    case REDIS_REPLY_STRING:
      reply.type = Reply::Type::kString;
      reply.str.assign(raw.str, raw.len);
      break;
    case REDIS_REPLY_STATUS:
      reply.type = Reply::Type::kStatus;
      reply.str.assign(raw.str, raw.len);
      break;
    case REDIS_REPLY_ERROR:
      reply.type = Reply::Type::kError;
      reply.str.assign(raw.str, raw.len);
      break;
    case REDIS_REPLY_INTEGER:
      reply.type = Reply::Type::kInteger;
      reply.integer = raw.integer;
      break;
    case REDIS_REPLY_ARRAY:
      // hiredis 0.14 nests at most 7 deep, which bounds this recursion.
      reply.type = Reply::Type::kArray;
      reply.elements.reserve(raw.elements);
      for (size_t i = 0; i < raw.elements; ++i) reply.elements.push_back(ToReply(*raw.element[i]));
      break;
    default:  // REDIS_REPLY_NIL
      reply.type = Reply::Type::kNil;
      break;
  }
  return reply;
}

bool IsNoScript(const Reply& reply) {
  return reply.is_error() && std::string_view(reply.str).starts_with("NOSCRIPT");
}

// Our scripts raise "BANANAS <reason>" for outcomes a caller should see as a bad request.
// Redis may prefix it ("ERR user_script:12: BANANAS ..." for error()), so search, not match.
// A transient or full reply (errors.h) means the script did not run: Unavailable or
// ResourceExhausted, with `context`.
Status ScriptError(const Script& script, const std::string& error, std::string_view context) {
  size_t ours = error.find("BANANAS ");
  if (ours != std::string::npos) return Status::InvalidArgument(error.substr(ours));
  if (ClassifyError(error) != ErrorClass::kPermanent) {
    return ErrorReplyStatus(error).WithContext(context);
  }
  return Status::Internal("script " + script.name() + ": " + error);
}

// A non-OK Status when `reply` is a transient or full error reply (errors.h): the command
// did not run, and the caller's retry-later path must see it like a connection failure.
Status NotNow(const Reply& reply) {
  if (!reply.is_error() || ClassifyError(reply.str) == ErrorClass::kPermanent) {
    return Status::Ok();
  }
  return ErrorReplyStatus(reply.str);
}

Command EvalShaCommand(const Script& script, const std::vector<std::string>& keys,
                       const std::vector<std::string>& args) {
  Command command("EVALSHA");
  command.Arg(script.sha1()).Arg(static_cast<uint64_t>(keys.size()));
  for (const std::string& key : keys) command.Arg(key);
  for (const std::string& arg : args) command.Arg(arg);
  return command;
}

Command ScriptLoadCommand(const Script& script) {
  Command command("SCRIPT");
  command.Arg("LOAD").Arg(script.source());
  return command;
}

}  // namespace

class Connection::Impl {
 public:
  explicit Impl(const Options& options)
      : options_(options),
        endpoint_(options.Endpoint()),
        backoff_(options.reconnect_initial, options.reconnect_max),
        rng_(std::random_device{}()),
        read_buffer_(new char[kReadChunkBytes]) {
    if (!options_.password.empty()) {
      Command auth("AUTH");
      if (!options_.username.empty()) auth.Arg(options_.username);
      handshake_.Add(auth.Arg(options_.password));
      handshake_names_.push_back("AUTH");
    }
    if (options_.db != 0) {
      handshake_.Add(Command("SELECT").Arg(options_.db));
      handshake_names_.push_back("SELECT");
    }
  }

  ~Impl() { CloseSocket(); }

  // OK when connected. Otherwise waits out the backoff, then connects and runs the handshake.
  Status EnsureConnected() {
    if (fd_ >= 0) {
      if (SteadyClock::now() - last_io_ < kIdleCheckAfter || !PeerClosed()) return Status::Ok();
      CloseSocket();  // nothing was sent on it, so reconnecting at once loses nothing
    } else if (SteadyClock::now() < next_attempt_) {
      std::this_thread::sleep_until(next_attempt_);
    }
    return Connect();
  }

  // Connects if needed, sends `request` (`count` commands) and reads `count` replies, with
  // `extra` added to io_timeout. A non-OK status carries only the detail: callers add the
  // command and endpoint with Context().
  Status Call(std::string_view request, size_t count, std::chrono::milliseconds extra,
              std::vector<Reply>& replies) {
    if (count == 0) return Status::Ok();  // nothing to send: no reason to connect or fail
    BANANAS_RETURN_IF_ERROR(EnsureConnected());
    auto budget = options_.io_timeout + std::min<std::chrono::milliseconds>(extra, kLongestBlock);
    auto start = SteadyClock::now();
    Status status = RoundTrip(request, count, start + budget, budget, replies);
    // A blocking command's time is mostly its wait, not Redis: not a round trip to record.
    if (status.ok() && extra.count() == 0 && options_.metrics != nullptr) {
      options_.metrics->redis().round_trip.Observe(
          std::chrono::duration<double>(SteadyClock::now() - start).count());
    }
    return status;
  }

  Result<Reply> CallOne(const Command& command, std::chrono::milliseconds extra) {
    write_buffer_.clear();
    command.AppendTo(write_buffer_);
    one_reply_.clear();
    Status status = Call(write_buffer_, 1, extra, one_reply_);
    if (write_buffer_.capacity() > kKeepWriteBufferBytes) std::string().swap(write_buffer_);
    if (!status.ok()) return status;
    return std::move(one_reply_.front());
  }

  Result<std::vector<Reply>> CallMany(const Pipeline& pipeline) {
    std::vector<Reply> replies;
    replies.reserve(pipeline.size());
    BANANAS_RETURN_IF_ERROR(Call(pipeline.encoded(), pipeline.size(), {}, replies));
    return replies;
  }

  // Waits for one reply that no request asked for (a pub/sub message). A timeout leaves the
  // connection open and returns DeadlineExceeded.
  Result<Reply> ReadPush(std::chrono::milliseconds timeout) {
    if (fd_ < 0) return Status::Unavailable("not connected (subscribe first)");
    auto deadline = SteadyClock::now() + timeout;
    one_reply_.clear();
    while (true) {
      // A message may already sit parsed-ready in the reader's buffer.
      void* raw = nullptr;
      if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
        return Fail(Status::Unavailable(std::string("protocol error: ") + reader_->errstr));
      }
      if (raw != nullptr) {
        ReplyObject owned(raw);
        last_io_ = SteadyClock::now();
        return ToReply(*static_cast<const redisReply*>(raw));
      }
      pollfd entry{fd_, POLLIN, 0};
      int wait_ms = MillisUntil(deadline);
      if (wait_ms == 0) return Status::DeadlineExceeded("no message");
      int ready = ::poll(&entry, 1, wait_ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return Fail(Status::Unavailable("poll: " + ErrnoText(errno)));
      if (ready == 0) return Status::DeadlineExceeded("no message");
      Status status = ReadReplies(1, one_reply_);
      if (!status.ok()) return Fail(status);
      if (!one_reply_.empty()) {
        last_io_ = SteadyClock::now();
        return std::move(one_reply_.front());
      }
    }
  }

  // "redis GET on 127.0.0.1:6379/0", to prefix a failure's detail.
  std::string Context(std::string_view what, std::string_view object = {}) const {
    std::string context = "redis ";
    context += what;
    if (!object.empty()) {
      context += ' ';
      context += object;
    }
    context += " on ";
    context += endpoint_;
    return context;
  }

  const Options& options() const { return options_; }
  bool connected() const { return fd_ >= 0; }
  int connect_count() const { return connect_count_; }

 private:
  Status Connect() {
    auto deadline = SteadyClock::now() + options_.connect_timeout;
    Status status = OpenSocket(deadline);
    if (!status.ok()) return Fail(std::move(status));
    reader_ = redisReaderCreate();
    if (reader_ == nullptr) return Fail(Status::Internal("out of memory for the reply reader"));
    if (!handshake_.empty()) {
      handshake_replies_.clear();
      status = RoundTrip(handshake_.encoded(), handshake_.size(), deadline,
                         options_.connect_timeout, handshake_replies_);
      if (!status.ok()) return status.WithContext("AUTH/SELECT handshake");  // already Fail()ed
      for (size_t i = 0; i < handshake_replies_.size(); ++i) {
        const Reply& reply = handshake_replies_[i];
        if (!reply.is_error()) continue;
        // Redis does not echo a password, but a proxy in between might.
        std::string error = reply.str;
        if (!options_.password.empty()) {
          for (size_t at = error.find(options_.password); at != std::string::npos;
               at = error.find(options_.password, at)) {
            error.replace(at, options_.password.size(), "***");
          }
        }
        std::string message = handshake_names_[i] + " rejected: " + error;
        // "Try later" (LOADING, ...) rather than "fix the URL".
        return Fail(ClassifyError(reply.str) != ErrorClass::kPermanent
                        ? Status::Unavailable(message)
                        : Status::InvalidArgument(message));
      }
    }
    backoff_.Reset();
    ++connect_count_;
    if (options_.metrics != nullptr) {
      options_.metrics->redis().connects.fetch_add(1, std::memory_order_relaxed);
      options_.metrics->redis().connections.fetch_add(1, std::memory_order_relaxed);
      counted_ = true;
    }
    // A first connect is routine (a service opens several); a connect after a failure or
    // a server-side close is the lifecycle event operators look for.
    obs::Log(failing_ || connect_count_ > 1 ? obs::LogLevel::kInfo : obs::LogLevel::kDebug,
             connect_count_ > 1 || failing_ ? "redis reconnected" : "redis connected",
             {{"endpoint", endpoint_}, {"connects", connect_count_}});
    failing_ = false;
    return Status::Ok();
  }

  // Tries each address of the host until one connects by `deadline`; sets fd_.
  // Note: getaddrinfo() has no timeout, so a hanging DNS lookup is not bounded by
  // connect_timeout. Numeric hosts (the usual 127.0.0.1 or a service IP) never look up.
  Status OpenSocket(SteadyClock::time_point deadline) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    std::string port = std::to_string(options_.port);
    int resolved = ::getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found);
    if (resolved != 0) {
      return Status::Unavailable("cannot resolve \"" + options_.host +
                                 "\": " + ::gai_strerror(resolved));
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
    std::string last_error = "no address";
    for (const addrinfo* address = found; address != nullptr; address = address->ai_next) {
      int fd = ::socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        address->ai_protocol);
      if (fd < 0) {
        last_error = "socket: " + ErrnoText(errno);
        continue;
      }
      int error = 0;
      if (::connect(fd, address->ai_addr, address->ai_addrlen) != 0) {
        error = errno;
        // EINTR on a non-blocking connect leaves it running, like EINPROGRESS.
        if (error == EINPROGRESS || error == EINTR) error = AwaitConnect(fd, deadline);
      }
      if (error != 0) {
        ::close(fd);
        if (error == ETIMEDOUT && MillisUntil(deadline) == 0) {
          return Status::Unavailable("connect timed out after " +
                                     std::to_string(options_.connect_timeout.count()) + "ms");
        }
        last_error = ErrnoText(error);
        continue;
      }
      int on = 1;
      // Requests are written whole, so Nagle would only delay them.
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
      fd_ = fd;
      last_io_ = SteadyClock::now();
      return Status::Ok();
    }
    return Status::Unavailable("connect failed: " + last_error);
  }

  // Waits for a non-blocking connect; returns its errno, ETIMEDOUT at the deadline.
  static int AwaitConnect(int fd, SteadyClock::time_point deadline) {
    while (true) {
      pollfd entry{fd, POLLOUT, 0};
      int wait_ms = MillisUntil(deadline);
      if (wait_ms == 0) return ETIMEDOUT;
      int ready = ::poll(&entry, 1, wait_ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return errno;
      if (ready == 0) return ETIMEDOUT;
      int error = 0;
      socklen_t length = sizeof error;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
      return error;
    }
  }

  // Writes `request` and reads `count` replies into `replies`, interleaving the two: a large
  // pipeline's replies are drained while it is still being written, so neither side's socket
  // buffer can fill up and stall the other. On failure closes the socket (Fail) and returns
  // Unavailable.
  Status RoundTrip(std::string_view request, size_t count, SteadyClock::time_point deadline,
                   std::chrono::milliseconds budget, std::vector<Reply>& replies) {
    const size_t target = replies.size() + count;
    size_t written = 0;
    while (true) {
      while (written < request.size()) {
        ssize_t sent = ::send(fd_, request.data() + written, request.size() - written,
                              MSG_NOSIGNAL);  // a closed peer is an error value, not SIGPIPE
        if (sent > 0) {
          written += static_cast<size_t>(sent);
        } else if (sent < 0 && errno == EINTR) {
          continue;
        } else if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          break;
        } else {
          return IoFailure("send: " + ErrnoText(errno), written);
        }
      }
      pollfd entry{fd_, static_cast<short>(POLLIN | (written < request.size() ? POLLOUT : 0)), 0};
      int wait_ms = MillisUntil(deadline);
      int ready = wait_ms == 0 ? 0 : ::poll(&entry, 1, wait_ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return IoFailure("poll: " + ErrnoText(errno), written);
      if (ready == 0) {
        return IoFailure("no reply within " + std::to_string(budget.count()) + "ms", written);
      }
      if (entry.revents & POLLNVAL) return IoFailure("socket invalid", written);
      if (entry.revents & (POLLIN | POLLHUP | POLLERR)) {
        Status status = ReadReplies(target, replies);
        if (!status.ok()) return IoFailure(status.message(), written);
        if (replies.size() == target && written == request.size()) {
          last_io_ = SteadyClock::now();
          return Status::Ok();
        }
      }
    }
  }

  // Reads what the socket has, feeds the reader and appends parsed replies, up to `target`.
  Status ReadReplies(size_t target, std::vector<Reply>& replies) {
    while (true) {
      ssize_t received = ::recv(fd_, read_buffer_.get(), kReadChunkBytes, 0);
      if (received == 0) return Status::Unavailable("connection closed by the server");
      if (received < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Ok();
        return Status::Unavailable("recv: " + ErrnoText(errno));
      }
      if (redisReaderFeed(reader_, read_buffer_.get(), static_cast<size_t>(received)) != REDIS_OK) {
        return Status::Unavailable(std::string("protocol error: ") + reader_->errstr);
      }
      while (replies.size() < target) {
        void* raw = nullptr;
        if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
          return Status::Unavailable(std::string("protocol error: ") + reader_->errstr);
        }
        if (raw == nullptr) break;
        ReplyObject owned(raw);
        replies.push_back(ToReply(*static_cast<const redisReply*>(raw)));
      }
      // A short read means the socket is drained: back to poll() rather than a recv() that
      // would only say EAGAIN.
      if (replies.size() == target || static_cast<size_t>(received) < kReadChunkBytes) {
        return Status::Ok();
      }
    }
  }

  // True when the server has closed (or reset) the socket; reads nothing that matters, since
  // no reply is outstanding between calls.
  bool PeerClosed() {
    char byte;
    ssize_t peeked = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (peeked == 0) return true;
    return peeked < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  }

  Status IoFailure(const std::string& detail, size_t bytes_written) {
    if (bytes_written == 0) return Fail(Status::Unavailable(detail));
    return Fail(Status::Unavailable(detail + " (the request may have run; it is not re-sent)"));
  }

  // Closes the socket and schedules the earliest reconnect. Every failure passes here once.
  Status Fail(Status status) {
    CloseSocket();
    if (options_.metrics != nullptr) {
      options_.metrics->redis().errors.fetch_add(1, std::memory_order_relaxed);
    }
    // One line per outage and connection, not one per retry: the reconnect line ends it.
    if (!failing_) {
      obs::Log(obs::LogLevel::kWarn, "redis connection failed",
               {{"endpoint", endpoint_}, {"error", status.message()}});
      failing_ = true;
    }
    double draw = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    next_attempt_ = SteadyClock::now() + backoff_.Next(draw);
    return status;
  }

  void CloseSocket() {
    if (counted_) options_.metrics->redis().connections.fetch_sub(1, std::memory_order_relaxed);
    counted_ = false;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    // A new reader per connection: a half-read reply of the old socket must not leak into
    // the next one.
    if (reader_ != nullptr) redisReaderFree(reader_);
    reader_ = nullptr;
  }

  // Fixed after construction.
  const Options options_;
  const std::string endpoint_;
  Pipeline handshake_;                        // AUTH and/or SELECT, empty when neither is needed
  std::vector<std::string> handshake_names_;  // one per handshake_ command

  // Connection state.
  int fd_ = -1;
  redisReader* reader_ = nullptr;  // non-null exactly while fd_ >= 0
  SteadyClock::time_point last_io_{};
  Backoff backoff_;
  std::minstd_rand rng_;
  SteadyClock::time_point next_attempt_{};  // no reconnect before this
  int connect_count_ = 0;
  bool counted_ = false;  // this connection is in metrics' open-connections gauge
  bool failing_ = false;  // the last attempt failed; its warning is logged

  // Buffers reused across calls.
  std::unique_ptr<char[]> read_buffer_;
  std::string write_buffer_;
  std::vector<Reply> one_reply_;
  std::vector<Reply> handshake_replies_;
};

Result<std::unique_ptr<Connection>> Connection::Open(const Options& options) {
  const std::string endpoint = options.Endpoint();
  if (options.tls) {
    return Status::InvalidArgument("redis " + endpoint +
                                   ": TLS transport not built yet (rediss:// URL); use redis://");
  }
  if (options.host.empty() || options.port == 0) {
    return Status::InvalidArgument("redis " + endpoint + ": host and port are required");
  }
  if (options.connect_timeout.count() <= 0 || options.io_timeout.count() <= 0) {
    return Status::InvalidArgument("redis " + endpoint +
                                   ": connect_timeout and io_timeout must be positive");
  }
  auto impl = std::make_unique<Impl>(options);
  // A server that is not up yet is no reason to fail (SPEC: services start and keep retrying):
  // the connection starts broken, and the first call reports the failure after the backoff.
  (void)impl->EnsureConnected();
  return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

Result<Reply> Connection::Run(const Command& command) {
  Result<Reply> reply = impl_->CallOne(command, {});
  if (!reply.ok()) return reply.status().WithContext(impl_->Context(command.name()));
  Status not_now = NotNow(*reply);
  if (!not_now.ok()) return not_now.WithContext(impl_->Context(command.name()));
  return reply;
}

Result<std::vector<Reply>> Connection::Run(const Pipeline& pipeline) {
  Result<std::vector<Reply>> replies = impl_->CallMany(pipeline);
  if (!replies.ok()) return replies.status().WithContext(impl_->Context(pipeline.Describe()));
  for (const Reply& reply : *replies) {
    Status not_now = NotNow(reply);
    if (!not_now.ok()) return not_now.WithContext(impl_->Context(pipeline.Describe()));
  }
  return replies;
}

Result<Reply> Connection::Blocking(const Command& command, std::chrono::milliseconds block_for) {
  if (block_for.count() <= 0) {
    return Status::InvalidArgument(impl_->Context(command.name()) +
                                   ": a blocking command needs a positive block_for");
  }
  Result<Reply> reply = impl_->CallOne(command, block_for);
  if (!reply.ok()) return reply.status().WithContext(impl_->Context(command.name()));
  Status not_now = NotNow(*reply);
  if (!not_now.ok()) return not_now.WithContext(impl_->Context(command.name()));
  return reply;
}

Result<Reply> Connection::Eval(const Script& script, const std::vector<std::string>& keys,
                               const std::vector<std::string>& args) {
  Command call = EvalShaCommand(script, keys, args);
  Result<Reply> reply = impl_->CallOne(call, {});
  if (reply.ok() && IsNoScript(*reply)) {
    // Load and call again in one round trip. If the load fails, the call answers NOSCRIPT
    // again, and the load's own error is the one worth reporting.
    Pipeline retry;
    retry.Add(ScriptLoadCommand(script)).Add(call);
    Result<std::vector<Reply>> replies = impl_->CallMany(retry);
    if (!replies.ok()) {
      reply = replies.status();
    } else if ((*replies)[0].is_error()) {
      Status not_now = NotNow((*replies)[0]);
      if (!not_now.ok()) return not_now.WithContext(impl_->Context("SCRIPT LOAD", script.name()));
      return Status::Internal("script " + script.name() + ": SCRIPT LOAD: " + (*replies)[0].str);
    } else if ((*replies)[0].str != script.sha1()) {
      return Status::Internal("script " + script.name() + ": SCRIPT LOAD answered sha1 " +
                              (*replies)[0].Describe(64) + ", expected " + script.sha1());
    } else {
      reply = std::move((*replies)[1]);
    }
  }
  if (!reply.ok()) return reply.status().WithContext(impl_->Context("EVALSHA", script.name()));
  if (reply->is_error()) {
    return ScriptError(script, reply->str, impl_->Context("EVALSHA", script.name()));
  }
  return reply;
}

Result<std::vector<Reply>> Connection::EvalMany(const std::vector<EvalCall>& calls) {
  Pipeline pipeline;
  for (size_t i = 0; i < calls.size(); ++i) {
    if (calls[i].script == nullptr) {
      return Status::InvalidArgument("redis EvalMany: call " + std::to_string(i) +
                                     " has no script");
    }
    pipeline.Add(EvalShaCommand(*calls[i].script, calls[i].keys, calls[i].args));
  }
  auto context = [&] {
    std::string what = calls.empty() ? std::string() : calls.front().script->name();
    if (calls.size() > 1) what += " and " + std::to_string(calls.size() - 1) + " more";
    return impl_->Context("EVALSHA", what);
  };
  Result<std::vector<Reply>> replies = impl_->CallMany(pipeline);
  if (!replies.ok()) return replies.status().WithContext(context());

  std::vector<size_t> unloaded_calls;
  for (size_t i = 0; i < replies->size(); ++i) {
    if (IsNoScript((*replies)[i])) unloaded_calls.push_back(i);
  }
  if (unloaded_calls.empty()) return replies;

  // One more round trip: each missing script loaded once, then only the calls that answered
  // NOSCRIPT (they did not run). Note: those now run after the calls that did, so calls in
  // one batch must not depend on each other's order.
  Pipeline retry;
  std::vector<const Script*> loading;
  for (size_t i : unloaded_calls) {
    const Script* script = calls[i].script;
    bool queued = std::any_of(loading.begin(), loading.end(),
                              [&](const Script* other) { return other->sha1() == script->sha1(); });
    if (queued) continue;
    loading.push_back(script);
    retry.Add(ScriptLoadCommand(*script));
  }
  for (size_t i : unloaded_calls) {
    retry.Add(EvalShaCommand(*calls[i].script, calls[i].keys, calls[i].args));
  }
  Result<std::vector<Reply>> retried = impl_->CallMany(retry);
  if (!retried.ok()) return retried.status().WithContext(context());
  for (size_t k = 0; k < unloaded_calls.size(); ++k) {
    Reply& reply = (*replies)[unloaded_calls[k]];
    reply = std::move((*retried)[loading.size() + k]);
    if (!IsNoScript(reply)) continue;
    // Still NOSCRIPT: its load failed (a compile error, say); that error is the useful one.
    for (size_t j = 0; j < loading.size(); ++j) {
      if (loading[j]->sha1() == calls[unloaded_calls[k]].script->sha1() &&
          (*retried)[j].is_error()) {
        reply = (*retried)[j];
        reply.str = "script " + loading[j]->name() + ": SCRIPT LOAD: " + reply.str;
      }
    }
  }
  return replies;
}

Result<Reply> Connection::ReadPush(std::chrono::milliseconds timeout) {
  Result<Reply> reply = impl_->ReadPush(timeout);
  if (!reply && !reply.status().IsUnavailable()) return reply;
  if (!reply) return reply.status().WithContext(impl_->Context("read of a pushed message"));
  return reply;
}

Status Connection::EnsureConnected() {
  Status status = impl_->EnsureConnected();
  if (!status.ok()) return status.WithContext(impl_->Context("connect"));
  return status;
}

bool Connection::connected() const { return impl_->connected(); }
const Options& Connection::options() const { return impl_->options(); }
int Connection::connect_count() const { return impl_->connect_count(); }

}  // namespace bananas::redis
