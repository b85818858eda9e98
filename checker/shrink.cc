#include "checker/shrink.h"

#include <algorithm>
#include <chrono>

namespace chaos::checker {

bool SubsetFails(const Model& model, const std::vector<Call>& calls, const std::vector<int>& subset,
                 const SearchLimits& limits, bool* budget_hit) {
  std::vector<Call> sub;
  sub.reserve(subset.size());
  for (int id : subset) sub.push_back(calls[static_cast<size_t>(id)]);
  SearchOutcome o = Search(model, sub, limits);
  if (o.verdict == Verdict::kUnknown) *budget_hit = true;
  return o.verdict == Verdict::kInvalid;
}

ShrinkResult ShrinkCounterexample(const Model& model, const std::vector<Call>& calls,
                                  int failing_call, const SearchLimits& limits) {
  ShrinkResult out;
  const int64_t horizon = calls[static_cast<size_t>(failing_call)].complete_pos;
  // The search never looks past the failing completion, so later calls can go.
  std::vector<int> current;
  for (size_t id = 0; id < calls.size(); ++id) {
    if (calls[id].invoke_pos < horizon) current.push_back(static_cast<int>(id));
  }
  bool budget_hit = false;
  auto fails = [&](const std::vector<int>& subset) {
    ++out.trials;
    return SubsetFails(model, calls, subset, limits, &budget_hit);
  };
  if (!fails(current)) {
    // Should not happen; keep everything rather than claim a smaller failure.
    current.clear();
    for (size_t id = 0; id < calls.size(); ++id) current.push_back(static_cast<int>(id));
    out.calls = current;
    out.minimal = false;
    return out;
  }
  size_t n = 2;
  while (current.size() >= 2) {
    if (std::chrono::steady_clock::now() > limits.deadline) {
      budget_hit = true;
      break;
    }
    const size_t size = current.size();
    n = std::min(n, size);
    bool reduced = false;
    // Try each chunk alone, then each complement.
    for (int pass = 0; pass < 2 && !reduced; ++pass) {
      for (size_t i = 0; i < n; ++i) {
        size_t lo = size * i / n, hi = size * (i + 1) / n;
        std::vector<int> candidate;
        if (pass == 0) {
          if (n == 2 && size > 2) continue;  // complements cover the two halves
          candidate.assign(current.begin() + static_cast<ptrdiff_t>(lo),
                           current.begin() + static_cast<ptrdiff_t>(hi));
        } else {
          candidate.assign(current.begin(), current.begin() + static_cast<ptrdiff_t>(lo));
          candidate.insert(candidate.end(), current.begin() + static_cast<ptrdiff_t>(hi),
                           current.end());
        }
        if (candidate.empty() || candidate.size() == size) continue;
        if (fails(candidate)) {
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
  out.minimal = !budget_hit;
  return out;
}

}  // namespace chaos::checker
