// Running one function on every node at once: the one fan-out of chaos, used
// by the sessions (connect, run a command everywhere), the runner and the
// bench (set up, start, tear down), and the nemeses (a fault on its targets).
//
// Each call starts one thread per item, waits for all of them, and gives the
// results in the order of the items; a call returns only when every thread
// has ended.
//
// Thread safety: `fn` runs on one thread per item at the same time; it must
// only touch what belongs to its item (control::Nodes hands out one session
// per node).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/check.h"
#include "base/status.h"
#include "control/inventory.h"

namespace chaos::control {

// fn(0), ..., fn(count - 1) at once; their results in that order.
template <typename Fn>
auto AtOnce(size_t count, Fn fn) -> std::vector<std::invoke_result_t<Fn&, size_t>> {
  using R = std::invoke_result_t<Fn&, size_t>;
  std::vector<std::optional<R>> slots(count);
  std::vector<std::thread> threads;
  threads.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    threads.emplace_back([&, i] { slots[i].emplace(fn(i)); });
  }
  for (auto& t : threads) t.join();
  std::vector<R> results;
  results.reserve(count);
  for (auto& slot : slots) results.push_back(std::move(*slot));
  return results;
}

// fn(node) on every node of `inventory` at once; the statuses in inventory
// order.
template <typename Fn>
std::vector<Status> OnAllNodes(const Inventory& inventory, Fn fn) {
  return AtOnce(inventory.nodes.size(), [&](size_t i) { return fn(inventory.nodes[i]); });
}

// The first error in order, or ok.
inline Status FirstError(const std::vector<Status>& statuses) {
  for (const auto& s : statuses) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// fn(node) on the named nodes at once (each must be in `inventory`); the
// first error in the order of `names`, or ok.
template <typename Fn>
Status OnNodes(const Inventory& inventory, const std::vector<std::string>& names, Fn fn) {
  std::vector<const NodeInfo*> nodes;
  for (const auto& name : names) {
    nodes.push_back(inventory.Find(name));
    CHAOS_CHECK_MSG(nodes.back() != nullptr, "node %s not in the inventory", name.c_str());
  }
  return FirstError(AtOnce(nodes.size(), [&](size_t i) -> Status { return fn(*nodes[i]); }));
}

}  // namespace chaos::control
