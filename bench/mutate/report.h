// The page of a mutation run (bench/mutate/README.md): the score, and every
// mutant tried with what killed it, the tests, the simulator and, when the
// mutants also ran on the cluster, the black-box runs.
//
// Thread safety: a pure function.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"

namespace chaos::mutate {

// `results_tsv` is run.sh's results.tsv (a header line, then one row per
// mutant tried: id, file, line, op, original, replacement, function,
// compiled, tests, sim3, sim5, verdict, first_failure, sim_none).
// `blackbox` is the summary.json of blackbox.sh's `chaos test-all`, whose
// cells are named mutant-ID, or null. `title` heads the page. A row with the
// wrong number of fields is bad input.
Result<std::string> RenderMutationPage(const std::string& results_tsv,
                                       const nlohmann::json& blackbox, const std::string& title);

// The mutants that ran on the cluster, as a markdown table for
// bench/RESULTS.md: a line "found under the default schedule: N of M", then
// a row per mutant (where, function, change, tests, the runs' verdicts).
Result<std::string> RenderBlackboxMarkdown(const std::string& results_tsv,
                                           const nlohmann::json& blackbox);

}  // namespace chaos::mutate
