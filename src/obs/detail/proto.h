// ProtoWriter: the few protobuf wire-format primitives profile.proto needs, and gzip.
//
// We write profile.proto by hand instead of depending on libprotobuf: the schema is small and
// frozen (github.com/google/pprof/proto/profile.proto), and the encoder is a varint, a tag and a
// length prefix. Fields are written in any order; readers accept that.
//
// Thread safety: a ProtoWriter is a value; one object is not synchronised.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "bananas/status.h"

namespace bananas::obs::detail {

class ProtoWriter {
 public:
  // Varint field (wire type 0). Zero values are written too: proto3 readers accept them.
  void Int64(int field, int64_t value);
  void Uint64(int field, uint64_t value);
  void Bool(int field, bool value) { Uint64(field, value ? 1 : 0); }
  // Length-delimited field (wire type 2): a string, bytes or an embedded message.
  void Bytes(int field, std::string_view bytes);
  void Message(int field, const ProtoWriter& message) { Bytes(field, message.data_); }
  // Packed repeated varints (wire type 2 holding varints); nothing is written when empty.
  void PackedUint64(int field, std::span<const uint64_t> values);
  void PackedInt64(int field, std::span<const int64_t> values);

  const std::string& data() const { return data_; }
  std::string Take() { return std::move(data_); }

 private:
  void Tag(int field, int wire_type);
  void Varint(uint64_t value);

  std::string data_;
};

// gzip (RFC 1952) of `data`, as `go tool pprof` expects of a served profile. Internal only if
// zlib fails to allocate its state.
[[nodiscard]] Result<std::string> Gzip(std::string_view data);

}  // namespace bananas::obs::detail
