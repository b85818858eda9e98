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

// Chooses target nodes for kill/pause: one, minority, majority, all, leader.
Result<std::vector<std::string>> ChooseTargets(const std::string& mode,
                                               std::vector<std::string> nodes, std::mt19937_64& rng,
                                               const std::string& leader = "");

}  // namespace chaos::nemesis
