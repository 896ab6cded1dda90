#include "queue/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace bananas::queue {

std::chrono::milliseconds RetryPolicy::DelayAfter(int attempt, double random01) const {
  attempt = std::max(attempt, 1);
  // base * 2^(attempt-1), computed in double so a large attempt saturates at the cap instead
  // of overflowing.
  double delay = static_cast<double>(base.count()) * std::pow(2.0, attempt - 1);
  delay = std::min(delay, static_cast<double>(cap.count()));
  double j = std::clamp(jitter, 0.0, 1.0) * std::clamp(random01, 0.0, 1.0);
  delay *= 1.0 - j;
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(delay)));
}

}  // namespace bananas::queue
