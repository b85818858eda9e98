// bench/checker: how fast the linearizability checker is on generated keyed
// cas-register histories (a benchmark, not a test).
//
// Each key's history is a real sequential execution stretched into
// overlapping intervals by 5-10 processes per key, with about 1% of ops
// crashing (info: they took effect or not; the process is replaced), so the
// verdict must be valid. Prints ops checked per second and peak memory.
//
// Usage: checker_bench [history-ops ...]   (default: 10000 100000 1000000)
//        options: --ops-per-key N (default 1000) --seed S --threads T
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "checker/checker.h"

namespace {

using chaos::history::History;
using chaos::history::Op;
using chaos::history::OpType;
using Json = nlohmann::json;

struct Timed {
  int64_t time;
  Op op;
};

Op MakeOp(int64_t process, OpType type, const char* f, Json value, int64_t time) {
  Op op;
  op.process = chaos::history::Process::Number(process);
  op.type = type;
  op.f = f;
  op.value = std::move(value);
  op.time_ns = time;
  return op;
}

// About `history_ops` history entries (invocations and completions).
History Generate(int64_t history_ops, int64_t ops_per_key, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int64_t calls = history_ops / 2;
  const int64_t keys = std::max<int64_t>(1, calls / ops_per_key);
  std::vector<Timed> events;
  events.reserve(static_cast<size_t>(2 * calls));
  int64_t next_process = 0;
  for (int64_t key = 0; key < keys; ++key) {
    const int64_t n = calls / keys + (key < calls % keys ? 1 : 0);
    const int c = 5 + static_cast<int>(rng() % 6);  // concurrent processes on this key
    std::vector<int64_t> process(static_cast<size_t>(c)), busy(static_cast<size_t>(c), -1);
    for (auto& p : process) p = next_process++;
    Json reg = nullptr;
    const int64_t offset = static_cast<int64_t>(rng() % 1000);
    for (int64_t i = 0; i < n; ++i) {
      const size_t slot = static_cast<size_t>(i % c);
      const int64_t at = offset + 10 * i;  // the instant the op takes effect
      int64_t invoke = at - static_cast<int64_t>(rng() % static_cast<uint64_t>(10 * c));
      invoke = std::max(invoke, busy[slot] + 1);
      const int64_t complete = at + static_cast<int64_t>(rng() % static_cast<uint64_t>(10 * c));
      busy[slot] = complete;
      const bool crashed = rng() % 100 == 0;
      const bool applies = !crashed || rng() % 2 == 0;
      const int kind = static_cast<int>(rng() % 3);
      const char* f;
      Json in, out;
      OpType type = OpType::kOk;
      if (kind == 0) {
        f = "read";
        out = reg;
      } else if (kind == 1) {
        f = "write";
        in = out = static_cast<int>(rng() % 5);
        if (applies) reg = in;
      } else {
        f = "cas";
        in = out = Json::array({static_cast<int>(rng() % 5), static_cast<int>(rng() % 5)});
        if (reg != in[0]) {
          type = OpType::kFail;
        } else if (applies) {
          reg = in[1];
        }
      }
      if (crashed) type = OpType::kInfo;
      const int64_t p = process[slot];
      events.push_back({invoke, MakeOp(p, OpType::kInvoke, f, Json::array({key, in}), invoke)});
      events.push_back(
          {complete,
           MakeOp(p, type, f, Json::array({key, type == OpType::kOk ? out : in}), complete)});
      if (crashed) process[slot] = next_process++;
    }
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Timed& a, const Timed& b) { return a.time < b.time; });
  History h;
  h.reserve(events.size());
  for (Timed& e : events) {
    e.op.index = static_cast<int64_t>(h.size());
    h.push_back(std::move(e.op));
  }
  return h;
}

double PeakRssMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> sizes;
  int64_t ops_per_key = 1000;
  uint64_t seed = 1;
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--ops-per-key" && i + 1 < argc) {
      ops_per_key = std::atoll(argv[++i]);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else {
      sizes.push_back(std::atoll(a.c_str()));
    }
  }
  if (sizes.empty()) sizes = {10000, 100000, 1000000};
  std::printf(
      "| history ops | keys | calls/key | verdict | check s | ops/s | states | peak RSS MiB |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (int64_t size : sizes) {
    History h = Generate(size, ops_per_key, seed);
    chaos::checker::LinearizableOptions o;
    o.keyed = true;
    o.threads = threads;
    o.time_limit_s = 300;
    o.memory_limit_bytes = 2LL << 30;
    auto start = std::chrono::steady_clock::now();
    chaos::checker::CheckResult r = chaos::checker::CheckLinearizable(h, o);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("| %lld | %zu | %lld | %s | %.3f | %.0f | %lld | %.0f |\n",
                static_cast<long long>(h.size()), r.per_key.size(),
                static_cast<long long>(ops_per_key), chaos::checker::VerdictName(r.verdict), s,
                static_cast<double>(h.size()) / s, static_cast<long long>(r.stats.states),
                PeakRssMiB());
    if (r.verdict != chaos::checker::Verdict::kValid) {
      std::fprintf(stderr, "unexpected verdict: %s\n", r.Explain().c_str());
      return 1;
    }
    std::fflush(stdout);
  }
  return 0;
}
