#include "checker/search.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <numeric>
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

// The set of explored configurations. A configuration is the set of
// linearized calls and the model state, encoded as a key of 32-bit words
// (see Search: a watermark, the few calls linearized past it or pending, and
// the state), so an entry costs what is in flight, not the whole history.
// Keys live in fixed-size blocks and the per-entry arrays are deques (no
// vector doubling), so the bytes accounted are the bytes held; bytes are
// accounted against a shared budget before they are allocated.
class Cache {
 public:
  explicit Cache(const SearchLimits& limits) : limits_(limits) {
    if (Account(static_cast<int64_t>(1024 * sizeof(uint32_t)))) slots_.assign(1024, 0);
  }
  ~Cache() { Account(-bytes_); }

  // False if already present or not inserted. Sets *over_budget when the
  // memory limit is reached (the search must then stop).
  bool Insert(const std::vector<uint32_t>& key, uint64_t h, bool* over_budget) {
    if (slots_.empty()) {
      *over_budget = true;
      return false;
    }
    const size_t mask = slots_.size() - 1;
    size_t i = h & mask;
    while (slots_[i] != 0) {
      const uint32_t e = slots_[i] - 1;
      if (hashes_[e] == h && lengths_[e] == key.size() &&
          std::equal(key.begin(), key.end(), Words(e))) {
        return false;
      }
      i = (i + 1) & mask;
    }
    const size_t e = hashes_.size();
    // Per entry: its hash, where its key is, its length; when a new block
    // starts, the whole block.
    int64_t entry_bytes = static_cast<int64_t>(2 * sizeof(uint64_t) + sizeof(uint32_t));
    const bool new_block = blocks_.empty() || block_used_ + key.size() > block_words_.back();
    const size_t block_words = std::max(kBlockWords, key.size());
    if (new_block) entry_bytes += static_cast<int64_t>(block_words * sizeof(uint32_t));
    if (e >= UINT32_MAX / 2 || !Account(entry_bytes)) {
      *over_budget = true;
      return false;
    }
    if (new_block) {
      blocks_.push_back(std::make_unique_for_overwrite<uint32_t[]>(block_words));
      block_words_.push_back(block_words);
      block_used_ = 0;
    }
    hashes_.push_back(h);
    where_.push_back((static_cast<uint64_t>(blocks_.size() - 1) << 32) | block_used_);
    lengths_.push_back(static_cast<uint32_t>(key.size()));
    std::copy(key.begin(), key.end(), blocks_.back().get() + block_used_);
    block_used_ += key.size();
    slots_[i] = static_cast<uint32_t>(e + 1);
    // A table that cannot grow would fill up: stop at the budget instead.
    if (hashes_.size() * 2 > slots_.size()) Grow(over_budget);
    return true;
  }
  int64_t bytes() const { return bytes_; }
  int64_t entries() const { return static_cast<int64_t>(hashes_.size()); }

 private:
  static constexpr size_t kBlockWords = 64 << 10;  // 256 KB

  const uint32_t* Words(size_t e) const {
    return blocks_[where_[e] >> 32].get() + (where_[e] & 0xffffffffu);
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

  const SearchLimits& limits_;
  std::vector<uint32_t> slots_;
  std::deque<uint64_t> hashes_;
  std::deque<uint64_t> where_;  // block << 32 | offset
  std::deque<uint32_t> lengths_;
  std::vector<std::unique_ptr<uint32_t[]>> blocks_;
  std::vector<size_t> block_words_;
  size_t block_used_ = 0;
  int64_t bytes_ = 0;
};

}  // namespace

SearchOutcome Search(const Model& model, const std::vector<Call>& calls, const SearchLimits& limits,
                     bool canonical_pending, std::vector<State>* final_states) {
  SearchOutcome out;
  if (final_states != nullptr) {
    final_states->clear();
    for (const Call& c : calls) {
      CHAOS_CHECK_MSG(c.complete_pos >= 0, "final states asked of a search with pending call %lld",
                      static_cast<long long>(c.invoke_pos));
    }
  }
  if (calls.size() > static_cast<size_t>(INT32_MAX / 4)) {
    out.cause = "memory-limit: " + std::to_string(calls.size()) + " ops in one search";
    return out;
  }
  const int n = static_cast<int>(calls.size());
  int total_must = 0;
  for (const Call& c : calls) total_must += c.complete_pos >= 0 ? 1 : 0;
  if (total_must == 0) {
    out.verdict = Verdict::kValid;
    if (final_states != nullptr) final_states->push_back(model.Initial());
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
  Cache cache(limits);
  auto is_set = [&](int id) { return (bits[static_cast<size_t>(id) / 64] >> (id % 64) & 1) != 0; };

  // The cache key of a configuration costs what is in flight, not what is
  // past: the watermark (the first call with a completion not linearized;
  // every such call before it is), the pending calls linearized below it,
  // the calls linearized above it (all invoked before the watermark call
  // completes, or the search could not have reached them), and the state.
  // It is a function of (linearized set, state), so the cache stays exact.
  // reach[id]: the largest id invoked before call `id` completes.
  std::vector<int> reach(static_cast<size_t>(n), n - 1);
  {
    std::vector<int> by_invoke(static_cast<size_t>(n));
    std::iota(by_invoke.begin(), by_invoke.end(), 0);
    std::sort(by_invoke.begin(), by_invoke.end(), [&](int x, int y) {
      return calls[static_cast<size_t>(x)].invoke_pos < calls[static_cast<size_t>(y)].invoke_pos;
    });
    std::vector<int64_t> invokes(static_cast<size_t>(n));
    std::vector<int> max_id(static_cast<size_t>(n));
    for (size_t k = 0; k < by_invoke.size(); ++k) {
      invokes[k] = calls[static_cast<size_t>(by_invoke[k])].invoke_pos;
      max_id[k] = std::max(k > 0 ? max_id[k - 1] : -1, by_invoke[k]);
    }
    for (int id = 0; id < n; ++id) {
      const int64_t end = calls[static_cast<size_t>(id)].complete_pos;
      if (end < 0) continue;
      const auto k = std::lower_bound(invokes.begin(), invokes.end(), end) - invokes.begin();
      reach[static_cast<size_t>(id)] = k > 0 ? max_id[static_cast<size_t>(k - 1)] : -1;
    }
  }
  auto must = [&](int id) { return calls[static_cast<size_t>(id)].complete_pos >= 0; };
  int watermark = 0;
  auto advance_watermark = [&] {
    while (watermark < n && (!must(watermark) || is_set(watermark))) ++watermark;
  };
  advance_watermark();
  std::vector<int> pending_taken;  // sorted
  std::vector<uint32_t> key, high;
  auto make_key = [&](const State& st) {
    const auto low_end = std::lower_bound(pending_taken.begin(), pending_taken.end(), watermark);
    high.clear();
    if (watermark < n) {
      const int last = reach[static_cast<size_t>(watermark)];
      for (int id = watermark + 1; id <= last; ++id) {
        const uint64_t word = bits[static_cast<size_t>(id) / 64] >> (id % 64);
        if (word == 0) {
          id |= 63;  // nothing more in this word
          continue;
        }
        if (word & 1) high.push_back(static_cast<uint32_t>(id));
      }
    }
    key.clear();
    key.push_back(static_cast<uint32_t>(watermark));
    key.push_back(static_cast<uint32_t>(low_end - pending_taken.begin()));
    key.push_back(static_cast<uint32_t>(high.size()));
    key.push_back(static_cast<uint32_t>(st.size()));
    for (auto it = pending_taken.begin(); it != low_end; ++it) {
      key.push_back(static_cast<uint32_t>(*it));
    }
    key.insert(key.end(), high.begin(), high.end());
    for (int64_t v : st) {
      key.push_back(static_cast<uint32_t>(static_cast<uint64_t>(v)));
      key.push_back(static_cast<uint32_t>(static_cast<uint64_t>(v) >> 32));
    }
  };
  // Marks `id` linearized (or not) in the bitset, its hash, the watermark and
  // the pending list.
  auto mark = [&](int id, bool on) {
    bits[static_cast<size_t>(id) / 64] ^= 1ull << (id % 64);
    bits_hash ^= zobrist[static_cast<size_t>(id)];
    if (!must(id)) {
      auto it = std::lower_bound(pending_taken.begin(), pending_taken.end(), id);
      if (on) {
        pending_taken.insert(it, id);
      } else {
        pending_taken.erase(it);
      }
    } else if (on) {
      if (id == watermark) advance_watermark();
    } else if (id < watermark) {
      watermark = id;
    }
    // The key leaves out calls past reach[watermark]: none can be linearized.
    CHAOS_CHECK(!on || watermark >= n || id <= reach[static_cast<size_t>(watermark)]);
  };

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
  // Each configuration tries its candidates in two passes: first the calls
  // with a completion, which must be linearized, then the pending ones, which
  // need only be where some completion needs them. The order changes no
  // verdict (every candidate is tried); it finds a linearization without
  // first trying the 2^k ways to apply k pending writes (a key whose final
  // reads see nil after dozens of timed-out writes and cas).
  bool pending_pass = false;
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
      if ((c.complete_pos < 0) != pending_pass) {
        entry = next[static_cast<size_t>(entry)];  // not this pass's
        continue;
      }
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
        mark(id, true);
        make_key(next_state);
        bool over_budget = false;
        const bool inserted =
            cache.Insert(key, Mix(bits_hash ^ StateHash()(next_state)), &over_budget);
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
          if (linearized_must == total_must) {
            if (final_states == nullptr) return finish(Verdict::kValid, "");
            // Every call is linearized: keep the state and look for others.
            if (std::find(final_states->begin(), final_states->end(), state) ==
                final_states->end()) {
              final_states->push_back(state);
            }
            entry = kNone;
            pending_pass = true;
            continue;
          }
          entry = next[0];
          pending_pass = false;
          continue;
        }
        ++out.cache_hits;
        mark(id, false);
      }
      entry = next[static_cast<size_t>(entry)];
      continue;
    }
    // A completion (or the end) is reached with its call unlinearized: after
    // the first pass, the second; after both, record how deep we got, then
    // backtrack.
    if (!pending_pass) {
      pending_pass = true;
      entry = next[0];
      continue;
    }
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
    if (stack.empty()) {
      if (final_states != nullptr && !final_states->empty()) return finish(Verdict::kValid, "");
      return finish(Verdict::kInvalid, "");
    }
    Frame top = std::move(stack.back());
    stack.pop_back();
    state = std::move(top.before);
    const int id = top.call;
    mark(id, false);
    relink(ret_node[static_cast<size_t>(id)]);
    relink(call_node[static_cast<size_t>(id)]);
    if (calls[static_cast<size_t>(id)].complete_pos >= 0) --linearized_must;
    entry = next[static_cast<size_t>(call_node[static_cast<size_t>(id)])];
    pending_pass = calls[static_cast<size_t>(id)].complete_pos < 0;
    CHAOS_CHECK(linearized_must >= 0);
  }
}

}  // namespace chaos::checker
