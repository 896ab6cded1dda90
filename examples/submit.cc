// submit: puts one job on a Bananas queue, and optionally waits for its result. This is how
// to check that `make run` works; in another terminal:
//
//   REDIS_URL=<the URL make run printed> build/release/examples/bananas_example_submit echo
//   '{"hi":1}' --wait
//
// Usage: bananas_example_submit [NAME [PAYLOAD]] [--wait] [--queue QUEUE] [--timeout SECONDS]
// NAME defaults to "noop" and PAYLOAD to nothing; --timeout bounds --wait (default 30).
// Exit code: 0 when submitted (with --wait: completed), 1 otherwise, 2 on bad usage.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bananas/client.h"

namespace {

constexpr const char* kUsage =
    "usage: bananas_example_submit [NAME [PAYLOAD]] [--wait] [--queue QUEUE] "
    "[--timeout SECONDS]\nSubmits one job to REDIS_URL (default redis://127.0.0.1:6379/0).\n";

int Usage(const std::string& problem) {
  std::fprintf(stderr, "submit: %s\n%s", problem.c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  bananas::JobSpec spec;
  spec.name = "noop";
  bool wait = false;
  int timeout_seconds = 30;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--wait") {
      wait = true;
    } else if (arg == "--queue" && i + 1 < argc) {
      spec.queue = argv[++i];
    } else if (arg == "--timeout" && i + 1 < argc) {
      timeout_seconds = std::atoi(argv[++i]);
      if (timeout_seconds <= 0) return Usage("--timeout takes a positive number of seconds");
    } else if (arg == "--help" || arg == "-h") {
      std::printf("%s", kUsage);
      return 0;
    } else if (arg.starts_with("--")) {
      return Usage("unknown option " + std::string(arg));
    } else {
      positional.emplace_back(arg);
    }
  }
  if (positional.size() > 2) return Usage("too many arguments");
  if (!positional.empty()) spec.name = positional[0];
  if (positional.size() == 2) spec.payload = positional[1];

  bananas::ClientOptions options;
  const char* url = std::getenv("REDIS_URL");
  if (url != nullptr && *url != '\0') options.redis_url = url;
  bananas::Result<std::unique_ptr<bananas::Client>> client = bananas::Client::Connect(options);
  if (!client) {
    std::fprintf(stderr, "submit: %s\n", client.status().ToString().c_str());
    return 1;
  }
  bananas::Result<bananas::Submitted> submitted = (*client)->Submit(spec);
  if (!submitted) {
    std::fprintf(stderr, "submit: %s\n", submitted.status().ToString().c_str());
    return 1;
  }
  std::printf("%s%s\n", submitted->id.c_str(), submitted->duplicate ? " (duplicate)" : "");
  std::fflush(stdout);
  if (!wait) return 0;

  bananas::Result<bananas::Job> job =
      (*client)->Wait(submitted->id, std::chrono::seconds(timeout_seconds));
  if (!job) {
    std::fprintf(stderr, "submit: %s\n", job.status().ToString().c_str());
    return 1;
  }
  std::printf("%s", std::string(bananas::JobStateName(job->state)).c_str());
  if (job->state == bananas::JobState::kCompleted) {
    std::printf(": %s\n", job->result.c_str());
    return 0;
  }
  std::printf(": %s\n", job->error.c_str());
  return 1;
}
