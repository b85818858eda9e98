// The chaos CLI's subcommands. Each folder that offers commands defines one
// Add...Commands function in harness/cmd_<name>.cc; main.cc calls them all.
//
// A command's callback stores its exit status in `*exit_code`:
// 0 valid/ok, 1 invalid, 2 unknown, 3 and above: could not run (bad input,
// unreachable node, ...). Errors are printed as one line: "chaos: <what>".
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/strings.h"  // SplitCommas
#include "control/inventory.h"

namespace chaos::cli {

inline constexpr int kExitValid = 0;
inline constexpr int kExitInvalid = 1;
inline constexpr int kExitUnknown = 2;
inline constexpr int kExitCannotRun = 3;

// Prints "chaos: <status message>" to stderr and returns kExitCannotRun.
int ReportError(const Status& status);

// The command line chaos was started with (for test.json and reports).
std::string& CommandLine();

// Records the command line, parses and runs the command; returns its exit
// status (*exit_code), or 3 after one line for a bad flag.
int ParseAndRun(CLI::App& app, int argc, char** argv, const int* exit_code);

// The folder the running chaos binary is in (build/).
std::string BuildDir();
// The docker cluster's inventory (the test cluster with `test_cluster`),
// bringing the cluster up first when it is not running.
Result<control::Inventory> DockerInventory(bool test_cluster);

void AddVersionCommand(CLI::App& app, int* exit_code);
void AddHistoryCommands(CLI::App& app, int* exit_code);
void AddSimCommands(CLI::App& app, int* exit_code);
void AddClusterCommands(CLI::App& app, int* exit_code);
void AddCheckCommands(CLI::App& app, int* exit_code);
void AddAnalyzeCommand(CLI::App& app, int* exit_code);
void AddReportCommands(CLI::App& app, int* exit_code);  // report RUN, serve
void AddRunCommands(CLI::App& app, int* exit_code);
void AddBenchCommand(CLI::App& app, int* exit_code);

}  // namespace chaos::cli
