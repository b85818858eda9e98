// What each stalled-leader cut of a default-schedule run gave a stale read to
// work with, read from the run's history alone.
//
// A stalled-leader period (generator/swarm.h) cuts the leader off, sometimes
// after stopping it. An old leader can answer a stale read only after another
// node has acknowledged a write (the first moment a value it holds can be
// out of date) and before its own lease and check-quorum end. For each cut
// this finds, in ms from the cut's invocation: when the partition was in
// place, when the first write or cas served by another node was
// acknowledged, the old leader's last acknowledged op, and the reads it
// served that were invoked after that first write (and how many of those on
// a key another node had written since the cut: the reads that could be
// stale). The figures of bench/RESULTS.md's per-cut tables come from here.
//
// Thread safety: free functions on values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "history/op.h"

namespace chaos::bench {

struct Cut {
  std::string old_leader;                 // the node cut off alone
  std::string stall;                      // "none", "time 420", "successor", "progress"
  int64_t at_ms = 0;                      // the cut's invocation, ms since the test start
  int64_t applied_ms = 0;                 // the partition in place (its completion)
  std::optional<int64_t> stalled_ms;      // how long the old leader was stopped
  std::optional<int64_t> first_write_ms;  // first write/cas acknowledged elsewhere
  std::optional<int64_t> old_last_ok_ms;  // the old leader's last acknowledged op
  int reads_after_write = 0;              // reads the old leader served, invoked after first_write
  int reads_on_written_key = 0;           // ... of a key another node wrote since the cut
};

// Every stalled-leader cut of `history` that isolated one node, in order.
std::vector<Cut> StalledLeaderCuts(const history::History& history);

// One line per cut, then a summary line.
std::string FormatCuts(const std::vector<Cut>& cuts);

}  // namespace chaos::bench
