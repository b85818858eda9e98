// Tests of KeyedGroups: per-key bounds, thread groups, fresh keys, unwrapping.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "generator/generator.h"
#include "generator/simulate.h"
#include "generator/tests/sim_util.h"

namespace chaos::generator {
namespace {

using history::Json;
using test_util::SimRun;

constexpr int64_t kS = 1'000'000'000;

struct KeyStats {
  int64_t invocations = 0;
  std::set<int64_t> threads;
  int in_flight_max = 0;
};

// Per key: invocations, the threads that touched it, and its peak concurrency.
std::map<int64_t, KeyStats> PerKey(const history::History& h, int concurrency) {
  std::map<int64_t, KeyStats> keys;
  std::map<int64_t, int> in_flight;
  for (const history::Op& op : h) {
    EXPECT_TRUE(op.value.is_array() && op.value.size() == 2) << history::Describe(op);
    int64_t key = op.value[0].get<int64_t>();
    KeyStats& k = keys[key];
    if (op.is_invoke()) {
      ++k.invocations;
      k.threads.insert(op.process.id % concurrency);
      k.in_flight_max = std::max(k.in_flight_max, ++in_flight[key]);
    } else {
      --in_flight[key];
    }
  }
  return keys;
}

GeneratorPtr Reads(int64_t) { return test_util::Forever("read"); }

// Proves no key gets more than ops_per_key_max ops, at most processes_per_key
// threads (one group) ever touch a key, even with crashes, and keys_out lists
// every key handed out.
TEST(KeyedGroups, BoundsHoldWithCrashes) {
  const int concurrency = 10, per_key = 3;  // groups of 3, 3, 3 and 1
  auto keys_out = std::make_shared<std::vector<int64_t>>();
  GeneratorPtr g = KeyedGroups(per_key, 20, Reads, 11, keys_out);
  history::History h = SimRun(*g, SimOptions{.concurrency = concurrency,
                                             .fail_rate = 0.1,
                                             .crash_rate = 0.05,
                                             .seed = 2,
                                             .duration_ns = kS});
  std::map<int64_t, KeyStats> keys = PerKey(h, concurrency);
  ASSERT_GT(keys.size(), 20u);
  std::set<int64_t> handed(keys_out->begin(), keys_out->end());
  EXPECT_EQ(handed.size(), keys_out->size());  // never reused
  for (const auto& [key, k] : keys) {
    EXPECT_TRUE(handed.count(key)) << key;
    EXPECT_LE(k.invocations, 20) << "key " << key;
    EXPECT_LE(static_cast<int>(k.threads.size()), per_key) << "key " << key;
    EXPECT_LE(k.in_flight_max, per_key) << "key " << key;
    int64_t group = *k.threads.begin() / per_key;
    for (int64_t t : k.threads) EXPECT_EQ(t / per_key, group) << "key " << key;
  }
  // Every group worked, the single-thread last group too.
  std::set<int64_t> groups;
  for (const auto& [key, k] : keys) groups.insert(*k.threads.begin() / per_key);
  EXPECT_EQ(groups.size(), 4u);
}

// Proves the per-key budget is randomized within [max - max/4, max], so groups
// do not switch keys in lockstep.
TEST(KeyedGroups, BudgetIsRandomizedALittle) {
  auto keys_out = std::make_shared<std::vector<int64_t>>();
  GeneratorPtr g = KeyedGroups(2, 40, Reads, 5, keys_out);
  history::History h = SimRun(*g, SimOptions{.concurrency = 4, .duration_ns = 3 * kS});
  std::map<int64_t, KeyStats> keys = PerKey(h, 4);
  // Keys still in use at the end may be short; every other key used its budget.
  std::set<int64_t> counts;
  int64_t full = 0;
  for (const auto& [key, k] : keys) {
    if (key + 2 >= static_cast<int64_t>(keys_out->size())) continue;
    EXPECT_GE(k.invocations, 30) << "key " << key;
    EXPECT_LE(k.invocations, 40) << "key " << key;
    counts.insert(k.invocations);
    ++full;
  }
  ASSERT_GT(full, 10);
  EXPECT_GT(counts.size(), 3u);
}

// Records what a per-key generator is told.
class Recorder final : public Generator {
 public:
  explicit Recorder(std::vector<Json>* seen) : seen_(seen) {}
  Answer Next(const Context&) override { return Invoke("write", 7); }
  void Update(const history::Op& completion, const Context&) override {
    seen_->push_back(completion.value);
  }

 private:
  std::vector<Json>* seen_;
};

// Proves values are wrapped as [key, v] and completions reach the per-key
// generator unwrapped; UntilOk per key moves to a fresh key after one ok.
TEST(KeyedGroups, WrapsAndUnwraps) {
  std::vector<Json> seen;
  GeneratorPtr g = KeyedGroups(
      1, 5, [&seen](int64_t) -> GeneratorPtr { return UntilOk(std::make_unique<Recorder>(&seen)); },
      0);
  history::History h = SimRun(*g, SimOptions{.concurrency = 1, .duration_ns = kS});
  ASSERT_GT(h.size(), 10u);
  for (size_t i = 0; i < h.size(); ++i) {
    EXPECT_EQ(h[i].value, Json::array({static_cast<int64_t>(i / 2), 7}));  // one op per key
  }
  ASSERT_EQ(seen.size(), h.size() / 2);
  for (const Json& v : seen) EXPECT_EQ(v, 7);
}

// Proves a per-key factory of empty generators ends KeyedGroups instead of spinning.
TEST(KeyedGroups, EmptyPerKeyIsDone) {
  GeneratorPtr g = KeyedGroups(
      2, 5, [](int64_t) { return Limit(0, test_util::Forever("x")); }, 0);
  EXPECT_TRUE(IsDone(g->Next(Context{0, history::Process::Number(0), 0, 4})));
}

}  // namespace
}  // namespace chaos::generator
