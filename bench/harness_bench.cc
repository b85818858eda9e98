// Ops/s the test runner drives and records, against the memory adapter (a
// linearizable store inside the controller that answers at once), so that
// the generator, the workers, the recorder (history.jsonl, fsync every
// 100 ms) and the bookkeeping are the only costs.
//
//   build/bench/harness_bench [seconds per run] [concurrency...]
//                                      (default: 5 s; concurrency 1 10 100)
//
// Each concurrency level is one `chaos run --adapter memory` main phase
// (keyed cas-register workload, no nemesis), in a temporary store; the check
// is skipped (bench/checker_bench measures the checker). Prints ops/s.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "control/inventory.h"
#include "harness/runner.h"

namespace fs = std::filesystem;
using namespace chaos;

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 5.0;
  std::vector<int> levels;
  for (int i = 2; i < argc; ++i) levels.push_back(std::atoi(argv[i]));
  if (levels.empty()) levels = {1, 10, 100};
  if (seconds <= 0) {
    std::fprintf(stderr, "harness_bench: seconds must be > 0\n");
    return 2;
  }
  fs::path store = fs::temp_directory_path() / ("chaos-harness-bench-" + std::to_string(getpid()));
  control::Inventory inventory = control::NamesOnlyInventory(5);
  std::printf("%-12s %12s %12s %10s\n", "concurrency", "ops", "seconds", "ops/s");
  int status = 0;
  for (int concurrency : levels) {
    harness::RunOptions options;
    options.adapter = "memory";
    options.workload = "register";
    options.concurrency = concurrency;
    options.time_limit_s = seconds;
    options.recovery_time_s = 0;
    options.seed = 1;
    options.store_dir = store.string();
    options.check = false;
    options.test_name = "harness-bench-c" + std::to_string(concurrency);
    auto outcome = harness::RunTest(options, inventory);
    if (!outcome.ok()) {
      std::fprintf(stderr, "harness_bench: %s\n", outcome.status().message().c_str());
      status = 1;
      break;
    }
    std::printf("%-12d %12lld %12.2f %10.0f\n", concurrency,
                static_cast<long long>(outcome->ops_completed), outcome->main_phase_s,
                static_cast<double>(outcome->ops_completed) / outcome->main_phase_s);
    std::fflush(stdout);
  }
  std::error_code ec;
  fs::remove_all(store, ec);
  return status;
}
