// chaos-full: every chaos command. The `chaos` entry point (lean_main.cc)
// runs the checking commands itself and becomes this binary for the rest.
// See README.md and docs/architecture.md.
#include "harness/commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "chaos: partition, kill, pause, skew and crash a cluster while a workload runs, then\n"
      "prove or refute that every operation was linearizable."};
  app.require_subcommand(1);
  app.fallthrough();
  int exit_code = 0;
  chaos::cli::AddVersionCommand(app, &exit_code);
  chaos::cli::AddHistoryCommands(app, &exit_code);
  chaos::cli::AddSimCommands(app, &exit_code);
  chaos::cli::AddClusterCommands(app, &exit_code);
  chaos::cli::AddCheckCommands(app, &exit_code);
  chaos::cli::AddAnalyzeCommand(app, &exit_code);
  chaos::cli::AddReportCommands(app, &exit_code);
  chaos::cli::AddRunCommands(app, &exit_code);
  chaos::cli::AddBenchCommand(app, &exit_code);
  return chaos::cli::ParseAndRun(app, argc, argv, &exit_code);
}
