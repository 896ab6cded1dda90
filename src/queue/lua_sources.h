// The embedded Lua sources of src/queue/lua/, by file name without ".lua".
#pragma once

#include <string_view>

namespace bananas::queue {

// Empty for an unknown name.
std::string_view LuaSource(std::string_view name);

}  // namespace bananas::queue
