#include "obs/detail/symbolizer.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

namespace bananas::obs::detail {
namespace {

char* no_debuginfo_path = nullptr;

const Dwfl_Callbacks kCallbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = nullptr,
    .debuginfo_path = &no_debuginfo_path,
};

std::string Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string Hex(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

std::vector<Mapping> ReadExecutableMappings() {
  std::vector<Mapping> mappings;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long long start = 0, limit = 0, offset = 0;
    char perms[8] = {};
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %*s %*s %n", &start, &limit, perms, &offset,
                    &path_at) < 4) {
      continue;
    }
    if (std::strlen(perms) < 3 || perms[2] != 'x') continue;
    Mapping m;
    m.start = start;
    m.limit = limit;
    m.file_offset = offset;
    if (path_at > 0 && static_cast<size_t>(path_at) <= line.size()) m.path = line.substr(path_at);
    mappings.push_back(std::move(m));
  }
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::string exe_path = n > 0 ? std::string(exe, static_cast<size_t>(n)) : std::string();
  std::stable_partition(mappings.begin(), mappings.end(),
                        [&](const Mapping& m) { return !exe_path.empty() && m.path == exe_path; });
  return mappings;
}

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

size_t SkipBalanced(std::string_view s, size_t i, char open, char close) {
  int depth = 0;
  for (size_t j = i; j < s.size(); ++j) {
    if (s[j] == open) {
      ++depth;
    } else if (s[j] == close && --depth == 0) {
      return j + 1;
    }
  }
  return s.size();
}

bool EndsWithOperatorKeyword(const std::string& out) {
  constexpr std::string_view kOperator = "operator";
  if (out.size() < kOperator.size()) return false;
  if (out.compare(out.size() - kOperator.size(), kOperator.size(), kOperator) != 0) return false;
  return out.size() == kOperator.size() || !IsWordChar(out[out.size() - kOperator.size() - 1]);
}

// Copies the token that names an operator ("()", "[]", "<<=", " new[]", " int", ...) from
// s[i]; returns the index after it.
size_t CopyOperatorToken(std::string_view s, size_t i, std::string& out) {
  if (s.substr(i, 2) == "()" || s.substr(i, 2) == "[]") {
    out.append(s.substr(i, 2));
    return i + 2;
  }
  if (s[i] == ' ') {  // operator new, operator delete[], conversion operator int
    out.push_back(' ');
    ++i;
    while (i < s.size() && (IsWordChar(s[i]) || s[i] == ':')) out.push_back(s[i++]);
    if (s.substr(i, 2) == "[]") {
      out.append("[]");
      i += 2;
    }
    return i;
  }
  size_t j = i;
  while (j < s.size() && j - i < 3 && std::strchr("+-*/%^&|~!=<>,", s[j]) != nullptr) ++j;
  out.append(s.substr(i, j - i));
  // "operator< <int>": the demangler separates the template arguments by a space.
  if (s.substr(j, 2) == " <") ++j;
  return j;
}

// Removes "[abi:cxx11]"-style tags.
std::string StripAbiTags(std::string_view in) {
  std::string s(in);
  for (size_t p; (p = s.find("[abi:")) != std::string::npos;) {
    size_t end = s.find(']', p);
    if (end == std::string::npos) break;
    s.erase(p, end - p + 1);
  }
  return s;
}

// Drops a leading return type: everything up to the last space outside (), {} and <>,
// stopping at the operator keyword (whose own name may contain a space).
std::string StripReturnType(const std::string& s) {
  int depth = 0;
  size_t last_space = std::string::npos;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '(' || c == '{' || c == '<') {
      ++depth;
    } else if (c == ')' || c == '}' || c == '>') {
      --depth;
    } else if (depth == 0 && c == ' ') {
      last_space = i;
    } else if (depth == 0 && s.compare(i, 8, "operator") == 0 &&
               (i == 0 || !IsWordChar(s[i - 1])) && (i + 8 == s.size() || !IsWordChar(s[i + 8]))) {
      break;
    }
  }
  return last_space == std::string::npos ? s : s.substr(last_space + 1);
}

// The name a scope contributes to a qualified name. GCC names closure types "<lambda(int)>",
// which would read as template arguments; they become "{lambda()}" as in demangled names.
std::string ScopeName(Dwarf_Die* scope) {
  const char* name = dwarf_diename(scope);
  if (name == nullptr) {
    return dwarf_tag(scope) == DW_TAG_namespace ? "(anonymous namespace)" : "{unnamed type}";
  }
  if (std::string_view(name).substr(0, 7) == "<lambda") return "{lambda()}";
  return name;
}

// "ns::Class::name" for a function DIE that has no linkage name (functions with internal
// linkage, some template instances, lambdas): follows abstract_origin/specification to the
// declaration and prefixes the namespaces, classes and functions that enclose it.
std::string QualifiedDieName(Dwarf_Die* die, int depth = 0) {
  Dwarf_Die storage[2];
  Dwarf_Die* target = die;
  Dwarf_Attribute attr;
  for (int hop = 0; hop < 4; ++hop) {
    Dwarf_Die* next = &storage[hop % 2];
    if (dwarf_formref_die(dwarf_attr(target, DW_AT_abstract_origin, &attr), next) == nullptr &&
        dwarf_formref_die(dwarf_attr(target, DW_AT_specification, &attr), next) == nullptr) {
      break;
    }
    target = next;
  }
  if (dwarf_diename(target) == nullptr) return "";
  std::string qualified = ScopeName(target);
  Dwarf_Die* scopes = nullptr;
  int n = dwarf_getscopes_die(target, &scopes);
  for (int i = 1; i < n; ++i) {  // scopes[0] is the DIE itself, then its parents outward
    int tag = dwarf_tag(&scopes[i]);
    if (tag == DW_TAG_namespace || tag == DW_TAG_class_type || tag == DW_TAG_structure_type ||
        tag == DW_TAG_union_type) {
      qualified = ScopeName(&scopes[i]) + "::" + qualified;
    } else if (tag == DW_TAG_subprogram && depth < 3) {  // a local class, e.g. a lambda's
      std::string function = QualifiedDieName(&scopes[i], depth + 1);
      if (!function.empty()) qualified = function + "::" + qualified;
      break;  // the function's name already carries its own scopes
    }
  }
  std::free(scopes);
  return qualified;
}

SourceFrame FrameFromDie(Dwarf_Die* die, const std::string& file, int64_t line) {
  SourceFrame frame;
  frame.file = file;
  frame.line = line;
  Dwarf_Attribute attr;
  const char* linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
  if (linkage == nullptr) {
    linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
  }
  if (linkage != nullptr) {
    frame.system_name = linkage;
    frame.function = SimplifyName(Demangle(linkage));
  } else if (std::string name = QualifiedDieName(die); !name.empty()) {
    // system_name must differ from the display name: pprof re-simplifies a function whose
    // name equals its system_name and would turn "X::operator()" into "X::operator".
    const char* raw = dwarf_diename(die);
    frame.system_name = raw != nullptr ? raw : name;
    frame.function = SimplifyName(name);
  }
  return frame;
}

}  // namespace

std::string Demangle(std::string_view symbol) {
  if (symbol.substr(0, 2) != "_Z") return std::string(symbol);
  std::string copy(symbol);
  int status = 0;
  char* demangled = abi::__cxa_demangle(copy.c_str(), nullptr, nullptr, &status);
  if (status != 0 || demangled == nullptr) {
    std::free(demangled);
    return copy;
  }
  std::string result(demangled);
  std::free(demangled);
  return result;
}

std::string SimplifyName(std::string_view demangled) {
  if (size_t clone = demangled.find(" [clone "); clone != std::string_view::npos) {
    demangled = demangled.substr(0, clone);
  }
  std::string s = StripAbiTags(demangled);
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    // "operator" as a whole word only: `operator_arrow` is an ordinary name.
    if (EndsWithOperatorKeyword(out) && !IsWordChar(s[i])) {
      size_t next = CopyOperatorToken(s, i, out);
      if (next > i) {
        i = next;
        continue;
      }
    }
    char c = s[i];
    if (c == '(') {
      constexpr std::string_view kAnonymous = "(anonymous namespace)";
      if (std::string_view(s).substr(i, kAnonymous.size()) == kAnonymous) {
        out.append(kAnonymous);
        i += kAnonymous.size();
        continue;
      }
      i = SkipBalanced(s, i, '(', ')');
      for (bool more = true; more;) {  // qualifiers of the parameter list just skipped
        more = false;
        for (std::string_view q : {" const", " volatile", " &&", " &", " noexcept"}) {
          if (std::string_view(s).substr(i, q.size()) == q) {
            i += q.size();
            more = true;
          }
        }
      }
      continue;
    }
    if (c == '<') {
      i = SkipBalanced(s, i, '<', '>');
      continue;
    }
    if (c == '{') {  // {lambda(int, char)#1} -> {lambda()#1}; {unnamed type#1} kept
      size_t end = SkipBalanced(s, i, '{', '}');
      std::string_view inner = std::string_view(s).substr(i + 1, end - i - 2);
      size_t after_params = inner.substr(0, 7) == "lambda(" ? SkipBalanced(inner, 6, '(', ')') : 0;
      // Only a balanced "{lambda(...)...}" is shortened; anything else is copied as it is.
      if (s[end - 1] == '}' && after_params > 0 && inner[after_params - 1] == ')') {
        out.append("{lambda()");
        out.append(inner.substr(after_params));
        out.push_back('}');
      } else {
        out.append(s, i, end - i);
      }
      i = end;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  return StripReturnType(out);
}

Symbolizer::Symbolizer() : mappings_(ReadExecutableMappings()) {
  dwfl_ = dwfl_begin(&kCallbacks);
  if (dwfl_ == nullptr) return;
  dwfl_report_begin(dwfl_);
  int rc = dwfl_linux_proc_report(dwfl_, getpid());
  dwfl_report_end(dwfl_, nullptr, nullptr);
  if (rc != 0) {
    dwfl_end(dwfl_);
    dwfl_ = nullptr;
    return;
  }
  for (Mapping& m : mappings_) {
    Dwfl_Module* mod = dwfl_addrmodule(dwfl_, m.start);
    if (mod == nullptr) continue;
    Dwarf_Addr bias = 0;
    dwfl_module_getelf(mod, &bias);  // loads the ELF, which also reads its build-id note
    const unsigned char* bits = nullptr;
    GElf_Addr vaddr = 0;
    int n = dwfl_module_build_id(mod, &bits, &vaddr);
    for (int i = 0; i < n; ++i) {
      char byte[3];
      std::snprintf(byte, sizeof byte, "%02x", bits[i]);
      m.build_id.append(byte);
    }
  }
}

Symbolizer::~Symbolizer() {
  if (dwfl_ != nullptr) dwfl_end(dwfl_);
}

bool Symbolizer::IsCurrent() const {
  std::vector<Mapping> now = ReadExecutableMappings();
  if (now.size() != mappings_.size()) return false;
  for (size_t i = 0; i < now.size(); ++i) {
    if (now[i].start != mappings_[i].start || now[i].limit != mappings_[i].limit ||
        now[i].path != mappings_[i].path) {
      return false;
    }
  }
  return true;
}

SharedSymbolizer::Lease SharedSymbolizer::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  if (symbolizer_ != nullptr && !symbolizer_->IsCurrent()) symbolizer_.reset();
  if (symbolizer_ == nullptr) symbolizer_ = std::make_unique<Symbolizer>();
  symbolizer_->set_lookup_deadline(std::chrono::steady_clock::time_point::max());
  last_used_ = std::chrono::steady_clock::now();
  return Lease(std::move(lock), symbolizer_.get());
}

void SharedSymbolizer::DropIfIdle(std::chrono::steady_clock::duration idle) {
  std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);  // in use: not idle
  if (lock.owns_lock() && symbolizer_ != nullptr &&
      std::chrono::steady_clock::now() - last_used_ >= idle) {
    symbolizer_.reset();
  }
}

const Symbol& Symbolizer::Resolve(uint64_t pc) {
  auto it = cache_.find(pc);
  if (it != cache_.end()) return it->second;
  if (lookup_deadline_ != std::chrono::steady_clock::time_point::max() &&
      std::chrono::steady_clock::now() >= lookup_deadline_) {
    auto [late, inserted] = late_.try_emplace(pc);
    if (inserted) {
      late->second.mapping = MappingIndexOf(pc);
      late->second.frames.push_back(PlaceholderFrame(pc, late->second.mapping));
    }
    return late->second;
  }
  return cache_.emplace(pc, Lookup(pc)).first->second;
}

void Symbolizer::set_lookup_deadline(std::chrono::steady_clock::time_point deadline) {
  lookup_deadline_ = deadline;
  late_.clear();
}

SourceFrame Symbolizer::PlaceholderFrame(uint64_t pc, int mapping) const {
  SourceFrame frame;
  frame.function = mapping >= 0 && !mappings_[mapping].path.empty()
                       ? "[" + Basename(mappings_[mapping].path) + "]"
                       : Hex(pc);
  frame.system_name = frame.function;
  if (mapping >= 0) frame.file = mappings_[mapping].path;
  return frame;
}

int Symbolizer::MappingIndexOf(uint64_t pc) const {
  for (size_t i = 0; i < mappings_.size(); ++i) {
    if (pc >= mappings_[i].start && pc < mappings_[i].limit) return static_cast<int>(i);
  }
  return -1;
}

struct Symbolizer::CuIndex {
  struct Range {
    Dwarf_Addr low = 0;
    Dwarf_Addr high = 0;  // exclusive
    Dwarf_Die function;
  };
  std::vector<Range> ranges;  // sorted by low

  explicit CuIndex(Dwarf_Die* cu) {
    Add(cu);
    std::sort(ranges.begin(), ranges.end(),
              [](const Range& a, const Range& b) { return a.low < b.low; });
  }

  // Functions with code, found in the unit and inside its namespaces and classes (GCC puts
  // some definitions there); not inside functions, whose nested scopes ScopesAt walks.
  void Add(Dwarf_Die* parent) {
    Dwarf_Die child;
    if (dwarf_child(parent, &child) != 0) return;
    do {
      switch (dwarf_tag(&child)) {
        case DW_TAG_subprogram: {
          Dwarf_Addr base = 0, start = 0, end = 0;
          ptrdiff_t offset = 0;
          while ((offset = dwarf_ranges(&child, offset, &base, &start, &end)) > 0) {
            if (end > start) ranges.push_back(Range{start, end, child});
          }
          break;
        }
        case DW_TAG_namespace:
        case DW_TAG_class_type:
        case DW_TAG_structure_type:
        case DW_TAG_union_type:
          Add(&child);
          break;
        default:
          break;
      }
    } while (dwarf_siblingof(&child, &child) == 0);
  }

  // Innermost first: the inlined calls containing `address`, then the function; empty when
  // no indexed function contains it.
  std::vector<Dwarf_Die> ScopesAt(Dwarf_Addr address) const {
    auto it = std::upper_bound(ranges.begin(), ranges.end(), address,
                               [](Dwarf_Addr a, const Range& r) { return a < r.low; });
    if (it == ranges.begin()) return {};
    --it;
    if (address >= it->high) return {};
    std::vector<Dwarf_Die> chain{it->function};  // outermost first while building
    Dwarf_Die current = it->function;
    bool deeper = true;
    while (deeper) {
      deeper = false;
      Dwarf_Die child;
      if (dwarf_child(&current, &child) != 0) break;
      do {
        int tag = dwarf_tag(&child);
        if ((tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block) &&
            dwarf_haspc(&child, address) == 1) {
          if (tag == DW_TAG_inlined_subroutine) chain.push_back(child);
          current = child;
          deeper = true;
          break;
        }
      } while (dwarf_siblingof(&child, &child) == 0);
    }
    std::reverse(chain.begin(), chain.end());
    return chain;
  }
};

const Symbolizer::CuIndex& Symbolizer::IndexOf(const void* cu_die) {
  // `cu_die` is the Dwarf_Die* dwfl_module_addrdie returned (Dwarf_Die is an anonymous
  // struct the header cannot name); its addr identifies the unit while the Dwfl lives.
  Dwarf_Die* cu = const_cast<Dwarf_Die*>(static_cast<const Dwarf_Die*>(cu_die));
  std::unique_ptr<CuIndex>& index = cu_index_[cu->addr];
  if (index == nullptr) index = std::make_unique<CuIndex>(cu);
  return *index;
}

Symbol Symbolizer::Lookup(uint64_t pc) {
  Symbol symbol;
  symbol.mapping = MappingIndexOf(pc);
  Dwfl_Module* mod = dwfl_ != nullptr ? dwfl_addrmodule(dwfl_, pc) : nullptr;

  const char* symbol_name = nullptr;
  std::string file;
  int64_t line = 0;
  if (mod != nullptr) {
    GElf_Off offset = 0;
    GElf_Sym elf_symbol;
    symbol_name = dwfl_module_addrinfo(mod, pc, &offset, &elf_symbol, nullptr, nullptr, nullptr);
    if (symbol_name != nullptr) symbol.symbol_offset = offset;
    if (Dwfl_Line* src = dwfl_module_getsrc(mod, pc)) {
      int lineno = 0;
      if (const char* f = dwfl_lineinfo(src, nullptr, &lineno, nullptr, nullptr, nullptr)) {
        file = f;
        line = lineno;
      }
    }
  }

  SourceFrame outer;
  bool have_outer = false;
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = mod != nullptr ? dwfl_module_addrdie(mod, pc, &bias) : nullptr;
  if (cu != nullptr) {
    // The scopes at the PC, innermost first: inlined calls, then the function. From the
    // unit's function index when it knows the PC, else from libdw's full walk.
    std::vector<Dwarf_Die> found = IndexOf(cu).ScopesAt(pc - bias);
    Dwarf_Die* scopes = nullptr;
    int n = 0;
    if (!found.empty()) {
      n = static_cast<int>(found.size());
      scopes = static_cast<Dwarf_Die*>(std::malloc(sizeof(Dwarf_Die) * found.size()));
      std::copy(found.begin(), found.end(), scopes);
    } else {
      n = dwarf_getscopes(cu, pc - bias, &scopes);
    }
    Dwarf_Files* files = nullptr;
    size_t file_count = 0;
    if (dwarf_getsrcfiles(cu, &files, &file_count) != 0) files = nullptr;
    for (int i = 0; i < n; ++i) {
      int tag = dwarf_tag(&scopes[i]);
      if (tag == DW_TAG_inlined_subroutine) {
        symbol.frames.push_back(FrameFromDie(&scopes[i], file, line));
        // The next frame out is positioned at this inlined call.
        Dwarf_Attribute attr;
        Dwarf_Word value = 0;
        line = dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &value) == 0
                   ? static_cast<int64_t>(value)
                   : 0;
        if (files != nullptr &&
            dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &value) == 0) {
          const char* f = dwarf_filesrc(files, value, nullptr, nullptr);
          file = f != nullptr ? f : "";
        }
      } else if (tag == DW_TAG_subprogram) {
        outer = FrameFromDie(&scopes[i], file, line);
        have_outer = true;
        break;
      }
    }
    std::free(scopes);
  }
  // The symbol table names the out-of-line function best (clones, .cold parts, no DWARF).
  if (symbol_name != nullptr) {
    outer.system_name = symbol_name;
    outer.function = SimplifyName(Demangle(symbol_name));
    if (!have_outer) {
      outer.file = file;
      outer.line = line;
    }
    have_outer = true;
  }
  symbol.known = have_outer && !outer.function.empty();
  if (!symbol.known) outer = PlaceholderFrame(pc, symbol.mapping);
  symbol.frames.push_back(std::move(outer));
  return symbol;
}

}  // namespace bananas::obs::detail
