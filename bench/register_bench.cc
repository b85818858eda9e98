// register_bench: closed-loop load against a 3-node chaos-register cluster on
// loopback. For each read mode (log, read-index, lease) a fresh cluster is
// started; `concurrency` workers each issue one operation at a time, as fast
// as replies come, for --seconds after a warm-up. Prints a markdown table:
// ops/s and p50/p99 latency per (op, read mode, concurrency).
//
//   register_bench [--seconds 3] [--dir /tmp/register-bench] [--modes log,read-index,lease]
//                  [--ops put,get,cas] [--concurrency N]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "target/proto/register_client.h"
#include "target/server/local_cluster.h"

namespace {

using chaos::server::LocalCluster;
using chaos::server::Outcome;
using chaos::server::RegisterClient;
using Clock = std::chrono::steady_clock;

struct RunResult {
  double ops_per_s = 0;
  double p50_ms = 0, p99_ms = 0;
  int64_t ok = 0, fail = 0, info = 0;
};

enum class Kind { kPut, kGet, kCas };

RunResult Run(const std::vector<std::string>& addresses, Kind kind, int concurrency, double seconds,
              int64_t client_base) {
  std::atomic<bool> measuring{false}, stop{false};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(concurrency));
  std::vector<int64_t> ok(static_cast<size_t>(concurrency)), fail(ok), info(ok);
  std::vector<std::thread> threads;
  for (int w = 0; w < concurrency; ++w) {
    threads.emplace_back([&, w] {
      chaos::server::RegisterClientOptions o;
      o.addresses = addresses;
      o.client_id = client_base + w;
      o.timeout_ms = 2000;
      auto client = std::move(RegisterClient::Create(o)).value();
      std::string key = "bench-" + std::to_string(w);
      int64_t value = 0;
      client->Put(key, value);  // every key exists; cas chains start at 0
      size_t i = static_cast<size_t>(w);
      while (!stop.load(std::memory_order_relaxed)) {
        auto t0 = Clock::now();
        chaos::server::OpResult r;
        if (kind == Kind::kPut) {
          r = client->Put(key, ++value);
        } else if (kind == Kind::kGet) {
          r = client->Get(key);
        } else {
          r = client->Cas(key, value, value + 1);
          if (r.outcome == Outcome::kOk)
            ++value;
          else if (r.value)
            value = *r.value;
        }
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (!measuring.load(std::memory_order_relaxed)) continue;
        latencies[i].push_back(ms);
        if (r.outcome == Outcome::kOk)
          ++ok[i];
        else if (r.outcome == Outcome::kFail)
          ++fail[i];
        else
          ++info[i];
        if (r.outcome == Outcome::kUnknown) {
          // A new logical client after an unknown outcome, as the toolkit does.
          o.client_id += 1000;
          client = std::move(RegisterClient::Create(o)).value();
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // warm-up
  measuring = true;
  auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  measuring = false;
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  for (auto& t : threads) t.join();
  RunResult r;
  std::vector<double> all;
  for (int w = 0; w < concurrency; ++w) {
    size_t i = static_cast<size_t>(w);
    all.insert(all.end(), latencies[i].begin(), latencies[i].end());
    r.ok += ok[i];
    r.fail += fail[i];
    r.info += info[i];
  }
  std::sort(all.begin(), all.end());
  r.ops_per_s = static_cast<double>(r.ok) / elapsed;
  if (!all.empty()) {
    r.p50_ms = all[all.size() / 2];
    r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  std::string dir = "/tmp/register-bench";
  std::string modes = "log,read-index,lease";
  std::string ops = "put,get,cas";
  std::vector<int> concurrencies = {1, 16, 64};
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--seconds") {
      seconds = std::atof(argv[i + 1]);
    } else if (flag == "--dir") {
      dir = argv[i + 1];
    } else if (flag == "--modes") {
      modes = argv[i + 1];
    } else if (flag == "--ops") {
      ops = argv[i + 1];
    } else if (flag == "--concurrency") {
      concurrencies = {std::atoi(argv[i + 1])};
    } else {
      std::fprintf(stderr, "register_bench: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  std::printf("| op | read mode | concurrency | ops/s (ok) | p50 ms | p99 ms | fail | info |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|\n");
  int64_t client_base = 1;
  for (const char* mode : {"log", "read-index", "lease"}) {
    if (modes.find(mode) == std::string::npos) continue;
    chaos::server::LocalClusterOptions o;
    o.binary = CHAOS_REGISTER_BIN;
    o.base_dir = dir + "/" + mode;
    o.extra_args = {"--read-mode", mode};
    if (std::string(mode) == "lease") {
      o.extra_args.push_back("--max-clock-drift");
      o.extra_args.push_back("0.01");
    }
    auto cluster = LocalCluster::Start(o);
    if (!cluster.ok()) {
      std::fprintf(stderr, "register_bench: %s\n", cluster.status().ToString().c_str());
      return 3;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // election
    std::vector<Kind> kinds = {Kind::kGet};
    if (std::string(mode) == "log") kinds = {Kind::kPut, Kind::kGet, Kind::kCas};
    for (Kind kind : kinds) {
      const char* kind_name = kind == Kind::kPut ? "put" : kind == Kind::kGet ? "get" : "cas";
      if (ops.find(kind_name) == std::string::npos) continue;
      for (int c : concurrencies) {
        if (c < 1 || c > 1024) {
          std::fprintf(stderr, "register_bench: concurrency %d out of 1..1024\n", c);
          return 2;
        }
        RunResult r = Run((*cluster)->addresses(), kind, c, seconds, client_base);
        client_base += 100000;
        const char* name = kind == Kind::kPut ? "put" : kind == Kind::kGet ? "get" : "cas";
        std::printf("| %s | %s | %d | %.0f | %.2f | %.2f | %lld | %lld |\n", name, mode, c,
                    r.ops_per_s, r.p50_ms, r.p99_ms, static_cast<long long>(r.fail),
                    static_cast<long long>(r.info));
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
