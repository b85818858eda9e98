// Tests of the simulated runner itself: determinism and Jepsen's process rule.
#include "generator/simulate.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "generator/generator.h"
#include "generator/tests/sim_util.h"

namespace chaos::generator {
namespace {

using history::OpType;
using test_util::Count;
using test_util::Forever;
using test_util::SimRun;

// Proves one seed gives the identical history twice, and another seed differs.
TEST(Simulate, Deterministic) {
  auto run = [](uint64_t seed) {
    std::vector<GeneratorPtr> gens;
    gens.push_back(Forever("read"));
    gens.push_back(Forever("write", 1));
    GeneratorPtr g = Stagger(1'000'000, Mix(std::move(gens), 3), 4);
    return SimRun(*g, {.concurrency = 5,
                       .fail_rate = 0.2,
                       .crash_rate = 0.05,
                       .seed = seed,
                       .duration_ns = 1'000'000'000});
  };
  history::History a = run(1), b = run(1), c = run(2);
  ASSERT_GT(a.size(), 500u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

// Proves the crash rule: after an info, process p never appears again and its
// thread continues as p + concurrency; processes map to threads by p % concurrency.
TEST(Simulate, CrashGivesNewProcess) {
  const int concurrency = 4;
  GeneratorPtr g = Forever("read");
  history::History h = SimRun(
      *g, {.concurrency = concurrency, .crash_rate = 0.1, .seed = 8, .duration_ns = 1'000'000'000});
  ASSERT_GT(Count(h, OpType::kInfo), 20);
  std::set<int64_t> crashed, seen;
  for (const history::Op& op : h) {
    int64_t p = op.process.id;
    EXPECT_FALSE(crashed.count(p)) << history::Describe(op);
    if (op.is_invoke() && !seen.count(p)) {
      // A process is new only for a fresh thread or after its predecessor crashed.
      EXPECT_TRUE(p < concurrency || crashed.count(p - concurrency)) << history::Describe(op);
      seen.insert(p);
    }
    if (op.is_info()) crashed.insert(p);
  }
  EXPECT_GT(seen.size(), 20u);
}

// Proves perfect clients complete every op ok, and the register model is
// truthful (a read returns the last write on that thread-free schedule).
TEST(Simulate, PerfectClientsAndModel) {
  std::vector<GeneratorPtr> seq;
  seq.push_back(Once(test_util::Op("write", 3)));
  seq.push_back(Once(test_util::Op("cas", history::Json::array({3, 4}))));
  seq.push_back(Once(test_util::Op("cas", history::Json::array({3, 5}))));
  seq.push_back(Once(test_util::Op("read")));
  GeneratorPtr g = Phases(std::move(seq));
  history::History h = SimRun(*g, {.concurrency = 3, .model = "register"});
  ASSERT_EQ(h.size(), 8u);
  EXPECT_TRUE(h[1].is_ok());
  EXPECT_TRUE(h[3].is_ok());
  EXPECT_TRUE(h[5].is_fail());  // expected 3, found 4
  EXPECT_TRUE(h[7].is_ok());
  EXPECT_EQ(h[7].value, 4);
}

// Proves bad options are reported, not run.
TEST(Simulate, BadOptions) {
  GeneratorPtr g = Forever("read");
  EXPECT_FALSE(Simulate(*g, {.concurrency = 0}).ok());
  EXPECT_FALSE(Simulate(*g, {.model = "queue"}).ok());
}

}  // namespace
}  // namespace chaos::generator
