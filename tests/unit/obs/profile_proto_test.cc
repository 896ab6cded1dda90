// The profile.proto we write, read back with a minimal decoder: no Go needed. Checks the
// invariants `go tool pprof` relies on (pprof-design.md §6): string_table[0] == "", every
// location has a line whose function has a name, every mapping says has_functions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <map>
#include <string>
#include <vector>

#include "obs/detail/profile.h"
#include "obs/detail/proto.h"
#include "obs/detail/unwind.h"
#include "test_util.h"

namespace bananas::obs::detail {
namespace {

// A protobuf message as field number -> raw values (varints, or bytes for wire type 2).
struct Message {
  std::multimap<int, uint64_t> varints;
  std::multimap<int, std::string> bytes;

  uint64_t Varint(int field) const {
    auto it = varints.find(field);
    return it == varints.end() ? 0 : it->second;
  }
  std::vector<std::string> All(int field) const {
    std::vector<std::string> out;
    for (auto [it, end] = bytes.equal_range(field); it != end; ++it) out.push_back(it->second);
    return out;
  }
};

uint64_t ReadVarint(const std::string& data, size_t& pos) {
  uint64_t value = 0;
  for (int shift = 0; pos < data.size(); shift += 7) {
    uint8_t byte = static_cast<uint8_t>(data[pos++]);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
  }
  return value;
}

Message Decode(const std::string& data) {
  Message m;
  size_t pos = 0;
  while (pos < data.size()) {
    uint64_t key = ReadVarint(data, pos);
    int field = static_cast<int>(key >> 3);
    int wire = static_cast<int>(key & 7);
    if (wire == 0) {
      m.varints.emplace(field, ReadVarint(data, pos));
    } else if (wire == 2) {
      uint64_t n = ReadVarint(data, pos);
      m.bytes.emplace(field, data.substr(pos, n));
      pos += n;
    } else {
      ADD_FAILURE() << "unexpected wire type " << wire;
      break;
    }
  }
  return m;
}

std::vector<uint64_t> Packed(const std::string& data) {
  std::vector<uint64_t> out;
  size_t pos = 0;
  while (pos < data.size()) out.push_back(ReadVarint(data, pos));
  return out;
}

std::string Gunzip(const std::string& data) {
  z_stream z{};
  inflateInit2(&z, 15 + 16);
  std::string out(data.size() * 20 + 1024, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&z, Z_FINISH);
  out.resize(z.total_out);
  inflateEnd(&z);
  EXPECT_EQ(rc, Z_STREAM_END);
  return out;
}

TEST(ProtoWriter, EncodesVarintsNegativesAndPackedFields) {
  ProtoWriter w;
  w.Uint64(1, 300);
  w.Int64(2, -1);
  w.PackedUint64(3, std::vector<uint64_t>{1, 150});
  w.Bytes(4, "hi");
  EXPECT_EQ(w.data(), std::string("\x08\xac\x02"
                                  "\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"
                                  "\x1a\x03\x01\x96\x01"
                                  "\x22\x02hi",
                                  23));
}

__attribute__((noinline)) int SampleStackHere(uint64_t* pcs) {
  int depth = CaptureStack(pcs, kMaxFrames);
  asm volatile("" ::: "memory");
  return depth;
}

TEST(EncodeProfile, WritesSymbolizedLocationsThatPprofNeedsNotResolve) {
  uint64_t pcs[kMaxFrames];
  int depth = SampleStackHere(pcs);
  Profile profile;
  profile.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
  profile.period_type = {"cpu", "nanoseconds"};
  profile.period = 10'000'000;
  profile.duration_nanos = 1'000'000'000;
  profile.samples.push_back(
      {std::vector<uint64_t>(pcs, pcs + depth), {3, 30'000'000}, {{"job_type", "cpu", 0, ""}}});
  Symbolizer symbolizer;
  Result<std::string> gz = EncodeGzippedProfile(profile, symbolizer);
  ASSERT_OK(gz);
  Message p = Decode(Gunzip(*gz));

  std::vector<std::string> strings = p.All(6);
  ASSERT_FALSE(strings.empty());
  EXPECT_EQ(strings[0], "");
  EXPECT_EQ(p.Varint(12), 10'000'000u);
  EXPECT_EQ(p.Varint(10), 1'000'000'000u);

  std::vector<std::string> mappings = p.All(3);
  ASSERT_FALSE(mappings.empty());
  for (const std::string& raw : mappings) {
    Message m = Decode(raw);
    EXPECT_EQ(m.Varint(7), 1u) << "has_functions";
    EXPECT_EQ(m.Varint(8), 1u) << "has_filenames";
    EXPECT_EQ(m.Varint(9), 1u) << "has_line_numbers";
  }
  EXPECT_THAT(strings[Decode(mappings[0]).Varint(5)], ::testing::HasSubstr("obs_unit_test"));

  std::map<uint64_t, std::string> function_names;
  for (const std::string& raw : p.All(5)) {
    Message f = Decode(raw);
    function_names[f.Varint(1)] = strings.at(f.Varint(2));
  }
  std::vector<std::string> locations = p.All(4);
  ASSERT_EQ(locations.size(), static_cast<size_t>(depth));
  bool found_test_function = false;
  for (const std::string& raw : locations) {
    Message loc = Decode(raw);
    std::vector<std::string> lines = loc.All(4);
    ASSERT_FALSE(lines.empty()) << "location " << loc.Varint(1) << " has no line";
    bool named = false;
    for (const std::string& line : lines) {
      const std::string& name = function_names[Decode(line).Varint(1)];
      named = named || !name.empty();
      found_test_function = found_test_function ||
                            name == "bananas::obs::detail::(anonymous namespace)::SampleStackHere";
    }
    EXPECT_TRUE(named) << "location " << loc.Varint(1);
  }
  EXPECT_TRUE(found_test_function);

  std::vector<std::string> samples = p.All(2);
  ASSERT_EQ(samples.size(), 1u);
  Message s = Decode(samples[0]);
  EXPECT_EQ(Packed(s.All(1).at(0)).size(), static_cast<size_t>(depth));
  EXPECT_EQ(Packed(s.All(2).at(0)), (std::vector<uint64_t>{3, 30'000'000}));
  Message label = Decode(s.All(3).at(0));
  EXPECT_EQ(strings.at(label.Varint(1)), "job_type");
  EXPECT_EQ(strings.at(label.Varint(2)), "cpu");
}

__attribute__((noinline)) int InnerAllocator(uint64_t* pcs) { return SampleStackHere(pcs); }

TEST(PruneFrames, CutsAtTheFirstMatchingFrameBelowTheRootAndKeepsCallers) {
  uint64_t pcs[kMaxFrames];
  int depth = InnerAllocator(pcs);
  asm volatile("" ::: "memory");
  Profile profile;
  profile.samples.push_back({std::vector<uint64_t>(pcs, pcs + depth), {1}, {}});
  Symbolizer symbolizer;
  PruneFrames(profile, symbolizer,
              std::regex(".*SampleStackHere|bananas::obs::detail::CaptureStack"));
  const std::vector<uint64_t>& left = profile.samples[0].pcs;
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(symbolizer.Resolve(left[0]).frames.back().function,
            "bananas::obs::detail::(anonymous namespace)::InnerAllocator");
}

}  // namespace
}  // namespace bananas::obs::detail
