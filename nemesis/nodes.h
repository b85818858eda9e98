// Helpers every nemesis uses: node names of an inventory, running one step on
// several nodes at once, the leader's name, and the mode of a start spec.
//
// Thread safety: OnNodes runs `fn` on one thread per node; `fn` must only use
// that node's session (sessions serialise their own commands).
#pragma once

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "adapters/adapter.h"
#include "base/check.h"
#include "base/status.h"
#include "control/inventory.h"
#include "history/op.h"

namespace chaos::nemesis {

std::vector<std::string> NodeNames(const control::Inventory& inventory);

// Runs `fn(node)` on the named nodes at once; the first error in order.
template <typename Fn>
Status OnNodes(const control::Inventory& inventory, const std::vector<std::string>& names, Fn fn) {
  std::vector<Status> results(names.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < names.size(); ++i) {
    const control::NodeInfo* node = inventory.Find(names[i]);
    CHAOS_CHECK_MSG(node != nullptr, "node %s not in the inventory", names[i].c_str());
    threads.emplace_back([&, i, node] { results[i] = fn(*node); });
  }
  for (auto& t : threads) t.join();
  for (const auto& s : results) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// The adapter's current leader, or "" if it has none or does not know.
std::string Leader(adapters::Adapter* adapter);

// spec["mode"] if it is a string, else one of `modes` at random.
std::string ModeOf(const history::Json& spec, const std::vector<std::string>& modes,
                   std::mt19937_64& rng);

}  // namespace chaos::nemesis
