// ProfiledMutex is a std::mutex for its users and feeds the mutex and block profiles, with
// the locking function (not the lock wrappers) as the leaf.
#include "obs/profiled_mutex.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "obs/detail/contention.h"
#include "obs/detail/symbolizer.h"
#include "obs/profiling.h"

namespace bananas::obs {
namespace {

ProfiledMutex contended;
int counter = 0;
int registered_increments = 0;

__attribute__((noinline)) void IncrementUnderContention() {
  std::lock_guard<ProfiledMutex> lock(contended);
  ++counter;
  std::this_thread::sleep_for(std::chrono::microseconds(200));
}

// The same from threads registered with RegisterThread: a leaf of its own, so that the
// records of the unregistered run cannot satisfy this one's check.
__attribute__((noinline)) void IncrementUnderContentionRegistered() {
  std::lock_guard<ProfiledMutex> lock(contended);
  counter += 1;
  ++registered_increments;  // not the same code as above, or the compiler folds the two
  std::this_thread::sleep_for(std::chrono::microseconds(200));
}

bool LeafIs(const detail::Profile& profile, detail::Symbolizer& symbolizer,
            const std::string& function) {
  for (const detail::Sample& sample : profile.samples) {
    if (sample.pcs.empty()) continue;
    const detail::Symbol& leaf = symbolizer.Resolve(sample.pcs[0]);
    size_t first_line = static_cast<size_t>(sample.leaf_inline_skip);
    for (size_t i = first_line; i < leaf.frames.size(); ++i) {
      if (leaf.frames[i].function == function) return i == first_line && sample.values[1] > 0;
    }
  }
  return false;
}

// Threads the profiler knows (RegisterThread: named, stack bounds recorded) and threads it
// does not, alike.
class ProfiledMutexContention : public ::testing::TestWithParam<bool> {};

TEST_P(ProfiledMutexContention, RecordsContentionAtTheLockingFunction) {
  int old_fraction = SetMutexProfileFraction(1);
  int64_t old_rate = SetBlockProfileRate(1);
  counter = 0;
  const bool registered = GetParam();
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([registered] {
      if (registered) RegisterThread("contender");
      for (int i = 0; i < 200; ++i) {
        registered ? IncrementUnderContentionRegistered() : IncrementUnderContention();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counter, 600);

  detail::Symbolizer symbolizer;
  const std::string leaf = std::string("bananas::obs::(anonymous namespace)::") +
                           (registered ? "IncrementUnderContentionRegistered"
                                       : "IncrementUnderContention");
  detail::Profile mutex = detail::ContentionProfile(detail::ContentionKind::kMutex, symbolizer);
  detail::Profile block = detail::ContentionProfile(detail::ContentionKind::kBlock, symbolizer);
  EXPECT_EQ(mutex.period, 1);
  EXPECT_TRUE(LeafIs(mutex, symbolizer, leaf));
  EXPECT_TRUE(LeafIs(block, symbolizer, leaf));
  SetMutexProfileFraction(old_fraction);
  SetBlockProfileRate(old_rate);
}

INSTANTIATE_TEST_SUITE_P(Threads, ProfiledMutexContention, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Registered" : "Unregistered";
                         });

TEST(ProfiledMutex, WorksWithConditionVariableAny) {
  ProfiledMutex mu;
  std::condition_variable_any cv;
  bool ready = false;
  std::thread producer([&] {
    std::lock_guard<ProfiledMutex> lock(mu);
    ready = true;
    cv.notify_one();
  });
  {
    std::unique_lock<ProfiledMutex> lock(mu);
    cv.wait(lock, [&] { return ready; });
  }
  producer.join();
  EXPECT_TRUE(ready);
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST(ProfiledMutex, SettersReturnThePreviousValue) {
  int fraction = SetMutexProfileFraction(-1);  // reads only
  EXPECT_EQ(SetMutexProfileFraction(7), fraction);
  EXPECT_EQ(SetMutexProfileFraction(fraction), 7);
  int64_t rate = SetBlockProfileRate(5);
  EXPECT_EQ(SetBlockProfileRate(rate), 5);
}

}  // namespace
}  // namespace bananas::obs
