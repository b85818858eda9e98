// The checking half of a run: what `chaos run` does once the history is
// recorded, and all of `chaos analyze`. Kept apart from the runner so that the
// commands that only check (chaos check, history, analyze) link no SSH, gRPC
// or adapter code and start in milliseconds.
//
// Thread safety: RunLog may be written from many threads; the functions are
// reentrant, one call per run folder at a time.
#pragma once

#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/strings.h"
#include "checker/checker.h"
#include "checker/others.h"

namespace chaos::harness {

// chaos.log: timestamped lines, also echoed to stderr when asked.
class RunLog {
 public:
  explicit RunLog(const std::string& path) : file_(std::fopen(path.c_str(), "a")) {}
  ~RunLog() {
    if (file_) std::fclose(file_);
  }
  void Line(const std::string& text, bool echo = false) {
    std::lock_guard<std::mutex> lock(mu_);
    if (file_) {
      std::fprintf(file_, "%s %s\n", UtcTimestamp(false).c_str(), text.c_str());
      std::fflush(file_);
    }
    if (echo) std::fprintf(stderr, "chaos: %s\n", text.c_str());
  }

 private:
  std::mutex mu_;
  std::FILE* file_;
};

struct RunOutcome {
  std::string run_dir;
  checker::Verdict verdict = checker::Verdict::kUnknown;
  int exit_code = 3;
  // The main phase (workload and faults, before healing and final reads):
  // client ops completed and how long it ran.
  int64_t ops_completed = 0;
  double main_phase_s = 0;
  // The test's name as the run resolved it (RunOptions::test_name, or the
  // default made from the adapter, workload and nemeses).
  std::string test_name;
  // Non-empty when --stop-on-invalid ended the main phase early: when and why.
  std::string stopped_early;
};

// The checker options for a run's history (test.json's workload): a keyed
// cas-register where an ok read of nil means the key was absent.
checker::LinearizableOptions CheckerOptions(const nlohmann::json& test, double time_limit_s);

// Checks run_dir/history.jsonl and writes results.json, history.edn and the
// report. The workload in test.json picks the checkers. `checked`: keys the
// run checked online (checker/online.h), not searched again when their ops
// are those checked plus final reads (CheckLinearizable's `checked`).
// test.json's `stopped_early` is copied into results.json.
Result<checker::Verdict> CheckRunDir(const std::string& run_dir, double time_limit_s, RunLog* log,
                                     const checker::KeyChecks* checked = nullptr);

// Re-checks a stored run (history.jsonl with the model test.json names) and
// rewrites results.json and the report. `run_dir` may be store/latest.
Result<RunOutcome> AnalyzeRun(const std::string& run_dir, double checker_time_limit_s);

// Exit status for a verdict: 0 valid, 1 invalid, 2 unknown.
int ExitCodeFor(checker::Verdict verdict);

}  // namespace chaos::harness
