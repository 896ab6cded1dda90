#include "bench/report.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <cstdio>

namespace bananas::bench {
namespace {

namespace json = boost::json;

// Rounded for reading: three decimals are microseconds for a figure in ms.
double Round(double value, int decimals = 3) {
  double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

json::object LatencyJson(const LatencySummary& l) {
  return {{"count", l.count},          {"p50_ms", Round(l.p50_ms)},   {"p90_ms", Round(l.p90_ms)},
          {"p99_ms", Round(l.p99_ms)}, {"p999_ms", Round(l.p999_ms)}, {"max_ms", Round(l.max_ms)},
          {"min_ms", Round(l.min_ms)}, {"mean_ms", Round(l.mean_ms)}};
}

json::object DeliveryJson(const Delivery& d) {
  return {{"ok", d.ok()},   {"submitted", d.submitted},   {"completed", d.completed},
          {"lost", d.lost}, {"duplicates", d.duplicates}, {"unexpected", d.unexpected}};
}

json::object RedisJson(const RedisCost& cost) {
  json::object by_command;
  for (const auto& [name, calls] : cost.calls_per_job_by_command) by_command[name] = Round(calls);
  return {{"cpu_us_per_job", Round(cost.cpu_us_per_job, 2)},
          {"script_us_per_job", Round(cost.script_us_per_job, 2)},
          {"calls_per_job", Round(cost.calls_per_job)},
          {"calls_per_job_by_command", std::move(by_command)}};
}

std::string Format(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

// "12,345" for a rate.
std::string Thousands(double value) {
  auto whole = static_cast<long long>(std::llround(value));
  std::string digits = std::to_string(whole < 0 ? -whole : whole);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return whole < 0 ? "-" + out : out;
}

std::string LatencyLine(const LatencySummary& l) {
  return "p50 " + Format("%.3f", l.p50_ms) + "  p90 " + Format("%.3f", l.p90_ms) + "  p99 " +
         Format("%.3f", l.p99_ms) + "  p99.9 " + Format("%.3f", l.p999_ms) + "  max " +
         Format("%.3f", l.max_ms) + " ms";
}

std::string DeliveryLine(const Delivery& d) {
  return std::string(d.ok() ? "ok" : "FAILED") + ": " + std::to_string(d.completed) + "/" +
         std::to_string(d.submitted) + " completed exactly once, lost " + std::to_string(d.lost) +
         ", duplicates " + std::to_string(d.duplicates) + ", unexpected " +
         std::to_string(d.unexpected);
}

}  // namespace

Delivery BenchReport::delivery() const {
  Delivery total;
  if (throughput) total += throughput->delivery;
  if (pickup) total += pickup->delivery;
  if (lateness) total += lateness->delivery;
  return total;
}

bool BenchReport::ok() const {
  if (!delivery().ok()) return false;
  if (lateness && lateness->early > 0) return false;
  for (const EnqueueResult& e : enqueue) {
    if (e.errors > 0) return false;
  }
  return true;
}

std::string ReportJson(const BenchReport& report) {
  json::object root{{"bench", "bananas"}, {"version", report.version}, {"redis", report.redis}};
  json::object enqueue;
  for (const EnqueueResult& e : report.enqueue) {
    json::object one{{"api", e.api},
                     {"jobs", e.jobs},
                     {"seconds", Round(e.seconds, 4)},
                     {"jobs_per_second", Round(e.per_second(), 1)}};
    if (e.mode.rfind("http", 0) == 0) {
      one["connections"] = e.connections;
      one["errors"] = e.errors;
    }
    std::string key = e.mode;
    for (char& c : key) c = c == ' ' ? '_' : c;
    enqueue[key] = std::move(one);
  }
  if (!enqueue.empty()) root["enqueue"] = std::move(enqueue);
  if (const auto& t = report.throughput) {
    root["throughput"] =
        json::object{{"jobs", t->jobs},
                     {"concurrency", t->concurrency},
                     {"fetch_batch", t->fetch_batch},
                     {"prefetch", t->prefetch},
                     {"seconds", Round(t->seconds, 4)},
                     {"jobs_per_second", Round(t->jobs_per_second, 1)},
                     {"handler_seconds", Round(t->handler_seconds, 4)},
                     {"handler_jobs_per_second", Round(t->handler_jobs_per_second, 1)},
                     {"redis", RedisJson(t->redis)},
                     {"delivery", DeliveryJson(t->delivery)}};
  }
  if (const auto& p = report.pickup) {
    root["pickup"] = json::object{{"rate", p->rate},
                                  {"jobs", p->jobs},
                                  {"latency", LatencyJson(p->latency)},
                                  {"delivery", DeliveryJson(p->delivery)}};
  }
  if (const auto& l = report.lateness) {
    root["lateness"] = json::object{{"jobs", l->jobs},
                                    {"spread_s", Round(l->spread_s)},
                                    {"early", l->early},
                                    {"latency", LatencyJson(l->latency)},
                                    {"delivery", DeliveryJson(l->delivery)}};
  }
  json::object delivery = DeliveryJson(report.delivery());
  root["delivery"] = std::move(delivery);
  root["ok"] = report.ok();
  return json::serialize(root);
}

std::string ReportTable(const BenchReport& report) {
  std::string out = "bananas bench " + report.version + " against " + report.redis + "\n\n";
  for (const EnqueueResult& e : report.enqueue) {
    std::string line = "enqueue " + e.mode + ": " + Thousands(e.per_second()) + " jobs/s (" +
                       std::to_string(e.jobs) + " jobs in " + Format("%.3f", e.seconds) + " s; " +
                       e.api;
    if (e.mode.rfind("http", 0) == 0) {
      line += ", " + std::to_string(e.connections) + " keep-alive connections, " +
              std::to_string(e.errors) + " errors";
    }
    out += line + ")\n";
  }
  if (const auto& t = report.throughput) {
    out += "throughput: " + Thousands(t->jobs_per_second) + " jobs/s (" + std::to_string(t->jobs) +
           " no-op jobs, first start to last ack " + Format("%.3f", t->seconds) +
           " s; concurrency " + std::to_string(t->concurrency) + ", fetch batch " +
           std::to_string(t->fetch_batch) + ", prefetch " + std::to_string(t->prefetch) +
           "; first to last start: " + Thousands(t->handler_jobs_per_second) + " jobs/s)\n";
    out += "  redis per job: " + Format("%.1f", t->redis.cpu_us_per_job) + " us CPU, " +
           Format("%.2f", t->redis.calls_per_job) + " calls (";
    bool first = true;
    for (const auto& [name, calls] : t->redis.calls_per_job_by_command) {
      if (!first) out += ", ";
      first = false;
      out += name + " " + Format("%.2f", calls);
    }
    out += ")\n  delivery " + DeliveryLine(t->delivery) + "\n";
  }
  if (const auto& p = report.pickup) {
    out += "pickup (start - submit), " + std::to_string(p->latency.count) + " jobs at " +
           std::to_string(p->rate) + "/s: " + LatencyLine(p->latency) + "\n";
    out += "  delivery " + DeliveryLine(p->delivery) + "\n";
  }
  if (const auto& l = report.lateness) {
    out += "lateness (start - run_at), " + std::to_string(l->latency.count) +
           " delayed jobs over " + Format("%.1f", l->spread_s) + " s: " + LatencyLine(l->latency) +
           ", early " + std::to_string(l->early) + "\n";
    out += "  delivery " + DeliveryLine(l->delivery) + "\n";
  }
  const Delivery total = report.delivery();
  out += total.submitted > 0
             ? "\nexact delivery: " + DeliveryLine(total) + "\n"
             : std::string("\nexact delivery: not checked (no scenario that runs jobs)\n");
  out += report.ok() ? "result: ok\n" : "result: FAILED\n";
  return out;
}

}  // namespace bananas::bench
