#include <cstdio>

#include "harness/commands.h"

#ifndef CHAOS_VERSION
#define CHAOS_VERSION "0.1.0"
#endif

namespace chaos::cli {

void AddVersionCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("version", "Print the version of chaos");
  cmd->callback([exit_code] {
    std::printf("chaos %s\n", CHAOS_VERSION);
    *exit_code = 0;
  });
}

}  // namespace chaos::cli
