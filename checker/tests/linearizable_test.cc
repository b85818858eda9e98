// Proves: histories stretched from a real sequential execution are valid; one
// read changed to a value never written makes them invalid, with a shrunk
// counterexample that still fails and has no removable op; hostile input ends
// unknown within its budgets; the semantic options change verdicts as stated;
// a small history is searched without starting threads, a large one with them.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "checker/checker.h"
#include "checker/tests/test_util.h"

namespace chaos::checker {
namespace {

using history::History;
using history::OpType;
using Json = nlohmann::json;
using testing::Add;

struct Event {
  int64_t time;
  history::Op op;
};

// A cas-register execution of `n` ops applied one at a time at instants
// 10*i, each recorded over an interval stretched around its instant, by
// processes that never overlap themselves. Crashed ops become info (they took
// effect or not); failed cases are recorded as fail.
History Stretched(std::mt19937_64& rng, int n, int keys, bool keyed) {
  std::vector<Json> reg(static_cast<size_t>(keys), nullptr);
  std::vector<Event> events;
  std::vector<int64_t> busy_until;  // per process
  std::vector<int64_t> process_id;
  int64_t next_process = 0;
  for (int i = 0; i < n; ++i) {
    const int64_t at = 10 * static_cast<int64_t>(i);
    const int64_t invoke = at - static_cast<int64_t>(rng() % 40);
    const int64_t complete = at + static_cast<int64_t>(rng() % 40);
    size_t slot = busy_until.size();
    for (size_t p = 0; p < busy_until.size(); ++p) {
      if (busy_until[p] < invoke) {
        slot = p;
        break;
      }
    }
    if (slot == busy_until.size()) {
      busy_until.push_back(0);
      process_id.push_back(next_process++);
    }
    busy_until[slot] = complete;
    const int key = static_cast<int>(rng() % static_cast<uint64_t>(keys));
    Json& r = reg[static_cast<size_t>(key)];
    int kind = static_cast<int>(rng() % 3);
    std::string f;
    Json in, out;
    OpType type = OpType::kOk;
    bool crashed = rng() % 20 == 0;
    bool applies = !crashed || rng() % 2 == 0;
    if (kind == 0) {
      f = "read";
      out = r;
      if (crashed) applies = false;
    } else if (kind == 1) {
      f = "write";
      in = out = static_cast<int>(rng() % 5);
      if (applies) r = in;
    } else {
      f = "cas";
      in = out = Json::array({static_cast<int>(rng() % 5), static_cast<int>(rng() % 5)});
      if (r != in[0]) {
        type = OpType::kFail;
      } else if (applies) {
        r = in[1];
      }
    }
    if (crashed) type = OpType::kInfo;
    auto wrap = [&](const Json& v) { return keyed ? Json::array({key, v}) : v; };
    int64_t p = process_id[slot];
    events.push_back({invoke, testing::MakeOp(p, OpType::kInvoke, f, wrap(in))});
    events.push_back({complete, testing::MakeOp(p, type, f, wrap(type == OpType::kOk ? out : in))});
    if (crashed) process_id[slot] = next_process++;
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.time < b.time; });
  History h;
  for (Event& e : events) {
    e.op.index = static_cast<int64_t>(h.size());
    e.op.time_ns = e.time;
    h.push_back(std::move(e.op));
  }
  return h;
}

History FromJsonOps(const Json& ops) {
  History h;
  for (const Json& j : ops) {
    history::Op op = testing::MakeOp(j["process"].get<int64_t>(),
                                     *history::ParseOpType(j["type"].get<std::string>()),
                                     j["f"].get<std::string>(), j["value"]);
    op.index = j["index"].get<int64_t>();
    h.push_back(std::move(op));
  }
  return h;
}

TEST(Stretched, ValidByConstructionAndInvalidWhenOneReadIsCorrupted) {
  const uint64_t seed = 7;
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 60; ++round) {
    const bool keyed = round % 2 == 1;
    History h = Stretched(rng, 20 + static_cast<int>(rng() % 200), keyed ? 3 : 1, keyed);
    LinearizableOptions o;
    o.keyed = keyed;
    o.threads = 2;
    CheckResult r = CheckLinearizable(h, o);
    ASSERT_EQ(r.verdict, Verdict::kValid) << "seed " << seed << " round " << round << "\n"
                                          << r.Explain();
    std::vector<size_t> reads;
    for (size_t i = 0; i < h.size(); ++i) {
      if (h[i].is_ok() && h[i].f == "read") reads.push_back(i);
    }
    if (reads.empty()) continue;
    history::Op& bad = h[reads[rng() % reads.size()]];
    bad.value = keyed ? Json::array({bad.value[0], 999}) : Json(999);
    r = CheckLinearizable(h, o);
    ASSERT_EQ(r.verdict, Verdict::kInvalid) << "round " << round;
    const Json& cx = r.counterexample;
    ASSERT_TRUE(cx["shrunk_minimal"].get<bool>());
    // The shrunk history still fails...
    History shrunk = FromJsonOps(cx["shrunk"]);
    if (keyed) o.keyed = true;
    ASSERT_EQ(CheckLinearizable(shrunk, o).verdict, Verdict::kInvalid) << r.Explain();
    // ... and no op (invocation with its completion) can be removed.
    for (size_t i = 0; i < shrunk.size(); ++i) {
      if (!shrunk[i].is_invoke()) continue;
      History less;
      bool dropped_completion = false;
      for (size_t j = 0; j < shrunk.size(); ++j) {
        if (j == i) continue;
        if (j > i && !dropped_completion && shrunk[j].process == shrunk[i].process) {
          dropped_completion = true;
          continue;
        }
        less.push_back(shrunk[j]);
      }
      EXPECT_EQ(CheckLinearizable(less, o).verdict, Verdict::kValid)
          << "op " << shrunk[i].index << " could be removed\n"
          << r.Explain();
    }
  }
}

// A concurrent info write of 0 and `n` concurrent info cas ops, every pair
// (a -> b) of values 0..99 at most once, then a read of a value never
// written: proving it invalid needs every walk through those cas ops, so the
// budget must stop it. (Info writes alone are no longer hostile: a pending
// write overwritten unread is never tried.)
// With `values` v and n = v * v, the cas ops are every pair of v values.
History Hostile(int n, const Json& key = "k", int values = 100) {
  History h;
  Add(h, n, OpType::kInvoke, "write", Json::array({key, 0}));
  for (int i = 0; i < n; ++i) {
    Add(h, i, OpType::kInvoke, "cas", Json::array({key, Json::array({i / values, i % values})}));
  }
  Add(h, n + 1, OpType::kInvoke, "read", Json::array({key, nullptr}));
  Add(h, n + 1, OpType::kOk, "read", Json::array({key, -1}));
  Add(h, n, OpType::kInfo, "write", Json::array({key, 0}));
  for (int i = 0; i < n; ++i) {
    Add(h, i, OpType::kInfo, "cas", Json::array({key, Json::array({i / values, i % values})}));
  }
  return h;
}

// Info writes of distinct values then a read of a value never written: once
// a search over every subset of them, now settled at once (invalid), since a
// write overwritten before anyone read it is never tried.
TEST(Hostile, ThreeThousandConcurrentInfoWritesAreSettled) {
  History h;
  for (int i = 0; i < 3000; ++i) Add(h, i, OpType::kInvoke, "write", Json::array({"k", i}));
  Add(h, 3000, OpType::kInvoke, "read", Json::array({"k", nullptr}));
  Add(h, 3000, OpType::kOk, "read", Json::array({"k", -1}));
  for (int i = 0; i < 3000; ++i) Add(h, i, OpType::kInfo, "write", Json::array({"k", i}));
  LinearizableOptions o;
  o.keyed = true;
  o.time_limit_s = 60;
  o.memory_limit_bytes = 1LL << 30;
  CheckResult r = CheckLinearizable(h, o);
  EXPECT_EQ(r.verdict, Verdict::kInvalid) << r.cause;
  EXPECT_LE(r.stats.states, 6000);
}

// One key through an outage, as a default-schedule run recorded it (every
// node crashed, a 300 ms op timeout): `n` reads, writes and cas of values
// 0..5, each invoked 15 ms after the last and timed out (info) 300 ms later,
// twenty at a time, then six final reads that see nil (none took effect).
// The reads are linearized first; trying the pending writes and cas first
// explored half a million configurations in 5 s without an answer.
History Outage(std::mt19937_64& rng, int n) {
  struct Timed {
    int64_t at;
    int process;
    OpType type;
    std::string f;
    Json value;
  };
  std::vector<Timed> ops;
  for (int i = 0; i < n; ++i) {
    int kind = static_cast<int>(rng() % 4);
    std::string f = kind == 0 ? "read" : kind == 1 ? "write" : "cas";
    Json v = f == "read" ? Json(nullptr)
             : f == "write"
                 ? Json(static_cast<int>(rng() % 6))
                 : Json::array({static_cast<int>(rng() % 6), static_cast<int>(rng() % 6)});
    ops.push_back({15 * i, i, OpType::kInvoke, f, v});
    ops.push_back({15 * i + 300, i, OpType::kInfo, f, v});
  }
  std::stable_sort(ops.begin(), ops.end(),
                   [](const Timed& a, const Timed& b) { return a.at < b.at; });
  History h;
  for (const Timed& t : ops) Add(h, t.process, t.type, t.f, Json::array({"k", t.value}));
  for (int j = 0; j < 6; ++j)
    Add(h, 1000 + j, OpType::kInvoke, "read", Json::array({"k", nullptr}));
  for (int j = 0; j < 6; ++j) Add(h, 1000 + j, OpType::kOk, "read", Json::array({"k", nullptr}));
  return h;
}

TEST(Hostile, ReadsOfNilAfterAnOutageOfTimedOutWritesAreSettledAtOnce) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    std::mt19937_64 rng(seed);
    History h = Outage(rng, 90);
    LinearizableOptions o;
    o.keyed = true;
    o.nil_read = NilRead::kValue;
    o.threads = 1;
    o.time_limit_s = 30;
    CheckResult r = CheckLinearizable(h, o);
    EXPECT_EQ(r.verdict, Verdict::kValid) << "seed " << seed << ": " << r.cause;
    EXPECT_LE(r.stats.states, 100) << "seed " << seed;
  }
}

TEST(Hostile, TenThousandConcurrentInfoOpsEndUnknownWithinTimeLimit) {
  History h = Hostile(10000);
  LinearizableOptions o;
  o.keyed = true;
  o.time_limit_s = 2;
  o.memory_limit_bytes = 1LL << 30;
  auto start = std::chrono::steady_clock::now();
  CheckResult r = CheckLinearizable(h, o);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.verdict, Verdict::kUnknown) << r.cause;
  // It stops at its limit; the margin is wide because under sanitizers on a
  // loaded machine freeing the cache alone has taken over a second.
  EXPECT_LT(s, 2 + 10.0);
  EXPECT_NE(r.cause.find("limit"), std::string::npos) << r.cause;
  EXPECT_LE(r.stats.cache_bytes, o.memory_limit_bytes);
}

TEST(Hostile, TenThousandConcurrentInfoOpsEndUnknownWithinMemoryLimit) {
  History h = Hostile(10000);
  LinearizableOptions o;
  o.keyed = true;
  o.time_limit_s = 60;
  o.memory_limit_bytes = 64LL << 20;
  CheckResult r = CheckLinearizable(h, o);
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.cause.find("memory-limit"), std::string::npos) << r.cause;
  EXPECT_LE(r.stats.cache_bytes, o.memory_limit_bytes);
  EXPECT_EQ(r.ToJson()["valid"], "unknown");
}

// The cause of an unknown names the key whose search spent the budget, not
// a key that came after it and found none left.
TEST(Hostile, UnknownCauseNamesTheKeyThatSpentTheBudget) {
  History h;
  for (int p = 5000; p < 5010; ++p) {  // ten small keys, before "k" in the history
    std::string key = "a" + std::to_string(p);
    Add(h, p, OpType::kInvoke, "write", Json::array({key, 1}));
    Add(h, p, OpType::kInfo, "write", Json::array({key, 1}));
    Add(h, p + 100, OpType::kInvoke, "read", Json::array({key, nullptr}));
    Add(h, p + 100, OpType::kOk, "read", Json::array({key, 1}));
  }
  for (const history::Op& op : Hostile(2000)) Add(h, op.process.id, op.type, op.f, op.value);
  LinearizableOptions o;
  o.keyed = true;
  o.threads = 1;
  o.time_limit_s = 1;
  CheckResult r = CheckLinearizable(h, o);
  ASSERT_EQ(r.verdict, Verdict::kUnknown) << r.cause;
  EXPECT_NE(r.cause.find("of key \"k\""), std::string::npos) << r.cause;
  EXPECT_EQ(r.per_key["\"k\""]["valid"], "unknown");
}

// A small keyed history is searched on the calling thread alone: a thread
// costs more to start than its searches. Small enough to stay under the
// inline budget (2 ms of CPU) under AddressSanitizer too: 100 calls over 5
// keys took longer than that there on a 2026-12-06 machine (8 runs of 8).
TEST(Threads, SmallHistoryIsSearchedOnTheCallingThread) {
  std::mt19937_64 rng(3);
  History h = Stretched(rng, 20, 2, true);
  LinearizableOptions o;
  o.keyed = true;
  o.threads = 4;
  CheckResult r = CheckLinearizable(h, o);
  EXPECT_EQ(r.verdict, Verdict::kValid) << r.Explain();
  EXPECT_EQ(r.per_key.size(), 2u);
  EXPECT_EQ(r.threads, 1);
}

// A large keyed history still has its keys searched on every worker asked for.
TEST(Threads, LargeHistoryUsesTheWorkers) {
  std::mt19937_64 rng(4);
  History h = Stretched(rng, 3000, 4, true);
  LinearizableOptions o;
  o.keyed = true;
  o.threads = 2;
  CheckResult r = CheckLinearizable(h, o);
  EXPECT_EQ(r.verdict, Verdict::kValid) << r.Explain();
  EXPECT_EQ(r.threads, 2);
}

// A small history whose first key outlasts the time a thread costs starts the
// workers for the keys left: small in ops is not always cheap to search.
TEST(Threads, SmallHistoryWithACostlyKeyStartsTheWorkers) {
  History h;
  for (int key = 0; key < 2; ++key) {
    for (const history::Op& op : Hostile(225, key, 15)) {
      Add(h, op.process.id + 1000 * key, op.type, op.f, op.value);
    }
  }
  LinearizableOptions o;
  o.keyed = true;
  o.threads = 2;
  o.time_limit_s = 0.3;
  CheckResult r = CheckLinearizable(h, o);
  EXPECT_EQ(r.verdict, Verdict::kUnknown) << r.cause;
  EXPECT_EQ(r.threads, 2);
}

History Simple(std::initializer_list<std::tuple<int, OpType, const char*, Json>> ops) {
  History h;
  for (const auto& [p, t, f, v] : ops) Add(h, p, t, f, v);
  return h;
}

TEST(Options, NilReadInitialAndFailedCasChangeVerdictsAsDocumented) {
  const auto kI = OpType::kInvoke;
  const auto kO = OpType::kOk;
  const auto kF = OpType::kFail;
  History nil_read = Simple({{0, kI, "write", 1},
                             {0, kO, "write", 1},
                             {1, kI, "read", nullptr},
                             {1, kO, "read", nullptr}});
  LinearizableOptions o;
  EXPECT_EQ(CheckLinearizable(nil_read, o).verdict, Verdict::kValid);
  o.nil_read = NilRead::kValue;
  EXPECT_EQ(CheckLinearizable(nil_read, o).verdict, Verdict::kInvalid);

  History read_initial = Simple({{1, kI, "read", nullptr}, {1, kO, "read", 5}});
  o = LinearizableOptions();
  EXPECT_EQ(CheckLinearizable(read_initial, o).verdict, Verdict::kInvalid);
  o.initial = 5;
  EXPECT_EQ(CheckLinearizable(read_initial, o).verdict, Verdict::kValid);

  // A cas from 0 failed although the register held 0.
  History failed_cas = Simple(
      {{0, kI, "write", 0}, {0, kO, "write", 0}, {1, kI, "cas", {0, 1}}, {1, kF, "cas", {0, 1}}});
  o = LinearizableOptions();
  EXPECT_EQ(CheckLinearizable(failed_cas, o).verdict, Verdict::kValid);
  o.failed_cas = FailedCas::kMismatch;
  EXPECT_EQ(CheckLinearizable(failed_cas, o).verdict, Verdict::kInvalid);
}

TEST(Input, MalformedHistoriesAreUnknownWithACauseNeverACrash) {
  const auto kI = OpType::kInvoke;
  const auto kO = OpType::kOk;
  LinearizableOptions o;
  CheckResult r = CheckLinearizable(Simple({{0, kO, "read", 1}}), o);
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.cause.find("without an invocation"), std::string::npos) << r.cause;
  r = CheckLinearizable(Simple({{0, kI, "cas", 1}, {0, kO, "cas", 1}}), o);
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.cause.find("[from to]"), std::string::npos) << r.cause;
  o.keyed = true;
  r = CheckLinearizable(Simple({{0, kI, "read", 1}, {0, kO, "read", 1}}), o);
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  o.keyed = false;
  o.model = "no-such-model";
  EXPECT_FALSE(ValidateLinearizableOptions(o).ok());
  EXPECT_EQ(CheckLinearizable(History(), o).verdict, Verdict::kUnknown);
}

TEST(Verdicts, MergeIsWorstFirst) {
  EXPECT_EQ(Merge(Verdict::kValid, Verdict::kUnknown), Verdict::kUnknown);
  EXPECT_EQ(Merge(Verdict::kUnknown, Verdict::kInvalid), Verdict::kInvalid);
  EXPECT_EQ(Merge(Verdict::kValid, Verdict::kValid), Verdict::kValid);
  EXPECT_STREQ(VerdictName(Verdict::kInvalid), "invalid");
}

}  // namespace
}  // namespace chaos::checker
