// Stored runs for the reports' tests: Knossos histories converted to our
// store layout, and generated register histories with nodes and faults.
//
// Each Make* writes a run folder as the runner does: test.json,
// history.jsonl (+ history.edn), results.json from chaos_checker's own
// checkers, chaos.log and nodes/<node>/<log>. Generated histories are
// linearizable by construction (each op takes effect at a random point in its
// interval) and replay exactly from their seed.
//
// Thread safety: none needed (test helpers).
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "checker/checker.h"
#include "history/op.h"

namespace chaos::reports::testing {

// The Knossos corpus folder (CHAOS_SOURCE_DIR/tests/data/knossos, or
// CHAOS_KNOSSOS_DIR).
std::string KnossosDir();

// Converts an EDN history into `run_dir` and checks it as a cas-register
// (initial 0) within `time_limit_s`.
Status MakeKnossosRun(const std::string& edn_path, const std::string& run_dir,
                      const std::string& test_name, double time_limit_s);

// A register history of about `lines` history lines on 5 nodes with 10
// processes, a partition every 10 s (halves, 5 s) that times out ops on the
// minority side. Checked within `time_limit_s`; `write_edn` also writes
// history.edn.
history::History GenerateRegisterHistory(int64_t lines, uint64_t seed);
Status MakeGeneratedRun(const std::string& run_dir, int64_t lines, uint64_t seed,
                        double time_limit_s, bool write_edn);

// Writes results.json for `h`: linearizable (cas-register, initial 0), stats
// and perf, merged worst-first.
Status WriteResults(const std::string& run_dir, const history::History& h, double time_limit_s);

}  // namespace chaos::reports::testing
