// `chaos sim`: runs the Paxos register cluster in the deterministic simulator
// for a range of seeds and prints every failing seed with its replay command.
// Exit status: 0 when no run failed, 1 when any did, 3 on bad flags.
// With --history FILE (one run), that run's client history is written in the
// format the file's extension names, for `chaos check --keyed` and a reader.
#include <cstdio>
#include <memory>
#include <string>

#include "harness/commands.h"
#include "history/codec.h"
#include "target/sim/sim.h"

namespace chaos::cli {
namespace {

struct SimFlags {
  uint64_t seed = 1;
  int64_t runs = 1;
  int nodes = 3;
  std::string faults = "all";
  std::string bug;
  std::string read_mode;
  bool first = false;
  bool verbose = false;
  bool slow_disk = false;
  std::string history;
};

// One run, its history written to `path`; its verdict printed as RunSeeds
// prints it.
int RunOneWithHistory(const sim::SimOptions& o, const std::string& path) {
  sim::SimResult r = sim::RunSimulation(o);
  Status written = history::WriteHistory(path, r.history);
  if (!written.ok()) return ReportError(written);
  std::printf("seed %llu: %s, %zu history entries in %s\n", static_cast<unsigned long long>(o.seed),
              r.ok ? "ok" : ("FAILED: " + r.failure).c_str(), r.history.size(), path.c_str());
  return r.ok ? kExitValid : kExitInvalid;
}

int RunSim(const SimFlags& f) {
  sim::SimOptions base;
  if (f.nodes != 3 && f.nodes != 5) return ReportError(InvalidArgument("--nodes must be 3 or 5"));
  base.nodes = f.nodes;
  if (f.faults != "all" && f.faults != "none") {
    return ReportError(InvalidArgument("--faults must be 'all' or 'none'"));
  }
  base.faults = f.faults == "all";
  base.slow_disk = f.slow_disk;
  Result<sim::SimBugs> bugs = sim::ParseBug(f.bug);
  if (!bugs.ok()) return ReportError(bugs.status());
  base.bug = f.bug;
  if (f.read_mode == "log") {
    base.read_mode = core::ReadMode::kLog;
  } else if (f.read_mode == "read-index") {
    base.read_mode = core::ReadMode::kReadIndex;
  } else if (f.read_mode == "lease") {
    base.read_mode = core::ReadMode::kLease;
  } else if (!f.read_mode.empty()) {
    return ReportError(InvalidArgument("--read-mode must be log, read-index or lease"));
  }
  if (f.runs < 1) return ReportError(InvalidArgument("--runs must be at least 1"));
  if (!f.history.empty()) {
    if (f.runs != 1) return ReportError(InvalidArgument("--history takes --runs 1"));
    if (auto format = history::FormatOfPath(f.history); !format.ok()) {
      return ReportError(format.status());
    }
    base.seed = f.seed;
    return RunOneWithHistory(base, f.history);
  }
  sim::SeedsSummary sum = sim::RunSeeds(base, f.seed, f.runs, f.first, f.verbose, stdout);
  return sum.failed > 0 ? kExitInvalid : kExitValid;
}

}  // namespace

void AddSimCommands(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<SimFlags>();
  auto* cmd = app.add_subcommand(
      "sim", "Run the Paxos register cluster in the deterministic simulator, seed by seed");
  cmd->add_option("--seed", flags->seed, "First seed")->capture_default_str();
  cmd->add_option("--runs", flags->runs, "Number of seeds (seed, seed+1, ...)")
      ->capture_default_str();
  cmd->add_option("--nodes", flags->nodes, "Cluster size: 3 or 5")->capture_default_str();
  cmd->add_option("--faults", flags->faults, "all | none")->capture_default_str();
  cmd->add_option("--bug", flags->bug,
                  "Switch on one known mistake: no-fsync, promise-geq, skip-phase1-on-retry, "
                  "forget-promise, majority-off-by-one, count-duplicate-acks, stale-lease-read");
  cmd->add_option("--read-mode", flags->read_mode,
                  "log | read-index | lease (default: chosen by the seed)");
  cmd->add_flag("--slow-disk", flags->slow_disk,
                "Also fail-slow disks: a node's syncs take 2-20 ms for a while (changes every "
                "seed's schedule)");
  cmd->add_flag("--first", flags->first, "Stop at the first failing seed");
  cmd->add_flag("--verbose", flags->verbose, "One line per run with its trace hash");
  cmd->add_option("--history", flags->history,
                  "With --runs 1: write the run's client history to this file (.jsonl or .edn)");
  cmd->callback([flags, exit_code] { *exit_code = RunSim(*flags); });
}

}  // namespace chaos::cli
