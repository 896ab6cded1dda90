// Test helpers: ASSERT_OK / EXPECT_OK print the Status; WaitFor polls a condition with a
// generous deadline instead of sleeping a fixed time.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "bananas/status.h"

namespace bananas::testing {

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

// Re-checks `condition` until it holds or `timeout` passes; true if it held.
inline bool WaitFor(const std::function<bool()>& condition,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return condition();
}

}  // namespace bananas::testing

#define ASSERT_OK(expr)                                               \
  do {                                                                \
    const ::bananas::Status bananas_s_ = ::bananas::testing::StatusOf(expr); \
    ASSERT_TRUE(bananas_s_.ok()) << #expr << ": " << bananas_s_.ToString(); \
  } while (0)
#define EXPECT_OK(expr)                                               \
  do {                                                                \
    const ::bananas::Status bananas_s_ = ::bananas::testing::StatusOf(expr); \
    EXPECT_TRUE(bananas_s_.ok()) << #expr << ": " << bananas_s_.ToString(); \
  } while (0)
