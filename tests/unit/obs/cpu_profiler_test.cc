// The CPU profiler in-process: every thread is sampled without registering, samples carry
// job labels, only one profile runs at a time, and a stop request ends a profile early.
#include "obs/detail/cpu_profiler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <future>
#include <thread>

#include "obs/detail/symbolizer.h"
#include "obs/detail/threads.h"
#include "obs/profiling.h"
#include "test_util.h"

namespace bananas::obs::detail {
namespace {

std::atomic<uint64_t> sink{0};

__attribute__((noinline)) uint64_t BurnLabelled(const std::atomic<bool>& stop) {
  uint64_t x = 1;
  while (!stop.load(std::memory_order_relaxed)) {
    for (int i = 0; i < 100000; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
  }
  return x;
}

// Two threads burn CPU: one labelled, neither registered. Returns the collected profile.
Result<Profile> ProfileBusyThreads(std::chrono::milliseconds duration) {
  std::atomic<bool> stop_burning{false};
  std::thread labelled([&] {
    ScopedJobLabels labels("email.send", "critical");
    sink += BurnLabelled(stop_burning);
  });
  std::thread unlabelled([&] { sink += BurnLabelled(stop_burning); });
  std::atomic<bool> never{false};
  Result<Profile> profile = CollectCpuProfile(duration, kDefaultCpuHz, never);
  stop_burning = true;
  labelled.join();
  unlabelled.join();
  return profile;
}

TEST(CpuProfiler, SamplesUnregisteredThreadsWithTheirJobLabels) {
  Result<Profile> profile = ProfileBusyThreads(std::chrono::milliseconds(1500));
  ASSERT_OK(profile);
  EXPECT_EQ(profile->period, 10'000'000);
  Symbolizer symbolizer;
  int64_t labelled = 0, unlabelled = 0;
  for (const Sample& sample : profile->samples) {
    ASSERT_FALSE(sample.pcs.empty());
    if (symbolizer.Resolve(sample.pcs[0]).frames.back().function !=
        "bananas::obs::detail::(anonymous namespace)::BurnLabelled") {
      continue;
    }
    bool has_job_type = false, has_queue = false;
    for (const Label& label : sample.labels) {
      has_job_type = has_job_type || (label.key == "job_type" && label.str == "email.send");
      has_queue = has_queue || (label.key == "queue" && label.str == "critical");
    }
    EXPECT_EQ(has_job_type, has_queue);
    (has_job_type ? labelled : unlabelled) += sample.values[0];
  }
  // Generous bounds: the VM may steal time, and samples count CPU time.
  EXPECT_GT(labelled, 10);
  EXPECT_GT(unlabelled, 10);
}

TEST(CpuProfiler, RefusesASecondConcurrentProfile) {
  std::atomic<bool> stop{false};
  auto first = std::async(std::launch::async, [&] {
    return CollectCpuProfile(std::chrono::seconds(30), kDefaultCpuHz, stop);
  });
  ASSERT_TRUE(testing::WaitFor([] { return CpuProfileInProgress(); }));
  std::atomic<bool> never{false};
  Result<Profile> second = CollectCpuProfile(std::chrono::seconds(1), kDefaultCpuHz, never);
  EXPECT_EQ(second.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(second.status().message(), "cpu profiling already in use");
  stop = true;  // ends the 30 s profile now
  ASSERT_OK(first.get());
  EXPECT_FALSE(CpuProfileInProgress());
  ASSERT_OK(CollectCpuProfile(std::chrono::milliseconds(50), kDefaultCpuHz, never));
}

TEST(CpuProfiler, NamesThreadsThatBlockSigprofInsteadOfMissingThemSilently) {
  std::atomic<bool> stop_burning{false};
  std::atomic<pid_t> tid{0};
  std::thread blocker([&] {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    RegisterThread("sigprof-blocked");
    pthread_sigmask(SIG_BLOCK, &all, nullptr);  // RegisterThread unblocked it; block again
    tid = CurrentThreadId();
    sink += BurnLabelled(stop_burning);
  });
  ASSERT_TRUE(testing::WaitFor([&] { return tid.load() != 0; }));
  std::atomic<bool> never{false};
  Result<Profile> profile = CollectCpuProfile(std::chrono::milliseconds(200), kDefaultCpuHz, never);
  stop_burning = true;
  blocker.join();
  ASSERT_OK(profile);
  std::string expected = std::to_string(tid.load()) + "(sigprof-blocked)";
  bool named = false;
  for (const std::string& comment : profile->comments) {
    named = named || (comment.rfind("not sampled, SIGPROF blocked:", 0) == 0 &&
                      comment.find(expected) != std::string::npos);
  }
  EXPECT_TRUE(named);
}

TEST(RegisterThread, UnblocksTheProfilingSignals) {
  std::thread t([] {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    RegisterThread("unblocked");
    EXPECT_FALSE(ThreadBlocksSignal(CurrentThreadId(), SIGPROF));
    EXPECT_FALSE(ThreadBlocksSignal(CurrentThreadId(), SIGURG));
    EXPECT_TRUE(ThreadBlocksSignal(CurrentThreadId(), SIGTERM));
    EXPECT_EQ(ThreadName(CurrentThreadId()), "unblocked");
  });
  t.join();
}

}  // namespace
}  // namespace bananas::obs::detail
