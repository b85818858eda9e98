// The linearizability checker: is a concurrent history equivalent to some
// sequential execution of a model that respects real-time order?
//
// Semantics follow Knossos unless an option says otherwise:
// - `fail` ops did not happen and are removed;
// - `info` ops and invocations never completed may take effect at any time
//   after their invocation, or never; reads among them are dropped (they
//   change nothing and observed nothing);
// - a cas's value is [from to]; an ok read of nil matches any state
//   (NilRead::kUnknown) unless NilRead::kValue says it means "holds nil".
//
// The search is Wing & Gong's with Lowe's memoisation (a cache of the set of
// linearized ops, as a bitset, plus the model state) and just-in-time
// linearization (an op is tried only while no pending completion precedes it),
// as Porcupine does. Independent keys (keyed models) and independent
// components of a multi-register are separate searches that run on a thread
// pool (a small history's, on the calling thread alone unless they take more
// than a couple of milliseconds); the first invalid one stops the others.
//
// Budgets: exhausting time_limit_s or memory_limit_bytes yields kUnknown with
// the cause ("time-limit" / "memory-limit") and what was explored; it never
// crashes and keeps the process's own allocations under the memory limit
// (the cache is accounted byte by byte).
//
// Thread safety: CheckLinearizable may be called from many threads at once; it
// uses its own pool of threads and shares nothing between calls.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "history/codec.h"
#include "history/op.h"

namespace chaos::checker {

enum class Verdict { kValid, kInvalid, kUnknown };

// "valid" | "invalid" | "unknown".
const char* VerdictName(Verdict verdict);
// Worst first: invalid over unknown over valid.
Verdict Merge(Verdict a, Verdict b);
// results.json's `valid` field: true, false or "unknown".
nlohmann::json VerdictJson(Verdict verdict);

enum class NilRead { kUnknown, kValue };
enum class FailedCas { kVoid, kMismatch };

struct LinearizableOptions {
  // register, cas-register, multi-register, mutex, set, fifo-queue, unordered-queue.
  std::string model = "cas-register";
  bool keyed = false;  // values are [key, v]; each key is an independent search
  nlohmann::json initial =
      nullptr;  // the model's initial value (register value, multi-register map)
  double time_limit_s = 60;
  int64_t memory_limit_bytes = 4LL << 30;
  int threads = 0;  // 0 = hardware concurrency
  NilRead nil_read = NilRead::kUnknown;
  FailedCas failed_cas = FailedCas::kVoid;
  bool shrink = true;                 // shrink the counterexample of an invalid key
  double shrink_time_limit_s = 10;    // at most this long (and within time_limit_s)
  bool stop_on_first_invalid = true;  // an invalid key stops the other searches
  // Exact rules that prune the orders and subsets of pending (info) calls the
  // search tries (checker/search.h). False only to measure or test them.
  bool canonical_pending = true;
  // Set by anyone (another thread) to stop the searches: those not finished
  // answer unknown, cause "stopped". With stop_on_first_invalid an invalid
  // key sets it, so checks sharing it stop together. Not owned; null: each
  // check has its own.
  std::atomic<bool>* stop = nullptr;
};

// Search statistics, summed over keys.
struct SearchStats {
  int64_t states = 0;       // configurations entered (cache insertions)
  int64_t cache_hits = 0;   // configurations found already explored
  int64_t cache_bytes = 0;  // peak bytes of the largest cache
  double ms = 0;
};

struct CheckResult {
  Verdict verdict = Verdict::kUnknown;
  // True when the history itself is unusable (unpaired ops, values of the
  // wrong shape): the verdict is then kUnknown and `cause` names the op.
  bool input_error = false;
  // Why: "" when valid; for invalid "op N cannot be linearized ..."; for
  // unknown "time-limit", "memory-limit", "stopped" or an input problem.
  std::string cause;
  std::string model;
  int64_t ops = 0;  // ops in the history given
  SearchStats stats;
  // The threads the searches ran on (1 for a small history: see
  // linearizable.cc, RunSearches). Not in ToJson.
  int threads = 0;
  // key (as JSON text, "null" when not keyed) -> {valid, ops, cause, states}.
  nlohmann::json per_key = nlohmann::json::object();
  // Null unless invalid: {key, op, last_linearized, concurrent, final_paths,
  // linearized_prefix_length, shrunk: [ops], shrunk_minimal: bool, story}.
  // `story` is the shrunk history in invocation order, one entry per op:
  // {index, invoke_index, process, f, value, type, observed: [{fact, from}],
  // fails, why}; `from` is the op index that wrote the fact, "initial", or
  // null when nothing could have (checker/shrink.h: the writer rule).
  nlohmann::json counterexample;

  // {valid, checker: "linearizable", model, ops, cause, per_key, counterexample,
  // stats{states, cache_hits, ms}}, the results.json of docs/architecture.md.
  nlohmann::json ToJson() const;
  // A few lines a person can follow: verdict, failing op, concurrent ops,
  // final paths, shrunk history.
  std::string Explain() const;
};

// One op of a counterexample's story (counterexample["story"][i]) as a line:
// "op 10-11 p0 write 1 ok", what it observed and from which op, and for the
// failing op "<- cannot be linearized: <why>".
std::string StoryLine(const nlohmann::json& entry);

// The names of the models CheckLinearizable accepts.
const std::vector<std::string>& ModelNames();

// One key of a keyed history checked on its own, before the rest of the
// history is known: online during `chaos run` (checker/online.h).
struct KeyCheck {
  nlohmann::json key;
  Verdict verdict = Verdict::kUnknown;
  std::string cause;
  int64_t calls = 0;        // calls the search had (fail ops and unknown reads dropped)
  int64_t last_index = -1;  // the largest op index among the ops checked
  // When valid: every model state a linearization of the key can end in, as
  // the model prints it (register, cas-register: the value).
  std::vector<nlohmann::json> final_states;
  SearchStats stats;
};
// Keyed by the key as JSON text (CheckResult::per_key's keys).
using KeyChecks = std::map<std::string, KeyCheck>;

// Checks `key_history`, the ops of one key (values [key v]; ops of one key
// only, or the result is unknown with an input cause), exploring every
// linearization for the states it can end in. A key with an op whose outcome
// is unknown (info, or never completed) is checked as usual, without final
// states.
KeyCheck CheckKeyAlone(const history::History& key_history, const LinearizableOptions& options);

// Checks `history` (client ops; nemesis ops are ignored). Never crashes on
// any input: ops the model cannot read give kUnknown with a cause naming the
// op. Use ValidateLinearizableOptions first to reject bad options.
//
// `checked` (keyed register and cas-register models): keys already checked
// alone. A key found valid there is not searched again when its ops in
// `history` are those checked (up to its last_index) followed only by ok
// reads, each accepted by one of its final states: exactly the linearizable
// extensions, since every later read is invoked after every checked op
// completed. Any other key is searched as usual; its per_key entry and the
// verdict are those of a check without `checked`, except the `states` count.
CheckResult CheckLinearizable(const history::History& history, const LinearizableOptions& options,
                              const KeyChecks* checked = nullptr);

// Checks a keyed history as it streams by, holding only the ops of keys not
// yet complete: `open` is called twice (two passes over the same history).
// The first pass records where each key's last op is; the second buffers each
// key's ops and checks the key on a worker thread as soon as its last op is
// read. Unkeyed, the whole history is one key. The verdict, per_key and
// counterexample are those of CheckLinearizable on the whole history, except
// search statistics and, when several keys are invalid or the history has
// several unusable ops, which one is named. Errors reading the file are
// returned; an unusable history gives input_error as CheckLinearizable does.
Result<CheckResult> CheckLinearizableStream(
    const std::function<Result<std::unique_ptr<history::HistoryReader>>()>& open,
    const LinearizableOptions& options);

// InvalidArgument naming the problem (unknown model, bad initial value, ...).
Status ValidateLinearizableOptions(const LinearizableOptions& options);

}  // namespace chaos::checker
