// A directed multigraph of transactions with typed edges, and the two walks
// the transactional checker needs: Tarjan's strongly connected components and
// breadth-first shortest paths, both restricted to a subset of edge types and
// to the nodes of one scope (a component found before).
//
// Edges are stored once, grouped by source (compressed sparse rows), so a
// million transactions with ten million edges fit in a few hundred MB. Both
// walks are iterative (no recursion depth limit) and reuse scratch arrays
// sized to the graph, resetting only what they touched, so many small walks
// inside small components cost only their own size.
//
// Thread safety: a Graph is immutable after construction; a Walker belongs to
// one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace chaos::checker::txn {

enum EdgeType : uint8_t {
  kWw = 1,        // write-write: installed the next version
  kWr = 2,        // write-read: read the version the other installed
  kRw = 4,        // read-write (anti-dependency): read a version the other overwrote
  kProcess = 8,   // the same process ran one, then the other
  kRealtime = 16  // one completed before the other was invoked
};
inline constexpr uint8_t kDataEdges = kWw | kWr | kRw;

const char* EdgeTypeName(uint8_t type);  // "ww", "wr", "rw", "process", "realtime"

struct Edge {
  int32_t from = 0;
  int32_t to = 0;
  int32_t key = -1;  // the key the dependency is about; -1 for process and realtime
  uint8_t type = 0;
};

class Graph {
 public:
  // Takes the edges (self-edges are dropped) and groups them by source.
  Graph(int32_t nodes, std::vector<Edge> edges);
  int32_t nodes() const { return nodes_; }
  int64_t edges() const { return static_cast<int64_t>(edges_.size()); }
  // Edges leaving `node`: ids [begin, end).
  int64_t begin(int32_t node) const { return offsets_[static_cast<size_t>(node)]; }
  int64_t end(int32_t node) const { return offsets_[static_cast<size_t>(node) + 1]; }
  const Edge& edge(int64_t id) const { return edges_[static_cast<size_t>(id)]; }

 private:
  int32_t nodes_;
  std::vector<int64_t> offsets_;
  std::vector<Edge> edges_;
};

// Scope: a node is in scope when tags[node] == tag.
struct Scope {
  const std::vector<int32_t>* tags = nullptr;  // null: every node is in scope
  int32_t tag = 0;
  bool Has(int32_t node) const {
    return tags == nullptr || (*tags)[static_cast<size_t>(node)] == tag;
  }
};

class Walker {
 public:
  explicit Walker(const Graph& graph);

  // The strongly connected components of more than one node among `nodes`
  // (all of them in `scope`), following edges whose type is in `mask` and
  // whose target is in scope. Writes each such node's component number into
  // `component_of` (sized to the graph; the caller resets it) and returns
  // the components.
  std::vector<std::vector<int32_t>> Components(const std::vector<int32_t>& nodes, uint8_t mask,
                                               Scope scope, std::vector<int32_t>* component_of);
  // Every node of the graph.
  std::vector<std::vector<int32_t>> Components(uint8_t mask, std::vector<int32_t>* component_of);

  // The edge ids of a shortest path from `from` to `to` (a cycle when they are
  // equal) over edges in `mask` within `scope`; nullopt when there is none or
  // when *steps reaches steps_max (each edge looked at is one step).
  std::optional<std::vector<int64_t>> ShortestPath(int32_t from, int32_t to, uint8_t mask,
                                                   Scope scope, int64_t* steps, int64_t steps_max);

 private:
  const Graph& graph_;
  std::vector<int32_t> index_, low_;
  std::vector<uint8_t> on_stack_;
  std::vector<int64_t> parent_edge_;  // BFS: the edge that reached a node; -2 = unvisited
};

}  // namespace chaos::checker::txn
