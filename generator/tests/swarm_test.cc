// Tests of the default fault schedule (swarm.h), driven by the simulated runner.
#include "generator/swarm.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "generator/simulate.h"
#include "history/nemesis_op.h"

namespace chaos::generator {
namespace {

constexpr int64_t kS = 1'000'000'000;

const std::set<std::string> kRegisterFaults = {"partition", "kill",          "pause",
                                               "clock",     "lose-unsynced", "corrupt",
                                               "packet",    "slow-disk",     "membership"};

history::History NemesisOps(uint64_t seed, const std::set<std::string>& faults, int64_t seconds) {
  GeneratorPtr gen = Route(nullptr, SwarmSchedule(seed, faults));
  SimOptions options;
  options.concurrency = 1;
  options.nemesis = true;
  options.duration_ns = seconds * kS;
  auto h = Simulate(*gen, options);
  EXPECT_TRUE(h.ok()) << h.status().message();
  history::History out;
  for (const auto& op : *h) {
    if (op.is_invoke()) out.push_back(op);
  }
  return out;
}

// Proves the schedule only starts nemeses the adapter supports, stops each
// one it started before starting it again, and labels every start's period.
TEST(Swarm, StartsOnlySupportedFaultsAndStopsEach) {
  for (const auto& faults : {kRegisterFaults, std::set<std::string>{"partition", "kill", "pause"},
                             std::set<std::string>{"kill"}}) {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      std::set<std::string> active;
      int starts = 0;
      for (const auto& op : NemesisOps(seed, faults, 600)) {
        bool start = op.f.rfind("start-", 0) == 0;
        std::string name = op.f.substr(op.f.find('-') + 1);
        ASSERT_TRUE(faults.contains(name)) << op.f << " seed " << seed;
        if (start) {
          ASSERT_FALSE(active.contains(name)) << op.f << " started twice, seed " << seed;
          ASSERT_TRUE(op.value.contains("period")) << op.value.dump();
          active.insert(name);
          ++starts;
        } else {
          ASSERT_TRUE(active.erase(name) == 1) << op.f << " without a start, seed " << seed;
        }
      }
      EXPECT_GT(starts, 10) << "seed " << seed;
    }
  }
}

// Proves the mix periods take the membership nemesis when the adapter has
// it, and never when it does not.
TEST(Swarm, MixTakesMembershipWhenSupported) {
  int with = 0;
  std::mt19937_64 rng(21);
  for (int i = 0; i < 200; ++i) {
    for (const auto& f : DrawSwarmPeriod(rng, kRegisterFaults, "mix").faults) {
      if (f.nemesis == "membership") ++with;
    }
    for (const auto& f : DrawSwarmPeriod(rng, {"partition", "kill", "pause"}, "mix").faults) {
      ASSERT_NE(f.nemesis, "membership");
    }
  }
  EXPECT_GT(with, 50);  // each nemesis is in a mix half the time
}

// Proves a nemesis whose stop changes the membership stops when nothing but
// such nemeses is on: corrupt (re-adds the nodes it wiped) after every other
// fault, membership (makes every node a voter again) with corrupt alone, so
// that a re-add never meets a partition of the same composition.
TEST(Swarm, MembershipChangingStopsComeLast) {
  int corrupt_stops = 0, membership_stops = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::set<std::string> on;
    for (const auto& op : NemesisOps(seed, kRegisterFaults, 120)) {
      auto f = history::ParseNemesisF(op.f);
      ASSERT_TRUE(f.has_value()) << op.f;
      if (f->start) {
        on.insert(f->nemesis);
        continue;
      }
      on.erase(f->nemesis);
      if (f->nemesis == "corrupt") {
        ++corrupt_stops;
        EXPECT_TRUE(on.empty()) << "seed " << seed << ": corrupt stopped with " << *on.begin()
                                << " on";
      } else if (f->nemesis == "membership") {
        ++membership_stops;
        for (const auto& other : on) {
          EXPECT_EQ(other, "corrupt") << "seed " << seed << ": membership stopped with " << other;
        }
      }
    }
  }
  EXPECT_GT(corrupt_stops, 20);
  EXPECT_GT(membership_stops, 20);
}

// Proves a seed replays the same schedule and another seed draws another.
TEST(Swarm, SameSeedSameSchedule) {
  auto a = NemesisOps(7, kRegisterFaults, 300);
  auto b = NemesisOps(7, kRegisterFaults, 300);
  auto c = NemesisOps(8, kRegisterFaults, 300);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].f, b[i].f);
    EXPECT_EQ(a[i].value, b[i].value);
    EXPECT_EQ(a[i].time_ns, b[i].time_ns);
  }
  bool differ = a.size() != c.size();
  for (size_t i = 0; !differ && i < a.size(); ++i) differ = a[i].value != c[i].value;
  EXPECT_TRUE(differ);
}

// Proves every period kind is drawn, each only when its faults are there:
// no lose-unsynced, clock or packet where the adapter lacks them.
TEST(Swarm, KindsFollowTheSupportedFaults) {
  EXPECT_EQ(SwarmKinds(kRegisterFaults),
            (std::vector<std::string>{"mix", "stale-leader", "minority-swap", "stalled-leader",
                                      "crash", "slow-network"}));
  EXPECT_EQ(SwarmKinds({"partition", "kill", "pause"}),
            (std::vector<std::string>{"mix", "stale-leader", "minority-swap", "stalled-leader",
                                      "crash"}));
  EXPECT_TRUE(SwarmKinds({}).empty());
  std::mt19937_64 rng(1);
  const std::set<std::string> faults = {"partition", "kill", "pause"};
  for (int i = 0; i < 600; ++i) {
    SwarmPeriod p = DrawSwarmPeriod(rng, faults, SwarmKinds(faults)[i % 5]);
    ASSERT_FALSE(p.faults.empty());
    ASSERT_GE(p.period_ns, 5 * kS);
    ASSERT_LE(p.period_ns, 12 * kS);
    for (const auto& f : p.faults) {
      EXPECT_TRUE(f.nemesis == "partition" || f.nemesis == "kill" || f.nemesis == "pause")
          << f.nemesis;
      EXPECT_FALSE(f.spec.contains("slow_ms")) << f.spec.dump();
    }
  }
}

// Proves a stalled leader always comes with a slow clock where the adapter
// has the clock fault (and never without it), at x0.4-x0.47 (a lease that allows for a
// drift of 0.45 either side still ends before the followers' promise), and
// is always a leader partition:
// a quarter without a stall, a quarter with a timed stall of 0.2-2.5 s,
// half woken 0-50 ms after a successor is seen or after a write invoked
// during the stall is acknowledged (5 s at most), each about as often.
TEST(Swarm, StalledLeaderRunsASlowClock) {
  std::mt19937_64 rng(7);
  int with_clock = 0;
  int timed = 0;
  int successor = 0;
  int progress = 0;
  constexpr int kDraws = 600;
  for (int i = 0; i < kDraws; ++i) {
    SwarmPeriod p = DrawSwarmPeriod(rng, kRegisterFaults, "stalled-leader");
    ASSERT_EQ(p.faults.back().nemesis, "partition");
    ASSERT_NE(p.faults.back().each_start, nullptr);  // drawn at each cut
    history::Json spec = p.faults.back().spec;
    p.faults.back().each_start(rng, spec);
    EXPECT_EQ(spec["mode"], "leader");
    if (spec.contains("wake")) {
      ++(spec["wake"] == "successor" ? successor : progress);
      EXPECT_TRUE(spec["wake"] == "successor" || spec["wake"] == "progress") << spec.dump();
      EXPECT_EQ(spec["stall_ms"], 5000);
      EXPECT_GE(spec["wake_delay_ms"].get<int64_t>(), 0);
      EXPECT_LE(spec["wake_delay_ms"].get<int64_t>(), 50);
    } else if (spec.contains("stall_ms")) {
      ++timed;
      EXPECT_GE(spec["stall_ms"].get<int64_t>(), 199);
      EXPECT_LE(spec["stall_ms"].get<int64_t>(), 2500);
    }
    if (p.faults.size() == 2) {
      ++with_clock;
      EXPECT_EQ(p.faults[0].nemesis, "clock");
      EXPECT_EQ(p.faults[0].spec["targets"], "leader");
      double rate = p.faults[0].spec["rate"].get<double>();
      EXPECT_GE(rate, 0.4);
      EXPECT_LE(rate, 0.47);
    }
  }
  EXPECT_EQ(with_clock, kDraws);
  std::set<std::string> no_clock = kRegisterFaults;
  no_clock.erase("clock");
  EXPECT_EQ(DrawSwarmPeriod(rng, no_clock, "stalled-leader").faults.size(), 1u);
  // An eighth timed (and an eighth no stall), three eighths each woken.
  EXPECT_GT(timed, kDraws * 7 / 100);
  EXPECT_LT(timed, kDraws * 18 / 100);
  EXPECT_GT(successor, kDraws * 30 / 100);
  EXPECT_LT(successor, kDraws * 45 / 100);
  EXPECT_GT(progress, kDraws * 30 / 100);
  EXPECT_LT(progress, kDraws * 45 / 100);
}

// Proves crashes draw majority or all at each start, so one crash period
// meets both, and a writeback hold of 0.2-2 s three times in four.
TEST(Swarm, CrashDrawsItsModeAndHoldAtEachStart) {
  std::map<std::string, int> modes;
  int crashes = 0, held = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    for (const auto& op : NemesisOps(seed, kRegisterFaults, 300)) {
      if (op.f != "start-lose-unsynced" || op.value["period"] != "crash") continue;
      ++crashes;
      ++modes[op.value["mode"].get<std::string>()];
      if (!op.value.contains("hold_ms")) continue;
      ++held;
      EXPECT_GE(op.value["hold_ms"].get<int64_t>(), 199);
      EXPECT_LE(op.value["hold_ms"].get<int64_t>(), 2000);
    }
  }
  EXPECT_EQ(modes.size(), 2u);
  EXPECT_GT(modes["majority"], 0);
  EXPECT_GT(modes["all"], 0);
  ASSERT_GT(crashes, 40);
  EXPECT_GT(held, crashes * 6 / 10);
  EXPECT_LT(held, crashes * 9 / 10);
}

// Proves one composition of a period's faults fits in the period (a period
// ends only between compositions), for every kind.
TEST(Swarm, OneCompositionFitsInItsPeriod) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 2000; ++i) {
    const auto kinds = SwarmKinds(kRegisterFaults);
    SwarmPeriod p = DrawSwarmPeriod(rng, kRegisterFaults, kinds[i % kinds.size()]);
    int64_t composition_ns = p.interval_ns * static_cast<int64_t>(p.faults.size() + 3) / 2;
    ASSERT_LE(composition_ns, p.period_ns + 1) << p.kind << " with " << p.faults.size();
    ASSERT_GT(p.interval_ns, 0);
  }
}

// Proves the deck deals every kind within the first eleven periods of a run
// (one deck).
TEST(Swarm, EveryKindEarly) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::vector<std::string> kinds;
    for (const auto& op : NemesisOps(seed, kRegisterFaults, 600)) {
      if (op.f.rfind("start-", 0) != 0) continue;
      std::string kind = op.value["period"].get<std::string>();
      if (kinds.empty() || kinds.back() != kind) kinds.push_back(kind);
    }
    std::set<std::string> first(kinds.begin(), kinds.begin() + std::min<size_t>(11, kinds.size()));
    EXPECT_EQ(first.size(), 6u) << "seed " << seed;
  }
}

// Proves a minority swap draws which nodes restart, and whether the old
// leader's disk is slow, at each swap, so that a period of several swaps
// meets more than one variant.
TEST(Swarm, MinoritySwapDrawsItsRestartAtEachSwap) {
  std::map<std::string, int> restarts;
  int mixed_periods = 0;
  int swaps = 0;
  int slow = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::set<std::string> in_period;
    std::string last_kind;
    for (const auto& op : NemesisOps(seed, kRegisterFaults, 300)) {
      if (op.f.rfind("start-", 0) != 0) continue;
      std::string kind = op.value["period"].get<std::string>();
      if (kind != last_kind) {
        if (in_period.size() > 1) ++mixed_periods;
        in_period.clear();
        last_kind = kind;
      }
      if (kind != "minority-swap") continue;
      ASSERT_TRUE(op.value.contains("restart")) << op.value.dump();
      ++swaps;
      if (op.value.contains("slow_ms")) ++slow;
      std::string r = op.value["restart"].get<std::string>();
      ++restarts[r];
      in_period.insert(r);
    }
  }
  EXPECT_EQ(restarts.size(), 3u);
  EXPECT_GT(restarts["others"], restarts["none"]);
  EXPECT_GT(restarts["others"], restarts["minority"]);
  EXPECT_GT(mixed_periods, 10);
  EXPECT_GT(slow, swaps * 6 / 10);  // the old leader's disk slowed 3 swaps in 4
  EXPECT_LT(slow, swaps * 9 / 10);
}

// Proves a two-minute run deals every kind when each nemesis op takes as
// long as it does on a docker cluster (0.05-2 s; 2026-12-06): a period
// does not start a composition that would end further past it than
// stopping now would.
TEST(Swarm, TwoMinutesMeetEveryKindWhenFaultsTakeTime) {
  int whole = 0;
  constexpr int kSeeds = 40;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    GeneratorPtr gen = Route(nullptr, SwarmSchedule(seed, kRegisterFaults));
    SimOptions options;
    options.concurrency = 1;
    options.nemesis = true;
    options.latency_ns_min = 50'000'000;
    options.latency_ns_max = 2 * kS;
    options.duration_ns = 120 * kS;
    options.seed = seed;
    auto h = Simulate(*gen, options);
    ASSERT_TRUE(h.ok()) << h.status().message();
    std::set<std::string> kinds;
    for (const auto& op : *h) {
      if (op.is_invoke() && op.f.rfind("start-", 0) == 0) {
        kinds.insert(op.value["period"].get<std::string>());
      }
    }
    if (kinds.size() == SwarmKinds(kRegisterFaults).size()) ++whole;
  }
  EXPECT_EQ(whole, kSeeds);
}

// Proves an adapter without faults gets an empty schedule (Done at once).
TEST(Swarm, NoFaultsNoSchedule) { EXPECT_TRUE(NemesisOps(1, {}, 60).empty()); }

}  // namespace
}  // namespace chaos::generator
