// Tests of the register, set and counter workloads on simulated clients.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "generator/generator.h"
#include "generator/simulate.h"
#include "generator/tests/sim_util.h"

namespace chaos::generator {
namespace {

using history::Json;
using history::OpType;
using test_util::Count;
using test_util::Invocations;
using test_util::SimRun;

constexpr int64_t kS = 1'000'000'000;

Workload Make(std::string_view name, WorkloadOptions o = {}) {
  Result<Workload> w = MakeWorkload(name, o);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  return std::move(w).value();
}

// Proves unknown names and out-of-range options are InvalidArgument.
TEST(Workloads, BadInputIsInvalidArgument) {
  EXPECT_EQ(MakeWorkload("queue", {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeWorkload("register", {.concurrency = 0}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeWorkload("register", {.ops_per_key_max = 0}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeWorkload("register", {.value_max = -1}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeWorkload("set", {.rate_per_s = -1}).status().code(), StatusCode::kInvalidArgument);
}

// Proves register emits keyed read/write/cas with values in 0..value_max,
// records its keys, and its history (with failures and crashes) is well
// formed; final reads read every key until ok.
TEST(Workloads, RegisterOpsAreWellFormed) {
  Workload w = Make(
      "register",
      {.seed = 1, .concurrency = 6, .processes_per_key = 3, .ops_per_key_max = 30, .value_max = 4});
  ASSERT_TRUE(w.keyed);
  ASSERT_NE(w.keys, nullptr);
  SimOptions o{.concurrency = 6,
               .fail_rate = 0.05,
               .crash_rate = 0.05,
               .seed = 1,
               .duration_ns = kS,
               .model = "register",
               .keyed = true};
  history::History h = SimRun(*w.clients, o);
  std::set<int64_t> keys;
  for (const history::Op& op : Invocations(h)) {
    ASSERT_TRUE(op.value.is_array() && op.value.size() == 2) << history::Describe(op);
    keys.insert(op.value[0].get<int64_t>());
    const Json& v = op.value[1];
    if (op.f == "read") {
      EXPECT_TRUE(v.is_null());
    } else if (op.f == "write") {
      EXPECT_TRUE(v.is_number_integer() && v >= 0 && v <= 4) << v;
    } else {
      ASSERT_EQ(op.f, "cas");
      EXPECT_TRUE(v.is_array() && v.size() == 2 && v[0] <= 4 && v[1] <= 4) << v;
    }
  }
  EXPECT_EQ(keys, std::set<int64_t>(w.keys->begin(), w.keys->end()));
  EXPECT_GT(Count(h, OpType::kOk, "cas"), 0);  // small values: some cas succeed
  EXPECT_GT(Count(h, OpType::kFail, "cas"), 0);

  GeneratorPtr reads = w.final_reads(*w.keys);
  history::History r = SimRun(*reads, {.concurrency = 6,
                                       .fail_rate = 0.3,
                                       .seed = 2,
                                       .duration_ns = 100 * kS,
                                       .model = "register",
                                       .keyed = true});
  std::set<int64_t> read_ok;
  for (const history::Op& op : r) {
    EXPECT_EQ(op.f, "read");
    if (op.is_ok()) read_ok.insert(op.value[0].get<int64_t>());
  }
  EXPECT_EQ(read_ok, keys);
}

// Proves register with unique values (value_max empty) writes each value at
// most once per key, 1, 2, 3, ... in invocation order, and that a cas expects
// a value an earlier ok op of its key showed, so some cas succeed.
TEST(Workloads, RegisterUniqueValuesAreWrittenOnce) {
  Workload w = Make("register", {.seed = 3,
                                 .concurrency = 6,
                                 .processes_per_key = 3,
                                 .ops_per_key_max = 30,
                                 .value_max = std::nullopt});
  history::History h = SimRun(*w.clients, {.concurrency = 6,
                                           .fail_rate = 0.05,
                                           .crash_rate = 0.05,
                                           .seed = 3,
                                           .duration_ns = kS,
                                           .model = "register",
                                           .keyed = true});
  std::map<int64_t, int64_t> last_written;     // key -> last value written
  std::map<int64_t, std::set<int64_t>> shown;  // key -> values ok ops showed
  for (const history::Op& op : h) {
    int64_t key = op.value[0].get<int64_t>();
    const Json& v = op.value[1];
    if (op.is_invoke() && op.f != "read") {
      int64_t to = op.f == "write" ? v.get<int64_t>() : v[1].get<int64_t>();
      EXPECT_EQ(to, last_written[key] + 1) << history::Describe(op);
      last_written[key] = to;
      if (op.f == "cas") {
        EXPECT_TRUE(shown[key].contains(v[0].get<int64_t>())) << v;
      }
    }
    if (op.is_ok() && op.f == "read" && v.is_number_integer()) shown[key].insert(v.get<int64_t>());
    if (op.is_ok() && op.f == "write") shown[key].insert(v.get<int64_t>());
    if (op.is_ok() && op.f == "cas") shown[key].insert(v[1].get<int64_t>());
  }
  EXPECT_GT(Count(h, OpType::kOk, "cas"), 0);
  EXPECT_GT(Count(h, OpType::kOk, "read"), 0);
}

// Proves each key's op mix is drawn from its seed: about half the keys take
// reads, writes and cas in equal shares, the others are read-heavy (reads
// 60-90 %), and writes and cas still come in every key.
TEST(Workloads, RegisterUniqueValuesDrawEachKeysMix) {
  Workload w = Make("register", {.seed = 11,
                                 .concurrency = 4,
                                 .processes_per_key = 1,
                                 .ops_per_key_max = 400,
                                 .value_max = std::nullopt});
  history::History h = SimRun(
      *w.clients,
      {.concurrency = 4, .seed = 11, .duration_ns = 200 * kS, .model = "register", .keyed = true});
  std::map<int64_t, std::map<std::string, int>> by_key;  // key -> f -> invocations
  for (const history::Op& op : Invocations(h)) by_key[op.value[0].get<int64_t>()][op.f]++;
  int uniform = 0, read_heavy = 0;
  for (auto& [key, f] : by_key) {
    int total = f["read"] + f["write"] + f["cas"];
    if (total < 150) continue;  // too few ops to tell the mix apart
    double reads = static_cast<double>(f["read"]) / total;
    EXPECT_GT(f["write"] + f["cas"], total / 20) << "key " << key;
    bool is_uniform = reads > 0.25 && reads < 0.42;
    bool is_read_heavy = reads > 0.53 && reads < 0.95;
    uniform += is_uniform;
    read_heavy += is_read_heavy;
    EXPECT_TRUE(is_uniform || is_read_heavy) << "key " << key << " reads " << reads;
  }
  EXPECT_GE(uniform + read_heavy, 40);
  EXPECT_GE(uniform, (uniform + read_heavy) / 4);
  EXPECT_GE(read_heavy, (uniform + read_heavy) / 4);
}

// Proves the composition a runner uses works end to end: main phase, barrier,
// then final reads (built by Defer once the keys are known) of every key used.
TEST(Workloads, RegisterMainPhaseThenDeferredFinalReads) {
  Workload w = Make("register",
                    {.seed = 6, .concurrency = 4, .processes_per_key = 2, .ops_per_key_max = 10});
  std::vector<GeneratorPtr> phases;
  phases.push_back(TimeLimit(kS / 2, Route(std::move(w.clients), nullptr)));
  phases.push_back(Defer([&w] { return w.final_reads(*w.keys); }));
  GeneratorPtr g = Phases(std::move(phases));
  history::History h = SimRun(*g, {.concurrency = 4,
                                   .crash_rate = 0.05,
                                   .seed = 6,
                                   .duration_ns = 100 * kS,
                                   .model = "register",
                                   .keyed = true});
  ASSERT_GT(w.keys->size(), 10u);
  std::set<int64_t> final_ok;
  for (const history::Op& op : h) {
    if (op.time_ns >= kS / 2 && op.is_invoke()) {
      EXPECT_EQ(op.f, "read");
    }
    if (op.time_ns >= kS / 2 && op.is_ok() && op.f == "read") {
      final_ok.insert(op.value[0].get<int64_t>());
    }
  }
  EXPECT_EQ(final_ok, std::set<int64_t>(w.keys->begin(), w.keys->end()));
}

// Proves set adds unique integers and, after a barrier, its final reads (until
// one is ok) see every acknowledged add.
TEST(Workloads, SetAddsUniqueThenReads) {
  Workload w = Make("set");
  EXPECT_FALSE(w.keyed);
  std::vector<GeneratorPtr> phases;
  phases.push_back(TimeLimit(kS, std::move(w.clients)));
  phases.push_back(w.final_reads({}));
  GeneratorPtr g = Phases(std::move(phases));
  history::History h =
      SimRun(*g, {.concurrency = 4, .crash_rate = 0.05, .duration_ns = 10 * kS, .model = "set"});
  std::set<int64_t> added, acked;
  const history::Op* final_read = nullptr;
  for (const history::Op& op : h) {
    if (op.f == "add" && op.is_invoke()) {
      EXPECT_TRUE(added.insert(op.value.get<int64_t>()).second) << "duplicate " << op.value;
    }
    if (op.f == "add" && op.is_ok()) acked.insert(op.value.get<int64_t>());
    if (op.f == "read" && op.is_invoke()) {
      EXPECT_TRUE(op.value.is_null());
    }
    if (op.f == "read" && op.is_ok() && final_read == nullptr) final_read = &op;
  }
  ASSERT_GT(acked.size(), 100u);
  ASSERT_NE(final_read, nullptr);
  std::set<int64_t> read;
  for (const Json& e : final_read->value) read.insert(e.get<int64_t>());
  for (int64_t v : acked) EXPECT_TRUE(read.count(v)) << v;
}

// Proves counter mixes small adds with reads.
TEST(Workloads, CounterAddsAndReads) {
  Workload w = Make("counter", {.seed = 3});
  history::History h =
      SimRun(*w.clients, {.concurrency = 4, .duration_ns = kS, .model = "counter"});
  int64_t adds = Count(h, OpType::kInvoke, "add"), reads = Count(h, OpType::kInvoke, "read");
  EXPECT_GT(reads, 0);
  EXPECT_GT(adds, 2 * reads);
  for (const history::Op& op : Invocations(h)) {
    if (op.f == "add") {
      EXPECT_TRUE(op.value >= 1 && op.value <= 3) << op.value;
    }
  }
}

// Proves rate_per_s paces the whole workload (about rate * duration ops).
TEST(Workloads, RateIsHonoured) {
  Workload w = Make("register", {.seed = 4, .rate_per_s = 100});
  history::History h = SimRun(
      *w.clients, {.concurrency = 10, .duration_ns = 10 * kS, .model = "register", .keyed = true});
  size_t n = Invocations(h).size();
  EXPECT_GT(n, 850u);
  EXPECT_LT(n, 1150u);
}

// Proves the same seed and options reproduce the same schedule, and another
// seed gives another.
TEST(Workloads, SameSeedSameSchedule) {
  auto run = [](uint64_t seed) {
    Workload w = Make("register", {.seed = seed, .rate_per_s = 500});
    return SimRun(*w.clients, {.concurrency = 10,
                               .fail_rate = 0.1,
                               .crash_rate = 0.02,
                               .seed = 9,
                               .duration_ns = kS,
                               .model = "register",
                               .keyed = true});
  };
  history::History a = run(1), b = run(1), c = run(2);
  ASSERT_GT(a.size(), 500u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

}  // namespace
}  // namespace chaos::generator

namespace chaos::generator {
namespace {

// Proves list-append and rw-register emit txns of min..max micro-ops over at
// most key_count active keys, each key's written values 1, 2, ... unique and
// at most max_writes_per_key of them (then the key rotates out), and final
// reads read every key used, 16 per txn.
TEST(Workloads, TransactionsFollowElleParameters) {
  for (const std::string name : {"list-append", "rw-register"}) {
    WorkloadOptions wo{.seed = 3, .concurrency = 4};
    wo.txn_key_count = 3;
    wo.txn_length_min = 2;
    wo.txn_length_max = 5;
    wo.txn_max_writes_per_key = 4;
    Result<Workload> made = MakeWorkload(name, wo);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    Workload w = std::move(made).value();
    history::History h = test_util::SimRun(
        *w.clients, {.concurrency = 4, .seed = 3, .duration_ns = 1'000'000'000, .ops_max = 400});
    std::map<int64_t, std::vector<int64_t>> written;
    const std::string write_f = name == "list-append" ? ":append" : ":w";
    for (const history::Op& op : test_util::Invocations(h)) {
      ASSERT_EQ(op.f, "txn");
      ASSERT_TRUE(op.value.is_array());
      EXPECT_GE(op.value.size(), 2u);
      EXPECT_LE(op.value.size(), 5u);
      for (const Json& m : op.value) {
        ASSERT_EQ(m.size(), 3u);
        if (m[0] == ":r") {
          EXPECT_TRUE(m[2].is_null());
        } else {
          ASSERT_EQ(m[0], write_f);
          written[m[1].get<int64_t>()].push_back(m[2].get<int64_t>());
        }
      }
    }
    ASSERT_GT(written.size(), 10u);  // keys rotated many times
    for (const auto& [key, values] : written) {
      EXPECT_LE(values.size(), 4u) << key;
      for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(values[i], static_cast<int64_t>(i) + 1);
    }
    GeneratorPtr reads = w.final_reads(*w.keys);
    history::History r = test_util::SimRun(*reads, {.concurrency = 2, .seed = 4});
    std::set<int64_t> read;
    for (const history::Op& op : test_util::Invocations(r)) {
      EXPECT_LE(op.value.size(), 16u);
      for (const Json& m : op.value) read.insert(m[1].get<int64_t>());
    }
    EXPECT_EQ(read, std::set<int64_t>(w.keys->begin(), w.keys->end()));
  }
  WorkloadOptions bad;
  bad.txn_length_min = 3;
  bad.txn_length_max = 2;
  EXPECT_EQ(MakeWorkload("list-append", bad).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace chaos::generator
