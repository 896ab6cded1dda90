#include "redis/script.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

namespace bananas::redis {
namespace {

// SHA-1 (FIPS 180-4), enough of it to name a Lua script as Redis does. Not for security:
// EVALSHA only needs the same 40 hex characters SCRIPT LOAD computes, and pulling in OpenSSL
// for that would add a dependency to every binary.
class Sha1 {
 public:
  void Update(std::string_view data) {
    total_bytes_ += data.size();
    while (!data.empty()) {
      size_t take = std::min(data.size(), block_.size() - block_used_);
      std::memcpy(block_.data() + block_used_, data.data(), take);
      block_used_ += take;
      data.remove_prefix(take);
      if (block_used_ == block_.size()) {
        Compress();
        block_used_ = 0;
      }
    }
  }

  std::array<uint8_t, 20> Finish() {
    uint64_t total_bits = total_bytes_ * 8;
    block_[block_used_++] = 0x80;
    if (block_used_ > 56) {
      std::memset(block_.data() + block_used_, 0, block_.size() - block_used_);
      Compress();
      block_used_ = 0;
    }
    std::memset(block_.data() + block_used_, 0, 56 - block_used_);
    for (int i = 0; i < 8; ++i) {
      block_[56 + i] = static_cast<uint8_t>(total_bits >> (56 - 8 * i));
    }
    Compress();
    std::array<uint8_t, 20> digest{};
    for (int i = 0; i < 5; ++i) {
      for (int j = 0; j < 4; ++j) {
        digest[4 * i + j] = static_cast<uint8_t>(state_[i] >> (24 - 8 * j));
      }
    }
    return digest;
  }

 private:
  static uint32_t Rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

  void Compress() {
    uint32_t w[80];
    for (int i = 0; i < 16; ++i) {
      w[i] = (uint32_t{block_[4 * i]} << 24) | (uint32_t{block_[4 * i + 1]} << 16) |
             (uint32_t{block_[4 * i + 2]} << 8) | uint32_t{block_[4 * i + 3]};
    }
    for (int i = 16; i < 80; ++i) w[i] = Rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3], e = state_[4];
    for (int i = 0; i < 80; ++i) {
      uint32_t f;
      uint32_t k;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      uint32_t temp = Rotl(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = Rotl(b, 30);
      b = a;
      a = temp;
    }
    state_[0] += a;
    state_[1] += b;
    state_[2] += c;
    state_[3] += d;
    state_[4] += e;
  }

  std::array<uint32_t, 5> state_ = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
  std::array<uint8_t, 64> block_{};
  size_t block_used_ = 0;
  uint64_t total_bytes_ = 0;
};

}  // namespace

std::string Sha1Hex(std::string_view data) {
  Sha1 sha1;
  sha1.Update(data);
  std::array<uint8_t, 20> digest = sha1.Finish();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(40);
  for (uint8_t byte : digest) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 0xf];
  }
  return hex;
}

Script::Script(std::string name, std::string source)
    : name_(std::move(name)), source_(std::move(source)), sha1_(Sha1Hex(source_)) {}

}  // namespace bananas::redis
