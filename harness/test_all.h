// chaos test-all: a matrix of tests (adapter x workload x nemeses x --bug x
// seeds), each an ordinary run in the store, and a summary of the matrix.
//
// A matrix is JSON (`--matrix FILE`; without it, the validation matrix
// bench/matrices/default.json: the correct register and each --bug switch
// under the default schedule, generator/swarm.h). Every cell expects a
// verdict: valid for a correct build, invalid for a bug (the bug was found).
//
//   {"seeds": 5, "seed": 1, "time_limit": 30, "nemesis_interval": 5,
//    "cells": [{"nemesis": "partition,kill"},
//              {"nemesis": "clock,partition", "bug": "stale-lease-read",
//               "read_mode": "lease", "seeds": 3}]}
//
// Cell fields (each may also be given at the top as a default): name,
// adapter, workload, nemesis, bug, read_mode, expect ("valid"|"invalid"),
// seeds, seed, time_limit, nemesis_interval, recovery_time, concurrency,
// ops_per_key, value_max, op_timeout (ms), adapter_options ({"election-ticks": 100}),
// nemesis_specs ({"partition": {"mode": "leader", "stall_ms": 1300}}),
// until_found (stop the cell's seeds at its first invalid run),
// stop_on_invalid (end each run at its first invalid key: RunOptions).
// A correct cell holds when no run is invalid or unknown; a bug cell when the
// bug is found in at least 4 runs of 5 (with until_found: in any run).
//
// The summary (store/test-all/<yyyymmddThhmmss>/summary.json and .html, rewritten
// after every run so a long matrix can be watched) has one row per cell: the
// verdicts, how many runs found the bug, the median time to detection (from
// the start of the run, the earliest of the op the checker could not
// linearize, the online check's first invalid key and the first fatal log
// line), the wall time until the first invalid run ended, ops, and a
// link to each run's report.
//
// Thread safety: one RunMatrix at a time per process.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "checker/checker.h"
#include "control/inventory.h"
#include "harness/runner.h"

namespace chaos::harness {

struct MatrixCell {
  std::string name;  // default: <adapter>-<nemeses>[-<bug>]
  RunOptions run;    // adapter, workload, nemeses, bugs, read_mode, timings
  int seeds = 5;
  uint64_t first_seed = 1;
  checker::Verdict expect = checker::Verdict::kValid;
  bool until_found = false;  // stop this cell's seeds at the first invalid run
};

struct Matrix {
  std::vector<MatrixCell> cells;
};

// Parses a matrix file's text; `source` names it in errors ("file: cells[3].bug: ...").
// `base` supplies everything the file does not set (store, build dir...).
Result<Matrix> ParseMatrix(const std::string& text, const std::string& source,
                           const RunOptions& base);

struct MatrixOutcome {
  std::string summary_dir;
  bool as_expected = true;  // every cell's runs gave its expected verdict
  int exit_code = 0;        // the worst verdict of all runs (as chaos run)
};

// Runs every cell's seeds in order, writing the summary after each run.
// Stops early on abort (Ctrl-C) or when a run cannot run at all (exit 3+).
Result<MatrixOutcome> RunMatrix(const Matrix& matrix, const control::Inventory& inventory,
                                const std::string& store_dir);

// The summary page's HTML for summary.json's content (pure; for tests).
std::string RenderMatrixSummary(const nlohmann::json& summary);

}  // namespace chaos::harness
