// The test runner: what `chaos run` does.
//
// Sets up the cluster through the adapter, runs `concurrency` client workers
// and one nemesis worker against the generator, records every invocation and
// completion to history.jsonl as it happens, heals every fault, lets the
// system recover, runs final reads, downloads node logs, checks the history
// and writes the store:
//   store/<test>/<yyyymmddThhmmss>/{test.json, history.jsonl, history.edn,
//                                   results.json, chaos.log, nodes/<n>/..., report.html}
// After an invalid run each node's data directory is added as
// nodes/<n>/data.tar.gz (harness/node_data.h, size-capped).
// store/latest points at the newest run (set when the run starts, so a run
// whose controller died can still be analysed).
//
// With the register workload (keyed, linearizable), each key is checked in
// the background as soon as its sub-history is complete (checker/online.h),
// and the check after the run does not search those keys again.
//
// Every fault the run started is healed on every path out: the normal end,
// Ctrl-C (SIGINT/SIGTERM set a flag the workers watch), and errors.
//
// Thread safety: one RunTest at a time per process.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "checker/checker.h"
#include "control/inventory.h"
#include "generator/generator.h"
#include "harness/analyze.h"  // RunOutcome, AnalyzeRun, ExitCodeFor

namespace chaos::harness {

struct RunOptions {
  std::string test_name;  // default: "<adapter>-<workload>-<nemeses>"
  std::string adapter = "register";
  std::string workload = "register";
  // list-append / rw-register: the consistency model the transactional
  // checker holds the system to (checker/txn/txn.h).
  std::string consistency = "strict-serializable";
  std::vector<std::string> nemeses;
  // nemesis -> the spec its every start gets, as JSON text ({"mode": "drift",
  // "targets": "all"}); a nemesis without one draws everything from the seed.
  std::map<std::string, std::string> nemesis_specs;
  double time_limit_s = 60;
  double nemesis_interval_s = 10;
  double recovery_time_s = 5;
  int concurrency = 0;  // 0: 2 per node
  // Ops per key before the workload moves to a fresh key: keeps each key's
  // history small enough to check even when faults leave many ops info.
  int64_t ops_per_key = 100;
  // Register values. Empty (the default): every written value is unique and
  // a cas expects the last value seen (generator::WorkloadOptions), so a
  // stale read always shows. N: drawn from 0..N (writes and both sides of a
  // cas), as Jepsen's register draws from 0..4; few values also let a
  // concurrent write of the same value explain a stale read.
  std::optional<int64_t> value_max = generator::WorkloadOptions{}.value_max;
  uint64_t seed = 0;
  std::vector<std::string> bugs;
  std::string read_mode = "read-index";                // linearizable reads without a log entry
  std::map<std::string, std::string> adapter_options;  // adapter-specific (--etcd-read ...)
  // 0: 1000 ms, or 300 ms under the default schedule (--nemesis all).
  int64_t op_timeout_ms = 0;
  double checker_time_limit_s = 120;
  std::string store_dir;  // required: <repo>/store by default (chaos run sets it)
  std::string source_dir;
  std::string build_dir;
  std::string command_line;
  // False: store the history but skip the check and the report (the verdict
  // stays unknown): bench/harness_bench measures the runner alone.
  bool check = true;
  // True: end the run at the first key the online check finds invalid (the
  // register workload): stop the generator, let ops in flight complete or
  // time out, heal, recover, read finally, check and store as usual.
  // test.json and results.json then carry `stopped_early`.
  bool stop_on_invalid = false;
  // True: the system is left running on the nodes at the end (no Teardown),
  // to look at it; the next run's Setup stops it.
  bool leave_db_running = false;
};

Result<RunOutcome> RunTest(const RunOptions& options, const control::Inventory& inventory);

// RunOptions::value_max as `--value-max` and a matrix's `value_max` write it:
// "unique", or N for values 0..N (N >= 1). Parse errors name the problem.
std::string ValueMaxText(const std::optional<int64_t>& value_max);
Result<std::optional<int64_t>> ParseValueMax(const std::string& text);

// The worse of two exit statuses of runs: could not run (3+) over invalid (1)
// over unknown (2) over valid (0).
int WorstExitCode(int a, int b);

// Set by SIGINT/SIGTERM while a run is going; the workers stop asking for ops.
void RequestAbort();
bool AbortRequested();

}  // namespace chaos::harness
