#include "obs/detail/profile.h"

#include <cinttypes>
#include <cstdio>
#include <map>
#include <tuple>
#include <unordered_map>

#include "obs/detail/proto.h"

namespace bananas::obs::detail {
namespace {

// profile.proto field numbers.
enum ProfileField {
  kSampleType = 1,
  kSample = 2,
  kMapping = 3,
  kLocation = 4,
  kFunction = 5,
  kStringTable = 6,
  kTimeNanos = 9,
  kDurationNanos = 10,
  kPeriodType = 11,
  kPeriod = 12,
  kComment = 13,
  kDefaultSampleType = 14,
};
enum ValueTypeField { kValueTypeType = 1, kValueTypeUnit = 2 };
enum SampleField { kSampleLocationId = 1, kSampleValue = 2, kSampleLabel = 3 };
enum LabelField { kLabelKey = 1, kLabelStr = 2, kLabelNum = 3, kLabelNumUnit = 4 };
enum MappingField {
  kMappingId = 1,
  kMappingStart = 2,
  kMappingLimit = 3,
  kMappingOffset = 4,
  kMappingFilename = 5,
  kMappingBuildId = 6,
  kMappingHasFunctions = 7,
  kMappingHasFilenames = 8,
  kMappingHasLineNumbers = 9,
  kMappingHasInlineFrames = 10,
};
enum LocationField {
  kLocationId = 1,
  kLocationMappingId = 2,
  kLocationAddress = 3,
  kLocationLine = 4
};
enum LineField { kLineFunctionId = 1, kLineLine = 2 };
enum FunctionField {
  kFunctionId = 1,
  kFunctionName = 2,
  kFunctionSystemName = 3,
  kFunctionFilename = 4
};

class StringTable {
 public:
  StringTable() { Index(""); }  // entry 0 must be ""
  int64_t Index(const std::string& s) {
    auto [it, inserted] = index_.try_emplace(s, static_cast<int64_t>(strings_.size()));
    if (inserted) strings_.push_back(s);
    return it->second;
  }
  const std::vector<std::string>& strings() const { return strings_; }

 private:
  std::unordered_map<std::string, int64_t> index_;
  std::vector<std::string> strings_;
};

ProtoWriter EncodeValueType(const ValueType& vt, StringTable& strings) {
  ProtoWriter w;
  w.Int64(kValueTypeType, strings.Index(vt.type));
  w.Int64(kValueTypeUnit, strings.Index(vt.unit));
  return w;
}

}  // namespace

void TrimLeading(std::vector<uint64_t>& pcs, Symbolizer& symbolizer,
                 const std::function<bool(const Symbol&)>& drop) {
  size_t keep_from = 0;
  while (keep_from < pcs.size() && drop(symbolizer.Resolve(pcs[keep_from]))) ++keep_from;
  pcs.erase(pcs.begin(), pcs.begin() + static_cast<long>(keep_from));
}

void PruneFrames(Profile& profile, Symbolizer& symbolizer, const std::regex& drop) {
  // Per PC: index of the outermost inline frame whose name matches, or -1.
  std::unordered_map<uint64_t, int> outermost_match;
  auto match_of = [&](uint64_t pc) {
    auto [it, inserted] = outermost_match.try_emplace(pc, -1);
    if (inserted) {
      const std::vector<SourceFrame>& frames = symbolizer.Resolve(pc).frames;
      for (int i = static_cast<int>(frames.size()) - 1; i >= 0; --i) {
        if (std::regex_match(frames[i].function, drop)) {
          it->second = i;
          break;
        }
      }
    }
    return it->second;
  };
  for (Sample& sample : profile.samples) {
    bool found_user = false;  // never cut above the first frame that does not match
    for (int i = static_cast<int>(sample.pcs.size()) - 1; i >= 0; --i) {
      int match = match_of(sample.pcs[i]);
      if (match < 0) {
        found_user = true;
        continue;
      }
      if (!found_user) continue;
      auto location = sample.pcs.begin() + i;
      int lines = static_cast<int>(symbolizer.Resolve(sample.pcs[i]).frames.size());
      if (match == lines - 1) {  // the function itself matches: drop the whole location
        sample.pcs.erase(sample.pcs.begin(), location + 1);
        sample.leaf_inline_skip = 0;
      } else {  // an inlined callee matches: keep the callers inside this location
        sample.pcs.erase(sample.pcs.begin(), location);
        sample.leaf_inline_skip = match + 1;
      }
      break;
    }
  }
}

std::string EncodeProfile(const Profile& profile, Symbolizer& symbolizer) {
  StringTable strings;
  ProtoWriter out;

  for (const ValueType& vt : profile.sample_types) {
    out.Message(kSampleType, EncodeValueType(vt, strings));
  }

  // Locations: one per distinct (PC, inline frames skipped), numbered in order of first use.
  std::map<std::pair<uint64_t, int>, uint64_t> location_ids;
  std::vector<std::pair<uint64_t, int>> location_keys;
  auto location_of = [&](uint64_t pc, int skip) {
    auto [it, inserted] = location_ids.try_emplace({pc, skip}, location_keys.size() + 1);
    if (inserted) location_keys.emplace_back(pc, skip);
    return it->second;
  };

  for (const Sample& sample : profile.samples) {
    ProtoWriter w;
    std::vector<uint64_t> ids;
    ids.reserve(sample.pcs.size());
    for (size_t i = 0; i < sample.pcs.size(); ++i) {
      ids.push_back(location_of(sample.pcs[i], i == 0 ? sample.leaf_inline_skip : 0));
    }
    w.PackedUint64(kSampleLocationId, ids);
    w.PackedInt64(kSampleValue, sample.values);
    for (const Label& label : sample.labels) {
      ProtoWriter l;
      l.Int64(kLabelKey, strings.Index(label.key));
      if (!label.str.empty()) {
        l.Int64(kLabelStr, strings.Index(label.str));
      } else {
        l.Int64(kLabelNum, label.num);
        if (!label.num_unit.empty()) l.Int64(kLabelNumUnit, strings.Index(label.num_unit));
      }
      w.Message(kSampleLabel, l);
    }
    out.Message(kSample, w);
  }

  const std::vector<Mapping>& mappings = symbolizer.mappings();
  for (size_t i = 0; i < mappings.size(); ++i) {
    const Mapping& m = mappings[i];
    ProtoWriter w;
    w.Uint64(kMappingId, i + 1);
    w.Uint64(kMappingStart, m.start);
    w.Uint64(kMappingLimit, m.limit);
    w.Uint64(kMappingOffset, m.file_offset);
    w.Int64(kMappingFilename, strings.Index(m.path));
    w.Int64(kMappingBuildId, strings.Index(m.build_id));
    w.Bool(kMappingHasFunctions, true);
    w.Bool(kMappingHasFilenames, true);
    w.Bool(kMappingHasLineNumbers, true);
    w.Bool(kMappingHasInlineFrames, true);
    out.Message(kMapping, w);
  }

  // Functions: one per (name, system name, file).
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> function_ids;
  std::vector<const SourceFrame*> functions;
  for (size_t i = 0; i < location_keys.size(); ++i) {
    const auto [pc, skip] = location_keys[i];
    const Symbol& symbol = symbolizer.Resolve(pc);
    ProtoWriter w;
    w.Uint64(kLocationId, i + 1);
    if (symbol.mapping >= 0)
      w.Uint64(kLocationMappingId, static_cast<uint64_t>(symbol.mapping) + 1);
    w.Uint64(kLocationAddress, pc);
    for (size_t f = static_cast<size_t>(skip); f < symbol.frames.size(); ++f) {
      const SourceFrame& frame = symbol.frames[f];
      auto key = std::make_tuple(frame.function, frame.system_name, frame.file);
      auto [it, inserted] = function_ids.try_emplace(key, functions.size() + 1);
      if (inserted) functions.push_back(&frame);
      ProtoWriter line;
      line.Uint64(kLineFunctionId, it->second);
      line.Int64(kLineLine, frame.line);
      w.Message(kLocationLine, line);
    }
    out.Message(kLocation, w);
  }
  for (size_t i = 0; i < functions.size(); ++i) {
    ProtoWriter w;
    w.Uint64(kFunctionId, i + 1);
    w.Int64(kFunctionName, strings.Index(functions[i]->function));
    w.Int64(kFunctionSystemName, strings.Index(functions[i]->system_name));
    w.Int64(kFunctionFilename, strings.Index(functions[i]->file));
    out.Message(kFunction, w);
  }

  if (profile.time_nanos != 0) out.Int64(kTimeNanos, profile.time_nanos);
  if (profile.duration_nanos != 0) out.Int64(kDurationNanos, profile.duration_nanos);
  out.Message(kPeriodType, EncodeValueType(profile.period_type, strings));
  out.Int64(kPeriod, profile.period);
  for (const std::string& comment : profile.comments) out.Int64(kComment, strings.Index(comment));
  if (!profile.default_sample_type.empty()) {
    out.Int64(kDefaultSampleType, strings.Index(profile.default_sample_type));
  }
  // The string table goes last: every index above has been assigned by now.
  for (const std::string& s : strings.strings()) out.Bytes(kStringTable, s);
  return out.Take();
}

Result<std::string> EncodeGzippedProfile(const Profile& profile, Symbolizer& symbolizer) {
  return Gzip(EncodeProfile(profile, symbolizer));
}

std::string FormatPcList(const std::vector<uint64_t>& pcs) {
  std::string out;
  char buf[32];
  for (uint64_t pc : pcs) {
    std::snprintf(buf, sizeof buf, " 0x%" PRIx64, pc);
    out.append(buf);
  }
  return out;
}

std::string FormatStackRecord(const std::vector<uint64_t>& pcs, Symbolizer& symbolizer) {
  std::string out;
  char buf[64];
  for (uint64_t pc : pcs) {
    const Symbol& symbol = symbolizer.Resolve(pc);
    if (!symbol.known) {  // "[libfoo.so]+0x<file offset>": enough for addr2line
      std::snprintf(buf, sizeof buf, "#\t0x%" PRIx64 "\t", pc);
      out.append(buf).append(symbol.frames.back().function);
      if (symbol.mapping >= 0) {
        const Mapping& m = symbolizer.mappings()[symbol.mapping];
        std::snprintf(buf, sizeof buf, "+0x%" PRIx64, pc - m.start + m.file_offset);
        out.append(buf);
      }
      out.push_back('\n');
      continue;
    }
    for (size_t i = 0; i < symbol.frames.size(); ++i) {
      const SourceFrame& frame = symbol.frames[i];
      bool outermost = i + 1 == symbol.frames.size();
      std::snprintf(buf, sizeof buf, "#\t0x%" PRIx64 "\t", pc);
      out.append(buf);
      out.append(frame.function);
      if (outermost) {
        std::snprintf(buf, sizeof buf, "+0x%" PRIx64, symbol.symbol_offset);
        out.append(buf);
      }
      out.push_back('\t');
      out.append(frame.file.empty() ? "?" : frame.file);
      out.push_back(':');
      out.append(std::to_string(frame.line));
      out.push_back('\n');
    }
  }
  out.push_back('\n');
  return out;
}

}  // namespace bananas::obs::detail
