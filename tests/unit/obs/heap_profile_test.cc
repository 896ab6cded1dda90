// The jemalloc dump parser and Go's heap scaling, on a dump captured from Debian's jemalloc.
#include "obs/detail/heap_profile.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace bananas::obs::detail {
namespace {

constexpr char kDump[] =
    "heap_v2/524288\n"
    "  t*: 62: 4081669 [122: 8018325]\n"
    "  t0: 62: 4081669 [122: 8018325]\n"
    "@ 0x7fb5172a2630 0x7fb5172addf9 0x5583265f81bb 0x7fb51704524a\n"
    "  t*: 61: 4002287 [121: 7938963]\n"
    "  t0: 61: 4002287 [121: 7938963]\n"
    "@ 0x7fb5172a2630 0x7fb516ea57ba\n"
    "  t*: 1: 82338 [1: 82338]\n"
    "  t0: 1: 82338 [1: 82338]\n"
    "\n"
    "MAPPED_LIBRARIES:\n"
    "5583265f7000-5583265f8000 r--p 00000000 fe:00 11002104   /tmp/j\n";

TEST(JemallocDump, ParsesRecordsAndTheirRawCounts) {
  Result<HeapDump> dump = ParseJemallocDump(kDump);
  ASSERT_OK(dump);
  EXPECT_EQ(dump->sample_period, 524288);
  ASSERT_EQ(dump->records.size(), 2u);
  const HeapRecord& first = dump->records[0];
  EXPECT_EQ(first.live_objects, 61);
  EXPECT_EQ(first.live_bytes, 4002287);
  EXPECT_EQ(first.alloc_objects, 121);
  EXPECT_EQ(first.alloc_bytes, 7938963);
  // Return addresses become call-site addresses.
  ASSERT_EQ(first.pcs.size(), 4u);
  EXPECT_EQ(first.pcs[0], 0x7fb5172a2630u - 1);
  EXPECT_EQ(first.pcs[2], 0x5583265f81bbu - 1);
  EXPECT_EQ(dump->records[1].alloc_bytes, 82338);
}

TEST(JemallocDump, RejectsTextThatIsNotADump) {
  EXPECT_EQ(ParseJemallocDump("heap profile: 1: 2 [3: 4] @ heap/1024\n").status().code(),
            Status::Code::kCorruption);
  EXPECT_EQ(ParseJemallocDump("").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(ParseJemallocDump("heap_v2/524288\n@ 0x1\n  t*: x\n").status().code(),
            Status::Code::kCorruption);
}

TEST(HeapScale, IsGosEstimator) {
  // One sampled 64 KiB object at 512 KiB stands for 1/(1-e^-0.125) = 8.52 of them.
  EXPECT_NEAR(HeapScale(1, 65536, 524288), 1 / (1 - std::exp(-0.125)), 1e-9);
  EXPECT_NEAR(HeapScale(116, 116 * 65536, 524288), 8.51, 0.01);  // same average size
  EXPECT_EQ(HeapScale(0, 0, 524288), 1.0);
  // Huge objects are always sampled: no scaling.
  EXPECT_NEAR(HeapScale(1, 1 << 30, 524288), 1.0, 1e-9);
}

TEST(JemallocHeap, LiveProcessDumpMatchesTheBuild) {
  Result<HeapDump> dump = DumpJemallocHeap();
  if (!BANANAS_HAVE_JEMALLOC) {
    EXPECT_TRUE(dump.status().IsUnavailable());
    EXPECT_NE(dump.status().message().find("heap profiling is unavailable"), std::string::npos);
    return;
  }
  ASSERT_OK(dump);
  EXPECT_EQ(dump->sample_period, 524288) << "lg_prof_sample:19 from the built-in malloc_conf";
  EXPECT_STREQ(BuiltInMallocConf(), "prof:true,prof_active:true,lg_prof_sample:19,prof_accum:true");
}

}  // namespace
}  // namespace bananas::obs::detail
