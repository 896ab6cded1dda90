#include "bench/scenarios.h"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "bananas/client.h"
#include "bananas/worker.h"
#include "base/clock.h"
#include "base/job_id.h"
#include "queue/keys.h"
#include "redis/connection.h"
#include "scheduler/scheduler.h"

namespace bananas::bench {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kJobName = "bench.noop";
// Results of bench jobs expire soon: on a shared Redis nothing of a run lingers for a day.
constexpr milliseconds kResultTtl = std::chrono::minutes(10);
// Job states are read back and keys deleted in pipelines of this many commands.
constexpr size_t kPipelineChunk = 1000;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

Result<std::unique_ptr<redis::Connection>> Connect(const std::string& url) {
  auto options = redis::Options::FromUrl(url);
  if (!options) return options.status();
  auto connection = redis::Connection::Open(*options);
  if (!connection) return connection.status();
  BANANAS_RETURN_IF_ERROR((*connection)->EnsureConnected());
  return std::move(*connection);
}

Result<std::unique_ptr<Client>> ConnectClient(const BenchOptions& options) {
  ClientOptions client_options;
  client_options.redis_url = options.redis_url;
  client_options.prefix = options.prefix;
  return Client::Connect(client_options);
}

JobSpec NoopJob(std::string_view queue, std::string payload = {}) {
  JobSpec spec;
  spec.name = std::string(kJobName);
  spec.queue = std::string(queue);
  spec.payload = std::move(payload);
  spec.max_retries = 0;  // a failure is a failed check here, not something to retry
  return spec;
}

// Submits `specs` in chunks and registers every id with `tracker` (when given).
Status SubmitInChunks(Client& client, const std::vector<JobSpec>& specs, int chunk,
                      RunTracker* tracker) {
  for (size_t start = 0; start < specs.size(); start += static_cast<size_t>(chunk)) {
    size_t end = std::min(specs.size(), start + static_cast<size_t>(chunk));
    std::vector<JobSpec> part(specs.begin() + static_cast<std::ptrdiff_t>(start),
                              specs.begin() + static_cast<std::ptrdiff_t>(end));
    auto submitted = client.SubmitBatch(part);
    if (!submitted) return submitted.status();
    if (tracker != nullptr) {
      for (const Submitted& s : *submitted) tracker->Expect(s.id);
    }
  }
  return Status::Ok();
}

// How each scenario's handler turns a job into a latency sample (or none).
using SampleOf = std::function<std::optional<int64_t>(const JobContext&, int64_t now_unix_us)>;

Result<std::unique_ptr<Worker>> StartWorker(const BenchOptions& options, std::string queue,
                                            RunTracker& tracker, SampleOf sample_of) {
  WorkerOptions worker_options;
  worker_options.redis_url = options.redis_url;
  worker_options.prefix = options.prefix;
  worker_options.concurrency = options.concurrency;
  worker_options.fetch_batch = options.fetch_batch;
  worker_options.prefetch = options.prefetch;
  worker_options.queues = {std::move(queue)};
  worker_options.result_ttl_success = kResultTtl;
  worker_options.result_ttl_failure = kResultTtl;
  worker_options.name = "bananas-bench";
  auto worker = Worker::Create(worker_options);
  if (!worker) return worker.status();
  BANANAS_RETURN_IF_ERROR((*worker)->Register(
      kJobName, [&tracker, sample_of = std::move(sample_of)](JobContext& context) {
        int64_t now = NowUnixUs();
        tracker.Record(context.id(), now, sample_of ? sample_of(context, now) : std::nullopt);
        return Result<std::string>(std::string());
      }));
  BANANAS_RETURN_IF_ERROR((*worker)->Start());
  return worker;
}

// Waits until the worker has written `jobs` outcomes (acks or failures) to Redis. Polls its
// counters every 200 µs: a benchmark's end mark, so a short poll beats a missed wake-up.
bool WaitForOutcomes(const Worker& worker, int64_t jobs, milliseconds timeout) {
  auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    WorkerStats stats = worker.stats();
    if (stats.succeeded + stats.failed >= jobs) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return false;
}

// For each id, whether its job is completed: its final record is in one of its queue's
// live `done:c:` buckets (keys.h; the record leaves `jobs` in the same step). One ZRANGE of
// the bucket index per queue, then HMGETs of those buckets, kPipelineChunk ids at a time.
Result<std::vector<bool>> CompletedInRedis(redis::Connection& connection, const std::string& prefix,
                                           const std::vector<std::string>& ids) {
  queue::Keys keys(prefix);
  std::vector<bool> completed(ids.size(), false);
  std::map<std::string, std::vector<size_t>> by_queue;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string_view queue = QueueOfJobId(ids[i]);
    if (!queue.empty()) by_queue[std::string(queue)].push_back(i);
  }
  for (const auto& [queue, positions] : by_queue) {
    auto index = connection.Run(redis::Command("ZRANGE").Arg(keys.Buckets(queue)).Arg("0").Arg("-1"));
    if (!index) return index.status();
    const std::string completed_prefix = keys.DonePrefix(queue) + "c:";
    std::vector<std::string> buckets;
    for (const redis::Reply& key : index->elements) {
      if (key.str.compare(0, completed_prefix.size(), completed_prefix) == 0) {
        buckets.push_back(key.str);
      }
    }
    if (buckets.empty()) continue;
    for (size_t start = 0; start < positions.size(); start += kPipelineChunk) {
      size_t end = std::min(positions.size(), start + kPipelineChunk);
      redis::Pipeline pipeline;
      for (const std::string& bucket : buckets) {
        redis::Command hmget("HMGET");
        hmget.Arg(bucket);
        for (size_t k = start; k < end; ++k) hmget.Arg(ids[positions[k]]);
        pipeline.Add(std::move(hmget));
      }
      auto replies = connection.Run(pipeline);
      if (!replies) return replies.status();
      for (const redis::Reply& reply : *replies) {
        if (!reply.is_array() || reply.elements.size() != end - start) {
          return Status::Internal("bench: unexpected reply " + reply.Describe());
        }
        for (size_t k = start; k < end; ++k) {
          if (reply.elements[k - start].is_string()) completed[positions[k]] = true;
        }
      }
    }
  }
  return completed;
}

Result<Delivery> CheckDelivery(const BenchOptions& options, const RunTracker& tracker) {
  auto connection = Connect(options.redis_url);
  if (!connection) return connection.status();
  auto completed = CompletedInRedis(**connection, options.prefix, tracker.expected_ids());
  if (!completed) return completed.status();
  return tracker.Check(*completed);
}

// SCAN MATCH `pattern`, UNLINK what it finds.
Status ScanDelete(redis::Connection& connection, const std::string& pattern) {
  std::string cursor = "0";
  do {
    auto reply = connection.Run(
        redis::Command("SCAN").Arg(cursor).Arg("MATCH").Arg(pattern).Arg("COUNT").Arg(
            static_cast<int64_t>(kPipelineChunk)));
    if (!reply) return reply.status();
    if (!reply->is_array() || reply->elements.size() != 2 || !reply->elements[1].is_array()) {
      return Status::Internal("bench.DeleteKeys: SCAN replied " + reply->Describe());
    }
    cursor = reply->elements[0].str;
    const auto& found = reply->elements[1].elements;
    if (found.empty()) continue;
    redis::Command unlink("UNLINK");
    for (const redis::Reply& key : found) unlink.Arg(key.str);
    auto unlinked = connection.Run(unlink);
    if (!unlinked) return unlinked.status();
  } while (cursor != "0");
  return Status::Ok();
}

std::optional<int64_t> ParseInt(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0') return std::nullopt;
  return value;
}

}  // namespace

Result<EnqueueResult> RunEnqueue(const BenchOptions& options, bool bulk) {
  constexpr std::string_view kQueue = "bench-enqueue";
  auto client = ConnectClient(options);
  if (!client) return client.status();
  // Connects and loads the enqueue script outside the timing, as every peer's client does
  // before its first timed call; the job is deleted with the others.
  auto warm = (*client)->Submit(NoopJob(kQueue));
  if (!warm) return warm.status();

  EnqueueResult result;
  result.mode = bulk ? "bulk" : "single";
  result.jobs = bulk ? options.jobs : options.single_jobs;
  std::vector<JobSpec> specs(static_cast<size_t>(result.jobs), NoopJob(kQueue));
  auto start = SteadyClock::now();
  if (bulk) {
    result.api = "Client::SubmitBatch, chunks of " + std::to_string(options.bulk_chunk);
    BANANAS_RETURN_IF_ERROR(SubmitInChunks(**client, specs, options.bulk_chunk, nullptr));
  } else {
    result.api = "Client::Submit, one at a time";
    for (const JobSpec& spec : specs) {
      auto submitted = (*client)->Submit(spec);
      if (!submitted) return submitted.status();
    }
  }
  result.seconds = SecondsSince(start);

  auto connection = Connect(options.redis_url);
  if (!connection) return connection.status();
  BANANAS_RETURN_IF_ERROR(
      ScanDelete(**connection, options.prefix + ":{" + std::string(kQueue) + "}:*"));
  return result;
}

Result<ThroughputResult> RunThroughput(const BenchOptions& options) {
  constexpr std::string_view kQueue = "bench-throughput";
  auto client = ConnectClient(options);
  if (!client) return client.status();
  RunTracker tracker;
  std::vector<JobSpec> specs(static_cast<size_t>(options.jobs), NoopJob(kQueue));
  BANANAS_RETURN_IF_ERROR(SubmitInChunks(**client, specs, options.bulk_chunk, &tracker));

  auto counters = Connect(options.redis_url);
  if (!counters) return counters.status();
  auto before = ReadRedisCounters(**counters);
  if (!before) return before.status();

  auto worker = StartWorker(options, std::string(kQueue), tracker, nullptr);
  if (!worker) return worker.status();
  const bool all_acked = WaitForOutcomes(**worker, options.jobs, options.timeout);
  const int64_t end_unix_us = NowUnixUs();
  auto after = ReadRedisCounters(**counters);
  (*worker)->Stop();
  (*worker)->Wait();
  if (!after) return after.status();

  ThroughputResult result;
  result.jobs = options.jobs;
  result.concurrency = options.concurrency;
  result.fetch_batch = options.fetch_batch;
  result.prefetch = options.prefetch;
  const int64_t first = tracker.first_run_unix_us();
  if (all_acked && tracker.runs() > 0) {
    result.seconds = static_cast<double>(end_unix_us - first) / 1e6;
    result.handler_seconds = static_cast<double>(tracker.last_run_unix_us() - first) / 1e6;
    if (result.seconds > 0)
      result.jobs_per_second = static_cast<double>(result.jobs) / result.seconds;
    if (result.handler_seconds > 0) {
      result.handler_jobs_per_second = static_cast<double>(result.jobs) / result.handler_seconds;
    }
  }
  result.redis = CostPerJob(*before, *after, options.jobs);
  auto delivery = CheckDelivery(options, tracker);
  if (!delivery) return delivery.status();
  result.delivery = *delivery;
  return result;
}

Result<PickupResult> RunPickup(const BenchOptions& options) {
  constexpr std::string_view kQueue = "bench-pickup";
  RunTracker tracker;
  auto worker = StartWorker(options, std::string(kQueue), tracker,
                            [](const JobContext& context, int64_t now) -> std::optional<int64_t> {
                              auto submitted_us = ParseInt(context.payload());
                              if (!submitted_us) return std::nullopt;
                              return now - *submitted_us;
                            });
  if (!worker) return worker.status();
  auto client = ConnectClient(options);
  if (!client) return client.status();
  // One job, not sampled, so that the client's script and the worker's first fetch are warm.
  auto warm = (*client)->Submit(NoopJob(kQueue));
  if (!warm) return warm.status();
  tracker.Expect(warm->id);
  if (!tracker.WaitForRuns(1, options.timeout)) {
    return Status::DeadlineExceeded("bench.Pickup: the warm-up job did not run");
  }

  PickupResult result;
  result.rate = std::max<int64_t>(options.rate, 1);
  result.jobs = std::max<int64_t>(1, result.rate * options.duration.count() / 1000);
  const auto interval = std::chrono::nanoseconds(1'000'000'000 / result.rate);
  auto next = SteadyClock::now();
  for (int64_t i = 0; i < result.jobs; ++i) {
    std::this_thread::sleep_until(next);  // open loop: the schedule never waits for a job
    next += interval;
    auto submitted = (*client)->Submit(NoopJob(kQueue, std::to_string(NowUnixUs())));
    if (!submitted) return submitted.status();
    tracker.Expect(submitted->id);
  }
  const bool all_ran = tracker.WaitForRuns(result.jobs + 1, options.timeout);
  if (all_ran) WaitForOutcomes(**worker, result.jobs + 1, options.timeout);
  (*worker)->Stop();
  (*worker)->Wait();
  result.latency = Summarize(tracker.samples_us());
  auto delivery = CheckDelivery(options, tracker);
  if (!delivery) return delivery.status();
  result.delivery = *delivery;
  return result;
}

Result<LatenessResult> RunLateness(const BenchOptions& options) {
  constexpr std::string_view kQueue = "bench-lateness";
  auto client = ConnectClient(options);
  if (!client) return client.status();
  LatenessResult result;
  result.jobs = std::max<int64_t>(options.delayed_jobs, 1);
  result.spread_s = static_cast<double>(options.spread.count()) / 1000.0;

  // The first job is due a second after now plus ~50 µs per job of enqueue: the enqueue, the
  // scheduler's first queue scan and the worker's start are over before anything is due.
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<int64_t> offset(0,
                                                std::max<int64_t>(options.spread.count(), 1) - 1);
  const int64_t first_due = NowUnixMs() + 1000 + result.jobs / 20;
  int64_t last_due = first_due;
  std::vector<JobSpec> specs;
  specs.reserve(static_cast<size_t>(result.jobs));
  for (int64_t i = 0; i < result.jobs; ++i) {
    int64_t run_at = first_due + offset(rng);
    last_due = std::max(last_due, run_at);
    JobSpec spec = NoopJob(kQueue, std::to_string(run_at));
    spec.run_at_unix_ms = run_at;
    specs.push_back(std::move(spec));
  }
  RunTracker tracker;
  BANANAS_RETURN_IF_ERROR(SubmitInChunks(**client, specs, options.bulk_chunk, &tracker));
  if (NowUnixMs() >= first_due) {
    return Status::FailedPrecondition(
        "bench.Lateness: the enqueue took longer than the lead time; use fewer --delayed jobs");
  }

  scheduler::SchedulerOptions scheduler_options;
  scheduler_options.redis_url = options.redis_url;
  scheduler_options.prefix = options.prefix;
  auto scheduler = scheduler::Scheduler::Create(scheduler_options);
  if (!scheduler) return scheduler.status();
  BANANAS_RETURN_IF_ERROR((*scheduler)->Start());
  auto worker = StartWorker(options, std::string(kQueue), tracker,
                            [](const JobContext& context, int64_t now) -> std::optional<int64_t> {
                              auto run_at_ms = ParseInt(context.payload());
                              if (!run_at_ms) return std::nullopt;
                              return now - *run_at_ms * 1000;
                            });
  if (!worker) return worker.status();
  const milliseconds wait = milliseconds(last_due - NowUnixMs()) + options.timeout;
  if (tracker.WaitForRuns(result.jobs, wait))
    WaitForOutcomes(**worker, result.jobs, options.timeout);
  (*worker)->Stop();
  (*scheduler)->Stop();
  (*worker)->Wait();
  (*scheduler)->Wait();

  std::vector<int64_t> samples = tracker.samples_us();
  result.early = std::count_if(samples.begin(), samples.end(), [](int64_t us) { return us < 0; });
  result.latency = Summarize(std::move(samples));
  auto delivery = CheckDelivery(options, tracker);
  if (!delivery) return delivery.status();
  result.delivery = *delivery;
  return result;
}

Status DeleteKeys(const BenchOptions& options) {
  auto connection = Connect(options.redis_url);
  if (!connection) return connection.status();
  return ScanDelete(**connection, options.prefix + ":*");
}

}  // namespace bananas::bench
