// The metrics registry and the text format (obs/metrics.h), and the structured log lines
// (obs/log.h): I/O-free.
#include "obs/metrics.h"

#include <boost/json/parse.hpp>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "obs/detail/pprof_handlers.h"
#include "obs/log.h"

namespace bananas::obs {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(Metrics, DlqTrimmedIsCountedByQueue) {
  Metrics metrics;
  metrics.AddDlqTrimmed("a", 2);
  metrics.AddDlqTrimmed("b", 1);
  metrics.AddDlqTrimmed("a", 3);
  EXPECT_EQ(metrics.DlqTrimmed("a"), 5u);
  EXPECT_EQ(metrics.DlqTrimmed("c"), 0u);
  std::string text = metrics.Render();
  EXPECT_TRUE(Has(text, "# TYPE bananas_dlq_trimmed_total counter")) << text;
  EXPECT_TRUE(Has(text, "bananas_dlq_trimmed_total{queue=\"a\"} 5")) << text;
  EXPECT_TRUE(Has(text, "bananas_dlq_trimmed_total{queue=\"b\"} 1")) << text;
  EXPECT_TRUE(Has(text, "# TYPE bananas_clock_offset_seconds gauge")) << text;
}

TEST(Metrics, CountersAreExactUnderConcurrentRecording) {
  Metrics metrics;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        JobSeries& series = metrics.Jobs("default", i % 2 == 0 ? "noop" : "echo");
        series.Add(JobEvent::kSucceeded);
        series.run_time.Observe(0.002);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(metrics.Jobs("default", "noop").Count(JobEvent::kSucceeded), kThreads * kPerThread / 2);
  EXPECT_EQ(metrics.Jobs("default", "echo").run_time.Read().count(), kThreads * kPerThread / 2);
  std::string text = metrics.Render();
  EXPECT_TRUE(Has(text, "bananas_jobs_succeeded_total{queue=\"default\",job_type=\"noop\"} 100000"))
      << text;
}

TEST(Metrics, SameSeriesFromEveryThread) {
  Metrics metrics;
  JobSeries* here = &metrics.Jobs("q", "t");
  JobSeries* there = nullptr;
  std::thread([&] { there = &metrics.Jobs("q", "t"); }).join();
  EXPECT_EQ(here, there);
  Metrics other;  // a second registry never shares a cached series
  EXPECT_NE(&other.Jobs("q", "t"), here);
}

TEST(Metrics, HistogramBucketsAreCumulativeWithSumAndCount) {
  Metrics metrics;
  JobSeries& s = metrics.Jobs("default", "noop");
  s.pickup_latency.Observe(0.0002);  // le 0.00025
  s.pickup_latency.Observe(0.003);   // le 0.005
  s.pickup_latency.Observe(1000);    // only +Inf
  std::string text = metrics.Render();
  const std::string labels = "queue=\"default\",job_type=\"noop\"";
  EXPECT_TRUE(Has(text, "bananas_job_pickup_latency_seconds_bucket{" + labels + ",le=\"0.0001\"} 0"));
  EXPECT_TRUE(Has(text, "bananas_job_pickup_latency_seconds_bucket{" + labels + ",le=\"0.00025\"} 1"));
  EXPECT_TRUE(Has(text, "bananas_job_pickup_latency_seconds_bucket{" + labels + ",le=\"0.005\"} 2"));
  EXPECT_TRUE(Has(text, "bananas_job_pickup_latency_seconds_bucket{" + labels + ",le=\"300\"} 2"));
  EXPECT_TRUE(Has(text, "bananas_job_pickup_latency_seconds_bucket{" + labels + ",le=\"+Inf\"} 3"));
  EXPECT_TRUE(Has(text, "bananas_job_pickup_latency_seconds_count{" + labels + "} 3"));
  EXPECT_TRUE(Has(text, "bananas_job_pickup_latency_seconds_sum{" + labels + "} 1000.0032")) << text;
  EXPECT_TRUE(Has(text, "# TYPE bananas_job_pickup_latency_seconds histogram"));
}

TEST(Metrics, LabelValuesAndHelpAreEscaped) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  Exposition out;
  out.Family("x_total", "line\nbreak \\ here", "counter");
  out.Sample("x_total", {{"k", "v\"1"}}, uint64_t{2});
  EXPECT_EQ(out.text(),
            "# HELP x_total line\\nbreak \\\\ here\n# TYPE x_total counter\n"
            "x_total{k=\"v\\\"1\"} 2\n");
}

TEST(Metrics, SeriesBeyondTheCapShareTheOverflowSeries) {
  Metrics metrics;
  for (size_t i = 0; i < Metrics::kMaxJobSeries; ++i) {
    metrics.Jobs("q" + std::to_string(i), "t");
  }
  JobSeries& a = metrics.Jobs("late-a", "t");
  JobSeries& b = metrics.Jobs("late-b", "t");
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(a.queue, Metrics::kOverflowLabel);
}

TEST(Metrics, CollectorsRenderAfterTheRegistry) {
  Metrics metrics;
  metrics.AddCollector([](Exposition& out) {
    out.Family("bananas_test_gauge", "A test gauge.", "gauge");
    out.Sample("bananas_test_gauge", {}, 1.5);
  });
  std::string text = metrics.Render();
  EXPECT_TRUE(Has(text, "bananas_test_gauge 1.5")) << text;
  EXPECT_TRUE(Has(text, "# TYPE bananas_redis_round_trip_seconds histogram"));
  EXPECT_EQ(FormatValue(1.0 / 0.0), "+Inf");
}

TEST(StructuredLog, JsonLinesAreValidJsonWhateverTheStrings) {
  std::string nasty = std::string("quote\" backslash\\ newline\n tab\t nul") + '\0' +
                      " bell\x07 bad utf8 \xff\xfe end";
  std::string line = FormatLogLine(LogFormat::kJson, LogLevel::kDebug, 1'700'000'000'123,
                                   "job done", {{"job_id", nasty}, {"attempt", 2},
                                                {"duration_ms", 1.25}, {"ok", true}});
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  ASSERT_FALSE(ec) << line;
  EXPECT_EQ(v.at("msg").as_string(), "job done");
  EXPECT_EQ(v.at("level").as_string(), "debug");
  EXPECT_EQ(v.at("time").as_string(), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(v.at("attempt").as_int64(), 2);
  EXPECT_EQ(v.at("ok").as_bool(), true);
  EXPECT_NE(std::string(v.at("job_id").as_string()).find("newline\n tab\t"), std::string::npos);
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(StructuredLog, ConsoleQuotesValuesWithSpaces) {
  std::string line = FormatLogLine(LogFormat::kConsole, LogLevel::kWarn, 0, "redis connection failed",
                                   {{"endpoint", "127.0.0.1:6379/0"}, {"error", "connect refused"}});
  EXPECT_EQ(line,
            "1970-01-01T00:00:00.000Z WARN  redis connection failed endpoint=127.0.0.1:6379/0 "
            "error=\"connect refused\"");
}

TEST(PprofCmdline, PasswordsAndTokensAreMasked) {
  std::string args = std::string("bananas\0worker\0--redis-url\0redis://user:pw1@h:6379/0\0", 53) +
                     std::string("--api-token\0tok\0--api-token=tok2\0redis://pw3@h/1", 48);
  std::string masked = detail::MaskCommandLine(args);
  EXPECT_EQ(masked.find("pw1"), std::string::npos);
  EXPECT_EQ(masked.find(std::string("\0tok\0", 5)), std::string::npos);
  EXPECT_EQ(masked.find("tok2"), std::string::npos);
  EXPECT_NE(masked.find(std::string("--api-token\0***\0--api-token=***\0", 32)), std::string::npos);
  EXPECT_EQ(masked.find("pw3"), std::string::npos);
  EXPECT_NE(masked.find("redis://user:***@h:6379/0"), std::string::npos);
  EXPECT_NE(masked.find(std::string("bananas\0worker\0", 15)), std::string::npos);
}

}  // namespace
}  // namespace bananas::obs
