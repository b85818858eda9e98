// The memory adapter: a system that lives inside the controller and answers
// at once. One mutex guards a map of registers, a set and a counter, so every
// operation is atomic and the store is linearizable by construction.
//
// It exists to measure and test the harness itself, without a cluster: the
// runner, generator and recorder are the only costs (bench/harness_bench), and
// `chaos run --adapter memory` exercises a whole run (store, check, report) in
// a second. It has no nodes to fault, so it supports no nemesis.
//
// Transactions (workloads list-append and rw-register, f txn) run under the
// same mutex, so they are strict-serializable, unless a seeded mistake
// (--bug txn-split-apply or txn-stale-read, described in the .cc) is on.
// --bug lost-write makes the registers lose some acknowledged writes.
#pragma once

#include <memory>

#include "adapters/adapter.h"

namespace chaos::adapters {
std::unique_ptr<Adapter> MakeMemoryAdapter(AdapterContext context);
}  // namespace chaos::adapters
