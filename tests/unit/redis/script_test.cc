#include "redis/script.h"

#include <gtest/gtest.h>

#include <string>

namespace bananas::redis {
namespace {

TEST(Sha1Test, KnownVectors) {
  EXPECT_EQ(Sha1Hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(Sha1Hex("The quick brown fox jumps over the lazy dog"),
            "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");
  // FIPS 180 two-block message (56 bytes: the padding spills into a second block).
  EXPECT_EQ(Sha1Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

TEST(Sha1Test, BlockBoundaries) {
  // Lengths around the 55/56/64-byte padding edges, checked against sha1sum.
  EXPECT_EQ(Sha1Hex(std::string(55, 'a')), "c1c8bbdc22796e28c0e15163d20899b65621d65a");
  EXPECT_EQ(Sha1Hex(std::string(56, 'a')), "c2db330f6083854c99d4b5bfb6e8f29f201be699");
  EXPECT_EQ(Sha1Hex(std::string(64, 'a')), "0098ba824b5c16427bd7a1122a5a442a25ec644d");
}

TEST(Sha1Test, MillionAs) {
  EXPECT_EQ(Sha1Hex(std::string(1'000'000, 'a')), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST(Sha1Test, BinaryInput) {
  std::string data;
  for (int i = 0; i < 256; ++i) data += static_cast<char>(i);
  EXPECT_EQ(Sha1Hex(data), "4916d6bdb7f78e6803698cab32d1586ea457dfc8");
}

TEST(ScriptTest, CarriesNameSourceAndSha) {
  Script script("echo", "return ARGV[1]");
  EXPECT_EQ(script.name(), "echo");
  EXPECT_EQ(script.source(), "return ARGV[1]");
  EXPECT_EQ(script.sha1(), Sha1Hex("return ARGV[1]"));
  EXPECT_EQ(script.sha1().size(), 40u);
}

}  // namespace
}  // namespace bananas::redis
