// RunTracker: what the benchmark handlers saw, for the exact-delivery check (SPEC §3) and
// the latency samples. Every submitted id is registered with Expect(); every handler run
// calls Record(). Check() then says, per id, whether it ran exactly once.
//
// Thread safety: Record() and WaitForRuns() from any thread (handlers run on the worker's
// pool); Expect() and Check() from the thread that drives the scenario.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace bananas::bench {

// The outcome of the exact-delivery check for one scenario.
struct Delivery {
  int64_t submitted = 0;
  int64_t completed = 0;   // submitted ids whose handler ran and whose job reads "completed"
  int64_t lost = 0;        // submitted ids never run, or run but not completed in Redis
  int64_t duplicates = 0;  // runs beyond the first of an id
  int64_t unexpected = 0;  // runs of ids that were never submitted

  bool ok() const {
    return lost == 0 && duplicates == 0 && unexpected == 0 && completed == submitted;
  }
  Delivery& operator+=(const Delivery& other);
};

class RunTracker {
 public:
  RunTracker() = default;
  RunTracker(const RunTracker&) = delete;
  RunTracker& operator=(const RunTracker&) = delete;

  void Expect(const std::string& id);
  // One handler run of `id` at `now_unix_us` (wall clock), with an optional latency sample.
  void Record(const std::string& id, int64_t now_unix_us, std::optional<int64_t> sample_us);
  // Waits until at least `runs` runs were recorded. False if `timeout` passed first.
  bool WaitForRuns(int64_t runs, std::chrono::milliseconds timeout);

  int64_t runs() const;
  int64_t first_run_unix_us() const;
  int64_t last_run_unix_us() const;
  std::vector<int64_t> samples_us() const;
  std::vector<std::string> expected_ids() const;

  // Compares runs with the expected ids. `completed_in_redis` says, for expected_ids() in
  // order, whether the job's state in Redis is completed.
  Delivery Check(const std::vector<bool>& completed_in_redis) const;

 private:
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::string> expected_;                // Guarded by mu_.
  std::unordered_map<std::string, int64_t> counts_;  // id -> runs. Guarded by mu_.
  int64_t runs_ = 0;                                 // Guarded by mu_.
  int64_t first_unix_us_ = 0;                        // Guarded by mu_.
  int64_t last_unix_us_ = 0;                         // Guarded by mu_.
  std::vector<int64_t> samples_us_;                  // Guarded by mu_.
};

}  // namespace bananas::bench
