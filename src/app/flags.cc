#include "app/flags.h"

namespace bananas::app {

void AddConfigFlags(CLI::App& command, Service service, Overrides& overrides) {
  for (const Variable& variable : Variables()) {
    if (!variable.UsedBy(service)) continue;
    std::string name(variable.name);
    std::string help = "[" + name + "] " + std::string(variable.help);
    command
        .add_option_function<std::string>(
            "--" + std::string(variable.flag),
            [&overrides, name](const std::string& value) { overrides[name] = value; }, help)
        ->type_name("VALUE");
  }
  command.footer(
      "Each flag overrides the environment variable in brackets. Durations: 250ms, 30s, 5m, 1h "
      "(a bare number is seconds); lists are comma-separated.");
}

}  // namespace bananas::app
