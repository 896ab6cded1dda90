// A handler plug-in for the stock worker. Build it (target bananas_example_plugin), then:
//
//   WORKER_PLUGINS=build/release/examples/libbananas_example_plugin.so bananas worker
//
// The worker dlopen()s the file and calls bananas_register_handlers once, before it starts;
// a non-zero return refuses the plug-in and stops the worker at start-up.
#include <string>

#include "bananas/worker.h"

extern "C" int bananas_register_handlers(bananas::Worker* worker) {
  bananas::Status status = worker->Register(
      "plugin.greet", [](bananas::JobContext& job) -> bananas::Result<std::string> {
        return "hello from a plug-in, " + (job.payload().empty() ? "stranger" : job.payload());
      });
  return status.ok() ? 0 : 1;
}
