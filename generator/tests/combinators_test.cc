// Tests of the sources and combinators, driven by the simulated runner.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "generator/generator.h"
#include "generator/simulate.h"
#include "generator/tests/sim_util.h"

namespace chaos::generator {
namespace {

using history::OpType;
using test_util::Count;
using test_util::Forever;
using test_util::Invocations;
using test_util::SimRun;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000'000'000;

Context At(int64_t now_ns, int thread = 0) {
  return Context{now_ns, history::Process::Number(thread), thread, 1};
}

// Proves Once gives its op to exactly one worker, then every worker hears Done.
TEST(Combinators, OnceGivesOneOp) {
  GeneratorPtr g = Once(test_util::Op("read"));
  history::History h = SimRun(*g, SimOptions{.concurrency = 4});
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].f, "read");
  EXPECT_TRUE(h[1].is_ok());
  EXPECT_TRUE(IsDone(g->Next(At(0))));
}

// Proves Limit emits exactly n ops across all workers and then ends the run.
TEST(Combinators, LimitEmitsExactlyN) {
  GeneratorPtr g = Limit(7, Forever("write", 1));
  history::History h = SimRun(*g, SimOptions{.concurrency = 3, .duration_ns = 100 * kS});
  EXPECT_EQ(Invocations(h).size(), 7u);
  EXPECT_LT(h.back().time_ns, 1 * kS);  // ended because Done, not because of the duration
}

// Proves TimeLimit stops invoking at its deadline, measured from its first ask.
TEST(Combinators, TimeLimitStopsAtDeadline) {
  GeneratorPtr g = TimeLimit(1 * kS, Forever("read"));
  history::History h = SimRun(*g, SimOptions{.concurrency = 3, .duration_ns = 100 * kS});
  std::vector<history::Op> inv = Invocations(h);
  ASSERT_FALSE(inv.empty());
  for (const history::Op& op : inv) EXPECT_LT(op.time_ns, 1 * kS);
  EXPECT_GT(inv.back().time_ns, 1 * kS - 20 * kMs);
  EXPECT_LT(h.back().time_ns, 1 * kS + 10 * kMs);  // only completions after the deadline
}

// Proves TimeLimit shortens a longer wait to its deadline, then says Done.
TEST(Combinators, TimeLimitCapsNotYet) {
  GeneratorPtr g = TimeLimit(1 * kS, Sleep(5 * kS));
  Answer a = g->Next(At(100));
  ASSERT_TRUE(IsNotYet(a));
  EXPECT_EQ(std::get<NotYet>(a).retry_at_ns, 1 * kS + 100);
  EXPECT_TRUE(IsDone(g->Next(At(1 * kS + 100))));
  EXPECT_TRUE(IsDone(g->Next(At(0))));  // Done is final
}

// Proves Sleep holds back what follows it in a Sequence for exactly its duration.
TEST(Combinators, SleepThenOnce) {
  std::vector<GeneratorPtr> seq;
  seq.push_back(Sleep(500 * kMs));
  seq.push_back(Once(test_util::Op("start")));
  GeneratorPtr g = Sequence(std::move(seq));
  history::History h = SimRun(*g, SimOptions{.concurrency = 2});
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].time_ns, 500 * kMs);
}

double CoefficientOfVariation(const std::vector<history::Op>& inv) {
  std::vector<double> gaps;
  for (size_t i = 1; i < inv.size(); ++i) {
    gaps.push_back(static_cast<double>(inv[i].time_ns - inv[i - 1].time_ns));
  }
  double mean = 0, var = 0;
  for (double g : gaps) mean += g;
  mean /= static_cast<double>(gaps.size());
  for (double g : gaps) var += (g - mean) * (g - mean);
  var /= static_cast<double>(gaps.size());
  return std::sqrt(var) / mean;
}

// Proves Stagger gives the whole generator Poisson arrivals at the asked rate:
// about duration/mean ops, with exponential gaps (coefficient of variation ~1).
TEST(Combinators, StaggerRateIsPoisson) {
  GeneratorPtr g = Stagger(10 * kMs, Forever("read"), 42);
  history::History h = SimRun(*g, SimOptions{.concurrency = 10,
                                             .latency_ns_min = 1 * kMs,
                                             .latency_ns_max = 2 * kMs,
                                             .duration_ns = 20 * kS});
  std::vector<history::Op> inv = Invocations(h);
  // 2000 expected; the Poisson standard deviation is ~45.
  EXPECT_GT(inv.size(), 1800u);
  EXPECT_LT(inv.size(), 2200u);
  double cv = CoefficientOfVariation(inv);
  EXPECT_GT(cv, 0.85) << cv;
  EXPECT_LT(cv, 1.15) << cv;
}

// Proves Delay spaces ops exactly, for all workers together.
TEST(Combinators, DelaySpacesOpsEvenly) {
  GeneratorPtr g = Delay(100 * kMs, Forever("read"));
  history::History h = SimRun(*g, SimOptions{.concurrency = 4, .duration_ns = 1 * kS});
  std::vector<history::Op> inv = Invocations(h);
  ASSERT_EQ(inv.size(), 10u);
  for (size_t i = 0; i < inv.size(); ++i) EXPECT_EQ(inv[i].time_ns, int64_t(i) * 100 * kMs);
}

// Proves Mix draws from every child, roughly evenly, and is Done when all are.
TEST(Combinators, MixDrawsEveryChild) {
  std::vector<GeneratorPtr> gens;
  gens.push_back(Forever("a"));
  gens.push_back(Forever("b"));
  GeneratorPtr g = Limit(1000, Mix(std::move(gens), 7));
  history::History h = SimRun(*g, SimOptions{.concurrency = 5});
  int64_t a = Count(h, OpType::kInvoke, "a"), b = Count(h, OpType::kInvoke, "b");
  EXPECT_EQ(a + b, 1000);
  EXPECT_GT(a, 420);
  EXPECT_GT(b, 420);

  std::vector<GeneratorPtr> onces;
  for (const char* f : {"x", "y", "z"}) onces.push_back(Once(test_util::Op(f)));
  GeneratorPtr finite = Mix(std::move(onces), 7);
  history::History h2 = SimRun(*finite, SimOptions{.concurrency = 2});
  EXPECT_EQ(Invocations(h2).size(), 3u);
  EXPECT_EQ(Count(h2, OpType::kInvoke, "x"), 1);
}

// Proves Phases waits for every op of a phase to complete before the next phase
// starts; the same schedule through Sequence (no barrier) overlaps, so the
// check can fail.
TEST(Combinators, PhasesBarrier) {
  auto make = [](bool barrier) {
    std::vector<GeneratorPtr> phases;
    phases.push_back(Limit(20, Forever("a")));
    phases.push_back(Limit(20, Forever("b")));
    return barrier ? Phases(std::move(phases)) : Sequence(std::move(phases));
  };
  SimOptions o{.concurrency = 5, .latency_ns_min = 1 * kMs, .latency_ns_max = 50 * kMs};
  auto overlap = [](const history::History& h) {
    int64_t last_a_done = -1, first_b = -1;
    for (const history::Op& op : h) {
      if (op.f == "a" && !op.is_invoke()) last_a_done = op.index;
      if (op.f == "b" && op.is_invoke() && first_b < 0) first_b = op.index;
    }
    return first_b < last_a_done;
  };
  GeneratorPtr with = make(true);
  history::History h = SimRun(*with, o);
  EXPECT_EQ(Count(h, OpType::kInvoke, "a"), 20);
  EXPECT_EQ(Count(h, OpType::kInvoke, "b"), 20);
  EXPECT_FALSE(overlap(h));
  GeneratorPtr without = make(false);
  EXPECT_TRUE(overlap(SimRun(*without, o)));
}

// Proves the Phases barrier also waits for ops that crash (info completes them).
TEST(Combinators, PhasesBarrierWithCrashes) {
  std::vector<GeneratorPtr> phases;
  phases.push_back(Limit(30, Forever("a")));
  phases.push_back(Once(test_util::Op("b")));
  GeneratorPtr g = Phases(std::move(phases));
  history::History h = SimRun(*g, SimOptions{.concurrency = 4, .crash_rate = 0.3, .seed = 3});
  ASSERT_GT(Count(h, OpType::kInfo), 0);
  ASSERT_EQ(h[h.size() - 2].f, "b");  // b's invoke comes after every completion of a
  EXPECT_TRUE(h[h.size() - 2].is_invoke());
}

// Proves Cycle restarts a nemesis schedule forever, and that a factory of empty
// generators ends the cycle instead of spinning.
TEST(Combinators, CycleRestartsSchedule) {
  GeneratorPtr g = Route(nullptr, Cycle([] {
                           std::vector<GeneratorPtr> s;
                           s.push_back(Once(test_util::Op("start")));
                           s.push_back(Sleep(1 * kS));
                           s.push_back(Once(test_util::Op("stop")));
                           s.push_back(Sleep(1 * kS));
                           return Sequence(std::move(s));
                         }));
  history::History h =
      SimRun(*g, SimOptions{.concurrency = 2, .nemesis = true, .duration_ns = 10 * kS});
  std::vector<history::Op> inv = Invocations(h);
  ASSERT_EQ(inv.size(), 10u);
  for (size_t i = 0; i < inv.size(); ++i) {
    EXPECT_EQ(inv[i].f, i % 2 == 0 ? "start" : "stop");
    EXPECT_TRUE(inv[i].process.is_nemesis());
  }
  GeneratorPtr empty = Cycle([] { return Limit(0, Forever("x")); });
  EXPECT_TRUE(IsDone(empty->Next(At(0))));
}

// Proves EachProcess gives every thread its own copy, which survives crashes
// (a new process on the same thread continues that thread's copy).
TEST(Combinators, EachProcessCopyPerThread) {
  GeneratorPtr g = EachProcess([] { return Limit(3, Forever("read")); });
  history::History h = SimRun(*g, SimOptions{.concurrency = 4, .crash_rate = 0.2, .seed = 5});
  std::map<int64_t, int> per_thread;
  for (const history::Op& op : Invocations(h)) ++per_thread[op.process.id % 4];
  ASSERT_EQ(per_thread.size(), 4u);
  for (const auto& [thread, n] : per_thread) EXPECT_EQ(n, 3) << "thread " << thread;
}

// Proves Route sends client threads and the nemesis to their own generators,
// and is Done only when both are.
TEST(Combinators, RouteSeparatesClientsAndNemesis) {
  GeneratorPtr g = Route(Limit(50, Forever("client")), Limit(3, Forever("fault")));
  history::History h =
      SimRun(*g, SimOptions{.concurrency = 3, .nemesis = true, .duration_ns = 100 * kS});
  for (const history::Op& op : h) {
    EXPECT_EQ(op.f, op.process.is_nemesis() ? "fault" : "client") << history::Describe(op);
  }
  EXPECT_EQ(Count(h, OpType::kInvoke, "client"), 50);
  EXPECT_EQ(Count(h, OpType::kInvoke, "fault"), 3);
  EXPECT_LT(h.back().time_ns, 10 * kS);
}

// Proves UntilOk emits no op after the first ok completion, and retries through
// failures until then.
TEST(Combinators, UntilOkStopsAtFirstOk) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    GeneratorPtr g = UntilOk(Forever("read"));
    history::History h =
        SimRun(*g, SimOptions{.concurrency = 3, .fail_rate = 0.6, .crash_rate = 0.1, .seed = seed});
    int64_t first_ok = -1;
    for (const history::Op& op : h) {
      if (op.is_ok() && first_ok < 0) first_ok = op.index;
      if (first_ok >= 0) {
        EXPECT_FALSE(op.is_invoke()) << "seed " << seed;
      }
    }
    EXPECT_GE(first_ok, 0) << "seed " << seed;
  }
}

// Proves a generator that waits forever with nothing in flight is reported as a
// stall, not a hang: here the clients are done and wait for a nemesis side
// that no worker asks.
TEST(Combinators, StallIsReported) {
  auto make = [] { return Route(Limit(2, Forever("read")), Forever("fault")); };
  GeneratorPtr g = make();
  Result<history::History> h = Simulate(*g, SimOptions{.concurrency = 2});
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), StatusCode::kFailedPrecondition);
  // With a nemesis worker the same generator runs until the duration.
  GeneratorPtr g2 = make();
  history::History h2 =
      SimRun(*g2, SimOptions{.concurrency = 2, .nemesis = true, .duration_ns = kS});
  EXPECT_EQ(Count(h2, OpType::kInvoke, "read"), 2);
  EXPECT_GT(Count(h2, OpType::kInvoke, "fault"), 50);
}

}  // namespace
}  // namespace chaos::generator
