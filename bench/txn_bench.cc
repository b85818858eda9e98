// txn_bench: how fast the transactional checker checks a large list-append
// history, and how much memory it takes.
//
//   txn_bench --txns 1000000 [--concurrency 10] [--seed 1] [--out FILE.jsonl|.edn]
//             [--bug stale]
//   txn_bench --check FILE
//
// The first writes a history a strict-serializable store produced (each txn applied
// atomically at a moment between its invocation and its completion; txns of
// 1-4 micro-ops over 10 active keys, at most 32 appends per key, then the key
// rotates: the list-append workload's defaults). The second, in a process of
// its own, checks that file streaming, as `chaos check --model list-append`
// does, and prints the verdict, wall time and the process's peak resident
// memory. `--bug stale`
// makes one read in 10,000 see a one-element-shorter list, so the checker
// has anomalies to find and explain.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "checker/txn/txn.h"
#include "history/codec.h"

namespace {

using chaos::history::Json;
using chaos::history::Op;
using chaos::history::OpType;

struct Open {
  int64_t process;
  Json mops;
};

int Check(const std::string& path) {
  auto t0 = std::chrono::steady_clock::now();
  auto reader = chaos::history::OpenHistory(path);
  if (!reader.ok()) {
    std::fprintf(stderr, "txn_bench: %s\n", reader.status().message().c_str());
    return 3;
  }
  chaos::checker::txn::TxnOptions o;
  o.consistency = chaos::checker::txn::Consistency::kStrictSerializable;
  o.workload = chaos::checker::txn::Workload::kListAppend;
  chaos::checker::txn::TxnResult r = chaos::checker::txn::CheckTxnStream(**reader, o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf(
      "%s: %lld txns, %lld edges, strict-serializable %s, %zu anomaly types, "
      "read and checked in %.1f s, peak RSS %.0f MB\n",
      path.c_str(), static_cast<long long>(r.stats.txns), static_cast<long long>(r.stats.edges),
      chaos::checker::VerdictName(r.verdict), r.anomaly_types.size(), s,
      static_cast<double>(usage.ru_maxrss) / 1024);
  for (const std::string& t : r.anomaly_types) {
    std::printf("  %s: %lld\n", t.c_str(),
                static_cast<long long>(r.anomalies.value(t + "-count", int64_t{0})));
  }
  if (r.input_error) std::printf("input error: %s\n", r.cause.c_str());
  return r.input_error ? 3 : 0;
}

int Main(int argc, char** argv) {
  int64_t txns = 1'000'000;
  int concurrency = 10;
  uint64_t seed = 1;
  std::string out = "txn_bench_history.jsonl";
  bool stale = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--check") return Check(argv[i + 1]);
    if (flag == "--txns")
      txns = std::stoll(argv[i + 1]);
    else if (flag == "--concurrency")
      concurrency = std::stoi(argv[i + 1]);
    else if (flag == "--seed")
      seed = std::stoull(argv[i + 1]);
    else if (flag == "--out")
      out = argv[i + 1];
    else if (flag == "--bug")
      stale = std::string(argv[i + 1]) == "stale";
    else {
      std::fprintf(stderr, "txn_bench: unknown flag %s\n", flag.c_str());
      return 3;
    }
  }
  const bool edn = out.size() > 4 && out.substr(out.size() - 4) == ".edn";
  std::FILE* file = std::fopen(out.c_str(), "w");
  if (file == nullptr) {
    std::fprintf(stderr, "txn_bench: cannot write %s\n", out.c_str());
    return 3;
  }
  std::mt19937_64 rng(seed);
  std::map<int64_t, std::vector<int64_t>> lists;
  std::vector<int64_t> active;
  std::map<int64_t, int64_t> writes;
  int64_t next_key = 0, index = 0;
  std::vector<Open> open;
  auto emit = [&](int64_t process, OpType type, Json value) {
    Op op;
    op.index = index;
    op.time_ns = index * 1000;
    ++index;
    op.process = chaos::history::Process::Number(process);
    op.type = type;
    op.f = "txn";
    op.value = std::move(value);
    const std::string line = edn ? chaos::history::OpToEdn(op) : chaos::history::OpToJsonLine(op);
    std::fputs(line.c_str(), file);
    std::fputc('\n', file);
  };
  auto make = [&]() {
    Json mops = Json::array();
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < n; ++i) {
      while (active.size() < 10) active.push_back(next_key++);
      const size_t slot = rng() % active.size();
      const int64_t key = active[slot];
      if (rng() % 2 == 0) {
        mops.push_back({":r", key, nullptr});
        continue;
      }
      mops.push_back({":append", key, ++writes[key]});
      if (writes[key] >= 32) active.erase(active.begin() + static_cast<std::ptrdiff_t>(slot));
    }
    return mops;
  };
  int64_t started = 0;
  auto start_one = [&](int64_t process) {
    Json mops = make();
    emit(process, OpType::kInvoke, mops);
    open.push_back({process, std::move(mops)});
    ++started;
  };
  for (int p = 0; p < concurrency && started < txns; ++p) start_one(p);
  while (!open.empty()) {
    const size_t pick = rng() % open.size();
    Open t = std::move(open[pick]);
    open.erase(open.begin() + static_cast<std::ptrdiff_t>(pick));
    for (Json& m : t.mops) {  // applied atomically now
      const int64_t key = m[1].get<int64_t>();
      if (m[0] == ":append") {
        lists[key].push_back(m[2].get<int64_t>());
      } else {
        std::vector<int64_t> seen = lists[key];
        if (stale && !seen.empty() && rng() % 10'000 == 0) seen.pop_back();
        m[2] = seen;
      }
    }
    emit(t.process, OpType::kOk, t.mops);
    if (started < txns) start_one(t.process);
  }
  if (std::fclose(file) != 0) return 3;
  std::printf("wrote %s: %lld txns\n", out.c_str(), static_cast<long long>(started));
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
