// Pure planning of faults: which nodes a partition separates, which nodes a
// kill or pause hits. No I/O; randomness from the caller's seeded generator.
#pragma once

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"

namespace chaos::nemesis {

// ---- partitions as data (pure, unit-tested) ----

// node -> the nodes it must not talk to. Symmetric for every mode we build.
using Grudge = std::map<std::string, std::set<std::string>>;

// Splits `nodes` into groups for `mode`: halves, random-halves, isolate-one,
// majorities-ring, bridge, leader (isolate `leader`). Returns the grudge and
// the groups for the description. InvalidArgument for an unknown mode or a
// leader that is not one of the nodes.
struct PartitionPlan {
  Grudge grudge;
  std::vector<std::vector<std::string>> groups;
};
Result<PartitionPlan> PlanPartition(const std::string& mode, std::vector<std::string> nodes,
                                    std::mt19937_64& rng, const std::string& leader = "");

// The stale-leader scenario (the simulator's, target/sim): the leader is
// stopped and cut off from everyone (`isolate`) while the others elect a new
// leader; then `restarted` (quorum - 1 of the others) crash and restart, and
// the network becomes {leader + restarted} | the rest (`swap`), so that the
// old leader wakes among freshly restarted acceptors and nobody else.
struct StaleLeaderPlan {
  PartitionPlan isolate;
  std::vector<std::string> restarted;
  PartitionPlan swap;
};
Result<StaleLeaderPlan> PlanStaleLeader(std::vector<std::string> nodes, std::mt19937_64& rng,
                                        const std::string& leader);

// The minority-swap scenario (the simulator's, target/sim), aimed at a leader
// that leads again with the ballot it led with (--bug promise-geq): `first`
// keeps the leader with `minority` (max(1, quorum - 2) others), too few to
// choose anything, and splits the rest into groups too small for a quorum, so
// the leader's last proposals reach only the minority and nobody can be
// elected; `second` cuts the minority off alone and joins each of the rest to
// the old leader alone (a star: they stay cut off from one another), so the
// old leader, deposed by check-quorum without seeing a higher ballot, is the
// only node that can win the next election. The simulator's second step
// joins them all and waits for the runs where the old leader times out
// first (about 1 in 4 with 5 nodes).
struct MinoritySwapPlan {
  std::vector<std::string> minority;
  PartitionPlan first;
  PartitionPlan second;
};
Result<MinoritySwapPlan> PlanMinoritySwap(std::vector<std::string> nodes, std::mt19937_64& rng,
                                          const std::string& leader);

// Chooses target nodes for kill/pause: one, minority, majority, all, leader.
Result<std::vector<std::string>> ChooseTargets(const std::string& mode,
                                               std::vector<std::string> nodes, std::mt19937_64& rng,
                                               const std::string& leader = "");

}  // namespace chaos::nemesis
