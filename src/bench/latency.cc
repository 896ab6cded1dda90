#include "bench/latency.h"

#include <algorithm>
#include <cmath>

namespace bananas::bench {

int64_t PercentileOfSorted(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  // rank = ceil(p/100 * n), clamped to [1, n]; computed in doubles, so 99.9 of 1000 is 999.
  double exact = p / 100.0 * static_cast<double>(sorted.size());
  auto rank = static_cast<size_t>(std::ceil(exact - 1e-9));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

LatencySummary Summarize(std::vector<int64_t> samples_us) {
  LatencySummary summary;
  if (samples_us.empty()) return summary;
  std::sort(samples_us.begin(), samples_us.end());
  auto ms = [](int64_t us) { return static_cast<double>(us) / 1000.0; };
  summary.count = static_cast<int64_t>(samples_us.size());
  summary.p50_ms = ms(PercentileOfSorted(samples_us, 50));
  summary.p90_ms = ms(PercentileOfSorted(samples_us, 90));
  summary.p99_ms = ms(PercentileOfSorted(samples_us, 99));
  summary.p999_ms = ms(PercentileOfSorted(samples_us, 99.9));
  summary.max_ms = ms(samples_us.back());
  summary.min_ms = ms(samples_us.front());
  double total = 0;
  for (int64_t us : samples_us) total += static_cast<double>(us);
  summary.mean_ms = total / static_cast<double>(samples_us.size()) / 1000.0;
  return summary;
}

}  // namespace bananas::bench
