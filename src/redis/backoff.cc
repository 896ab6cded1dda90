#include "redis/backoff.h"

#include <algorithm>

namespace bananas::redis {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
    : initial_(std::max(initial, std::chrono::milliseconds(0))),
      max_(std::max(max, std::chrono::milliseconds(0))) {}

// Full jitter over the upper half: [base/2, base]. The lower bound keeps a crowd of clients
// from reconnecting almost at once after a restart (plain full jitter, [0, base], lets some
// retry immediately); the spread keeps them from doing it in lock-step.
std::chrono::milliseconds Backoff::Next(double random01) {
  int64_t base = std::min(initial_.count(), max_.count());
  // Doubling stops at the cap: a few iterations, and no overflow however many failures pile up.
  for (int i = 0; i < failures_ && base > 0 && base < max_.count(); ++i) {
    base = base > max_.count() / 2 ? max_.count() : base * 2;
  }
  if (failures_ < 1'000'000) ++failures_;
  double draw = std::clamp(random01, 0.0, 1.0);
  int64_t half = base / 2;
  auto wait = half + static_cast<int64_t>(draw * static_cast<double>(base - half));
  return std::chrono::milliseconds(std::min(wait, base));
}

}  // namespace bananas::redis
