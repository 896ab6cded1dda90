#include "worker/builtins.h"

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace bananas::worker {
namespace {

// Reads an integer field of a JSON object payload; `fallback` when the payload or the field
// is absent. InvalidArgument (permanent: retrying will not fix the payload) when malformed.
Result<int64_t> IntField(const JobContext& context, const char* field, int64_t fallback) {
  if (context.payload().empty()) return fallback;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(context.payload(), ec);
  if (ec || !v.is_object()) {
    return Status::InvalidArgument(context.name() + ": payload must be a JSON object");
  }
  const auto* f = v.as_object().if_contains(field);
  if (f == nullptr) return fallback;
  if (!f->is_number()) {
    return Status::InvalidArgument(context.name() + ": payload." + field + " must be a number");
  }
  double d = f->to_number<double>();
  if (d < 0 || d > 1e12) {
    return Status::InvalidArgument(context.name() + ": payload." + field + " out of range");
  }
  return static_cast<int64_t>(d);
}

bool BoolField(const JobContext& context, const char* field) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(context.payload(), ec);
  if (ec || !v.is_object()) return false;
  const auto* f = v.as_object().if_contains(field);
  return f != nullptr && f->is_bool() && f->as_bool();
}

// Memory the alloc handler was asked to keep: it stays until the process exits, so that heap
// profiles show it.
std::mutex kept_mu;
std::vector<std::unique_ptr<char[]>>& Kept() {
  static auto* kept = new std::vector<std::unique_ptr<char[]>>();
  return *kept;
}

}  // namespace

// noinline: the CPU profile must show this frame by name.
__attribute__((noinline)) void BurnCpu(const JobContext& context, int64_t ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  volatile double sink = 0;
  while (std::chrono::steady_clock::now() < end && !context.cancelled()) {
    for (int i = 1; i < 20'000; ++i) sink = sink + std::sqrt(static_cast<double>(i));
  }
}

Status RegisterBuiltinHandlers(Worker& worker) {
  BANANAS_RETURN_IF_ERROR(
      worker.Register("noop", [](JobContext&) -> Result<std::string> { return std::string(); }));
  BANANAS_RETURN_IF_ERROR(worker.Register(
      "echo", [](JobContext& c) -> Result<std::string> { return c.payload(); }));
  BANANAS_RETURN_IF_ERROR(worker.Register("sleep", [](JobContext& c) -> Result<std::string> {
    auto ms = IntField(c, "ms", 1000);
    if (!ms) return ms.status();
    if (!c.SleepFor(std::chrono::milliseconds(*ms))) {
      return Status::Cancelled("sleep interrupted: " + c.cancel_reason());
    }
    return std::string("slept " + std::to_string(*ms) + "ms");
  }));
  BANANAS_RETURN_IF_ERROR(worker.Register("fail", [](JobContext& c) -> Result<std::string> {
    auto times = IntField(c, "times", -1);
    if (!times) return times.status();
    if (*times < 0 || c.attempt() <= *times) {
      return Status::Internal("fail: attempt " + std::to_string(c.attempt()) +
                              (*times < 0 ? " (always fails)"
                                          : " of " + std::to_string(*times) + " failing"));
    }
    return std::string("succeeded on attempt " + std::to_string(c.attempt()));
  }));
  BANANAS_RETURN_IF_ERROR(worker.Register("cpu", [](JobContext& c) -> Result<std::string> {
    auto ms = IntField(c, "ms", 100);
    if (!ms) return ms.status();
    BurnCpu(c, *ms);
    if (c.cancelled()) return Status::Cancelled("cpu interrupted: " + c.cancel_reason());
    return std::string("burned " + std::to_string(*ms) + "ms");
  }));
  BANANAS_RETURN_IF_ERROR(worker.Register("alloc", [](JobContext& c) -> Result<std::string> {
    auto bytes = IntField(c, "bytes", 1 << 20);
    if (!bytes) return bytes.status();
    if (*bytes > (int64_t{1} << 32)) return Status::InvalidArgument("alloc: at most 4 GiB");
    auto block = std::make_unique<char[]>(static_cast<size_t>(*bytes));
    std::memset(block.get(), 0xab, static_cast<size_t>(*bytes));  // touch every page
    if (BoolField(c, "keep")) {
      std::lock_guard<std::mutex> lock(kept_mu);
      Kept().push_back(std::move(block));
    }
    return std::string("allocated " + std::to_string(*bytes) + " bytes");
  }));
  return Status::Ok();
}

}  // namespace bananas::worker
