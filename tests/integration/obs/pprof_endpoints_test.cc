// The user's profiling guide (seed/PROFILING.md) and the acceptance checks of
// pprof-design.md §6, run against pprof_test_service with Debian's `go tool pprof` and curl,
// command for command.
//
// One service process serves the whole suite. Its threads burn CPU in named functions
// (one of them labelled job_type=cpu), allocate, throw and catch, and contend on
// ProfiledMutexes; see pprof_test_service.cc. Fetched profiles land in a temporary
// directory (PPROF_TMPDIR and HOME point there).
//
// BANANAS_PPROF_SOAK_SECONDS sets the length of the soak CPU profile (default 10).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <string>
#include <thread>

#include "shell.h"
#include "test_util.h"

extern char** environ;

namespace bananas::obs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using ::bananas::testing::CommandResult;
using ::bananas::testing::Shell;

int SoakSeconds() {
  const char* text = std::getenv("BANANAS_PPROF_SOAK_SECONDS");
  int seconds = text != nullptr ? std::atoi(text) : 0;
  return seconds > 0 ? seconds : 10;
}

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// pprof_test_service as a child process; it exits when its stdin closes.
class ServiceProcess {
 public:
  ~ServiceProcess() { Stop(); }

  // Starts the service and waits for its "PORT <n>" line.
  bool Start() {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return false;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, in[1]);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    char* argv[] = {const_cast<char*>(PPROF_TEST_SERVICE), nullptr};
    int rc = posix_spawn(&pid_, PPROF_TEST_SERVICE, &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    stdin_fd_ = in[1];
    if (rc != 0) return false;
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, 1000) <= 0) continue;
      char c;
      if (read(out[0], &c, 1) != 1) break;
      line.push_back(c);
    }
    close(out[0]);
    return std::sscanf(line.c_str(), "PORT %hu", &port_) == 1;
  }

  void Stop() {
    if (stdin_fd_ >= 0) close(stdin_fd_);
    stdin_fd_ = -1;
    if (pid_ <= 0) return;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    int status;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
  }

  bool Alive() const {
    return pid_ > 0 && kill(pid_, 0) == 0 && waitpid(pid_, nullptr, WNOHANG) == 0;
  }
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  uint16_t port_ = 0;
};

class PprofEndpoints : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The guide says `go tool pprof`; Debian's golang-go puts `go` on PATH, but accept the
    // versioned directory too.
    testing::PutGoOnPath();
    char pattern[] = "/tmp/bananas-pprof-test-XXXXXX";
    directory_ = new std::string(mkdtemp(pattern));
    setenv("PPROF_TMPDIR", directory_->c_str(), 1);  // where pprof saves fetched profiles
    setenv("HOME", directory_->c_str(), 1);
    service_ = new ServiceProcess;
    started_ = service_->Start();
  }

  static void TearDownTestSuite() {
    delete service_;
    service_ = nullptr;
    std::filesystem::remove_all(*directory_);
    delete directory_;
    delete soak_profile_;
    soak_profile_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(started_) << "pprof_test_service did not start";
    ASSERT_EQ(Shell("command -v go").exit_code, 0)
        << "`go` not found: install golang-go (scripts/setup)";
    ASSERT_EQ(Shell("command -v curl").exit_code, 0) << "curl not found (scripts/setup)";
  }

  static std::string Url(const std::string& path) {
    return "http://localhost:" + std::to_string(service_->port()) + path;
  }
  static CommandResult Run(const std::string& command) { return Shell(command, *directory_); }

  // A CPU profile file: the soak test's, or a fresh 2 s one.
  static std::string CpuProfileFile() {
    if (soak_profile_ != nullptr) return *soak_profile_;
    std::string file = *directory_ + "/cpu-" + std::to_string(counter_++) + ".pb.gz";
    Run("curl -sf '" + Url("/debug/pprof/profile?seconds=2") + "' -o " + file);
    return file;
  }

  static bool CpuProfileInProgress() {
    // The index's Count column for "profile" is 1 while a CPU profile is being taken.
    return Run("curl -s " + Url("/debug/pprof/"))
               .output.find("<tr><td>1</td><td><a href='profile?debug=1'>") != std::string::npos;
  }

  static ServiceProcess* service_;
  static std::string* directory_;
  static std::string* soak_profile_;
  static bool started_;
  static int counter_;
};

ServiceProcess* PprofEndpoints::service_ = nullptr;
std::string* PprofEndpoints::directory_ = nullptr;
std::string* PprofEndpoints::soak_profile_ = nullptr;
bool PprofEndpoints::started_ = false;
int PprofEndpoints::counter_ = 0;

// A long CPU profile while other threads throw, catch and allocate: the service survives,
// the profile is valid and names C++ functions, other requests are served meanwhile (P9),
// and a second CPU profile is refused exactly as Go refuses it.
TEST_F(PprofEndpoints, CpuProfileSoakLeavesServiceAliveAndOthersServed) {
  const int seconds = SoakSeconds();
  // Guide, "CPU Profile" and "Investigating High CPU Usage": the interactive commands.
  auto soak = std::async(std::launch::async, [&] {
    return Run(
        "printf 'top10\\ntop20 -cum\\nlist HashPayload\\npeek HashPayload\\ntraces\\n' | "
        "go tool pprof http://localhost:" +
        std::to_string(service_->port()) +
        "/debug/pprof/profile?seconds=" + std::to_string(seconds));
  });
  ASSERT_TRUE(testing::WaitFor(CpuProfileInProgress, std::chrono::seconds(20)));

  CommandResult second = Run("curl -s -i '" + Url("/debug/pprof/profile?seconds=1") + "'");
  EXPECT_THAT(second.output, HasSubstr("HTTP/1.1 500 Internal Server Error"));
  EXPECT_THAT(second.output, HasSubstr("X-Go-Pprof: 1"));
  EXPECT_THAT(second.output, HasSubstr("Content-Type: text/plain; charset=utf-8"));
  EXPECT_THAT(second.output,
              HasSubstr("\r\n\r\nCould not enable CPU profiling: cpu profiling already in use\n"));
  CommandResult refused = Run("go tool pprof -top '" + Url("/debug/pprof/profile?seconds=1") + "'");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.output, HasSubstr("cpu profiling already in use"));

  EXPECT_EQ(Run("curl -sf --max-time 10 " + Url("/healthz")).output, "ok");
  EXPECT_THAT(Run("curl -sf --max-time 10 '" + Url("/debug/pprof/goroutine?debug=1") + "'").output,
              HasSubstr("goroutine profile: total "));
  EXPECT_THAT(Run("go tool pprof -top " + Url("/debug/pprof/mutex")).output,
              HasSubstr("Type: delay"));

  CommandResult profile = soak.get();
  ASSERT_EQ(profile.exit_code, 0) << profile.output;
  EXPECT_TRUE(service_->Alive());
  EXPECT_THAT(profile.output, HasSubstr("File: pprof_test_service"));
  EXPECT_THAT(profile.output, HasSubstr("Type: cpu"));
  EXPECT_THAT(profile.output, HasSubstr("bananas::pprofdemo::HashPayload"));
  EXPECT_THAT(profile.output, HasSubstr("bananas::pprofdemo::SpinUnlabeled"));
  EXPECT_THAT(profile.output, HasSubstr("bananas::pprofdemo::ThrowParseError"));
  EXPECT_THAT(profile.output,
              HasSubstr("ROUTINE ======================== bananas::pprofdemo::HashPayload in "));
  if (!BANANAS_TSAN) {  // TSan's instrumented atomics add an inline frame between the two
    EXPECT_THAT(profile.output, HasSubstr("|   bananas::pprofdemo::RunLabeledJobs"));  // peek
  }
  EXPECT_THAT(profile.output, HasSubstr("-----------+-------"));  // traces
  EXPECT_THAT(profile.output, HasSubstr("job_type:  cpu"));

  std::smatch saved;
  ASSERT_TRUE(std::regex_search(profile.output, saved, std::regex("Saved profile in (\\S+)")));
  EXPECT_EQ(Run("gzip -t " + saved[1].str()).exit_code, 0);
  soak_profile_ = new std::string(saved[1].str());
  EXPECT_EQ(Run("curl -sf " + Url("/healthz")).output, "ok");
}

// §6: go tool pprof -top "…/profile?seconds=5" | tee cpu.txt; grep Type and C++ names.
TEST_F(PprofEndpoints, TopOfCpuProfileShowsCppNames) {
  CommandResult top =
      Run("go tool pprof -top 'http://localhost:" + std::to_string(service_->port()) +
          "/debug/pprof/profile?seconds=2' | tee cpu.txt");
  ASSERT_EQ(top.exit_code, 0) << top.output;
  EXPECT_EQ(
      Run("grep -E '^Type: cpu' cpu.txt && grep -E '[A-Za-z_]+::[A-Za-z_]+' cpu.txt").exit_code, 0)
      << top.output;
  EXPECT_THAT(top.output, HasSubstr("bananas::pprofdemo::HashPayload"));
  EXPECT_THAT(top.output, HasSubstr("Build ID: "));
}

// §6: the raw endpoint is gzip; -list (needs the -g build), -peek and -traces on the file.
TEST_F(PprofEndpoints, RawCpuProfileIsGzipAndListPeekTracesWork) {
  ASSERT_EQ(Run("curl -sf '" + Url("/debug/pprof/profile?seconds=2") +
                "' -o profile.pb.gz && gzip -t profile.pb.gz")
                .exit_code,
            0);
  CommandResult list = Run("go tool pprof -list 'HashPayload' profile.pb.gz | grep ROUTINE");
  EXPECT_THAT(list.output,
              HasSubstr("ROUTINE ======================== bananas::pprofdemo::HashPayload in "
                        "/"));  // an absolute source path: `list` shows the source
  if (!BANANAS_TSAN) {          // TSan's instrumented atomics add an inline frame between the two
    EXPECT_THAT(Run("go tool pprof -peek 'SpinUnlabeled' profile.pb.gz").output,
                HasSubstr("|   bananas::pprofdemo::RunSpin"));
  }
  CommandResult traces = Run("go tool pprof -traces profile.pb.gz");
  EXPECT_THAT(traces.output, HasSubstr("-----------+-------"));
  EXPECT_TRUE(std::regex_search(
      traces.output, std::regex("bananas::pprofdemo::SpinUnlabeled\\n"
                                "( +.*\\(inline\\)\\n)? +bananas::pprofdemo::RunSpin\\n")))
      << traces.output.substr(0, 4000);
}

// "Useful pprof Commands": peek, focus and show_from, in place of the guide's callers and
// callees, which pprof does not have.
TEST_F(PprofEndpoints, CallerAndCalleeViewsWork) {
  std::string file = CpuProfileFile();
  CommandResult views =
      Run("printf 'peek ThrowParseError\\ntop -cum ThrowParseError\\n"
          "show_from=ThrowParseError\\ntop -cum\\n' | go tool pprof " +
          file);
  ASSERT_EQ(views.exit_code, 0) << views.output;
  EXPECT_THAT(views.output, HasSubstr("|   bananas::pprofdemo::ThrowAndCatch"));
  EXPECT_THAT(views.output, HasSubstr("|   __cxa_throw"));
  EXPECT_THAT(views.output, HasSubstr("Active filters:\n   focus=ThrowParseError"));
  EXPECT_THAT(views.output, HasSubstr("Active filters:\n   show_from=ThrowParseError"));
}

// SPEC §8: samples taken while a job runs carry job_type and queue; -tagfocus isolates them.
TEST_F(PprofEndpoints, TagFocusKeepsOnlySamplesOfOneJobType) {
  std::string file = CpuProfileFile();
  CommandResult focused = Run("go tool pprof -top -tagfocus=job_type=cpu " + file);
  ASSERT_EQ(focused.exit_code, 0) << focused.output;
  EXPECT_THAT(focused.output, HasSubstr("bananas::pprofdemo::HashPayload"));
  EXPECT_THAT(focused.output, Not(HasSubstr("SpinUnlabeled")));
  EXPECT_THAT(focused.output, Not(HasSubstr("ThrowParseError")));
  CommandResult tags = Run("go tool pprof -tags " + file);
  EXPECT_THAT(tags.output, HasSubstr("job_type: Total"));
  EXPECT_THAT(tags.output, HasSubstr("queue: Total"));
  EXPECT_THAT(tags.output, HasSubstr("thread: Total"));
}

// §6: the web UI (`go tool pprof -http`) lists C++ names.
TEST_F(PprofEndpoints, WebUiTopShowsCppNames) {
  std::string file = CpuProfileFile();
  std::string ui = "127.0.0.1:" + std::to_string(FreePort());
  CommandResult result =
      Run("(timeout 60 go tool pprof -no_browser -http=" + ui + " " + file + " >ui.log 2>&1 &) ; " +
          "for i in $(seq 300); do curl -sf http://" + ui +
          "/ui/top >/dev/null && break; sleep 0.1; " + "done; curl -s http://" + ui +
          "/ui/top | grep -c '::'; " + "pkill -f -- '-http=" + ui + "' || true");
  EXPECT_GT(std::atoi(result.output.c_str()), 0) << result.output;
}

// The guide's `web` and `pdf` need graphviz; -png renders the same call graph.
TEST_F(PprofEndpoints, PngRendersCallGraphWhenGraphvizInstalled) {
  if (Run("command -v dot").exit_code != 0) GTEST_SKIP() << "graphviz (dot) not installed";
  std::string file = CpuProfileFile();
  ASSERT_EQ(Run("go tool pprof -png " + file + " > graph.png").exit_code, 0);
  EXPECT_EQ(Run("head -c 8 graph.png | od -An -tx1").output, " 89 50 4e 47 0d 0a 1a 0a\n");
  // The guide's interactive `pdf > profile.pdf`.
  ASSERT_EQ(Run("printf 'pdf > profile.pdf\\n' | go tool pprof " + file).exit_code, 0);
  EXPECT_EQ(Run("head -c 5 profile.pdf").output, "%PDF-");
}

// Guide, "Memory Profile (Heap)": top10 -cum and list, names of the allocating code.
TEST_F(PprofEndpoints, HeapProfileNamesTheAllocatingFunction) {
  if (!BANANAS_HAVE_JEMALLOC) GTEST_SKIP() << "built without jemalloc";
  CommandResult top = Run("go tool pprof -top " + Url("/debug/pprof/heap"));
  ASSERT_EQ(top.exit_code, 0) << top.output;
  EXPECT_THAT(top.output, HasSubstr("Type: inuse_space"));
  EXPECT_THAT(top.output, HasSubstr("bananas::pprofdemo::MakeResultBuffer"));
  CommandResult interactive =
      Run("printf 'top10 -cum\\nlist MakeResultBuffer\\n' | "
          "go tool pprof " +
          Url("/debug/pprof/heap"));
  EXPECT_THAT(interactive.output,
              HasSubstr("ROUTINE ======================== bananas::pprofdemo::MakeResultBuffer"));
}

// Guide, "Allocation Profile": every allocation, freed or not; default type alloc_space.
TEST_F(PprofEndpoints, AllocsProfileShowsShortLivedAllocations) {
  if (!BANANAS_HAVE_JEMALLOC) GTEST_SKIP() << "built without jemalloc";
  // ChurnStrings allocates inside the std::string constructor inlined into it: the leaf is
  // that inline frame, so ChurnStrings itself is found by cumulative size. Sampling is one
  // per 512 KiB on average: a service that just started may not have a sample of each yet.
  CommandResult top;
  auto shows_both = [&] {
    top = Run("printf 'top10\\ntop50 -cum\\n' | go tool pprof " + Url("/debug/pprof/allocs"));
    return top.output.find("bananas::pprofdemo::ChurnStrings") != std::string::npos &&
           top.output.find("bananas::pprofdemo::ThrowParseError") != std::string::npos;
  };
  EXPECT_TRUE(testing::WaitFor(shows_both, std::chrono::seconds(30))) << top.output;
  ASSERT_EQ(top.exit_code, 0) << top.output;
  EXPECT_THAT(top.output, HasSubstr("Type: alloc_space"));
}

// Guide, "Investigating Memory Leaks": -proto snapshots before and after, then -base.
TEST_F(PprofEndpoints, HeapBaseDiffShowsTheGrowingAllocation) {
  if (!BANANAS_HAVE_JEMALLOC) GTEST_SKIP() << "built without jemalloc";
  std::string heap = Url("/debug/pprof/heap");
  ASSERT_EQ(Run("go tool pprof -proto " + heap + " > heap_before.pb.gz").exit_code, 0);
  // The service keeps ~3 MB/s more buffers alive; wait until that shows in the diff.
  CommandResult diff;
  bool grew = testing::WaitFor(
      [&] {
        Run("go tool pprof -proto " + heap + " > heap_after.pb.gz");
        diff =
            Run("printf 'top10 -cum\\n' | go tool pprof -base heap_before.pb.gz "
                "heap_after.pb.gz");
        return std::regex_search(diff.output,
                                 std::regex("\\n +[1-9][0-9.]*[kM]B .*MakeResultBuffer"));
      },
      std::chrono::seconds(30));
  EXPECT_TRUE(grew) << diff.output;
  // §6: the same with curl.
  EXPECT_EQ(Run("curl -sf " + heap + " -o a.pb.gz && curl -sf " + heap +
                " -o b.pb.gz && go tool pprof -top -base a.pb.gz b.pb.gz >/dev/null")
                .exit_code,
            0);
}

// Sanitizer builds (no jemalloc): heap and allocs say why they are unavailable.
TEST_F(PprofEndpoints, HeapAnswersUnavailableWithoutJemalloc) {
  if (BANANAS_HAVE_JEMALLOC) GTEST_SKIP() << "built with jemalloc";
  CommandResult heap = Run("curl -s -i " + Url("/debug/pprof/heap"));
  EXPECT_THAT(heap.output, HasSubstr("HTTP/1.1 501"));
  EXPECT_THAT(heap.output, HasSubstr("X-Go-Pprof: 1"));
  EXPECT_THAT(heap.output, HasSubstr("heap profiling is unavailable"));
  EXPECT_THAT(Run("go tool pprof -top " + Url("/debug/pprof/allocs")).output,
              HasSubstr("heap profiling is unavailable"));
}

// Guide, "Investigating Goroutine Leaks": the count line, then top10 and traces.
TEST_F(PprofEndpoints, GoroutineProfileCountsAndShowsEveryThread) {
  CommandResult count = Run("curl http://localhost:" + std::to_string(service_->port()) +
                            "/debug/pprof/goroutine?debug=1 | grep \"goroutine profile\"");
  std::smatch total;
  ASSERT_TRUE(std::regex_search(count.output, total, std::regex("goroutine profile: total (\\d+)")))
      << count.output;
  size_t threads = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(service_->pid()) + "/task")) {
    ++threads;
  }
  EXPECT_EQ(std::stoul(total[1].str()), threads);

  std::string grouped = Run("curl -s '" + Url("/debug/pprof/goroutine?debug=1") + "'").output;
  EXPECT_THAT(grouped, HasSubstr("(idle-0)"));
  EXPECT_THAT(grouped, HasSubstr("\tbananas::pprofdemo::IdleWait+0x"));
  EXPECT_THAT(grouped, HasSubstr("# labels: {\"job_type\":\"cpu\", \"queue\":\"default\"}"));

  std::string each = Run("curl -s '" + Url("/debug/pprof/goroutine?debug=2") + "'").output;
  EXPECT_EQ(Run("curl -s '" + Url("/debug/pprof/goroutine?debug=2") +
                "' | grep -cE '^goroutine [0-9]+ \\['")
                .output,
            std::to_string(threads) + "\n");
  EXPECT_TRUE(
      std::regex_search(each, std::regex("goroutine \\d+ \\[sleeping\\]: thread \"idle-0\"")))
      << each;
  EXPECT_THAT(each, HasSubstr("bananas::pprofdemo::IdleWait(...)\n\t/"));

  CommandResult pprof =
      Run("printf 'top10\\ntraces\\n' | go tool pprof " + Url("/debug/pprof/goroutine"));
  ASSERT_EQ(pprof.exit_code, 0) << pprof.output;
  EXPECT_THAT(pprof.output, HasSubstr("Type: goroutine"));
  EXPECT_THAT(pprof.output, HasSubstr("bananas::pprofdemo::IdleWait"));
}

// Guide, "Mutex Profile" and "Block Profile": the function that locks is the leaf.
TEST_F(PprofEndpoints, MutexAndBlockProfilesNameTheLockingFunction) {
  for (const char* name : {"mutex", "block"}) {
    CommandResult top = Run("go tool pprof -top " + Url(std::string("/debug/pprof/") + name));
    ASSERT_EQ(top.exit_code, 0) << top.output;
    EXPECT_THAT(top.output, HasSubstr("Type: delay"));
    EXPECT_TRUE(std::regex_search(
        top.output,
        std::regex("\\n +[0-9.]+[a-z]+ +[0-9.]+% .*bananas::pprofdemo::DequeueLocked\\n")))
        << name << ": the flat column names DequeueLocked\n"
        << top.output;
    EXPECT_THAT(top.output, Not(HasSubstr("ProfiledMutex")));
  }
}

// Go's delta profiles: ?seconds=N on a cumulative profile returns what happened in N seconds.
TEST_F(PprofEndpoints, SecondsParameterGivesDeltaProfiles) {
  CommandResult delta = Run("go tool pprof -top '" + Url("/debug/pprof/mutex?seconds=1") + "'");
  ASSERT_EQ(delta.exit_code, 0) << delta.output;
  EXPECT_THAT(delta.output, HasSubstr("bananas::pprofdemo::DequeueLocked"));
  EXPECT_THAT(Run("curl -s '" + Url("/debug/pprof/mutex?seconds=x") + "'").output,
              HasSubstr("invalid value for \"seconds\" - must be a positive integer"));
}

// §6: symbolz, Go's format, GET and POST.
TEST_F(PprofEndpoints, SymbolEndpointResolvesAddresses) {
  EXPECT_EQ(Run("curl -s " + Url("/debug/pprof/symbol")).output, "num_symbols: 1\n");
  std::string grouped = Run("curl -s '" + Url("/debug/pprof/goroutine?debug=1") + "'").output;
  std::smatch frame;
  ASSERT_TRUE(std::regex_search(grouped, frame,
                                std::regex("#\\t(0x[0-9a-f]+)\\tbananas::pprofdemo::IdleWait")));
  std::string address = frame[1].str();
  EXPECT_THAT(
      Run("curl -s -X POST --data-binary '0x10+" + address + "' " + Url("/debug/pprof/symbol"))
          .output,
      HasSubstr("num_symbols: 1\n" + address + " bananas::pprofdemo::IdleWait()\n"));
  EXPECT_THAT(Run("curl -s '" + Url("/debug/pprof/symbol?" + address) + "'").output,
              HasSubstr(address + " bananas::pprofdemo::IdleWait()"));
}

// §6: the index lists the profiles, as Go's does.
TEST_F(PprofEndpoints, IndexListsEveryProfile) {
  std::string index = Run("curl -s " + Url("/debug/pprof/")).output;
  EXPECT_GE(std::atoi(Run("curl -s " + Url("/debug/pprof/") + " | grep -c href").output.c_str()),
            9);
  for (const char* name :
       {"allocs", "block", "cmdline", "goroutine", "heap", "mutex", "profile", "threadcreate"}) {
    EXPECT_THAT(index, HasSubstr(std::string("<a href='") + name + "?debug=1'>" + name + "</a>"));
  }
  EXPECT_THAT(index, HasSubstr("<a href=\"goroutine?debug=2\">full goroutine stack dump</a>"));
}

TEST_F(PprofEndpoints, HealthzMetricsCmdlineAndUnknownPaths) {
  EXPECT_EQ(Run("curl -s " + Url("/healthz")).output, "ok");
  CommandResult metrics = Run("curl -s -i " + Url("/metrics"));
  EXPECT_THAT(metrics.output, HasSubstr("Content-Type: text/plain; version=0.0.4; charset=utf-8"));
  EXPECT_THAT(metrics.output, HasSubstr("\r\n\r\npprofdemo_up 1\n"));
  EXPECT_EQ(Run("curl -s " + Url("/debug/pprof/cmdline")).output, PPROF_TEST_SERVICE);
  CommandResult unknown = Run("curl -s -i " + Url("/debug/pprof/nonesuch"));
  EXPECT_THAT(unknown.output, HasSubstr("HTTP/1.1 404"));
  EXPECT_THAT(unknown.output, HasSubstr("\r\n\r\nUnknown profile\n"));
  EXPECT_THAT(Run("curl -s -i " + Url("/debug/pprof")).output,
              HasSubstr("Location: /debug/pprof/"));
  EXPECT_THAT(Run("curl -s -i " + Url("/nonesuch")).output, HasSubstr("HTTP/1.1 404"));
  EXPECT_THAT(Run("curl -s " + Url("/debug/pprof/threadcreate?debug=1")).output,
              HasSubstr("threadcreate profile: total "));
}

}  // namespace
}  // namespace bananas::obs
