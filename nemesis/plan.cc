// Pure planning of partitions and fault targets.
#include "nemesis/plan.h"

#include <algorithm>

namespace chaos::nemesis {
namespace {

void Separate(Grudge& grudge, const std::vector<std::string>& a,
              const std::vector<std::string>& b) {
  for (const auto& x : a) {
    for (const auto& y : b) {
      grudge[x].insert(y);
      grudge[y].insert(x);
    }
  }
}

// Every node of each group holds a grudge against every node of the others.
PartitionPlan FromGroups(std::vector<std::vector<std::string>> groups) {
  PartitionPlan plan;
  for (size_t i = 0; i < groups.size(); ++i) {
    for (size_t j = i + 1; j < groups.size(); ++j) Separate(plan.grudge, groups[i], groups[j]);
  }
  plan.groups = std::move(groups);
  return plan;
}

// The nodes other than `leader`, shuffled, for a scenario aimed at the leader.
Result<std::vector<std::string>> OthersOfLeader(const std::string& scenario,
                                                std::vector<std::string> nodes,
                                                std::mt19937_64& rng, const std::string& leader) {
  if (nodes.size() < 3) {
    return InvalidArgument("the " + scenario + " partition needs at least 3 nodes, got " +
                           std::to_string(nodes.size()));
  }
  auto it = std::find(nodes.begin(), nodes.end(), leader);
  if (it == nodes.end()) {
    return InvalidArgument("the " + scenario + " partition needs the leader, got '" + leader + "'");
  }
  nodes.erase(it);
  std::shuffle(nodes.begin(), nodes.end(), rng);
  return nodes;
}

}  // namespace

Result<MinoritySwapPlan> PlanMinoritySwap(std::vector<std::string> all, std::mt19937_64& rng,
                                          const std::string& leader) {
  size_t quorum = all.size() / 2 + 1;
  CHAOS_ASSIGN_OR_RETURN(std::vector<std::string> nodes,
                         OthersOfLeader("minority-swap", std::move(all), rng, leader));
  MinoritySwapPlan plan;
  size_t m = std::max<size_t>(1, quorum - 2);
  plan.minority.assign(nodes.begin(), nodes.begin() + static_cast<std::ptrdiff_t>(m));
  std::vector<std::vector<std::string>> first = {{leader}};
  first[0].insert(first[0].end(), plan.minority.begin(), plan.minority.end());
  for (size_t i = m; i < nodes.size(); ++i) {
    if (first.size() == 1 || first.back().size() == quorum - 1) first.emplace_back();
    first.back().push_back(nodes[i]);
  }
  plan.first = FromGroups(std::move(first));
  // Then a star around the old leader: each of the rest talks to it alone.
  std::vector<std::string> rest(nodes.begin() + static_cast<std::ptrdiff_t>(m), nodes.end());
  std::vector<std::string> everyone = rest;
  everyone.push_back(leader);
  Separate(plan.second.grudge, plan.minority, everyone);
  plan.second.groups = {plan.minority};
  for (size_t i = 0; i < rest.size(); ++i) {
    plan.second.groups.push_back({leader, rest[i]});
    for (size_t j = i + 1; j < rest.size(); ++j) Separate(plan.second.grudge, {rest[i]}, {rest[j]});
  }
  return plan;
}

Result<StaleLeaderPlan> PlanStaleLeader(std::vector<std::string> all, std::mt19937_64& rng,
                                        const std::string& leader) {
  size_t quorum = all.size() / 2 + 1;
  CHAOS_ASSIGN_OR_RETURN(std::vector<std::string> nodes,
                         OthersOfLeader("stale-leader", std::move(all), rng, leader));
  StaleLeaderPlan plan;
  plan.restarted.assign(nodes.begin(), nodes.begin() + static_cast<std::ptrdiff_t>(quorum - 1));
  std::vector<std::string> rest(nodes.begin() + static_cast<std::ptrdiff_t>(quorum - 1),
                                nodes.end());
  plan.isolate = FromGroups({{leader}, nodes});
  std::vector<std::string> side = {leader};
  side.insert(side.end(), plan.restarted.begin(), plan.restarted.end());
  plan.swap = FromGroups({side, rest});
  return plan;
}

Result<PartitionPlan> PlanPartition(const std::string& mode, std::vector<std::string> nodes,
                                    std::mt19937_64& rng, const std::string& leader) {
  PartitionPlan plan;
  size_t n = nodes.size();
  if (n < 2) return InvalidArgument("a partition needs at least 2 nodes, got " + std::to_string(n));
  if (mode == "random-halves" || mode == "isolate-one" || mode == "bridge") {
    std::shuffle(nodes.begin(), nodes.end(), rng);
  }
  if (mode == "halves" || mode == "random-halves") {
    // The smaller half first, as Jepsen does: [n1 n2] [n3 n4 n5].
    std::vector<std::string> a(nodes.begin(), nodes.begin() + n / 2);
    std::vector<std::string> b(nodes.begin() + n / 2, nodes.end());
    Separate(plan.grudge, a, b);
    plan.groups = {a, b};
  } else if (mode == "isolate-one" || mode == "leader") {
    std::string lonely = nodes[0];
    if (mode == "leader") {
      if (std::find(nodes.begin(), nodes.end(), leader) == nodes.end()) {
        return InvalidArgument("partition leader: no leader known among the nodes");
      }
      lonely = leader;
    }
    std::vector<std::string> rest;
    for (const auto& x : nodes) {
      if (x != lonely) rest.push_back(x);
    }
    Separate(plan.grudge, {lonely}, rest);
    plan.groups = {{lonely}, rest};
  } else if (mode == "bridge") {
    // Two halves that cannot talk, and one node that talks to both.
    if (n < 3) return InvalidArgument("a bridge partition needs at least 3 nodes");
    std::string bridge = nodes[0];
    std::vector<std::string> a(nodes.begin() + 1, nodes.begin() + 1 + (n - 1) / 2);
    std::vector<std::string> b(nodes.begin() + 1 + (n - 1) / 2, nodes.end());
    Separate(plan.grudge, a, b);
    std::vector<std::string> left = a, right = b;
    left.push_back(bridge);
    right.push_back(bridge);
    plan.groups = {left, right};
  } else if (mode == "majorities-ring") {
    // Each node sees itself and its nearest neighbours on a ring, a majority
    // in all, and every node's majority differs: no two nodes agree.
    size_t majority = n / 2 + 1;
    for (size_t i = 0; i < n; ++i) {
      std::set<size_t> visible;
      for (size_t d = 0; visible.size() < majority; ++d) {
        visible.insert((i + d) % n);
        if (visible.size() < majority) visible.insert((i + n - d) % n);
      }
      std::vector<std::string> group;
      for (size_t j = 0; j < n; ++j) {
        if (visible.contains(j)) {
          group.push_back(nodes[j]);
        } else {
          plan.grudge[nodes[i]].insert(nodes[j]);
          plan.grudge[nodes[j]].insert(nodes[i]);
        }
      }
      plan.groups.push_back(group);
    }
  } else {
    return InvalidArgument("unknown partition mode '" + mode +
                           "' (halves, random-halves, isolate-one, majorities-ring, bridge, "
                           "leader)");
  }
  return plan;
}

Result<std::vector<std::string>> ChooseTargets(const std::string& mode,
                                               std::vector<std::string> nodes, std::mt19937_64& rng,
                                               const std::string& leader) {
  if (nodes.empty()) return InvalidArgument("no nodes to choose from");
  std::shuffle(nodes.begin(), nodes.end(), rng);
  size_t n = nodes.size();
  size_t count;
  if (mode == "one") {
    count = 1;
  } else if (mode == "minority") {
    count = std::max<size_t>(1, (n - 1) / 2);
  } else if (mode == "majority") {
    count = n / 2 + 1;
  } else if (mode == "all") {
    count = n;
  } else if (mode == "leader") {
    if (std::find(nodes.begin(), nodes.end(), leader) == nodes.end()) {
      return InvalidArgument("no leader known among the nodes");
    }
    return std::vector<std::string>{leader};
  } else {
    return InvalidArgument("unknown target mode '" + mode +
                           "' (one, minority, majority, all, leader)");
  }
  nodes.resize(count);
  std::sort(nodes.begin(), nodes.end());
  return nodes;
}

}  // namespace chaos::nemesis
