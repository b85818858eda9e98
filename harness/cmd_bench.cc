// chaos bench: closed-loop load through adapters' clients (harness/bench.h).
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "adapters/adapter.h"
#include "docker/cluster.h"
#include "harness/bench.h"
#include "harness/commands.h"

namespace chaos::cli {
namespace {

namespace fs = std::filesystem;

struct BenchFlags {
  std::string adapters = "register";
  std::string concurrency = "1,16,64";
  std::string ops = "put,get,cas";
  std::string time = "20s";
  std::string etcd_read;
  std::string read_mode = "read-index";
  std::string out;
  bool test_cluster = false;
  double warmup_s = 2;
  int64_t op_timeout_ms = 2000;
};

// "20s", "1m", "500ms", "20" (seconds).
Result<double> ParseSeconds(const std::string& text) {
  double value = 0;
  size_t used = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return InvalidArgument("--time: '" + text + "' is not a duration (20s, 1m, 500ms)");
  }
  std::string unit = text.substr(used);
  if (unit.empty() || unit == "s") return value;
  if (unit == "ms") return value / 1000;
  if (unit == "m") return value * 60;
  return InvalidArgument("--time: unknown unit '" + unit + "' (s, ms, m)");
}

// Systems that all live in the controller (the memory adapter) need no
// cluster: node names only, as `chaos run` does for them.
Result<control::Inventory> BenchInventory(const std::vector<std::string>& names,
                                          bool test_cluster) {
  for (const auto& name : names) {
    auto probe = adapters::MakeAdapter(name, adapters::AdapterContext());
    if (!probe.ok() || (*probe)->UsesNodes()) return DockerInventory(test_cluster);
  }
  return control::NamesOnlyInventory(5);
}

int Bench(const BenchFlags& flags) {
  harness::BenchOptions options;
  options.adapters = SplitCommas(flags.adapters);
  options.concurrency.clear();
  for (const auto& c : SplitCommas(flags.concurrency)) {
    try {
      options.concurrency.push_back(std::stoi(c));
    } catch (const std::exception&) {
      return ReportError(InvalidArgument("--concurrency: '" + c + "' is not a number"));
    }
  }
  options.ops = SplitCommas(flags.ops);
  auto seconds = ParseSeconds(flags.time);
  if (!seconds.ok()) return ReportError(seconds.status());
  options.seconds = *seconds;
  options.warmup_s = flags.warmup_s;
  options.op_timeout_ms = flags.op_timeout_ms;
  if (!flags.etcd_read.empty()) options.adapter_options["etcd-read"] = flags.etcd_read;
  options.read_mode = flags.read_mode;
  options.source_dir = docker::DefaultSourceDir();
  options.build_dir = BuildDir();
  Status valid = harness::ValidateBench(options);
  if (!valid.ok()) return ReportError(valid);
  for (const auto& name : options.adapters) {
    Status adapter = adapters::CheckAdapter(name, options.adapter_options);
    if (!adapter.ok()) return ReportError(adapter);
  }

  auto inventory = BenchInventory(options.adapters, flags.test_cluster);
  if (!inventory.ok()) return ReportError(inventory.status());
  auto rows = harness::RunBench(options, *inventory, stderr);
  if (!rows.ok()) return ReportError(rows.status());

  std::string out = flags.out;
  if (out.empty()) {
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", std::gmtime(&now));
    out = options.source_dir + "/store/bench/" + stamp + ".json";
  }
  std::error_code ec;
  if (fs::path(out).has_parent_path()) fs::create_directories(fs::path(out).parent_path(), ec);
  history::Json json = harness::BenchJson(options, *rows);
  json["command_line"] = CommandLine();
  json["nodes"] = inventory->nodes.size();
  std::ofstream file(out);
  file << json.dump(2) << "\n";
  if (!file) return ReportError(IoError(out + ": cannot write"));
  std::printf("%s\nwritten: %s\n", harness::BenchTable(*rows).c_str(), out.c_str());
  return 0;
}

}  // namespace

void AddBenchCommand(CLI::App& app, int* exit_code) {
  static BenchFlags flags;
  auto* bench = app.add_subcommand(
      "bench", "Closed-loop load through adapters' clients, no faults: ops/s, p50, p99");
  bench
      ->add_option("--adapter", flags.adapters,
                   "systems, comma-separated, measured one after the other: register,etcd")
      ->default_str("register");
  bench->add_option("--concurrency", flags.concurrency, "worker counts, comma-separated")
      ->default_str("1,16,64");
  bench->add_option("--ops", flags.ops, "put,get,cas")->default_str("put,get,cas");
  bench->add_option("--time", flags.time, "measured time per cell (20s, 1m)")->default_str("20s");
  bench->add_option("--warmup", flags.warmup_s, "unmeasured seconds before each cell")
      ->default_str("2")
      ->check(CLI::Range(0.0, 600.0));
  bench->add_option("--op-timeout", flags.op_timeout_ms, "ms before an op is info")
      ->default_str("2000")
      ->check(CLI::Range(10, 600000));
  bench->add_option("--etcd-read", flags.etcd_read, "etcd reads: linearizable | serializable")
      ->check(CLI::IsMember({"linearizable", "serializable"}));
  bench->add_option("--read-mode", flags.read_mode, "register reads: log | read-index | lease")
      ->default_str("read-index")
      ->check(CLI::IsMember({"log", "read-index", "lease"}));
  bench->add_option("--out", flags.out, "JSON results (default store/bench/<time>.json)");
  bench->add_flag("--test-cluster", flags.test_cluster,
                  "use the docker cluster of the tests (chaos-test) instead of the default one");
  bench->callback([exit_code] { *exit_code = Bench(flags); });
}

}  // namespace chaos::cli
