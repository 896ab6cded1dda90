// Latency summaries for the benchmarks: nearest-rank percentiles of samples in microseconds.
// Shared by `bananas bench`, bench/pickup_bench, bench/lateness_bench and the peer adapter's
// program, so that every figure in docs/BENCHMARKS.md is computed the same way.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <vector>

namespace bananas::bench {

struct LatencySummary {
  int64_t count = 0;
  // Milliseconds. Nearest rank: p99 of 100 samples is the 99th smallest.
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
  double min_ms = 0;
  double mean_ms = 0;
};

// Nearest-rank percentile `p` (0..100] of `sorted` (ascending); 0 when empty.
int64_t PercentileOfSorted(const std::vector<int64_t>& sorted, double p);

// Sorts `samples_us` (microseconds, negative allowed) and summarises them.
LatencySummary Summarize(std::vector<int64_t> samples_us);

}  // namespace bananas::bench
