// chaos run: one or more tests against a cluster; chaos test-all: a matrix of them.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "adapters/adapter.h"
#include "base/strings.h"
#include "control/inventory.h"
#include "docker/cluster.h"
#include "harness/commands.h"
#include "harness/runner.h"
#include "harness/test_all.h"
#include "history/op.h"
#include "nemesis/nemesis.h"

namespace chaos::cli {
namespace {

namespace fs = std::filesystem;

struct RunFlags {
  harness::RunOptions run;
  std::string nemesis;
  std::vector<std::string> nemesis_specs;    // NEMESIS=JSON
  std::vector<std::string> adapter_options;  // KEY=VALUE
  std::string bug;
  int test_count = 1;
  std::string hosts;
  control::SshOptions ssh;
  int ssh_port = 22;
  int client_port = 7000;
  bool test_cluster = false;
  bool seed_given = false;
  uint64_t seed = 0;
};

// The nodes to test: --nodes hosts, the memory adapter's names, or the
// docker cluster.
Result<control::Inventory> ResolveInventory(const RunFlags& flags) {
  // A system that lives in the controller needs no cluster: node names only.
  if (auto probe = adapters::MakeAdapter(flags.run.adapter, adapters::AdapterContext());
      probe.ok() && !(*probe)->UsesNodes()) {
    return control::NamesOnlyInventory(5);
  }
  if (!flags.hosts.empty()) {
    return control::InventoryFromHosts(SplitCommas(flags.hosts), flags.ssh, flags.ssh_port,
                                       flags.client_port);
  }
  return DockerInventory(flags.test_cluster);
}

void OnSignal(int) {
  harness::RequestAbort();
  // A second Ctrl-C ends the controller at once.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

int Run(RunFlags& flags, const std::string& command_line) {
  // No --nemesis: the default schedule over every fault the adapter supports.
  flags.run.nemeses = SplitCommas(flags.nemesis.empty() ? "all" : flags.nemesis);
  if (flags.nemesis == "none") flags.run.nemeses.clear();
  for (const auto& item : flags.nemesis_specs) {
    size_t eq = item.find('=');
    std::string name = item.substr(0, eq);
    // "partition:leader" in --nemesis takes a spec named "partition".
    bool named =
        std::any_of(flags.run.nemeses.begin(), flags.run.nemeses.end(),
                    [&](const std::string& n) { return n.substr(0, n.find(':')) == name; });
    if (eq == std::string::npos || !named) {
      return ReportError(InvalidArgument("--nemesis-spec " + item +
                                         ": must be NEMESIS=JSON for a nemesis in --nemesis"));
    }
    auto spec = history::Json::parse(item.substr(eq + 1), nullptr, false);
    if (spec.is_discarded() || !spec.is_object()) {
      return ReportError(
          InvalidArgument("--nemesis-spec " + item + ": the spec must be a JSON object"));
    }
    flags.run.nemesis_specs[name] = spec.dump();
  }
  for (const auto& item : flags.adapter_options) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return ReportError(InvalidArgument("--adapter-option " + item + ": must be KEY=VALUE"));
    }
    flags.run.adapter_options[item.substr(0, eq)] = item.substr(eq + 1);
  }
  flags.run.bugs = SplitCommas(flags.bug);
  if (!flags.run.bugs.empty() && flags.run.adapter != "register" && flags.run.adapter != "memory") {
    return ReportError(InvalidArgument("--bug is only for the register and memory adapters"));
  }
  if (flags.run.adapter_options.contains("binary") && flags.run.adapter != "register") {
    return ReportError(InvalidArgument("--adapter-option binary is only for the register"));
  }
  if (flags.run.adapter_options.contains("etcd-read") && flags.run.adapter != "etcd") {
    return ReportError(InvalidArgument("--etcd-read is only for the etcd adapter"));
  }
  flags.run.command_line = command_line;
  flags.run.source_dir = docker::DefaultSourceDir();
  flags.run.build_dir = BuildDir();
  if (flags.run.store_dir.empty()) flags.run.store_dir = flags.run.source_dir + "/store";
  Status adapter =
      adapters::CheckAdapter(flags.run.adapter, flags.run.adapter_options, flags.run.workload);
  if (!adapter.ok()) return ReportError(adapter);
  auto inventory = ResolveInventory(flags);
  if (!inventory.ok()) return ReportError(inventory.status());

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  uint64_t seed = flags.seed_given ? flags.seed : std::random_device{}();
  int worst = 0;
  for (int i = 0; i < flags.test_count; ++i) {
    harness::RunOptions options = flags.run;
    options.seed = seed + static_cast<uint64_t>(i);
    auto outcome = harness::RunTest(options, *inventory);
    if (!outcome.ok()) return ReportError(outcome.status());
    std::printf("%s: %s  (seed %llu)\n", outcome->test_name.c_str(),
                checker::VerdictName(outcome->verdict),
                static_cast<unsigned long long>(options.seed));
    if (!outcome->stopped_early.empty()) std::printf("  %s\n", outcome->stopped_early.c_str());
    std::printf("  report: %s/report.html\n", outcome->run_dir.c_str());
    std::fflush(stdout);
    worst = harness::WorstExitCode(worst, outcome->exit_code);
    if (outcome->exit_code >= 3) break;  // aborted
  }
  return worst;
}

struct TestAllFlags {
  harness::RunOptions base;
  std::string matrix_file;
  int seeds = 0;            // > 0: every cell's runs (--seeds)
  double time_limit_s = 0;  // > 0: every cell's run length (--time-limit)
  bool test_cluster = false;
  bool list = false;  // print the cells and exit
};

int TestAll(TestAllFlags& flags, const std::string& command_line) {
  flags.base.command_line = command_line;
  flags.base.source_dir = docker::DefaultSourceDir();
  flags.base.build_dir = BuildDir();
  if (flags.base.store_dir.empty()) flags.base.store_dir = flags.base.source_dir + "/store";
  // Without --matrix: the validation matrix, a file like any other.
  std::string file = flags.matrix_file.empty()
                         ? flags.base.source_dir + "/bench/matrices/default.json"
                         : flags.matrix_file;
  std::ifstream in(file);
  if (!in) return ReportError(NotFound(file + ": cannot read the matrix file"));
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = harness::ParseMatrix(text.str(), file, flags.base);
  if (!parsed.ok()) return ReportError(parsed.status());
  harness::Matrix matrix = std::move(*parsed);
  // --seeds and --time-limit, when given, override every cell.
  for (auto& cell : matrix.cells) {
    if (flags.seeds > 0) cell.seeds = flags.seeds;
    if (flags.time_limit_s > 0) cell.run.time_limit_s = flags.time_limit_s;
  }
  if (flags.list) {
    auto seconds = [](double s) {
      char text[32];
      std::snprintf(text, sizeof text, "%g s", s);
      return std::string(text);
    };
    for (const auto& cell : matrix.cells) {
      std::string line = cell.name + ": nemesis " +
                         (cell.run.nemeses.empty() ? "none" : JoinCommas(cell.run.nemeses)) + ", " +
                         std::to_string(cell.seeds) + " seeds x " + seconds(cell.run.time_limit_s) +
                         ", interval " + seconds(cell.run.nemesis_interval_s) + ", expect " +
                         checker::VerdictName(cell.expect);
      if (cell.run.op_timeout_ms > 0) {
        line += ", op timeout " + std::to_string(cell.run.op_timeout_ms) + " ms";
      }
      if (cell.run.concurrency > 0) {
        line += ", " + std::to_string(cell.run.concurrency) + " clients";
      }
      if (cell.run.ops_per_key != harness::RunOptions().ops_per_key) {
        line += ", " + std::to_string(cell.run.ops_per_key) + " ops per key";
      }
      if (cell.run.value_max != harness::RunOptions().value_max) {
        line += cell.run.value_max ? ", values 0.." + std::to_string(*cell.run.value_max)
                                   : std::string(", unique values");
      }
      if (!cell.run.bugs.empty()) line += ", bug " + JoinCommas(cell.run.bugs);
      if (cell.run.stop_on_invalid) line += ", stop on invalid";
      if (cell.run.read_mode != harness::RunOptions().read_mode)
        line += ", " + cell.run.read_mode + " reads";
      for (const auto& [name, spec] : cell.run.nemesis_specs) line += ", " + name + "=" + spec;
      for (const auto& [name, value] : cell.run.adapter_options) {
        line += ", " + name + "=" + value;
      }
      std::printf("%s\n", line.c_str());
    }
    return 0;
  }
  // Every cell runs on one cluster: the first cell's adapter decides which.
  RunFlags run_flags;
  run_flags.run.adapter = matrix.cells.front().run.adapter;
  run_flags.test_cluster = flags.test_cluster;
  auto inventory = ResolveInventory(run_flags);
  if (!inventory.ok()) return ReportError(inventory.status());
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  auto outcome = harness::RunMatrix(matrix, *inventory, flags.base.store_dir);
  if (!outcome.ok()) return ReportError(outcome.status());
  std::printf("test-all: %s\n  summary: %s/summary.html\n",
              outcome->as_expected ? "every cell as expected" : "some cells NOT as expected",
              outcome->summary_dir.c_str());
  return outcome->exit_code;
}

// chaos run's options for what is tested: the system, the workload, the
// faults and the times.
void AddTestOptions(CLI::App* run, RunFlags& flags) {
  run->add_option("--adapter", flags.run.adapter,
                  "system under test: register | etcd | memory (in the controller, no faults) | "
                  "path/to/adapter.json (declarative)")
      ->default_str("register");
  run->add_option_function<std::string>(
         "--etcd-read",
         [&flags](const std::string& mode) { flags.run.adapter_options["etcd-read"] = mode; },
         "etcd reads: linearizable (default) | serializable")
      ->check(CLI::IsMember({"linearizable", "serializable"}));
  run->add_option("--workload", flags.run.workload,
                  "register | set | counter | list-append | rw-register")
      ->default_str("register");
  run->add_option("--consistency", flags.run.consistency,
                  "list-append, rw-register: read-committed | snapshot-isolation | serializable "
                  "| strong-session-serializable | strict-serializable (default)")
      ->check(CLI::IsMember({"read-committed", "snapshot-isolation", "serializable",
                             "strong-session-serializable", "strict-serializable"}));
  run->add_option(
      "--nemesis", flags.nemesis,
      "faults, comma-separated: partition, kill, pause, clock, packet, lose-unsynced, corrupt, "
      "slow-disk; "
      "name:mode/mode picks modes; all (the default schedule, also with no --nemesis); none");
  run->add_option(
      "--adapter-option", flags.adapter_options,
      "KEY=VALUE for the adapter, repeatable (register: max-clock-drift, tick-ms, "
      "election-ticks, clients=home|leader|mixed, binary=PATH of another chaos-register)");
  run->add_option("--nemesis-spec", flags.nemesis_specs,
                  "NEMESIS=JSON: fix what each start of that nemesis does, e.g. "
                  "clock='{\"mode\":\"drift\",\"rate\":0.55}' (repeatable)");
  run->add_option("--time-limit", flags.run.time_limit_s, "seconds of workload")
      ->default_str("60")
      ->check(CLI::Range(0.1, 86400.0));
  run->add_option("--nemesis-interval", flags.run.nemesis_interval_s,
                  "seconds between fault start and stop")
      ->default_str("10")
      ->check(CLI::Range(0.1, 3600.0));
  run->add_option("--recovery-time", flags.run.recovery_time_s,
                  "seconds to let the system recover after healing")
      ->default_str("5")
      ->check(CLI::Range(0.0, 3600.0));
  run->add_option("--concurrency", flags.run.concurrency, "client workers (default 2 per node)")
      ->check(CLI::Range(1, 1000));
  run->add_option("--ops-per-key", flags.run.ops_per_key,
                  "ops on one key before moving to a fresh key (keeps checking tractable)")
      ->default_str("100")
      ->check(CLI::Range(1, 100000));
  run->add_option_function<std::string>(
         "--value-max",
         [&flags](const std::string& text) {
           Result<std::optional<int64_t>> value_max = harness::ParseValueMax(text);
           if (!value_max.ok())
             throw CLI::ValidationError("--value-max", value_max.status().message());
           flags.run.value_max = *value_max;
         },
         "register values: N draws them from 0..N (writes and cas); unique writes each value "
         "once and a cas expects the last value seen")
      ->default_str(harness::ValueMaxText(harness::RunOptions().value_max));
  run->add_option("--op-timeout", flags.run.op_timeout_ms, "ms before a client op is info")
      ->default_str("1000")
      ->check(CLI::Range(10, 600000));
}

// chaos run: what is tested, the seed and repetitions, the checks, the
// store and the nodes.
void AddRunCommand(CLI::App& app, int* exit_code) {
  static RunFlags flags;
  auto* run = app.add_subcommand("run",
                                 "Run a test: workload + faults against a cluster, "
                                 "then check and report");
  AddTestOptions(run, flags);
  run->add_option_function<uint64_t>(
      "--seed", [](const uint64_t& s) { flags.seed = s, flags.seed_given = true; },
      "seed of the schedule (printed and stored in test.json)");
  run->add_option("--test-count", flags.test_count, "repeat the test N times")
      ->check(CLI::Range(1, 10000));
  run->add_option("--bug", flags.bug, "start the register with known mistakes, comma-separated");
  run->add_option("--read-mode", flags.run.read_mode, "register reads: log | read-index | lease");
  run->add_option("--checker-time-limit", flags.run.checker_time_limit_s,
                  "seconds the checker may search");
  run->add_flag("--stop-on-invalid", flags.run.stop_on_invalid,
                "register workload: end the run at the first key the online check finds invalid "
                "(heal, final reads, check and store as usual)");
  run->add_option("--store", flags.run.store_dir, "store folder (default <repo>/store)");
  run->add_option("--name", flags.run.test_name, "test name (store/<name>/...)");
  run->add_flag("--leave-db-running", flags.run.leave_db_running,
                "leave the system running on the nodes after the run (to look at it)");
  run->add_option("--nodes", flags.hosts, "real hosts, comma-separated (no docker)");
  run->add_flag("--test-cluster", flags.test_cluster,
                "use the docker cluster of the tests (chaos-test) instead of the default one");
  run->add_option("--username", flags.ssh.username, "SSH user on --nodes")->default_str("root");
  run->add_option("--ssh-key", flags.ssh.private_key, "SSH private key for --nodes");
  run->add_option("--ssh-port", flags.ssh_port, "SSH port of --nodes")->default_str("22");
  run->add_option("--known-hosts", flags.ssh.known_hosts,
                  "known_hosts for --nodes (default ~/.ssh/known_hosts)");
  run->callback([exit_code] { *exit_code = Run(flags, CommandLine()); });
}

// chaos test-all: a matrix of runs.
void AddTestAllCommand(CLI::App& app, int* exit_code) {
  static TestAllFlags all;
  auto* test_all = app.add_subcommand(
      "test-all",
      "Run a matrix of tests (nemeses x --bug x seeds) and write a summary; exit: worst verdict");
  test_all->add_option("--matrix", all.matrix_file,
                       "matrix file (JSON, see harness/test_all.h); default: "
                       "bench/matrices/default.json");
  test_all->add_option("--seeds", all.seeds, "runs per cell (default: the matrix's)")
      ->check(CLI::Range(1, 1000));
  test_all->add_option("--time-limit", all.time_limit_s, "seconds per run (default: the matrix's)")
      ->check(CLI::Range(1.0, 86400.0));
  test_all
      ->add_option("--nemesis-interval", all.base.nemesis_interval_s,
                   "seconds between fault start and stop")
      ->default_str("10")
      ->check(CLI::Range(0.1, 3600.0));
  test_all
      ->add_option("--recovery-time", all.base.recovery_time_s,
                   "seconds to let the system recover after healing")
      ->default_str("5")
      ->check(CLI::Range(0.0, 3600.0));
  test_all->add_option("--store", all.base.store_dir, "store folder (default <repo>/store)");
  test_all->add_flag("--test-cluster", all.test_cluster,
                     "use the docker cluster of the tests (chaos-test)");
  test_all->add_flag("--list", all.list, "print the matrix's cells and exit");
  test_all->add_flag("--stop-on-invalid", all.base.stop_on_invalid,
                     "every cell: end a run at its first invalid key (the cell field "
                     "stop_on_invalid sets it per cell)");
  test_all->callback([exit_code] { *exit_code = TestAll(all, CommandLine()); });
}

}  // namespace

void AddRunCommands(CLI::App& app, int* exit_code) {
  AddRunCommand(app, exit_code);
  AddTestAllCommand(app, exit_code);
}

}  // namespace chaos::cli
