// The built-in handlers of SPEC §6: noop, echo, sleep, fail, cpu, alloc.
#pragma once

#include "bananas/status.h"
#include "bananas/worker.h"

namespace bananas::worker {

Status RegisterBuiltinHandlers(Worker& worker);

// Burns CPU for `ms` milliseconds (or until cancelled) in a function profiles can name.
void BurnCpu(const JobContext& context, int64_t ms);

}  // namespace bananas::worker
