// chaos bench: see bench.h.
#include "harness/bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "adapters/adapter.h"
#include "control/on_nodes.h"
#include "control/ssh.h"
#include "generator/generator.h"

namespace chaos::harness {
namespace {

using Clock = std::chrono::steady_clock;
using history::Json;
using history::Op;
using history::OpType;

// Bench keys: far from the ones a run's workload uses.
constexpr int64_t kKeyBase = 1'000'000;

struct WorkerResult {
  std::vector<double> latencies_ms;
  int64_t ok = 0, fail = 0, info = 0;
  std::string last_error;
};

class Cell {
 public:
  Cell(adapters::Adapter* adapter, const control::Inventory& inventory, std::string op,
       int concurrency, int64_t process_base)
      : adapter_(adapter),
        inventory_(inventory),
        op_(std::move(op)),
        concurrency_(concurrency),
        process_base_(process_base) {}

  BenchRow Run(double warmup_s, double seconds) {
    std::vector<WorkerResult> results(static_cast<size_t>(concurrency_));
    std::vector<std::thread> threads;
    for (int w = 0; w < concurrency_; ++w) {
      threads.emplace_back([&, w] { Worker(w, &results[static_cast<size_t>(w)]); });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(warmup_s));
    auto t0 = Clock::now();
    measuring_ = true;
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    measuring_ = false;
    double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    stop_ = true;
    for (auto& t : threads) t.join();

    BenchRow row;
    row.op = op_;
    row.concurrency = concurrency_;
    std::vector<double> all;
    for (auto& r : results) {
      all.insert(all.end(), r.latencies_ms.begin(), r.latencies_ms.end());
      row.ok += r.ok;
      row.fail += r.fail;
      row.info += r.info;
      if (!r.last_error.empty()) last_error_ = r.last_error;
    }
    std::sort(all.begin(), all.end());
    auto percentile = [&](double p) {
      if (all.empty()) return 0.0;
      size_t i = static_cast<size_t>(p * static_cast<double>(all.size() - 1));
      return all[i];
    };
    row.p50_ms = percentile(0.50);
    row.p99_ms = percentile(0.99);
    row.ops_per_s = static_cast<double>(row.ok) / elapsed;
    return row;
  }

  const std::string& last_error() const { return last_error_; }

 private:
  void Worker(int w, WorkerResult* result) {
    const control::NodeInfo& node =
        inventory_.nodes[static_cast<size_t>(w) % inventory_.nodes.size()];
    int64_t process = process_base_ + w * 1000;
    int64_t key = kKeyBase + w;
    int64_t value = 0;
    std::unique_ptr<adapters::Client> client;
    bool resync = true;  // write the key's first value (unmeasured)
    // Bounded by the cell's time: stop_ is set after warm-up + seconds.
    while (!stop_.load(std::memory_order_relaxed)) {
      if (client == nullptr) {
        auto c = adapter_->OpenClient(node, ++process);
        if (!c.ok()) {
          result->last_error = c.status().message();
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          continue;
        }
        client = std::move(*c);
      }
      if (resync) {
        Op done = client->Invoke(generator::Invoke("write", Json::array({key, value})));
        if (!done.is_ok()) {
          if (done.is_info()) client.reset();
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          continue;
        }
        resync = false;
      }
      Op op = op_ == "put" ? generator::Invoke("write", Json::array({key, value + 1}))
              : op_ == "get"
                  ? generator::Invoke("read", Json::array({key, nullptr}))
                  : generator::Invoke("cas", Json::array({key, Json::array({value, value + 1})}));
      auto t0 = Clock::now();
      Op done = client->Invoke(op);
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (done.is_ok() && op_ != "get") ++value;
      if (!done.is_ok()) {
        // Unknown state of the key: write it afresh before the next op.
        resync = op_ != "get";
        if (done.error.is_string()) result->last_error = done.error.get<std::string>();
      }
      if (done.is_info()) client.reset();
      if (!measuring_.load(std::memory_order_relaxed)) continue;
      result->latencies_ms.push_back(ms);
      if (done.is_ok()) {
        ++result->ok;
      } else if (done.is_info()) {
        ++result->info;
      } else {
        ++result->fail;
      }
    }
  }

  adapters::Adapter* adapter_;
  const control::Inventory& inventory_;
  std::string op_;
  int concurrency_;
  int64_t process_base_;
  std::atomic<bool> measuring_{false};
  std::atomic<bool> stop_{false};
  std::string last_error_;
};

// The cluster accepts a write: a leader is elected and a quorum is up.
Status WaitForWrites(adapters::Adapter* adapter, const control::Inventory& inventory) {
  auto deadline = Clock::now() + std::chrono::seconds(60);
  std::string last_error;
  for (int attempt = 0; Clock::now() < deadline; ++attempt) {
    auto client =
        adapter->OpenClient(inventory.nodes[static_cast<size_t>(attempt) % inventory.nodes.size()],
                            900'000'000 + attempt);
    if (!client.ok()) return client.status();
    Op done = (*client)->Invoke(generator::Invoke("write", Json::array({-1, 0})));
    if (done.is_ok()) return Status::Ok();
    last_error = done.error.is_string() ? done.error.get<std::string>() : done.error.dump();
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return Unavailable(adapter->name() + " did not accept a write within 60 s: " + last_error);
}

Result<std::vector<BenchRow>> BenchAdapter(const std::string& name, const BenchOptions& options,
                                           const control::Inventory& inventory, std::FILE* log) {
  control::Nodes nodes(inventory);
  adapters::AdapterContext context;
  context.inventory = inventory;
  context.nodes = &nodes;
  context.source_dir = options.source_dir;
  context.build_dir = options.build_dir;
  context.op_timeout_ms = options.op_timeout_ms;
  context.options = options.adapter_options;
  context.read_mode = options.read_mode;
  CHAOS_ASSIGN_OR_RETURN(auto adapter, adapters::MakeAdapter(name, context));
  // A system in the controller (the memory adapter) has no nodes to reach.
  if (adapter->UsesNodes()) CHAOS_RETURN_IF_ERROR(nodes.ConnectAll());
  std::fprintf(log, "bench: setting up %s on %zu nodes\n", adapter->name().c_str(),
               inventory.nodes.size());
  CHAOS_RETURN_IF_ERROR(control::FirstError(control::OnAllNodes(
      inventory, [&](const control::NodeInfo& n) { return adapter->Setup(n); })));
  CHAOS_RETURN_IF_ERROR(control::FirstError(control::OnAllNodes(
      inventory, [&](const control::NodeInfo& n) { return adapter->Start(n); })));
  std::vector<BenchRow> rows;
  Status status = WaitForWrites(adapter.get(), inventory);
  int64_t process_base = 0;
  for (const auto& op : options.ops) {
    for (int concurrency : options.concurrency) {
      if (!status.ok()) break;
      Cell cell(adapter.get(), inventory, op, concurrency, process_base);
      process_base += 1'000'000;
      BenchRow row = cell.Run(options.warmup_s, options.seconds);
      row.adapter = adapter->name();
      std::fprintf(log, "bench: %-8s %-4s c=%-3d %9.0f ops/s  p50 %7.2f ms  p99 %7.2f ms%s%s\n",
                   row.adapter.c_str(), op.c_str(), concurrency, row.ops_per_s, row.p50_ms,
                   row.p99_ms,
                   cell.last_error().empty() ? "" : "  last error: ", cell.last_error().c_str());
      std::fflush(log);
      rows.push_back(row);
    }
  }
  Status down = control::FirstError(control::OnAllNodes(
      inventory, [&](const control::NodeInfo& n) { return adapter->Teardown(n); }));
  CHAOS_RETURN_IF_ERROR(status);
  CHAOS_RETURN_IF_ERROR(down);
  return rows;
}

}  // namespace

Status ValidateBench(const BenchOptions& options) {
  if (options.adapters.empty()) return InvalidArgument("bench: no adapter given");
  if (options.concurrency.empty()) return InvalidArgument("bench: no concurrency given");
  for (int c : options.concurrency) {
    if (c < 1 || c > 1024) {
      return InvalidArgument("bench: concurrency must be 1..1024, got " + std::to_string(c));
    }
  }
  if (options.ops.empty()) return InvalidArgument("bench: no op given");
  for (const auto& op : options.ops) {
    if (op != "put" && op != "get" && op != "cas") {
      return InvalidArgument("bench: unknown op '" + op + "' (known: put, get, cas)");
    }
  }
  if (options.seconds <= 0 || options.seconds > 3600) {
    return InvalidArgument("bench: --time must be more than 0 and at most 1 h");
  }
  return Status::Ok();
}

Result<std::vector<BenchRow>> RunBench(const BenchOptions& options,
                                       const control::Inventory& inventory, std::FILE* log) {
  CHAOS_RETURN_IF_ERROR(ValidateBench(options));
  if (inventory.nodes.empty()) return InvalidArgument("bench: no nodes");
  std::vector<BenchRow> rows;
  for (const auto& name : options.adapters) {
    CHAOS_ASSIGN_OR_RETURN(auto some, BenchAdapter(name, options, inventory, log));
    rows.insert(rows.end(), some.begin(), some.end());
  }
  return rows;
}

std::string BenchTable(const std::vector<BenchRow>& rows) {
  std::string out =
      "| adapter | op | concurrency | ops/s | p50 ms | p99 ms | ok | fail | info |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  char line[256];
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "| %s | %s | %d | %.0f | %.2f | %.2f | %lld | %lld | %lld |\n",
                  r.adapter.c_str(), r.op.c_str(), r.concurrency, r.ops_per_s, r.p50_ms, r.p99_ms,
                  static_cast<long long>(r.ok), static_cast<long long>(r.fail),
                  static_cast<long long>(r.info));
    out += line;
  }
  return out;
}

Json BenchJson(const BenchOptions& options, const std::vector<BenchRow>& rows) {
  Json out = {{"adapters", options.adapters},
              {"concurrency", options.concurrency},
              {"ops", options.ops},
              {"seconds", options.seconds},
              {"warmup_s", options.warmup_s},
              {"op_timeout_ms", options.op_timeout_ms},
              {"adapter_options", options.adapter_options},
              {"read_mode", options.read_mode},
              {"rows", Json::array()}};
  for (const auto& r : rows) {
    out["rows"].push_back({{"adapter", r.adapter},
                           {"op", r.op},
                           {"concurrency", r.concurrency},
                           {"ops_per_s", r.ops_per_s},
                           {"p50_ms", r.p50_ms},
                           {"p99_ms", r.p99_ms},
                           {"ok", r.ok},
                           {"fail", r.fail},
                           {"info", r.info}});
  }
  return out;
}

}  // namespace chaos::harness
