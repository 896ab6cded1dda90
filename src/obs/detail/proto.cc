#include "obs/detail/proto.h"

#include <zlib.h>

namespace bananas::obs::detail {

void ProtoWriter::Varint(uint64_t value) {
  while (value >= 0x80) {
    data_.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  data_.push_back(static_cast<char>(value));
}

void ProtoWriter::Tag(int field, int wire_type) {
  Varint((static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire_type));
}

void ProtoWriter::Int64(int field, int64_t value) {
  Tag(field, 0);
  Varint(static_cast<uint64_t>(value));  // int64 is two's complement in 10 bytes, not zigzag
}

void ProtoWriter::Uint64(int field, uint64_t value) {
  Tag(field, 0);
  Varint(value);
}

void ProtoWriter::Bytes(int field, std::string_view bytes) {
  Tag(field, 2);
  Varint(bytes.size());
  data_.append(bytes);
}

void ProtoWriter::PackedUint64(int field, std::span<const uint64_t> values) {
  if (values.empty()) return;
  ProtoWriter packed;
  for (uint64_t v : values) packed.Varint(v);
  Bytes(field, packed.data_);
}

void ProtoWriter::PackedInt64(int field, std::span<const int64_t> values) {
  if (values.empty()) return;
  ProtoWriter packed;
  for (int64_t v : values) packed.Varint(static_cast<uint64_t>(v));
  Bytes(field, packed.data_);
}

Result<std::string> Gzip(std::string_view data) {
  z_stream z{};
  // windowBits 15 + 16 selects the gzip wrapper instead of zlib's.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::Internal("gzip: deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&z, data.size()) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return Status::Internal("gzip: deflate did not finish");
  return out;
}

}  // namespace bananas::obs::detail
