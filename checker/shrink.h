// Shrinking a non-linearizable sub-history to the fewest ops that still fail.
//
// Delta debugging (Zeller's ddmin) over whole ops: a call's invocation and
// completion are kept or removed together. The result is 1-minimal when
// `minimal` is true: removing any single op of it makes it linearizable.
// Each trial is a full search under `limits`; a trial that runs out of budget
// counts as "does not fail" and clears `minimal`.
//
// Thread safety: reentrant.
#pragma once

#include <vector>

#include "checker/model.h"
#include "checker/search.h"

namespace chaos::checker {

struct ShrinkResult {
  std::vector<int> calls;  // ids into the calls given, in invocation order
  bool minimal = false;
  int64_t trials = 0;
};

// `calls` must be invalid for `model`; `failing_call` is the call the search
// could not linearize (calls invoked after its completion are dropped first).
ShrinkResult ShrinkCounterexample(const Model& model, const std::vector<Call>& calls,
                                  int failing_call, const SearchLimits& limits);

// True if `subset` (ids into calls) is invalid; *budget_hit when a trial was
// unknown.
bool SubsetFails(const Model& model, const std::vector<Call>& calls, const std::vector<int>& subset,
                 const SearchLimits& limits, bool* budget_hit);

}  // namespace chaos::checker
