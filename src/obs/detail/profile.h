// Profile: a profile in memory, keyed by raw PCs, and its encodings (profile.proto, and the
// legacy text stack records Go prints for ?debug=1).
//
// Every collector (CPU, heap, threads, mutex, block) produces a Profile; EncodeProfile then
// symbolizes each distinct PC once and writes profile.proto with the names, files and lines
// already filled in and every mapping marked has_functions/has_filenames/has_line_numbers/
// has_inline_frames, so that `go tool pprof` never symbolizes by itself (pprof-design.md Q1).
//
// Field numbers are those of github.com/google/pprof/proto/profile.proto.
#pragma once

#include <cstdint>
#include <functional>
#include <regex>
#include <string>
#include <vector>

#include "bananas/status.h"
#include "obs/detail/symbolizer.h"

namespace bananas::obs::detail {

struct ValueType {
  std::string type;  // e.g. "cpu"
  std::string unit;  // e.g. "nanoseconds"
};

struct Label {
  std::string key;
  std::string str;       // a string label when non-empty ...
  int64_t num = 0;       // ... else a numeric one
  std::string num_unit;  // unit of a numeric label, e.g. "bytes"
};

struct Sample {
  std::vector<uint64_t> pcs;    // leaf first; see unwind.h for the PC convention
  std::vector<int64_t> values;  // one per Profile::sample_types
  std::vector<Label> labels;
  // Innermost inline frames to leave out of the leaf location (PruneFrames cut there).
  int leaf_inline_skip = 0;
};

struct Profile {
  std::vector<ValueType> sample_types;
  ValueType period_type;
  int64_t period = 0;
  int64_t time_nanos = 0;           // wall-clock start, Unix ns
  int64_t duration_nanos = 0;       // 0 for instantaneous profiles
  std::string default_sample_type;  // empty: pprof picks the last sample type
  std::vector<std::string> comments;
  std::vector<Sample> samples;
};

// Removes frames from the leaf end of `pcs` while `drop(symbol)` holds.
void TrimLeading(std::vector<uint64_t>& pcs, Symbolizer& symbolizer,
                 const std::function<bool(const Symbol&)>& drop);

// pprof's Profile.Prune, done here because `go tool pprof` applies a profile's drop_frames
// only to legacy formats, never to profile.proto: walking each sample from the root, the
// first frame (inlined frames included) whose function name fully matches `drop` is cut,
// with everything beneath it, unless no frame above it is left. Used to charge allocations
// to the code that allocates rather than to operator new or std::allocator, and lock waits
// to the code that locks rather than to std::lock_guard or ProfiledMutex. Matching by name,
// not by a frame count, survives inlining and tail calls (pitfall P6).
void PruneFrames(Profile& profile, Symbolizer& symbolizer, const std::regex& drop);

// Serialises `profile` as profile.proto, symbolized with `symbolizer`, uncompressed.
std::string EncodeProfile(const Profile& profile, Symbolizer& symbolizer);

// EncodeProfile, then gzip: the body of a pprof endpoint.
[[nodiscard]] Result<std::string> EncodeGzippedProfile(const Profile& profile,
                                                       Symbolizer& symbolizer);

// Go's text stack record (runtime/pprof printStackRecord): one line per frame, inlined
// frames included, "#\t0x<pc>\t<function>+0x<offset>\t<file>:<line>\n", then a blank line.
std::string FormatStackRecord(const std::vector<uint64_t>& pcs, Symbolizer& symbolizer);

// " 0x1 0x2 ..." — the "@" list of a legacy text record (without the "@").
std::string FormatPcList(const std::vector<uint64_t>& pcs);

}  // namespace bananas::obs::detail
