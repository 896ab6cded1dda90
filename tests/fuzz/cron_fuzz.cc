// libFuzzer target over the cron parser and the time-zone reader, I/O-free apart from
// reading zone files of /usr/share/zoneinfo:
//   mode 0  bytes as a cron expression, in UTC and in America/New_York; a parsed schedule's
//           Next() must move strictly forward from several instants (DST days included);
//   mode 1  bytes as a TZif file (FromTzif); a parsed zone's transitions must move forward;
//   mode 2  bytes as a zone name (Load): any answer but a crash; never a path outside the
//           zone directory (names with ".." or a leading "/" are refused before any read).
// The first byte picks the mode. Invariants abort on failure; sanitizers catch the rest.
//
// Build and run: cmake --preset fuzz && cmake --build --preset fuzz && ctest --preset fuzz.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cron/cron.h"
#include "cron/time_zone.h"

namespace {

using namespace bananas;

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "cron_fuzz: invariant broken: %s\n", what);
    std::abort();
  }
}

// 2026-03-08T06:30Z and 2026-11-01T05:30Z are inside New York's DST changes.
constexpr int64_t kInstants[] = {0, 1'700'000'000'000, 1'772'951'400'000, 1'793'511'000'000};

void FuzzExpression(std::string_view text) {
  for (std::string_view zone : {"UTC", "America/New_York"}) {
    auto schedule = cron::CronSchedule::Parse(text, zone);
    if (!schedule.ok()) {
      const std::string& message = schedule.status().message();
      Check(schedule.status().IsInvalidArgument(), "a parse error that is not InvalidArgument");
      Check(message.rfind("cron:", 0) == 0 || message.rfind("timezone", 0) == 0,
            "a parse error that does not say cron: or timezone");
      continue;
    }
    for (int64_t after : kInstants) {
      int64_t previous = after;
      for (int i = 0; i < 3; ++i) {
        int64_t next = schedule->Next(previous);
        if (next < 0) break;
        Check(next > previous, "Next() did not move forward");
        Check(next % 1000 == 0, "an occurrence that is not a whole second");
        previous = next;
      }
    }
  }
}

void FuzzTzif(std::string_view bytes) {
  auto zone = cron::TimeZone::FromTzif("fuzz", bytes);
  if (!zone.ok()) return;
  for (int64_t after : kInstants) {
    int64_t t = after / 1000;
    for (int i = 0; i < 4; ++i) {
      auto next = (*zone)->NextTransition(t);
      if (!next) break;
      Check(*next > t, "NextTransition() did not move forward");
      t = *next;
      int32_t offset = (*zone)->OffsetAt(t);
      Check(offset > -100000 && offset < 100000, "offset beyond a day");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
      FuzzExpression(input);
      break;
    case 1:
      FuzzTzif(input);
      break;
    default: {
      auto zone = cron::TimeZone::Load(input);
      if (zone.ok()) (void)(*zone)->OffsetAt(0);  // a loaded zone answers; the value is free
      break;
    }
  }
  return 0;
}
