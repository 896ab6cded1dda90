// Client: submits jobs and reads their state. Safe to share across threads (calls are
// serialised on one Redis connection; use several Clients for parallel submission).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bananas/job.h"
#include "bananas/status.h"

namespace bananas {

struct ClientOptions {
  std::string redis_url = "redis://127.0.0.1:6379/0";  // REDIS_URL
  std::string prefix = "bananas";                      // BANANAS_PREFIX
  // RESULT_TTL_FAILURE, applied to cancelled jobs.
  std::chrono::milliseconds result_ttl_failure{std::chrono::hours(24 * 7)};
};

struct Submitted {
  std::string id;
  bool duplicate = false;  // the id is an earlier job's (same unique key)
};

enum class CancelResult { kCancelled, kRequested, kAlreadyFinished, kNotFound };

class Client {
 public:
  // InvalidArgument names a bad option (REDIS_URL). Does not fail when Redis is down: calls
  // then return Unavailable until it is back.
  [[nodiscard]] static Result<std::unique_ptr<Client>> Connect(const ClientOptions& options);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // Stores the job; once this returns OK the job survives any crash. A unique key held by a
  // live job returns that job with duplicate = true and writes nothing. InvalidArgument
  // names the bad field; Unavailable when Redis cannot be reached.
  [[nodiscard]] Result<Submitted> Submit(const JobSpec& spec);
  // All specs are validated first: one bad spec writes nothing. One atomic script per queue.
  [[nodiscard]] Result<std::vector<Submitted>> SubmitBatch(const std::vector<JobSpec>& specs);
  // NotFound for an unknown id (or one whose result expired).
  [[nodiscard]] Result<Job> Get(const std::string& id);
  // Waits, without polling, until the job is completed, failed or cancelled, and returns it;
  // DeadlineExceeded when `timeout` passes first. It subscribes to the job's done channel
  // before reading its state, so an end between the two is never missed.
  [[nodiscard]] Result<Job> Wait(const std::string& id, std::chrono::milliseconds timeout);
  [[nodiscard]] Result<CancelResult> Cancel(const std::string& id);

 private:
  class Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bananas
