#include "base/job_id.h"

#include <array>
#include <mutex>
#include <random>

namespace bananas {
namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int DecodeCrockford(char c) {
  for (int i = 0; i < 32; ++i) {
    if (kCrockford[i] == c) return i;
  }
  return -1;
}

// Monotonic ULID state, shared by all threads of the process.
struct UlidState {
  std::mutex mu;
  int64_t last_ms = -1;            // Guarded by mu.
  std::array<uint8_t, 10> random{};  // Guarded by mu. Big-endian 80-bit counter.
  std::mt19937_64 rng{std::random_device{}()};
};

UlidState& State() {
  static UlidState state;
  return state;
}

void Increment(std::array<uint8_t, 10>& bytes) {
  for (int i = 9; i >= 0; --i) {
    if (++bytes[i] != 0) return;
  }
}

}  // namespace

std::string NewJobId(std::string_view queue, int64_t now_unix_ms) {
  std::array<uint8_t, 16> raw{};
  {
    UlidState& s = State();
    std::lock_guard<std::mutex> lock(s.mu);
    if (now_unix_ms > s.last_ms) {
      s.last_ms = now_unix_ms;
      uint64_t a = s.rng(), b = s.rng();
      for (int i = 0; i < 8; ++i) s.random[i] = static_cast<uint8_t>(a >> (8 * i));
      for (int i = 0; i < 2; ++i) s.random[8 + i] = static_cast<uint8_t>(b >> (8 * i));
      s.random[0] &= 0x7f;  // leave room to count up within the millisecond
    } else {
      Increment(s.random);  // same (or earlier) ms: stay monotonic
    }
    uint64_t ms = static_cast<uint64_t>(s.last_ms);
    for (int i = 0; i < 6; ++i) raw[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
    for (int i = 0; i < 10; ++i) raw[6 + i] = s.random[i];
  }
  // 128 bits -> 26 base32 characters (the first carries 3 bits).
  std::string id(kUlidLength + 1 + queue.size(), '0');
  unsigned __int128 v = 0;
  for (uint8_t byte : raw) v = (v << 8) | byte;
  for (int i = static_cast<int>(kUlidLength) - 1; i >= 0; --i) {
    id[i] = kCrockford[static_cast<int>(v & 31)];
    v >>= 5;
  }
  id[kUlidLength] = '-';
  id.replace(kUlidLength + 1, queue.size(), queue);
  return id;
}

std::string_view QueueOfJobId(std::string_view id) {
  if (id.size() < kUlidLength + 2 || id[kUlidLength] != '-') return {};
  for (size_t i = 0; i < kUlidLength; ++i) {
    if (DecodeCrockford(id[i]) < 0) return {};
  }
  // The queue part becomes a hash tag in key names: a brace or a colon from a hand-made id
  // must not reach one (same rule as ValidateQueueName).
  std::string_view queue = id.substr(kUlidLength + 1);
  if (queue.size() > 64) return {};
  for (char c : queue) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return {};
  }
  return queue;
}

int64_t TimeOfJobId(std::string_view id) {
  if (QueueOfJobId(id).empty()) return -1;
  uint64_t ms = 0;
  for (size_t i = 0; i < 10; ++i) ms = (ms << 5) | static_cast<uint64_t>(DecodeCrockford(id[i]));
  return static_cast<int64_t>(ms);
}

}  // namespace bananas
