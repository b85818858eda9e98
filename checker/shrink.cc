#include "checker/shrink.h"

#include <algorithm>
#include <chrono>
#include <map>

namespace chaos::checker {
namespace {

// When a call's effect can no longer be observed: its completion, or never.
int64_t EndOf(const Call& c) { return c.complete_pos >= 0 ? c.complete_pos : INT64_MAX; }

// The facts each call observed and the calls that could have written each.
struct WriterIndex {
  std::vector<std::vector<Fact>> observed;
  std::map<Fact, std::vector<int>> writers;  // ids in invocation order
  const Model& model;
  const std::vector<Call>& calls;

  WriterIndex(const Model& m, const std::vector<Call>& c) : observed(c.size()), model(m), calls(c) {
    std::vector<Fact> written;
    for (size_t id = 0; id < calls.size(); ++id) {
      written.clear();
      model.Facts(calls[id], &observed[id], &written);
      for (const Fact& f : written) writers[f].push_back(static_cast<int>(id));
    }
  }
  // Could `w` have written `f` for observer `x`: it did write f, and it was
  // invoked before x completed.
  template <typename Fn>
  void ForEachWriter(int x, const Fact& f, Fn&& fn) const {
    auto it = writers.find(f);
    if (it == writers.end()) return;
    const int64_t end = EndOf(calls[static_cast<size_t>(x)]);
    for (int w : it->second) {
      if (calls[static_cast<size_t>(w)].invoke_pos >= end) break;
      if (w != x && !fn(w)) return;
    }
  }
};

// One observed fact that some call of the whole history could have written:
// the observer stays only while one of those writers does.
struct Requirement {
  int observer;
  Fact fact;
};

std::vector<Requirement> Requirements(const WriterIndex& index) {
  std::vector<Requirement> out;
  for (size_t x = 0; x < index.calls.size(); ++x) {
    for (const Fact& f : index.observed[x]) {
      if (index.model.InitiallyHolds(f)) continue;
      bool any = false;
      index.ForEachWriter(static_cast<int>(x), f, [&](int) {
        any = true;
        return false;
      });
      if (any) out.push_back({static_cast<int>(x), f});
    }
  }
  return out;
}

class Shrinker {
 public:
  Shrinker(const Model& model, const std::vector<Call>& calls, int failing_call,
           const SearchLimits& limits)
      : model_(model),
        calls_(calls),
        failing_(failing_call),
        limits_(limits),
        index_(model, calls),
        requirements_(Requirements(index_)),
        in_(calls.size(), 0) {}

  // `candidate` with the failing call, less the observers left without a
  // writer (repeatedly: a cas removed may orphan a read of its `to`). Empty
  // when the failing call itself is left without one.
  std::vector<int> Close(const std::vector<int>& candidate) {
    std::fill(in_.begin(), in_.end(), 0);
    for (int id : candidate) in_[static_cast<size_t>(id)] = 1;
    in_[static_cast<size_t>(failing_)] = 1;
    bool changed = true;
    while (changed) {
      changed = false;
      for (const Requirement& r : requirements_) {
        if (!in_[static_cast<size_t>(r.observer)]) continue;
        bool kept = false;
        index_.ForEachWriter(r.observer, r.fact, [&](int w) {
          kept = in_[static_cast<size_t>(w)] != 0;
          return !kept;
        });
        if (kept) continue;
        if (r.observer == failing_) return {};
        in_[static_cast<size_t>(r.observer)] = 0;
        changed = true;
      }
    }
    std::vector<int> out;
    for (size_t id = 0; id < in_.size(); ++id) {
      if (in_[id]) out.push_back(static_cast<int>(id));
    }
    return out;
  }

  // True if `subset` (closed, with the failing call) is invalid and fails at
  // the failing call.
  bool Fails(const std::vector<int>& subset) {
    ++trials_;
    std::vector<Call> sub;
    sub.reserve(subset.size());
    int failing_in_sub = -1;
    for (int id : subset) {
      if (id == failing_) failing_in_sub = static_cast<int>(sub.size());
      sub.push_back(calls_[static_cast<size_t>(id)]);
    }
    SearchOutcome o = Search(model_, sub, limits_);
    if (o.verdict == Verdict::kUnknown) budget_hit_ = true;
    return o.verdict == Verdict::kInvalid && o.failing_call == failing_in_sub;
  }

  ShrinkResult Run() {
    ShrinkResult out;
    const int64_t horizon = calls_[static_cast<size_t>(failing_)].complete_pos;
    // The search never looks past the failing completion, so later calls can go.
    std::vector<int> all, current;
    for (size_t id = 0; id < calls_.size(); ++id) {
      all.push_back(static_cast<int>(id));
      if (calls_[id].invoke_pos < horizon) current.push_back(static_cast<int>(id));
    }
    current = Close(current);
    if (current.empty() || !Fails(current)) {
      // Should not happen; keep everything rather than claim a smaller failure.
      out.calls = all;
      out.trials = trials_;
      return out;
    }
    size_t n = 2;
    while (current.size() >= 2) {
      if (std::chrono::steady_clock::now() > limits_.deadline) {
        budget_hit_ = true;
        break;
      }
      std::vector<int> rest;
      for (int id : current) {
        if (id != failing_) rest.push_back(id);
      }
      const size_t size = rest.size();
      n = std::min(n, size);
      bool reduced = false;
      // Try each chunk alone, then each complement (with the failing call).
      for (int pass = 0; pass < 2 && !reduced; ++pass) {
        for (size_t i = 0; i < n; ++i) {
          const size_t lo = size * i / n, hi = size * (i + 1) / n;
          std::vector<int> candidate;
          if (pass == 0) {
            if (n == 2 && size > 2) continue;  // complements cover the two halves
            candidate.assign(rest.begin() + static_cast<ptrdiff_t>(lo),
                             rest.begin() + static_cast<ptrdiff_t>(hi));
          } else {
            candidate.assign(rest.begin(), rest.begin() + static_cast<ptrdiff_t>(lo));
            candidate.insert(candidate.end(), rest.begin() + static_cast<ptrdiff_t>(hi),
                             rest.end());
          }
          if (candidate.size() == size) continue;
          candidate = Close(candidate);
          if (candidate.empty() || candidate.size() >= current.size()) continue;
          if (Fails(candidate)) {
            current = std::move(candidate);
            n = pass == 0 ? 2 : std::max<size_t>(n - 1, 2);
            reduced = true;
            break;
          }
        }
      }
      if (reduced) continue;
      if (n >= size) break;
      n = std::min(size, 2 * n);
    }
    out.calls = current;
    out.minimal = !budget_hit_;
    out.trials = trials_;
    return out;
  }

 private:
  const Model& model_;
  const std::vector<Call>& calls_;
  const int failing_;
  const SearchLimits& limits_;
  const WriterIndex index_;
  const std::vector<Requirement> requirements_;
  std::vector<char> in_;
  int64_t trials_ = 0;
  bool budget_hit_ = false;
};

}  // namespace

ShrinkResult ShrinkCounterexample(const Model& model, const std::vector<Call>& calls,
                                  int failing_call, const SearchLimits& limits) {
  return Shrinker(model, calls, failing_call, limits).Run();
}

std::vector<WriterOf> WritersIn(const Model& model, const std::vector<Call>& calls,
                                const std::vector<int>& subset) {
  WriterIndex index(model, calls);
  std::vector<char> in(calls.size(), 0);
  for (int id : subset) in[static_cast<size_t>(id)] = 1;
  std::vector<WriterOf> out;
  for (int x : subset) {
    for (const Fact& f : index.observed[static_cast<size_t>(x)]) {
      WriterOf w{x, f, -1, model.InitiallyHolds(f)};
      if (!w.initial) {
        index.ForEachWriter(x, f, [&](int writer) {
          if (!in[static_cast<size_t>(writer)]) return true;
          w.writer = writer;
          return false;
        });
      }
      out.push_back(w);
    }
  }
  return out;
}

}  // namespace chaos::checker
