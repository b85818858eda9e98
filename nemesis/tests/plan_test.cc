// Proves partition plans separate exactly the groups each mode promises and
// target choices pick the promised number of nodes.
#include "nemesis/plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

namespace chaos::nemesis {
namespace {

const std::vector<std::string> kNodes = {"n1", "n2", "n3", "n4", "n5"};

bool Talks(const Grudge& g, const std::string& a, const std::string& b) {
  auto it = g.find(a);
  return it == g.end() || !it->second.contains(b);
}

TEST(PlanTest, HalvesSplitsTwoFromThree) {
  std::mt19937_64 rng(1);
  auto plan = PlanPartition("halves", kNodes, rng);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->groups.size(), 2u);
  EXPECT_EQ(plan->groups[0], (std::vector<std::string>{"n1", "n2"}));
  EXPECT_FALSE(Talks(plan->grudge, "n1", "n3"));
  EXPECT_FALSE(Talks(plan->grudge, "n5", "n2"));
  EXPECT_TRUE(Talks(plan->grudge, "n1", "n2"));
  EXPECT_TRUE(Talks(plan->grudge, "n3", "n5"));
}

TEST(PlanTest, GrudgesAreSymmetricInEveryMode) {
  for (const char* mode :
       {"halves", "random-halves", "isolate-one", "majorities-ring", "bridge", "leader"}) {
    for (uint64_t seed = 0; seed < 20; ++seed) {
      std::mt19937_64 rng(seed);
      auto plan = PlanPartition(mode, kNodes, rng, "n3");
      ASSERT_TRUE(plan.ok()) << mode;
      for (const auto& [a, others] : plan->grudge) {
        EXPECT_FALSE(others.contains(a)) << mode << ": " << a << " cut from itself";
        for (const auto& b : others) EXPECT_FALSE(Talks(plan->grudge, b, a)) << mode;
      }
    }
  }
}

TEST(PlanTest, MajoritiesRingGivesEveryNodeADifferentMajority) {
  std::mt19937_64 rng(7);
  auto plan = PlanPartition("majorities-ring", kNodes, rng);
  ASSERT_TRUE(plan.ok());
  std::set<std::vector<std::string>> distinct;
  for (const auto& n : kNodes) {
    int visible = 1;
    for (const auto& m : kNodes) {
      if (m != n && Talks(plan->grudge, n, m)) ++visible;
    }
    EXPECT_EQ(visible, 3) << n;
  }
  for (const auto& g : plan->groups) distinct.insert(g);
  EXPECT_EQ(distinct.size(), 5u);
}

TEST(PlanTest, BridgeNodeTalksToBothSides) {
  std::mt19937_64 rng(3);
  auto plan = PlanPartition("bridge", kNodes, rng);
  ASSERT_TRUE(plan.ok());
  int bridges = 0;
  for (const auto& n : kNodes) {
    if (!plan->grudge.contains(n)) ++bridges;
  }
  EXPECT_EQ(bridges, 1);
}

TEST(PlanTest, LeaderModeIsolatesTheLeaderOrRefuses) {
  std::mt19937_64 rng(3);
  auto plan = PlanPartition("leader", kNodes, rng, "n4");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->groups[0], (std::vector<std::string>{"n4"}));
  EXPECT_EQ(plan->grudge.at("n4").size(), 4u);
  EXPECT_FALSE(PlanPartition("leader", kNodes, rng, "").ok());
  EXPECT_FALSE(PlanPartition("sideways", kNodes, rng).ok());
}

TEST(PlanTest, StaleLeaderWakesAmongQuorumMinusOneRestartedNodes) {
  std::mt19937_64 rng(9);
  auto plan = PlanStaleLeader(kNodes, rng, "n2");
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->isolate.groups[0], (std::vector<std::string>{"n2"}));
  EXPECT_EQ(plan->isolate.grudge.at("n2").size(), 4u);
  ASSERT_EQ(plan->restarted.size(), 2u);  // quorum (3) - 1
  EXPECT_EQ(std::count(plan->restarted.begin(), plan->restarted.end(), "n2"), 0);
  ASSERT_EQ(plan->swap.groups.size(), 2u);
  EXPECT_EQ(plan->swap.groups[0].size(), 3u);  // the old leader and the restarted
  EXPECT_EQ(plan->swap.groups[0][0], "n2");
  for (const auto& r : plan->restarted) {
    EXPECT_EQ(plan->swap.grudge.count(r) ? plan->swap.grudge.at(r).count("n2") : 0u, 0u);
    EXPECT_EQ(plan->swap.grudge.at(r).size(), 2u);  // the rest
  }
  for (const auto& [a, peers] : plan->swap.grudge) {
    for (const auto& b : peers) EXPECT_TRUE(plan->swap.grudge.at(b).contains(a));
  }
  EXPECT_FALSE(PlanStaleLeader(kNodes, rng, "").ok());
  EXPECT_FALSE(PlanStaleLeader({"n1", "n2"}, rng, "n1").ok());
}

// Every grudge is mutual, and exactly the pairs in different groups hold one.
void ExpectGroupsMatchGrudge(const PartitionPlan& plan) {
  std::map<std::string, size_t> group_of;
  for (size_t g = 0; g < plan.groups.size(); ++g) {
    for (const auto& x : plan.groups[g]) {
      EXPECT_FALSE(group_of.contains(x)) << x << " is in two groups";
      group_of[x] = g;
    }
  }
  for (const auto& [a, ga] : group_of) {
    for (const auto& [b, gb] : group_of) {
      bool cut = plan.grudge.contains(a) && plan.grudge.at(a).contains(b);
      EXPECT_EQ(cut, ga != gb) << a << " and " << b;
    }
  }
}

TEST(PlanTest, MinoritySwapLeavesNoQuorumThenJoinsTheOldLeaderWithTheRest) {
  std::mt19937_64 rng(4);
  auto plan = PlanMinoritySwap(kNodes, rng, "n3");
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->minority.size(), 1u);  // max(1, quorum 3 - 2)
  EXPECT_NE(plan->minority[0], "n3");
  // First: {leader, minority} | the other three in groups of at most 2.
  ASSERT_EQ(plan->first.groups.size(), 3u);
  EXPECT_EQ(plan->first.groups[0], (std::vector<std::string>{"n3", plan->minority[0]}));
  for (const auto& g : plan->first.groups) EXPECT_LE(g.size(), 2u);
  ExpectGroupsMatchGrudge(plan->first);
  // Then: the minority alone, and a star: each of the three with the old
  // leader only, so only the old leader can gather a quorum.
  ASSERT_EQ(plan->second.groups.size(), 4u);
  EXPECT_EQ(plan->second.groups[0], plan->minority);
  std::set<std::string> rest;
  for (size_t g = 1; g < 4; ++g) {
    ASSERT_EQ(plan->second.groups[g].size(), 2u);
    EXPECT_EQ(plan->second.groups[g][0], "n3");
    rest.insert(plan->second.groups[g][1]);
  }
  EXPECT_EQ(rest.size(), 3u);
  const Grudge& cut = plan->second.grudge;
  EXPECT_EQ(cut.at(plan->minority[0]).size(), 4u);
  EXPECT_FALSE(cut.at("n3").contains(*rest.begin()));
  for (const auto& x : rest) {
    EXPECT_EQ(cut.at(x).size(), 3u) << x;  // the minority and the two others
    for (const auto& y : cut.at(x)) EXPECT_TRUE(cut.at(y).contains(x));
  }

  std::vector<std::string> seven = {"n1", "n2", "n3", "n4", "n5", "n6", "n7"};
  auto big = PlanMinoritySwap(seven, rng, "n7");
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->minority.size(), 2u);  // quorum 4 - 2
  EXPECT_EQ(big->first.groups[0].size(), 3u);
  for (const auto& g : big->first.groups) EXPECT_LT(g.size(), 4u);
  ExpectGroupsMatchGrudge(big->first);

  EXPECT_FALSE(PlanMinoritySwap(kNodes, rng, "").ok());
  EXPECT_FALSE(PlanMinoritySwap({"n1", "n2"}, rng, "n1").ok());
}

TEST(PlanTest, TargetCounts) {
  std::mt19937_64 rng(5);
  EXPECT_EQ(ChooseTargets("one", kNodes, rng)->size(), 1u);
  EXPECT_EQ(ChooseTargets("minority", kNodes, rng)->size(), 2u);
  EXPECT_EQ(ChooseTargets("majority", kNodes, rng)->size(), 3u);
  EXPECT_EQ(ChooseTargets("all", kNodes, rng)->size(), 5u);
  EXPECT_EQ(*ChooseTargets("leader", kNodes, rng, "n2"), (std::vector<std::string>{"n2"}));
  EXPECT_FALSE(ChooseTargets("leader", kNodes, rng, "").ok());
  EXPECT_FALSE(ChooseTargets("most", kNodes, rng).ok());
}

}  // namespace
}  // namespace chaos::nemesis
