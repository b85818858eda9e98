// The linearizability search over one independent sub-history.
//
// Wing & Gong's search with Lowe's memoisation and just-in-time linearization,
// as in Porcupine: calls and completions form one list in history order; the
// search tries to linearize a call only while no unlinearized completion
// precedes it, removes linearized calls from the list (dancing links), and
// remembers every (linearized set, model state) configuration it has entered
// so it never explores one twice. Calls whose output is unknown have no
// completion in the list and need not be linearized at all: the search
// succeeds once every call with a completion is linearized. At each
// configuration it tries the calls with a completion before the pending
// ones, so a pending call is applied only where a completion needs it.
//
// Memory: a cached configuration is keyed by a watermark (every call with a
// completion before it is linearized), the few calls linearized past it or
// pending, and the state, so it costs what is in flight, not the history.
//
// When it fails, the deepest completion it reached (the furthest in the
// history) names the op that cannot be linearized, and the configurations
// that reached it are the "final paths".
//
// Thread safety: Search is reentrant; SearchLimits' atomics may be shared by
// searches running at once on many threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "checker/model.h"

namespace chaos::checker {

struct SearchLimits {
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // Set by anyone to stop every search sharing it (yields kUnknown "stopped").
  std::atomic<bool>* stop = nullptr;
  // Bytes held by every search sharing it; above bytes_limit a search gives up.
  std::atomic<int64_t>* bytes_used = nullptr;
  int64_t bytes_limit = INT64_MAX;
};

struct FinalPath {
  std::vector<int> tail;  // the last linearized calls, in order (ids into calls)
  State state;            // the state they reach
};

struct SearchOutcome {
  Verdict verdict = Verdict::kUnknown;
  std::string cause;  // unknown: "time-limit" | "memory-limit" | "stopped"
  int64_t states = 0;
  int64_t cache_hits = 0;
  int64_t cache_bytes_peak = 0;
  // Invalid: the call that cannot be linearized, and the deepest linearization.
  int failing_call = -1;
  std::vector<int> deepest_path;
  std::vector<FinalPath> final_paths;  // distinct states reaching the failing completion
  // Unknown: how far it got (calls linearized at the deepest point).
  int64_t max_linearized = 0;
};

// Calls need invoke_pos and complete_pos (-1: no completion) distinct across
// calls; ids are indices into `calls`.
//
// canonical_pending: rules for calls without a completion (pending: info or
// never completed), each exact, since such a call may take effect or not:
//  - twins (same f and arguments) cannot be told apart, only how many took
//    effect: they are linearized in invocation order only (the j-th to take
//    effect can always be the j-th invoked), which cuts 2^k subsets to k + 1;
//  - one is not linearized where it leaves the state as it was;
//  - nor just before a call that, without it, would be accepted and reach the
//    same state (a write overwritten before anyone read it): the search also
//    explores that call without it, which leaves it free for later.
// False only to measure or test them.
//
// final_states: when not null, the search does not stop at the first
// linearization: it explores every configuration and collects each distinct
// state a complete linearization ends in (valid if there is one). Only for
// calls that all have a completion (a pending call could still change the
// state after the last completion; a programmer error otherwise).
SearchOutcome Search(const Model& model, const std::vector<Call>& calls, const SearchLimits& limits,
                     bool canonical_pending = true, std::vector<State>* final_states = nullptr);

}  // namespace chaos::checker
