// BenchReport: the results of one `bananas bench` run, printed as a table for people or as
// one JSON object for scripts (--json). Field names are the JSON keys; units are in the names.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bench/scenarios.h"

namespace bananas::bench {

struct BenchReport {
  std::string version;  // bananas version
  std::string redis;    // where Redis was, in words (a URL is shown redacted)
  std::vector<EnqueueResult> enqueue;
  std::optional<ThroughputResult> throughput;
  std::optional<PickupResult> pickup;
  std::optional<LatenessResult> lateness;

  // The sum over the scenarios that ran jobs.
  Delivery delivery() const;
  // The check `bananas bench` exits on: every job completed exactly once, none early, and
  // no HTTP submission refused.
  bool ok() const;
};

std::string ReportJson(const BenchReport& report);
std::string ReportTable(const BenchReport& report);

}  // namespace bananas::bench
