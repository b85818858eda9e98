// RunData: what a report needs from one stored run, read once from its files.
//
// Internal to reports/ (report.cc, index.cc and tests). Loading never fails
// on a missing or damaged optional file: the problem is recorded in `notes`
// and the field stays empty. Ops are paired (invocation with completion) into
// OpPairs in invocation order; times are milliseconds since the first op, or
// history positions when some op has no time (then `timed` is false).
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "checker/checker.h"
#include "history/op.h"

namespace chaos::reports {

// One client call: its invocation and completion (if any).
struct OpPair {
  int64_t invoke = -1;    // position in the history
  int64_t complete = -1;  // position, -1 if never completed
  int lane = 0;           // index into RunData::processes
  int node = -1;          // index into RunData::node_names, -1 if none
  int f = 0;              // index into RunData::fs
  // 0 ok, 1 fail, 2 info, 3 pending (never completed).
  int type = 3;
  double start_ms = 0;
  double end_ms = 0;        // the history's end for info and pending
  double complete_ms = -1;  // when the completion was recorded, -1 if never
};

// A fault: from a start-X invocation to the matching stop-X completion (or
// the history's end), labelled with what the start's completion recorded
// (mode, groups or nodes, leader, delays; "failed: ..." when it failed).
struct FaultWindow {
  std::string kind;   // "partition", "kill", ...
  std::string label;  // "partition halves n1 n2 | n3 n4 n5"
  double start_ms = 0;
  double end_ms = 0;
  bool open = false;  // never stopped
};

struct RunData {
  std::string dir;
  std::string test_name;   // test.json name, else the parent folder's name
  std::string run_id;      // the run folder's name
  nlohmann::json test;     // test.json, or an empty object
  nlohmann::json results;  // results.json, or null
  checker::Verdict verdict = checker::Verdict::kUnknown;
  std::string cause;  // why invalid/unknown, one line
  std::vector<std::string> notes;

  std::string history_file;  // "history.jsonl", "history.edn" or ""
  history::History history;
  bool timed = true;
  double end_ms = 0;
  std::vector<OpPair> pairs;
  std::vector<std::string> processes;  // lane names
  std::vector<std::string> node_names;
  std::vector<std::string> fs;
  std::vector<FaultWindow> faults;
  int64_t nemesis_ops = 0;
  std::map<int64_t, size_t> pair_of_index;  // op index (either end) -> pair

  std::vector<std::string> files;  // relative paths of linkable files
};

// Reads everything a report shows from `dir`; an error only if `dir` is not
// a readable folder.
Result<RunData> LoadRun(const std::string& dir);

// Pairs ops and finds fault windows; fills pairs, processes, node_names, fs,
// faults, timed, end_ms, nemesis_ops and pair_of_index from data->history.
void AnalyzeHistory(RunData* data);

// "valid" | "invalid" | "unknown" from results.json's `valid`.
checker::Verdict VerdictOfJson(const nlohmann::json& valid);

}  // namespace chaos::reports
