// Bridges from callback-style work on other threads (RedisExecutor, Waiter) to the HTTP
// session coroutines.
//
// AwaitCallback<R>(start) suspends the calling coroutine, calls start(done) on its thread,
// and resumes the coroutine on its own executor (its strand) once `done(R)` has been called,
// from any thread. `done` must be called exactly once: RedisExecutor and Waiter promise that,
// also when they stop. Dropping `done` uncalled would leave the session suspended until the
// io_context is destroyed.
//
// WARNING (GCC 12): never write a lambda with captures, or another temporary that owns
// memory, inside a co_await expression (`co_await OnRedis<R>(executor, [id] {...})`). GCC 12
// destroys such temporaries twice when the coroutine resumes on another thread: a double
// free that showed up under load (the same bug as equeim/tremotesf2#551). Name the callable
// first (`auto work = [id] {...}; co_await OnRedis<R>(executor, std::move(work));`).
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>
#include <utility>

#include "api/redis_executor.h"

namespace bananas::api {

template <typename R, typename Start>
boost::asio::awaitable<R> AwaitCallback(Start start) {
  auto initiation = [](auto handler, Start start) {
    using Handler = decltype(handler);
    auto executor = boost::asio::get_associated_executor(handler);
    // std::function needs a copyable callable; the coroutine's handler is move-only.
    auto shared = std::make_shared<Handler>(std::move(handler));
    std::function<void(R)> done = [shared, executor](R result) {
      boost::asio::post(executor, [shared, result = std::move(result)]() mutable {
        (*shared)(std::move(result));
      });
    };
    start(std::move(done));
  };
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(R)>(
      initiation, boost::asio::use_awaitable, std::move(start));
}

// Runs fn(context) -> R on a Redis thread. R is a Result<...> (built from a Status when the
// executor is full or stopping: Unavailable, 503).
template <typename R, typename Fn>
boost::asio::awaitable<R> OnRedis(RedisExecutor& executor, Fn fn) {
  return AwaitCallback<R>([&executor, fn = std::move(fn)](std::function<void(R)> done) mutable {
    auto shared_done = std::make_shared<std::function<void(R)>>(std::move(done));
    bool queued = executor.Post([fn = std::move(fn), shared_done](RedisExecutor::Context* context) {
      if (context == nullptr) {
        (*shared_done)(R(Status::Unavailable("api: shutting down")));
      } else {
        (*shared_done)(fn(*context));
      }
    });
    if (!queued) {
      (*shared_done)(R(Status::Unavailable("api: too many requests waiting for Redis")));
    }
  });
}

}  // namespace bananas::api
