// chaos: the entry point. The commands that only read and check histories
// (check, history, analyze, version) run in this binary, which links no gRPC,
// SSH, protobuf or Docker code and so starts in about a millisecond; for every
// other command (and for --help) this process becomes chaos-full, beside it in
// the build folder, with the same arguments.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "harness/commands.h"

int main(int argc, char** argv) {
  const std::string_view command = argc > 1 ? argv[1] : "";
  const bool lean =
      command == "check" || command == "history" || command == "analyze" || command == "version";
  if (!lean) {
    const std::string full = chaos::cli::BuildDir() + "/chaos-full";
    execv(full.c_str(), argv);
    std::fprintf(stderr, "chaos: cannot run %s: %s\n", full.c_str(), std::strerror(errno));
    return chaos::cli::kExitCannotRun;
  }
  CLI::App app{"chaos: check recorded histories (chaos --help lists every command)"};
  app.require_subcommand(1);
  app.fallthrough();
  int exit_code = 0;
  chaos::cli::AddVersionCommand(app, &exit_code);
  chaos::cli::AddHistoryCommands(app, &exit_code);
  chaos::cli::AddCheckCommands(app, &exit_code);
  chaos::cli::AddAnalyzeCommand(app, &exit_code);
  return chaos::cli::ParseAndRun(app, argc, argv, &exit_code);
}
