// The other checkers Jepsen users expect, and compose.
//
// Each reads a whole history (client ops; nemesis ops are ignored) and returns
// a verdict with a JSON result whose `valid` is true, false or "unknown" and
// whose `checker` names it. They never crash on malformed input: an op whose
// value has the wrong shape is counted in `malformed` and makes the verdict
// unknown unless something already makes it invalid.
//
// - set: adds (f add, value v) and reads (f read, value a collection), as
//   Jepsen's set-full: `lost` (known present: acknowledged or read, then
//   absent from the last read that began after it was known), `unexpected`
//   (read but never added), `duplicated` (twice in one read), `never_read`
//   (acknowledged but in no read; not an error). Invalid if lost, unexpected
//   or duplicated; unknown if there is no ok read.
// - counter: adds (f add, value n) and reads (f read, value n): every ok read
//   lies within [sum of adds acknowledged before it was invoked, sum of adds
//   attempted before it completed] (negative adds swap the roles).
// - unique-ids: f generate; every ok value distinct.
// - stats: ok/fail/info counts per f; invalid if some f never succeeded.
// - perf: latency percentiles by f and type, throughput per second; valid.
// - compose: verdicts merged worst-first (invalid over unknown over valid).
//
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "checker/checker.h"
#include "history/op.h"

namespace chaos::checker {

struct CheckerOutput {
  std::string checker;
  Verdict verdict = Verdict::kUnknown;
  nlohmann::json result;  // includes "valid" and "checker"
};

CheckerOutput CheckSet(const history::History& history);
CheckerOutput CheckCounter(const history::History& history);
CheckerOutput CheckUniqueIds(const history::History& history);
CheckerOutput CheckStats(const history::History& history);
CheckerOutput CheckPerf(const history::History& history);
// {valid, checker: "compose", results: {checker: result, ...}}.
CheckerOutput Compose(std::vector<CheckerOutput> outputs);

// The names RunChecker accepts besides "linearizable".
const std::vector<std::string>& OtherCheckerNames();
// Runs a checker by name ("linearizable" uses `options` and `checked`, as
// CheckLinearizable does); InvalidArgument for an unknown name.
Result<CheckerOutput> RunChecker(const std::string& name, const history::History& history,
                                 const LinearizableOptions& options,
                                 const KeyChecks* checked = nullptr);

}  // namespace chaos::checker
