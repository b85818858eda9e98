// Shrinking a non-linearizable sub-history to a counterexample that explains
// itself.
//
// Dropping ops while keeping the initial state is not enough: once the writes
// are gone, any read of a written value fails on its own, and the smallest
// failing history is then one read that nothing wrote, often not the op the
// search could not linearize. The shrunk history therefore obeys the writer
// rule:
//  - it keeps the call the search could not linearize, and that call is still
//    the one the search cannot linearize in it;
//  - for every fact a call in it observed (a read's value, a cas's `from`, a
//    dequeued element; Model::Facts), it keeps a call that could have written
//    it (one invoked before the observer completed), unless the initial state
//    holds it or no call of the whole history could have written it.
// Delta debugging (Zeller's ddmin) over whole ops under that rule: removing
// ops also removes the observers they leave without a writer. The result is
// minimal when `minimal` is true: removing any one op (and the observers it
// leaves without a writer) makes the history linearizable, or loses the
// failing call. Each trial is a full search under `limits`; a trial that runs
// out of budget counts as "does not fail" and clears `minimal`.
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

// The calls in `subset` (ids into calls) a call of `subset` observed a fact
// of: for each observer in `subset`, its first possible writer in `subset`
// per fact, or -1 when none is there (the initial state's facts need none).
// Used by the shrinker and by its tests.
struct WriterOf {
  int observer;
  Fact fact;
  int writer;            // -1: nothing in the subset could have written it
  bool initial = false;  // the initial state holds it
};
std::vector<WriterOf> WritersIn(const Model& model, const std::vector<Call>& calls,
                                const std::vector<int>& subset);

}  // namespace chaos::checker
