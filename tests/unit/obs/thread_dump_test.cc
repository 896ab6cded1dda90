// The thread dump finds every thread, named, with its stack and its job labels.
#include "obs/detail/thread_dump.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "obs/detail/symbolizer.h"
#include "obs/detail/threads.h"
#include "obs/profiling.h"
#include "test_util.h"

namespace bananas::obs::detail {
namespace {

std::mutex mu;
std::condition_variable cv;
bool parked = false;
bool release = false;

__attribute__((noinline)) void ParkForDump() {
  std::unique_lock<std::mutex> lock(mu);
  parked = true;
  cv.notify_all();
  cv.wait(lock, [] { return release; });
}

TEST(ThreadDump, ListsEveryThreadWithNameStackAndLabels) {
  pid_t parked_tid = 0;
  std::thread target([&] {
    RegisterThread("dump-target");
    parked_tid = CurrentThreadId();
    ScopedJobLabels labels("report.render", "low");
    ParkForDump();
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [] { return parked; });
  }
  std::vector<ThreadStack> threads = DumpThreads(std::chrono::milliseconds(2000));
  EXPECT_EQ(threads.size(), ListThreads().size());
  Symbolizer symbolizer;
  bool found = false;
  for (const ThreadStack& t : threads) {
    // Only our threads must answer: under ThreadSanitizer its own background thread never
    // runs a signal handler (TSan defers handlers to instrumented code).
    if (t.tid == CurrentThreadId()) {
      EXPECT_TRUE(t.captured);
    }
    if (t.tid != parked_tid) continue;
    found = true;
    EXPECT_TRUE(t.captured);
    EXPECT_EQ(t.name, "dump-target");
    EXPECT_EQ(t.job_type, "report.render");
    EXPECT_EQ(t.queue, "low");
    bool in_park = false;
    for (uint64_t pc : t.pcs) {
      in_park = in_park || symbolizer.Resolve(pc).frames.back().function ==
                               "bananas::obs::detail::(anonymous namespace)::ParkForDump";
    }
    EXPECT_TRUE(in_park);
  }
  EXPECT_TRUE(found);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  target.join();
}

TEST(ThreadDump, ThreadsThatBlockSigurgAreListedWithoutAStack) {
  std::mutex m;
  std::condition_variable c;
  bool ready = false, done = false;
  pid_t tid = 0;
  std::thread blocker([&] {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);  // as Boost.Asio's helper threads do
    std::unique_lock<std::mutex> lock(m);
    tid = CurrentThreadId();
    ready = true;
    c.notify_all();
    c.wait(lock, [&] { return done; });
  });
  {
    std::unique_lock<std::mutex> lock(m);
    c.wait(lock, [&] { return ready; });
  }
  bool found = false;
  for (const ThreadStack& t : DumpThreads(std::chrono::milliseconds(2000))) {
    if (t.tid != tid) continue;
    found = true;
    EXPECT_TRUE(t.blocks_signal);
    EXPECT_FALSE(t.captured);
  }
  EXPECT_TRUE(found);
  {
    std::lock_guard<std::mutex> lock(m);
    done = true;
  }
  c.notify_all();
  blocker.join();
}

}  // namespace
}  // namespace bananas::obs::detail
