// Reports: one self-contained HTML page per stored run, and the store's index.
//
// A run folder (store/<test>/<yyyymmddThhmmss>/, see docs/architecture.md, "The store")
// holds test.json, history.jsonl (or history.edn), results.json, chaos.log and
// nodes/<node>/<logs>. WriteReport reads what is there and writes
// report.html beside it: the verdict first (valid / invalid / unknown with the
// cause), the test's configuration and the command that reproduces it, op
// counts, throughput and latency over time with fault windows shaded (SVG
// drawn here), latency percentiles by f, a zoomable per-process timeline
// (canvas, drawn by the page's own script from the ops embedded in the page,
// only what is on screen), and for an invalid history the counterexample as
// bars on a time axis with the search's final paths and the shrunk history.
//
// Everything is inline: no network, no external scripts, styles or fonts.
// Every optional file may be missing (a run that died early): a missing
// results.json gives verdict unknown ("no results.json"), a missing history
// gives a report without charts; only an unreadable run folder is an error.
// Text from the run's files is HTML-escaped everywhere it appears.
//
// Sizes: the page embeds every op pair as packed binary (base64, ~27 bytes a
// pair) plus each op's value text, so a 1,000,000-op history gives a report of
// a few tens of MB; SVG charts are bounded (points merged per pixel) whatever
// the history's length.
//
// Thread safety: the functions share no state; two calls must not write the
// same run folder (or store) at once.
#pragma once

#include <string>

#include "base/status.h"

namespace chaos::reports {

// The report's HTML for the run in `run_dir` (nothing is written).
Result<std::string> RenderReport(const std::string& run_dir);
// Reads the run's files and writes run_dir/report.html (via a temporary file
// and a rename, so a reader never sees half a report).
Status WriteReport(const std::string& run_dir);

// The index's HTML: every run under store_dir/<test>/<run>/ (folders holding a
// test.json, results.json or history), newest first, with its verdict color,
// test, adapter, nemeses, duration, op count and a link to its report.
Result<std::string> RenderIndex(const std::string& store_dir);
// Writes store_dir/index.html (temporary file and rename).
Status WriteIndex(const std::string& store_dir);

// HTML-escapes text for element content and quoted attribute values.
std::string EscapeHtml(std::string_view text);

}  // namespace chaos::reports
