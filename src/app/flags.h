// Command-line flags for the settings of config.h: one flag per variable, built from
// Variables(), each storing its text into an Overrides map so that LoadConfig() validates
// flags and environment through the same code.
#pragma once

#include <CLI/CLI.hpp>

#include "app/config.h"

namespace bananas::app {

// Adds --<flag> for every variable `service` uses. Parsing stores the flag's text under the
// variable's name in `overrides`, which must outlive the parse.
void AddConfigFlags(CLI::App& command, Service service, Overrides& overrides);

}  // namespace bananas::app
