// hello: the smallest complete Bananas program. It runs a Worker with one handler of its own,
// submits a job to it with a Client, waits for the result, prints it and stops.
//
//   REDIS_URL=redis://127.0.0.1:6379/0 build/release/examples/bananas_example_hello
//
// It uses its own queue ("hello-example"), so a stock worker serving "default" on the same
// Redis never takes its job.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "bananas/client.h"
#include "bananas/worker.h"

namespace {

constexpr const char* kQueue = "hello-example";

std::string RedisUrl() {
  const char* url = std::getenv("REDIS_URL");
  return url != nullptr && *url != '\0' ? url : "redis://127.0.0.1:6379/0";
}

int Fail(const char* what, const bananas::Status& status) {
  std::fprintf(stderr, "hello: %s: %s\n", what, status.ToString().c_str());
  return 1;
}

}  // namespace

int main() {
  bananas::WorkerOptions worker_options;
  worker_options.redis_url = RedisUrl();
  worker_options.queues = {kQueue};
  worker_options.concurrency = 2;
  worker_options.shutdown_grace = std::chrono::seconds(5);
  bananas::Result<std::unique_ptr<bananas::Worker>> worker =
      bananas::Worker::Create(worker_options);
  if (!worker) return Fail("creating the worker", worker.status());

  // A handler returns the job's result, or an error Status. InvalidArgument is permanent (the
  // job goes straight to the DLQ); any other error is retried with backoff.
  bananas::Status registered =
      (*worker)->Register("greet", [](bananas::JobContext& job) -> bananas::Result<std::string> {
        if (job.payload().empty()) {
          return bananas::Status::InvalidArgument("greet: the payload must be a name");
        }
        return "hello, " + job.payload();
      });
  if (!registered.ok()) return Fail("registering greet", registered);
  bananas::Status started = (*worker)->Start();
  if (!started.ok()) return Fail("starting the worker", started);

  bananas::ClientOptions client_options;
  client_options.redis_url = RedisUrl();
  bananas::Result<std::unique_ptr<bananas::Client>> client =
      bananas::Client::Connect(client_options);
  if (!client) return Fail("connecting the client", client.status());

  bananas::JobSpec spec;
  spec.name = "greet";
  spec.payload = "world";
  spec.queue = kQueue;
  bananas::Result<bananas::Submitted> submitted = (*client)->Submit(spec);
  if (!submitted) return Fail("submitting", submitted.status());
  std::printf("submitted job %s\n", submitted->id.c_str());

  bananas::Result<bananas::Job> job = (*client)->Wait(submitted->id, std::chrono::seconds(30));
  (*worker)->Stop();
  (*worker)->Wait();
  if (!job) return Fail("waiting for the job", job.status());
  if (job->state != bananas::JobState::kCompleted) {
    std::fprintf(stderr, "hello: job %s ended %s: %s\n", job->id.c_str(),
                 std::string(bananas::JobStateName(job->state)).c_str(), job->error.c_str());
    return 1;
  }
  std::printf("result: %s\n", job->result.c_str());
  return 0;
}
