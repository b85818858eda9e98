#include "checker/txn/graph.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace chaos::checker::txn {

const char* EdgeTypeName(uint8_t type) {
  switch (type) {
    case kWw:
      return "ww";
    case kWr:
      return "wr";
    case kRw:
      return "rw";
    case kProcess:
      return "process";
    case kRealtime:
      return "realtime";
  }
  return "?";
}

Graph::Graph(int32_t nodes, std::vector<Edge> edges) : nodes_(nodes) {
  offsets_.assign(static_cast<size_t>(nodes) + 1, 0);
  size_t kept = 0;
  for (const Edge& e : edges) {
    if (e.from < 0 || e.from >= nodes || e.to < 0 || e.to >= nodes) {
      std::fprintf(stderr, "txn graph: edge %d -> %d outside %d nodes\n", e.from, e.to, nodes);
      std::abort();
    }
    if (e.from == e.to) continue;
    ++offsets_[static_cast<size_t>(e.from) + 1];
    ++kept;
  }
  for (size_t i = 1; i < offsets_.size(); ++i) offsets_[i] += offsets_[i - 1];
  edges_.resize(kept);
  std::vector<int64_t> next(offsets_.begin(), offsets_.end() - 1);
  for (const Edge& e : edges) {
    if (e.from == e.to) continue;
    edges_[static_cast<size_t>(next[static_cast<size_t>(e.from)]++)] = e;
  }
}

Walker::Walker(const Graph& graph)
    : graph_(graph),
      index_(static_cast<size_t>(graph.nodes()), -1),
      low_(static_cast<size_t>(graph.nodes()), 0),
      on_stack_(static_cast<size_t>(graph.nodes()), 0),
      parent_edge_(static_cast<size_t>(graph.nodes()), -2) {}

std::vector<std::vector<int32_t>> Walker::Components(uint8_t mask,
                                                     std::vector<int32_t>* component_of) {
  std::vector<int32_t> all(static_cast<size_t>(graph_.nodes()));
  for (int32_t i = 0; i < graph_.nodes(); ++i) all[static_cast<size_t>(i)] = i;
  return Components(all, mask, Scope{}, component_of);
}

// Tarjan (1972), iteratively: a frame per node on the DFS path holds the next
// edge to look at.
std::vector<std::vector<int32_t>> Walker::Components(const std::vector<int32_t>& nodes,
                                                     uint8_t mask, Scope scope,
                                                     std::vector<int32_t>* component_of) {
  std::vector<std::vector<int32_t>> out;
  std::vector<int32_t> touched;
  std::vector<int32_t> stack;
  std::vector<std::pair<int32_t, int64_t>> frames;  // node, next edge id
  int32_t counter = 0;
  for (int32_t root : nodes) {
    if (index_[static_cast<size_t>(root)] >= 0) continue;
    frames.push_back({root, graph_.begin(root)});
    index_[static_cast<size_t>(root)] = low_[static_cast<size_t>(root)] = counter++;
    touched.push_back(root);
    stack.push_back(root);
    on_stack_[static_cast<size_t>(root)] = 1;
    while (!frames.empty()) {
      auto& [v, next] = frames.back();
      bool descended = false;
      while (next < graph_.end(v)) {
        const Edge& e = graph_.edge(next++);
        if ((e.type & mask) == 0 || !scope.Has(e.to)) continue;
        const size_t w = static_cast<size_t>(e.to);
        if (index_[w] < 0) {
          index_[w] = low_[w] = counter++;
          touched.push_back(e.to);
          stack.push_back(e.to);
          on_stack_[w] = 1;
          frames.push_back({e.to, graph_.begin(e.to)});
          descended = true;
          break;
        }
        if (on_stack_[w])
          low_[static_cast<size_t>(v)] = std::min(low_[static_cast<size_t>(v)], index_[w]);
      }
      if (descended) continue;
      const int32_t done = v;
      frames.pop_back();
      const size_t d = static_cast<size_t>(done);
      if (!frames.empty()) {
        const size_t parent = static_cast<size_t>(frames.back().first);
        low_[parent] = std::min(low_[parent], low_[d]);
      }
      if (low_[d] != index_[d]) continue;
      std::vector<int32_t> component;
      while (true) {
        const int32_t w = stack.back();
        stack.pop_back();
        on_stack_[static_cast<size_t>(w)] = 0;
        component.push_back(w);
        if (w == done) break;
      }
      if (component.size() > 1) {
        for (int32_t w : component) {
          (*component_of)[static_cast<size_t>(w)] = static_cast<int32_t>(out.size());
        }
        std::sort(component.begin(), component.end());
        out.push_back(std::move(component));
      }
    }
  }
  for (int32_t t : touched) index_[static_cast<size_t>(t)] = -1;
  return out;
}

std::optional<std::vector<int64_t>> Walker::ShortestPath(int32_t from, int32_t to, uint8_t mask,
                                                         Scope scope, int64_t* steps,
                                                         int64_t steps_max) {
  std::vector<int32_t> queue{from};
  std::vector<int32_t> touched{from};
  parent_edge_[static_cast<size_t>(from)] = -1;
  int64_t found = -1;
  for (size_t head = 0; head < queue.size() && found < 0; ++head) {
    const int32_t u = queue[head];
    for (int64_t id = graph_.begin(u); id < graph_.end(u); ++id) {
      if (++*steps >= steps_max) break;
      const Edge& e = graph_.edge(id);
      if ((e.type & mask) == 0 || !scope.Has(e.to)) continue;
      if (e.to == to) {
        found = id;
        break;
      }
      if (parent_edge_[static_cast<size_t>(e.to)] != -2) continue;
      parent_edge_[static_cast<size_t>(e.to)] = id;
      touched.push_back(e.to);
      queue.push_back(e.to);
    }
    if (*steps >= steps_max) break;
  }
  std::optional<std::vector<int64_t>> path;
  if (found >= 0) {
    std::vector<int64_t> p{found};
    for (int32_t at = graph_.edge(found).from; at != from;) {
      const int64_t id = parent_edge_[static_cast<size_t>(at)];
      p.push_back(id);
      at = graph_.edge(id).from;
    }
    std::reverse(p.begin(), p.end());
    path = std::move(p);
  }
  for (int32_t t : touched) parent_edge_[static_cast<size_t>(t)] = -2;
  return path;
}

}  // namespace chaos::checker::txn
