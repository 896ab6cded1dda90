// Symbolizer: turns this process's PCs into function names, files and lines with libdw.
//
// Why in-process (pprof-design.md Q1, P2): `go tool pprof` is not google/pprof. Its own
// DWARF reader leaves the names of namespaced C++ functions empty, so a profile must arrive
// with names filled in and its mappings marked has_functions; pprof then never symbolizes.
// libdw reads .symtab (static functions and lambdas work without -rdynamic) and applies the
// PIE/ASLR load bias itself (dwfl_linux_proc_report on our own pid).
//
// Inline frames come from the DWARF scopes at the PC: innermost DW_TAG_inlined_subroutine
// first, each caller's line from DW_AT_call_file/line, the real function last, which is the
// order pprof wants in Location.line.
//
// Thread safety: none; libdw's Dwfl is not thread-safe. One Symbolizer per profile request.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct Dwfl;  // libdw's session type (elfutils/libdwfl.h)

namespace bananas::obs::detail {

struct SourceFrame {
  std::string function;     // simplified demangled name, as pprof prints it: ns::Class::Method
  std::string system_name;  // the mangled symbol, or the name when there is none
  std::string file;         // absolute source path; empty without debug info
  int64_t line = 0;         // 0 without debug info
};

struct Symbol {
  std::vector<SourceFrame> frames;  // innermost first; never empty
  uint64_t symbol_offset = 0;       // pc minus the start of the outermost function's symbol
  int mapping = -1;                 // index into mappings(), or -1
  bool known = false;               // false: frames holds a placeholder such as "[libc.so.6]"
};

// An executable mapping of the process (a text segment of the binary or a library).
struct Mapping {
  uint64_t start = 0;
  uint64_t limit = 0;
  uint64_t file_offset = 0;
  std::string path;
  std::string build_id;  // hex; empty when the file has none
};

class Symbolizer {
 public:
  // Reads /proc/self/maps and reports every loaded module to libdw. Never fails: a PC that
  // cannot be resolved gets a frame named after its mapping, e.g. "[libstdc++.so.6.0.30]",
  // which is what pprof itself prints for such frames.
  Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;
  ~Symbolizer();

  // The symbol at `pc` (see unwind.h for the PC convention). Cached per Symbolizer.
  // After the lookup deadline a PC not in the cache is not looked up: it gets the
  // placeholder frame of its mapping instead, which is not cached (a later request looks it
  // up) and is counted in late_lookups().
  const Symbol& Resolve(uint64_t pc);
  // A request that must answer by `deadline` (a CPU profile, which `go tool pprof` stops
  // waiting for) sets it; SharedSymbolizer::Acquire resets it to "never" and the count to 0.
  void set_lookup_deadline(std::chrono::steady_clock::time_point deadline);
  size_t late_lookups() const { return late_.size(); }
  // Executable mappings, the main executable first (pprof prints mapping 1 as "File:").
  const std::vector<Mapping>& mappings() const { return mappings_; }
  // False once the process's executable mappings differ from those read at construction
  // (a library was loaded or unloaded): the Symbolizer would then miss or misname PCs.
  bool IsCurrent() const;

 private:
  struct CuIndex;
  Symbol Lookup(uint64_t pc);
  // The frame pprof itself prints for a PC it cannot name: "[libc.so.6]", or the address.
  SourceFrame PlaceholderFrame(uint64_t pc, int mapping) const;
  int MappingIndexOf(uint64_t pc) const;
  const CuIndex& IndexOf(const void* cu_die);

  ::Dwfl* dwfl_ = nullptr;
  std::vector<Mapping> mappings_;
  std::unordered_map<uint64_t, Symbol> cache_;
  std::chrono::steady_clock::time_point lookup_deadline_ =
      std::chrono::steady_clock::time_point::max();
  std::unordered_map<uint64_t, Symbol> late_;  // placeholders handed out after the deadline
  // Per compilation unit (keyed by its DIE's address in the mapped DWARF): the address
  // ranges of its functions, so that a PC finds its function by binary search instead of
  // dwarf_getscopes' walk over every top-level DIE of the unit, which costs milliseconds per
  // PC in the Beast/Asio units and made the first profile of a busy API server late.
  std::unordered_map<const void*, std::unique_ptr<CuIndex>> cu_index_;
};

// One Symbolizer shared by all requests of an admin listener. Building one costs ~100 ms
// of CPU (libdw reads and inflates the DWARF of the binary and of libc's debug files), and
// each new PC costs a DWARF scope walk, so requests reuse it and its cache. It is rebuilt
// when the mappings change and dropped after a period without use, so that an idle service
// does not keep the DWARF in memory.
//
// Thread safety: Acquire serialises users; a Lease is used by one thread.
class SharedSymbolizer {
 public:
  class Lease {
   public:
    Symbolizer& operator*() { return *symbolizer_; }
    Symbolizer* operator->() { return symbolizer_; }

   private:
    friend class SharedSymbolizer;
    Lease(std::unique_lock<std::mutex> lock, Symbolizer* symbolizer)
        : lock_(std::move(lock)), symbolizer_(symbolizer) {}
    std::unique_lock<std::mutex> lock_;
    Symbolizer* symbolizer_;
  };

  // Blocks while another thread holds a lease.
  Lease Acquire();
  // Frees the Symbolizer if nobody acquired it for `idle`. Never blocks: returns at once
  // if a lease is held.
  void DropIfIdle(std::chrono::steady_clock::duration idle);

 private:
  std::mutex mu_;
  std::unique_ptr<Symbolizer> symbolizer_;           // Guarded by mu_.
  std::chrono::steady_clock::time_point last_used_;  // Guarded by mu_.
};

// Demangles `symbol` (returns it unchanged when it is not a C++ mangled name).
std::string Demangle(std::string_view symbol);

// Shortens a demangled C++ name the way pprof does by default: parameter lists, template
// arguments, return types, cv/ref qualifiers, "[abi:cxx11]" and "[clone .isra.0]" removed;
// "(anonymous namespace)", "{lambda()#1}" and operator names kept.
//   "void bananas::Foo<int>(int) const [clone .cold]" -> "bananas::Foo"
std::string SimplifyName(std::string_view demangled);

}  // namespace bananas::obs::detail
