// SimplifyName must print C++ names the way pprof users read them; Symbolizer must name this
// binary's own functions, including inlined ones, without any symbol server.
#include "obs/detail/symbolizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "obs/detail/unwind.h"

namespace bananas::obs::detail {
namespace {

using ::testing::HasSubstr;

TEST(SimplifyName, DropsParametersTemplatesAndReturnTypes) {
  EXPECT_EQ(SimplifyName("bananas::Foo(int, char const*)"), "bananas::Foo");
  EXPECT_EQ(SimplifyName("void bananas::Foo<int>(std::vector<int, std::allocator<int> > const&)"),
            "bananas::Foo");
  EXPECT_EQ(SimplifyName("std::vector<int, std::allocator<int> >::push_back(int const&)"),
            "std::vector::push_back");
  EXPECT_EQ(SimplifyName("bananas::Worker::Run() const"), "bananas::Worker::Run");
  EXPECT_EQ(SimplifyName("bananas::Job::name() const &&"), "bananas::Job::name");
}

TEST(SimplifyName, DropsCloneSuffixesAndAbiTags) {
  EXPECT_EQ(SimplifyName("bananas::Hash(int) [clone .isra.0]"), "bananas::Hash");
  EXPECT_EQ(SimplifyName("bananas::Hash(int) [clone .cold]"), "bananas::Hash");
  EXPECT_EQ(SimplifyName("bananas::Key[abi:cxx11](std::string_view)"), "bananas::Key");
}

TEST(SimplifyName, KeepsAnonymousNamespacesLambdasAndOperators) {
  EXPECT_EQ(SimplifyName("bananas::(anonymous namespace)::Helper(int)"),
            "bananas::(anonymous namespace)::Helper");
  EXPECT_EQ(SimplifyName("bananas::Run()::{lambda(int)#2}::operator()(int) const"),
            "bananas::Run::{lambda()#2}::operator()");
  EXPECT_EQ(SimplifyName("operator new(unsigned long)"), "operator new");
  EXPECT_EQ(SimplifyName("operator delete[](void*)"), "operator delete[]");
  EXPECT_EQ(SimplifyName("std::ostream::operator<<(int)"), "std::ostream::operator<<");
  EXPECT_EQ(SimplifyName("bool bananas::operator< <int>(bananas::Id<int> const&)"),
            "bananas::operator<");
  EXPECT_EQ(SimplifyName("bananas::Id::operator bool() const"), "bananas::Id::operator bool");
  EXPECT_EQ(SimplifyName("main"), "main");
}

TEST(Demangle, LeavesCNamesAlone) {
  EXPECT_EQ(Demangle("_ZN7bananas3FooEi"), "bananas::Foo(int)");
  EXPECT_EQ(Demangle("epoll_wait"), "epoll_wait");
}

__attribute__((noinline)) int CaptureHere(uint64_t* pcs, int max) {
  int depth = CaptureStack(pcs, max);
  asm volatile("" ::: "memory");  // keeps the call above from being a tail call
  return depth;
}

TEST(Symbolizer, NamesFunctionsOfThisBinaryWithFileAndLine) {
  uint64_t pcs[kMaxFrames];
  int depth = CaptureHere(pcs, kMaxFrames);
  ASSERT_GT(depth, 2);
  Symbolizer symbolizer;
  const Symbol& leaf = symbolizer.Resolve(pcs[0]);
  EXPECT_TRUE(leaf.known);
  EXPECT_EQ(leaf.frames.back().function,
            "bananas::obs::detail::(anonymous namespace)::CaptureHere");
  EXPECT_THAT(leaf.frames.back().file, HasSubstr("tests/unit/obs/symbolizer_test.cc"));
  EXPECT_GT(leaf.frames.back().line, 0);
  ASSERT_GE(leaf.mapping, 0);
  EXPECT_EQ(symbolizer.mappings()[0].path, symbolizer.mappings()[leaf.mapping].path)
      << "the main executable is mapping 1";
  EXPECT_FALSE(symbolizer.mappings()[0].build_id.empty());
  EXPECT_TRUE(symbolizer.IsCurrent());
}

TEST(Symbolizer, UnknownAddressGetsAPlaceholderName) {
  Symbolizer symbolizer;
  const Symbol& symbol = symbolizer.Resolve(0x10);
  EXPECT_FALSE(symbol.known);
  ASSERT_EQ(symbol.frames.size(), 1u);
  EXPECT_EQ(symbol.frames[0].function, "0x10");
}

}  // namespace
}  // namespace bananas::obs::detail
