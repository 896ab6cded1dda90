// libFuzzer target over the names the pprof endpoints print: Demangle and SimplifyName on
// arbitrary bytes, as mangled symbols and as demangled names (DWARF names go straight to
// SimplifyName). Both must finish (libFuzzer's -timeout turns a loop into a finding: one such
// loop hung a CPU profile of a busy API, on Boost.Intrusive's `operator_arrow`) and never
// grow a name: a simplified name only drops parts.
//
// Build and run: cmake --preset fuzz && cmake --build --preset fuzz && ctest --preset fuzz.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "obs/detail/symbolizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string simple = bananas::obs::detail::SimplifyName(text);
  if (simple.size() > text.size()) {
    std::fprintf(stderr, "name_fuzz: SimplifyName grew %zu bytes into %zu\n", text.size(),
                 simple.size());
    std::abort();
  }
  std::string demangled = bananas::obs::detail::Demangle(text);
  (void)bananas::obs::detail::SimplifyName(demangled);
  return 0;
}
