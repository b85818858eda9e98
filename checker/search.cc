#include "checker/search.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <tuple>

#include "base/check.h"

namespace chaos::checker {
namespace {

constexpr int kNone = -1;
constexpr size_t kMaxFinalPaths = 16;
constexpr size_t kFinalPathTail = 8;

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The set of explored configurations: open addressing over entries whose
// bitsets live in fixed-size blocks (no vector doubling, so the bytes
// accounted are the bytes held). Bytes are accounted against a shared budget
// before they are allocated.
class Cache {
 public:
  Cache(size_t words, const SearchLimits& limits)
      : words_(words),
        per_block_(std::max<size_t>(1, kBlockBytes / (words * sizeof(uint64_t)))),
        limits_(limits) {
    if (Account(static_cast<int64_t>(1024 * sizeof(uint32_t)))) slots_.assign(1024, 0);
  }
  ~Cache() { Account(-bytes_); }

  // False if already present or not inserted. Sets *over_budget when the
  // memory limit is reached (the search must then stop).
  bool Insert(const std::vector<uint64_t>& bits, uint64_t bits_hash, const State& state,
              bool* over_budget) {
    if (slots_.empty()) {
      *over_budget = true;
      return false;
    }
    uint64_t h = Mix(bits_hash ^ StateHash()(state));
    size_t mask = slots_.size() - 1;
    size_t i = h & mask;
    while (slots_[i] != 0) {
      uint32_t e = slots_[i] - 1;
      if (hashes_[e] == h && states_[e] == state && std::equal(bits.begin(), bits.end(), Bits(e))) {
        return false;
      }
      i = (i + 1) & mask;
    }
    // Per entry: its hash, its state (vector header, heap block and malloc's
    // overhead), and, when a new block starts, the whole block.
    const size_t e = hashes_.size();
    int64_t entry_bytes = static_cast<int64_t>(sizeof(uint64_t) + sizeof(State) +
                                               state.size() * sizeof(int64_t) + 16);
    if (e % per_block_ == 0) {
      entry_bytes += static_cast<int64_t>(per_block_ * words_ * sizeof(uint64_t));
    }
    if (e >= UINT32_MAX / 2 || !Account(entry_bytes)) {
      *over_budget = true;
      return false;
    }
    if (e % per_block_ == 0) {
      blocks_.push_back(std::make_unique_for_overwrite<uint64_t[]>(per_block_ * words_));
    }
    hashes_.push_back(h);
    states_.push_back(state);
    std::copy(bits.begin(), bits.end(), Bits(e));
    slots_[i] = static_cast<uint32_t>(e + 1);
    // A table that cannot grow would fill up: stop at the budget instead.
    if (hashes_.size() * 2 > slots_.size()) Grow(over_budget);
    return true;
  }
  int64_t bytes() const { return bytes_; }

 private:
  static constexpr size_t kBlockBytes = 256 << 10;

  uint64_t* Bits(size_t e) const {
    return blocks_[e / per_block_].get() + (e % per_block_) * words_;
  }
  void Grow(bool* over_budget) {
    const size_t n = slots_.size() * 2;
    const int64_t old_bytes = static_cast<int64_t>(slots_.size() * sizeof(uint32_t));
    if (!Account(2 * old_bytes)) {  // the new table, while the old one still exists
      *over_budget = true;
      return;
    }
    std::vector<uint32_t> slots(n, 0);
    for (size_t e = 0; e < hashes_.size(); ++e) {
      size_t i = hashes_[e] & (n - 1);
      while (slots[i] != 0) i = (i + 1) & (n - 1);
      slots[i] = static_cast<uint32_t>(e + 1);
    }
    slots_.swap(slots);
    slots = std::vector<uint32_t>();
    Account(-old_bytes);
  }
  // Adds `delta` bytes; false (and nothing added) when over the limit.
  bool Account(int64_t delta) {
    if (limits_.bytes_used != nullptr) {
      int64_t now = limits_.bytes_used->fetch_add(delta) + delta;
      if (delta > 0 && now > limits_.bytes_limit) {
        limits_.bytes_used->fetch_sub(delta);
        return false;
      }
    }
    bytes_ += delta;
    return true;
  }

  size_t words_;
  size_t per_block_;
  const SearchLimits& limits_;
  std::vector<uint32_t> slots_;
  std::deque<uint64_t> hashes_;
  std::deque<State> states_;
  std::vector<std::unique_ptr<uint64_t[]>> blocks_;
  int64_t bytes_ = 0;
};

}  // namespace

SearchOutcome Search(const Model& model, const std::vector<Call>& calls, const SearchLimits& limits,
                     bool canonical_pending) {
  SearchOutcome out;
  if (calls.size() > static_cast<size_t>(INT32_MAX / 4)) {
    out.cause = "memory-limit: " + std::to_string(calls.size()) + " ops in one search";
    return out;
  }
  const int n = static_cast<int>(calls.size());
  int total_must = 0;
  for (const Call& c : calls) total_must += c.complete_pos >= 0 ? 1 : 0;
  if (total_must == 0) {
    out.verdict = Verdict::kValid;
    return out;
  }

  // Events in history order; completions of calls without one go last.
  struct Event {
    int64_t pos;
    int call;
    bool is_return;
  };
  std::vector<Event> events;
  events.reserve(static_cast<size_t>(2 * n));
  for (int id = 0; id < n; ++id) {
    const Call& c = calls[static_cast<size_t>(id)];
    events.push_back({c.invoke_pos, id, false});
    int64_t ret = c.complete_pos >= 0 ? c.complete_pos : INT64_MAX;
    events.push_back({ret, id, true});
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& x, const Event& y) {
    if (x.pos != y.pos) return x.pos < y.pos;
    if (x.is_return != y.is_return) return !x.is_return;  // a call before a return
    return x.call < y.call;
  });

  // twin_before[id]: the call without a completion invoked last before `id`
  // among those with the same op; `id` may take effect only after it did.
  std::vector<int> twin_before(static_cast<size_t>(n), kNone);
  if (canonical_pending) {
    std::map<std::tuple<Fn, int64_t, int64_t, std::vector<int64_t>>, int> last;
    for (const Event& e : events) {
      const Call& c = calls[static_cast<size_t>(e.call)];
      if (e.is_return || c.complete_pos >= 0) continue;
      auto [it, fresh] = last.try_emplace({c.fn, c.a, c.b, c.args}, e.call);
      if (!fresh) {
        twin_before[static_cast<size_t>(e.call)] = it->second;
        it->second = e.call;
      }
    }
  }

  // Doubly linked list: node 0 is the head; node k+1 is events[k].
  const int nodes = 2 * n + 1;
  std::vector<int> next(static_cast<size_t>(nodes)), prev(static_cast<size_t>(nodes));
  std::vector<int> call_node(static_cast<size_t>(n)), ret_node(static_cast<size_t>(n));
  for (int k = 0; k < nodes; ++k) {
    next[static_cast<size_t>(k)] = k + 1 < nodes ? k + 1 : kNone;
    prev[static_cast<size_t>(k)] = k - 1;
  }
  std::vector<int> node_call(static_cast<size_t>(nodes), kNone);
  std::vector<char> node_is_return(static_cast<size_t>(nodes), 0);
  for (int k = 0; k < 2 * n; ++k) {
    const Event& e = events[static_cast<size_t>(k)];
    node_call[static_cast<size_t>(k + 1)] = e.call;
    node_is_return[static_cast<size_t>(k + 1)] = e.is_return;
    (e.is_return ? ret_node : call_node)[static_cast<size_t>(e.call)] = k + 1;
  }
  auto unlink = [&](int x) {
    next[static_cast<size_t>(prev[static_cast<size_t>(x)])] = next[static_cast<size_t>(x)];
    if (next[static_cast<size_t>(x)] != kNone) {
      prev[static_cast<size_t>(next[static_cast<size_t>(x)])] = prev[static_cast<size_t>(x)];
    }
  };
  auto relink = [&](int x) {
    if (next[static_cast<size_t>(x)] != kNone) {
      prev[static_cast<size_t>(next[static_cast<size_t>(x)])] = x;
    }
    next[static_cast<size_t>(prev[static_cast<size_t>(x)])] = x;
  };

  const size_t words = (static_cast<size_t>(n) + 63) / 64;
  std::vector<uint64_t> bits(words, 0);
  std::vector<uint64_t> zobrist(static_cast<size_t>(n));
  for (int id = 0; id < n; ++id)
    zobrist[static_cast<size_t>(id)] = Mix(static_cast<uint64_t>(id) * 7919 + 1);
  uint64_t bits_hash = 0;
  Cache cache(words, limits);

  struct Frame {
    int call;
    State before;
  };
  std::vector<Frame> stack;
  State state = model.Initial();
  State next_state;
  State alt_state;
  int linearized_must = 0;
  int64_t best_pos = -1;
  int entry = next[0];
  uint64_t steps = 0;

  auto finish = [&](Verdict v, std::string cause) {
    out.verdict = v;
    out.cause = std::move(cause);
    out.cache_bytes_peak = std::max(out.cache_bytes_peak, cache.bytes());
    return out;
  };

  while (true) {
    if ((++steps & 255) == 0) {
      if (limits.stop != nullptr && limits.stop->load(std::memory_order_relaxed)) {
        return finish(Verdict::kUnknown, "stopped");
      }
      if ((steps & 4095) == 0 && std::chrono::steady_clock::now() > limits.deadline) {
        return finish(Verdict::kUnknown, "time-limit");
      }
    }
    out.cache_bytes_peak = std::max(out.cache_bytes_peak, cache.bytes());
    if (entry != kNone && !node_is_return[static_cast<size_t>(entry)]) {
      const int id = node_call[static_cast<size_t>(entry)];
      const Call& c = calls[static_cast<size_t>(id)];
      const int twin = twin_before[static_cast<size_t>(id)];
      if (twin != kNone && (bits[static_cast<size_t>(twin) / 64] >> (twin % 64) & 1) == 0) {
        entry = next[static_cast<size_t>(entry)];  // its earlier twin first
        continue;
      }
      bool take = model.Step(state, c, &next_state);
      if (take && canonical_pending) {
        // A pending call need not take effect where that changes nothing, nor
        // just before a call that reaches the same state without it (a write
        // overwritten unread): the configuration without it is explored too.
        if (c.complete_pos < 0 && next_state == state) {
          take = false;
        } else if (!stack.empty() &&
                   calls[static_cast<size_t>(stack.back().call)].complete_pos < 0 &&
                   model.Step(stack.back().before, c, &alt_state) && alt_state == next_state) {
          take = false;
        }
      }
      if (take) {
        bits[static_cast<size_t>(id) / 64] |= 1ull << (id % 64);
        bits_hash ^= zobrist[static_cast<size_t>(id)];
        bool over_budget = false;
        const bool inserted = cache.Insert(bits, bits_hash, next_state, &over_budget);
        if (over_budget) return finish(Verdict::kUnknown, "memory-limit");
        if (inserted) {
          ++out.states;
          stack.push_back({id, std::move(state)});
          state = next_state;
          unlink(call_node[static_cast<size_t>(id)]);
          unlink(ret_node[static_cast<size_t>(id)]);
          if (c.complete_pos >= 0) ++linearized_must;
          out.max_linearized =
              std::max<int64_t>(out.max_linearized, static_cast<int64_t>(stack.size()));
          if (linearized_must == total_must) return finish(Verdict::kValid, "");
          entry = next[0];
          continue;
        }
        ++out.cache_hits;
        bits[static_cast<size_t>(id) / 64] &= ~(1ull << (id % 64));
        bits_hash ^= zobrist[static_cast<size_t>(id)];
      }
      entry = next[static_cast<size_t>(entry)];
      continue;
    }
    // A completion (or the end) is reached with its call unlinearized: record
    // how deep we got, then backtrack.
    if (entry != kNone) {
      const int id = node_call[static_cast<size_t>(entry)];
      const int64_t pos = calls[static_cast<size_t>(id)].complete_pos;
      if (pos > best_pos) {
        best_pos = pos;
        out.failing_call = id;
        out.deepest_path.clear();
        for (const Frame& f : stack) out.deepest_path.push_back(f.call);
        out.final_paths.clear();
      }
      if (pos == best_pos && out.final_paths.size() < kMaxFinalPaths) {
        bool seen = false;
        for (const FinalPath& p : out.final_paths) seen = seen || p.state == state;
        if (!seen) {
          FinalPath p;
          size_t from = stack.size() > kFinalPathTail ? stack.size() - kFinalPathTail : 0;
          for (size_t k = from; k < stack.size(); ++k) p.tail.push_back(stack[k].call);
          p.state = state;
          out.final_paths.push_back(std::move(p));
        }
      }
    }
    if (stack.empty()) return finish(Verdict::kInvalid, "");
    Frame top = std::move(stack.back());
    stack.pop_back();
    state = std::move(top.before);
    const int id = top.call;
    bits[static_cast<size_t>(id) / 64] &= ~(1ull << (id % 64));
    bits_hash ^= zobrist[static_cast<size_t>(id)];
    relink(ret_node[static_cast<size_t>(id)]);
    relink(call_node[static_cast<size_t>(id)]);
    if (calls[static_cast<size_t>(id)].complete_pos >= 0) --linearized_must;
    entry = next[static_cast<size_t>(call_node[static_cast<size_t>(id)])];
    CHAOS_CHECK(linearized_must >= 0);
  }
}

}  // namespace chaos::checker
