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

// A name that merely starts with "operator" once looped forever in the symbolizer thread
// (found in a busy API's profile: Boost.Intrusive's list_iterator::operator_arrow).
TEST(SimplifyName, NamesThatStartWithOperatorAreOrdinaryNames) {
  EXPECT_EQ(SimplifyName("boost::intrusive::list_iterator<boost::intrusive::bhtraits<T>, false>::"
                         "operator_arrow(boost::intrusive::detail::bool_<false>) const"),
            "boost::intrusive::list_iterator::operator_arrow");
  EXPECT_EQ(SimplifyName("ns::operators()"), "ns::operators");
  EXPECT_EQ(SimplifyName("ns::operator"), "ns::operator");
  EXPECT_EQ(SimplifyName("ns::operator?"), "ns::operator?");
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

// A CPU profile must answer before `go tool pprof` gives up: past the deadline a PC is not
// looked up but named after its mapping, and a later request (deadline reset) names it.
TEST(Symbolizer, PastTheLookupDeadlineNamesTheMappingOnly) {
  uint64_t pcs[kMaxFrames];
  int depth = CaptureHere(pcs, kMaxFrames);
  ASSERT_GT(depth, 2);
  SharedSymbolizer shared;
  {
    SharedSymbolizer::Lease lease = shared.Acquire();
    lease->Resolve(pcs[1]);  // looked up before the deadline: stays named
    lease->set_lookup_deadline(std::chrono::steady_clock::now() - std::chrono::seconds(1));
    const Symbol& late = lease->Resolve(pcs[0]);
    EXPECT_FALSE(late.known);
    ASSERT_EQ(late.frames.size(), 1u);
    EXPECT_EQ(late.frames[0].function,
              "[" + lease->mappings()[0].path.substr(lease->mappings()[0].path.rfind('/') + 1) +
                  "]");
    EXPECT_EQ(lease->late_lookups(), 1u);
    EXPECT_TRUE(lease->Resolve(pcs[1]).known);
    EXPECT_EQ(lease->late_lookups(), 1u);
  }
  SharedSymbolizer::Lease again = shared.Acquire();
  EXPECT_EQ(again->late_lookups(), 0u);
  EXPECT_EQ(again->Resolve(pcs[0]).frames.back().function,
            "bananas::obs::detail::(anonymous namespace)::CaptureHere");
}

}  // namespace
}  // namespace bananas::obs::detail
