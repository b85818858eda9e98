// bench/checker: how fast the linearizability checker is on generated keyed
// cas-register histories (a benchmark, not a test).
//
// Each key's history is a real sequential execution stretched into
// overlapping intervals by 5-10 processes per key, with about 1% of ops
// (--info-percent) crashing (info: they took effect or not; the process is
// replaced), so the verdict must be valid. Prints ops checked per second and
// peak memory. --every-order turns off the search's pending-call rules
// (checker/search.h) to measure what they save.
//
// Usage: checker_bench [history-ops ...]   (default: 10000 100000 1000000)
//        options: --ops-per-key N (default 1000) --seed S --threads T
//                 --info-percent P (default 1) --every-order --time-limit S
//        checker_bench --history history.jsonl [--threads T] [--time-limit S]
//                 (a recorded keyed register history, rules on and off)
//        checker_bench --write FILE [history-ops] [--ops-per-key N] [--groups G]
//                 (writes a keyed history as JSONL, G keys at a time, each
//                 group moving to a fresh key as `chaos run` does: the input
//                 of `chaos check --keyed`'s streaming check)
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "history/codec.h"

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

// Appends the invocations and completions of `n` calls on `key`, the first
// taking effect at `offset`, by 5-10 processes (new ones from *next_process).
void AppendKey(int64_t key, int64_t n, int64_t offset, std::mt19937_64& rng, int info_percent,
               int64_t* next_process, std::vector<Timed>* events) {
  const int c = 5 + static_cast<int>(rng() % 6);  // concurrent processes on this key
  std::vector<int64_t> process(static_cast<size_t>(c)), busy(static_cast<size_t>(c), -1);
  for (auto& p : process) p = (*next_process)++;
  Json reg = nullptr;
  for (int64_t i = 0; i < n; ++i) {
    const size_t slot = static_cast<size_t>(i % c);
    const int64_t at = offset + 10 * i;  // the instant the op takes effect
    int64_t invoke = at - static_cast<int64_t>(rng() % static_cast<uint64_t>(10 * c));
    invoke = std::max(invoke, busy[slot] + 1);
    const int64_t complete = at + static_cast<int64_t>(rng() % static_cast<uint64_t>(10 * c));
    busy[slot] = complete;
    const bool crashed = static_cast<int>(rng() % 100) < info_percent;
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
    events->push_back({invoke, MakeOp(p, OpType::kInvoke, f, Json::array({key, in}), invoke)});
    events->push_back(
        {complete,
         MakeOp(p, type, f, Json::array({key, type == OpType::kOk ? out : in}), complete)});
    if (crashed) process[slot] = (*next_process)++;
  }
}

void SortByTime(std::vector<Timed>& events) {
  std::stable_sort(events.begin(), events.end(),
                   [](const Timed& a, const Timed& b) { return a.time < b.time; });
}

// About `history_ops` history entries (invocations and completions); every
// key runs over the whole history.
History Generate(int64_t history_ops, int64_t ops_per_key, uint64_t seed, int info_percent) {
  std::mt19937_64 rng(seed);
  const int64_t calls = history_ops / 2;
  const int64_t keys = std::max<int64_t>(1, calls / ops_per_key);
  std::vector<Timed> events;
  events.reserve(static_cast<size_t>(2 * calls));
  int64_t next_process = 0;
  for (int64_t key = 0; key < keys; ++key) {
    const int64_t n = calls / keys + (key < calls % keys ? 1 : 0);
    const int64_t offset = static_cast<int64_t>(rng() % 1000);
    AppendKey(key, n, offset, rng, info_percent, &next_process, &events);
  }
  SortByTime(events);
  History h;
  h.reserve(events.size());
  for (Timed& e : events) {
    e.op.index = static_cast<int64_t>(h.size());
    h.push_back(std::move(e.op));
  }
  return h;
}

// Writes about `history_ops` entries as JSONL, keys in turn as `chaos run`'s
// workload hands them out: `groups` keys at a time, each group moving to a
// fresh key after `ops_per_key` calls. Generated a window of keys at a time,
// so the history is never held whole.
int WriteSequential(const std::string& path, int64_t history_ops, int64_t ops_per_key,
                    uint64_t seed, int info_percent, int64_t groups) {
  std::FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) {
    std::fprintf(stderr, "checker_bench: cannot write %s\n", path.c_str());
    return 2;
  }
  std::mt19937_64 rng(seed);
  const int64_t keys = std::max<int64_t>(1, history_ops / 2 / ops_per_key);
  int64_t next_process = 0, index = 0;
  for (int64_t first = 0; first < keys; first += groups) {
    std::vector<Timed> events;
    const int64_t window = (first / groups) * (10 * ops_per_key + 2000);
    for (int64_t key = first; key < std::min(keys, first + groups); ++key) {
      const int64_t offset = window + static_cast<int64_t>(rng() % 1000);
      AppendKey(key, ops_per_key, offset, rng, info_percent, &next_process, &events);
    }
    SortByTime(events);
    for (Timed& e : events) {
      e.op.index = index++;
      std::fprintf(out, "%s\n", chaos::history::OpToJsonLine(e.op).c_str());
    }
  }
  const bool ok = std::fclose(out) == 0;
  std::printf("wrote %lld entries, %lld keys to %s\n", static_cast<long long>(index),
              static_cast<long long>(keys), path.c_str());
  return ok ? 0 : 2;
}

double PeakRssMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// A recorded history (`chaos run`'s history.jsonl: keyed cas-register, nil
// reads as values): checked with the pending-call rules and without them, in
// one run, one row each.
int CheckRecorded(const std::string& path, int threads, double time_limit_s) {
  auto h = chaos::history::ReadHistory(path);
  if (!h.ok()) {
    std::fprintf(stderr, "checker_bench: %s\n", h.status().ToString().c_str());
    return 2;
  }
  std::printf("| pending-call rules | verdict | check s | states | keys not valid | cause |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (bool rules : {true, false}) {
    chaos::checker::LinearizableOptions o;
    o.keyed = true;
    o.threads = threads;
    o.nil_read = chaos::checker::NilRead::kValue;
    o.time_limit_s = time_limit_s;
    o.memory_limit_bytes = 4LL << 30;
    o.canonical_pending = rules;
    auto start = std::chrono::steady_clock::now();
    chaos::checker::CheckResult r = chaos::checker::CheckLinearizable(*h, o);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    int not_valid = 0;
    for (const auto& [key, k] : r.per_key.items()) not_valid += k["valid"] == true ? 0 : 1;
    std::printf("| %s | %s | %.3f | %lld | %d | %s |\n", rules ? "on" : "off",
                chaos::checker::VerdictName(r.verdict), s, static_cast<long long>(r.stats.states),
                not_valid, r.cause.c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> sizes;
  int64_t ops_per_key = 1000;
  uint64_t seed = 1;
  int threads = 0;
  int info_percent = 1;
  bool canonical_pending = true;
  std::string recorded;
  std::string write_path;
  int64_t groups = 4;
  double time_limit_s = 300;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--ops-per-key" && i + 1 < argc) {
      ops_per_key = std::atoll(argv[++i]);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--info-percent" && i + 1 < argc) {
      info_percent = std::atoi(argv[++i]);
    } else if (a == "--every-order") {
      canonical_pending = false;
    } else if (a == "--history" && i + 1 < argc) {
      recorded = argv[++i];
    } else if (a == "--write" && i + 1 < argc) {
      write_path = argv[++i];
    } else if (a == "--groups" && i + 1 < argc) {
      groups = std::max<int64_t>(1, std::atoll(argv[++i]));
    } else if (a == "--time-limit" && i + 1 < argc) {
      time_limit_s = std::atof(argv[++i]);
    } else {
      sizes.push_back(std::atoll(a.c_str()));
    }
  }
  if (!recorded.empty()) return CheckRecorded(recorded, threads, time_limit_s);
  if (!write_path.empty()) {
    return WriteSequential(write_path, sizes.empty() ? 10000000 : sizes[0], ops_per_key, seed,
                           info_percent, groups);
  }
  if (sizes.empty()) sizes = {10000, 100000, 1000000};
  std::printf(
      "| history ops | keys | calls/key | verdict | check s | ops/s | states | states/s | cache "
      "B/state | peak RSS MiB |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (int64_t size : sizes) {
    History h = Generate(size, ops_per_key, seed, info_percent);
    chaos::checker::LinearizableOptions o;
    o.keyed = true;
    o.threads = threads;
    o.time_limit_s = time_limit_s;
    o.memory_limit_bytes = 2LL << 30;
    o.canonical_pending = canonical_pending;
    auto start = std::chrono::steady_clock::now();
    chaos::checker::CheckResult r = chaos::checker::CheckLinearizable(h, o);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // The peak cache of the largest search over all states: what one state
    // costs (exact with one key).
    const double bytes_per_state =
        r.stats.states > 0 ? static_cast<double>(r.stats.cache_bytes) /
                                 static_cast<double>(std::max<int64_t>(1, r.stats.states))
                           : 0;
    std::printf("| %lld | %zu | %lld | %s | %.3f | %.0f | %lld | %.0f | %.0f | %.0f |\n",
                static_cast<long long>(h.size()), r.per_key.size(),
                static_cast<long long>(ops_per_key), chaos::checker::VerdictName(r.verdict), s,
                static_cast<double>(h.size()) / s, static_cast<long long>(r.stats.states),
                static_cast<double>(r.stats.states) / s, bytes_per_state, PeakRssMiB());
    if (r.verdict != chaos::checker::Verdict::kValid) {
      std::fprintf(stderr, "unexpected verdict: %s\n", r.Explain().c_str());
      return 1;
    }
    std::fflush(stdout);
  }
  return 0;
}
