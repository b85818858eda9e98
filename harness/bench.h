// chaos bench: closed-loop load through an adapter's client against a
// cluster, no faults — the same clients `chaos run` uses, so systems are
// compared with the same load generator on the same machine.
//
// For each adapter: set up and start the system on every node (as a run
// does), wait until a write succeeds, then for each op (put, get, cas) and
// each concurrency: `concurrency` workers, worker w bound to node w mod N and
// to a key of its own, each issuing one op at a time as fast as completions
// come, for `seconds` after an unmeasured warm-up. Latency is per op, from
// invoke to completion. A worker whose op completes info continues with a
// fresh client, as in a run. cas chains on the worker's own key (old = the
// last value it wrote), so a cas fails only after an info or fail; the worker
// then reads the key back (unmeasured) to continue the chain. Finally the
// system is torn down.
//
// Thread safety: one RunBench at a time.
#pragma once

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "control/inventory.h"
#include "history/op.h"

namespace chaos::harness {

struct BenchOptions {
  std::vector<std::string> adapters = {"register"};
  std::vector<int> concurrency = {1, 16, 64};
  std::vector<std::string> ops = {"put", "get", "cas"};  // put = write, get = read
  double seconds = 20;                                   // measured, per (adapter, op, concurrency)
  double warmup_s = 2;                                   // before measuring, per cell
  int64_t op_timeout_ms = 2000;
  std::string read_mode = "read-index";                // register reads: log | read-index | lease
  std::map<std::string, std::string> adapter_options;  // etcd-read ...
  std::string source_dir;
  std::string build_dir;
};

struct BenchRow {
  std::string adapter;
  std::string op;
  int concurrency = 0;
  double ops_per_s = 0;  // ok completions per second
  double p50_ms = 0;
  double p99_ms = 0;
  int64_t ok = 0, fail = 0, info = 0;
};

// Validates the options (names, ranges) before any cluster work.
Status ValidateBench(const BenchOptions& options);

// Runs every cell; progress lines go to `log`.
Result<std::vector<BenchRow>> RunBench(const BenchOptions& options,
                                       const control::Inventory& inventory, std::FILE* log);

// A markdown table: adapter | op | concurrency | ops/s | p50 ms | p99 ms | ok | fail | info.
std::string BenchTable(const std::vector<BenchRow>& rows);
history::Json BenchJson(const BenchOptions& options, const std::vector<BenchRow>& rows);

}  // namespace chaos::harness
