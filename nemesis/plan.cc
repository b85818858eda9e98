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

}  // namespace

Result<StaleLeaderPlan> PlanStaleLeader(std::vector<std::string> nodes, std::mt19937_64& rng,
                                        const std::string& leader) {
  if (nodes.size() < 3) {
    return InvalidArgument("the stale-leader partition needs at least 3 nodes, got " +
                           std::to_string(nodes.size()));
  }
  auto it = std::find(nodes.begin(), nodes.end(), leader);
  if (it == nodes.end()) {
    return InvalidArgument("the stale-leader partition needs the leader, got '" + leader + "'");
  }
  nodes.erase(it);
  std::shuffle(nodes.begin(), nodes.end(), rng);
  size_t quorum = (nodes.size() + 1) / 2 + 1;
  StaleLeaderPlan plan;
  plan.restarted.assign(nodes.begin(), nodes.begin() + static_cast<std::ptrdiff_t>(quorum - 1));
  std::vector<std::string> rest(nodes.begin() + static_cast<std::ptrdiff_t>(quorum - 1),
                                nodes.end());
  Separate(plan.isolate.grudge, {leader}, nodes);
  plan.isolate.groups = {{leader}, nodes};
  std::vector<std::string> side = {leader};
  side.insert(side.end(), plan.restarted.begin(), plan.restarted.end());
  Separate(plan.swap.grudge, side, rest);
  plan.swap.groups = {side, rest};
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
