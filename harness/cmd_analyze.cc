// chaos analyze [RUN]: re-check a stored run without a cluster.
#include <cstdio>
#include <filesystem>

#include "harness/analyze.h"
#include "harness/commands.h"

namespace chaos::cli {

void AddAnalyzeCommand(CLI::App& app, int* exit_code) {
  static std::string run_dir = "store/latest";
  static double limit_s = 120;
  auto* analyze = app.add_subcommand("analyze", "Re-check a stored run without a cluster");
  analyze->add_option("RUN", run_dir, "run folder (default store/latest)");
  analyze->add_option("--checker-time-limit", limit_s, "seconds the checker may search");
  analyze->callback([exit_code] {
    std::string dir = run_dir;
    if (dir == "store/latest" && !std::filesystem::exists(dir)) {
      // The repository's store: build/ is a folder of the repository.
      dir = BuildDir() + "/../store/latest";
    }
    auto outcome = harness::AnalyzeRun(dir, limit_s);
    if (!outcome.ok()) {
      *exit_code = ReportError(outcome.status());
      return;
    }
    std::printf("%s: %s\n  report: %s/report.html\n", outcome->run_dir.c_str(),
                checker::VerdictName(outcome->verdict), outcome->run_dir.c_str());
    *exit_code = outcome->exit_code;
  });
}

}  // namespace chaos::cli
