// chaos: a Jepsen-style chaos-testing toolkit. See README.md and docs/architecture.md.
#include <cstdio>

#include "harness/commands.h"

namespace chaos::cli {

int ReportError(const Status& status) {
  std::fprintf(stderr, "chaos: %s\n", status.message().c_str());
  return kExitCannotRun;
}

std::string& CommandLine() {
  static std::string line;
  return line;
}

}  // namespace chaos::cli

int main(int argc, char** argv) {
  CLI::App app{
      "chaos: partition, kill, pause, skew and crash a cluster while a workload runs, then\n"
      "prove or refute that every operation was linearizable."};
  app.require_subcommand(1);
  app.fallthrough();
  int exit_code = 0;
  for (int i = 0; i < argc; ++i) {
    chaos::cli::CommandLine() += (i == 0 ? std::string("chaos") : " " + std::string(argv[i]));
  }
  chaos::cli::AddVersionCommand(app, &exit_code);
  chaos::cli::AddHistoryCommands(app, &exit_code);
  chaos::cli::AddSimCommands(app, &exit_code);
  chaos::cli::AddClusterCommands(app, &exit_code);
  chaos::cli::AddCheckCommands(app, &exit_code);
  chaos::cli::AddReportCommands(app, &exit_code);
  chaos::cli::AddRunCommands(app, &exit_code);
  chaos::cli::AddBenchCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, exit 3: a wrong flag is input the command cannot run with.
    std::fprintf(stderr, "chaos: %s (see chaos --help)\n", e.what());
    return chaos::cli::kExitCannotRun;
  }
  return exit_code;
}
