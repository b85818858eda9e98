// The deterministic cluster simulator (`chaos sim`): N nodes, each the
// server's own driver (target/driver: core, WAL, snapshots, persist policy)
// on an in-memory disk (storage::MemEnv), a network that drops, delays,
// duplicates and reorders messages and partitions nodes, crashes that are
// power losses (every byte and directory change not yet synced is lost, and
// the node recovers from what its disk kept), pauses (SIGSTOP) that leave
// a node believing what it believed, clocks with skew and drift, scripted
// scenarios aimed at the leader (see README.md), and clients issuing
// read/write/cas on a few keys with timeouts and retries. In the tradition of
// FoundationDB's simulator and TigerBeetle's VOPR.
//
// One run is a pure function of SimOptions (the seed above all): the same
// options give the same event trace, the same history and the same trace hash.
//
// Every run is checked:
//  - agreement, continuously: at most one value is ever learned chosen per slot
//    (over all nodes and restarts), and no core halts on divergence;
//  - linearizability of the client history (cas-register per key, Knossos
//    semantics, via checker/);
//  - liveness: without faults at least 99% of client operations complete;
//    after the faults stop, a leader is elected and every client completes an
//    operation within `liveness_bound_ms`.
//
// Thread safety: RunSimulation shares nothing between calls.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "base/status.h"
#include "history/op.h"
#include "target/core/types.h"
#include "target/driver/driver.h"

namespace chaos::sim {

struct SimOptions {
  uint64_t seed = 1;
  int nodes = 3;
  bool faults = true;                       // network faults, partitions, crashes, clock drift
  std::string bug;                          // "" or one of BugNames()
  std::optional<core::ReadMode> read_mode;  // nullopt: chosen by the seed
  int clients = 8;
  int keys = 3;
  int64_t fault_ms = 2000;     // faults happen in [0, fault_ms)
  int64_t recovery_ms = 2000;  // then everything heals and runs this long
  int64_t liveness_bound_ms = 1500;
  bool check_linearizable = true;
  // Fail-slow disks (the slow-disk nemesis): now and then one node's syncs
  // take 2-20 ms for 100-500 ms; the node is blocked meanwhile and what the
  // sync guards (its messages, its replies) leaves after it. Off by default:
  // the windows come from a stream of their own, so the seeds without it
  // replay as before, but with it every seed's schedule differs.
  bool slow_disk = false;
  // Membership changes (target/core README "Membership"): an administrator
  // removes nodes (the leader too), wipes disks and re-adds them, with its
  // own random stream; after the faults it restores every node as a voter.
  // On by default; off replays the schedules of before 2026-12-05.
  bool membership = true;
};

struct SimResult {
  bool ok = true;
  std::string failure;  // "agreement: ...", "linearizability: ...", "liveness: ...", ...
  uint64_t trace_hash = 0;
  int64_t events = 0;
  int64_t ops_invoked = 0;
  int64_t ops_ok = 0;
  int64_t ops_fail = 0;
  int64_t ops_info = 0;
  int64_t sim_ns = 0;
  int64_t slots_chosen = 0;
  // The driver's work, over every node and restart: recoveries from the
  // MemEnv disk after a crash (a power loss), WAL syncs, snapshot files
  // written, and power losses during a sync.
  int64_t recoveries = 0;
  int64_t syncs = 0;
  int64_t snapshot_files = 0;
  int64_t power_losses_in_sync = 0;
  bool checker_unknown = false;
  core::ReadMode read_mode = core::ReadMode::kLog;
  history::History history;
};

// The names accepted by --bug: the core's canaries and the driver's.
const char* const* BugNames();
struct SimBugs {
  core::Bugs core;
  driver::DriverBugs driver;
};
Result<SimBugs> ParseBug(const std::string& name);

SimResult RunSimulation(const SimOptions& options);

// The exact `chaos sim` command that replays this run.
std::string ReplayCommand(const SimOptions& options);

struct SeedsSummary {
  int64_t runs = 0;
  int64_t failed = 0;
  int64_t checker_unknown = 0;
  int64_t ops = 0;
  double sim_s = 0;
  double wall_s = 0;
  uint64_t first_failing_seed = 0;  // meaningful when failed > 0
};

// Runs seeds first_seed .. first_seed + runs - 1 with `base`, printing to
// `out` each failing seed with its replay command (every run with `verbose`),
// stopping at the first failure when `stop_at_first`, then one summary line.
// What `chaos sim` does.
SeedsSummary RunSeeds(const SimOptions& base, uint64_t first_seed, int64_t runs, bool stop_at_first,
                      bool verbose, std::FILE* out);

}  // namespace chaos::sim
