// Running one function per node at once, for the runner and the bench.
//
// Thread safety: `fn` is called from one thread per node at the same time.
#pragma once

#include <thread>
#include <vector>

#include "base/status.h"
#include "control/inventory.h"

namespace chaos::harness {

// Calls fn(node) on every node of `inventory` at once (one thread per node);
// the statuses in inventory order.
template <typename Fn>
std::vector<Status> OnAllNodes(const control::Inventory& inventory, Fn fn) {
  std::vector<Status> results(inventory.nodes.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < inventory.nodes.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = fn(inventory.nodes[i]); });
  }
  for (auto& t : threads) t.join();
  return results;
}

// The first error in order, or ok.
inline Status FirstError(const std::vector<Status>& statuses) {
  for (const auto& s : statuses) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace chaos::harness
