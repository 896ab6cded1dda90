// The --config FILE of SPEC §1: a TOML file holding cron schedules (docs/OPERATIONS.md has
// the format). Each [[schedules]] entry is checked as a POST /api/v1/schedules body would be
// (api/schedule_json.h), so the file, the API and the CLI accept exactly the same schedules.
//
//   [[schedules]]
//   id = "nightly-report"
//   cron = "30 2 * * *"
//   timezone = "America/New_York"
//   [schedules.job]
//   name = "report"
//   payload = { kind = "daily" }
//
// Errors are InvalidArgument naming the file and the entry: "schedules.toml: schedules[1]
// (nightly-report): cron: cron: field "hour" (2nd): 25 out of range 0-23". A key the format
// does not know is an error, not ignored.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bananas/status.h"
#include "cron/schedule.h"

namespace bananas::app {

struct ConfigFile {
  std::vector<cron::ScheduleSpec> schedules;  // source = "config"
};

// `max_retries` is the default for a job that sets none (MAX_RETRIES).
[[nodiscard]] Result<ConfigFile> LoadConfigFile(const std::string& path, int max_retries);
// The same, from TOML text; `name` is used in messages.
[[nodiscard]] Result<ConfigFile> ParseConfigFile(std::string_view toml, std::string_view name,
                                                 int max_retries);

}  // namespace bananas::app
