// Validation of a history's shape, and its statistics.
//
// A client process alternates invoke, completion. Errors: a completion with
// no open invocation for its process; a second invocation while one is open;
// an op after its process crashed (an info completion). Named processes
// (the nemesis) may record info ops in pairs, as Jepsen's nemesis does, and
// are not held to the alternation. Times that go backwards are allowed (real
// Jepsen histories have them) and counted.
#pragma once

#include <map>
#include <set>
#include <string>

#include "base/status.h"
#include "history/op.h"
#include "history/pairing.h"

namespace chaos::history {

struct HistoryStats {
  int64_t ops = 0;
  std::map<std::string, std::map<std::string, int64_t>> by_f_and_type;  // f -> type -> n
  std::set<Process> processes;
  std::set<Process> crashed;      // ended with info, or invoked and never completed
  int64_t time_backwards = 0;     // ops whose time is earlier than the previous op's
  int64_t min_time_ns = kAbsent;  // first and last time seen
  int64_t max_time_ns = kAbsent;
};

// Feeds ops one by one, so a streamed history is validated without keeping it.
class Validator {
 public:
  // `where` names the op in messages, e.g. "history.edn op 12".
  Status Add(const Op& op, const std::string& where);
  // Call at the end: marks processes with open invocations as crashed.
  const HistoryStats& Finish();
  const HistoryStats& stats() const { return stats_; }

 private:
  HistoryStats stats_;
  Pairing<int64_t> pairing_;  // the index of each open invocation
  int64_t last_time_ns_ = kAbsent;
  bool finished_ = false;
};

Result<HistoryStats> Validate(const History& history, const std::string& name);

}  // namespace chaos::history
