#include "harness/analyze.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "base/file.h"
#include "checker/logs.h"
#include "history/codec.h"
#include "reports/report.h"

namespace chaos::harness {

namespace fs = std::filesystem;
using Json = nlohmann::json;

checker::LinearizableOptions CheckerOptions(const Json& test, double time_limit_s) {
  checker::LinearizableOptions o;
  o.model = "cas-register";
  o.keyed = true;
  o.time_limit_s = time_limit_s;
  o.memory_limit_bytes = 4LL << 30;
  // Our clients record an ok read of an absent key as null: an observation
  // ("nothing there"), not Knossos's "value unknown". Checked as unknown, a
  // stale read of a key the old leader had never seen passed unnoticed.
  o.nil_read = checker::NilRead::kValue;
  (void)test;
  return o;
}

Result<checker::Verdict> CheckRunDir(const std::string& run_dir, double time_limit_s, RunLog* log,
                                     const checker::KeyChecks* checked) {
  Json test = Json::object();
  {
    std::ifstream in(run_dir + "/test.json");
    if (in) test = Json::parse(in, nullptr, false);
    if (test.is_discarded()) return InvalidArgument(run_dir + "/test.json: malformed JSON");
  }
  CHAOS_ASSIGN_OR_RETURN(history::History h, history::ReadHistory(run_dir + "/history.jsonl"));
  CHAOS_RETURN_IF_ERROR(history::WriteHistory(run_dir + "/history.edn", h));
  std::string workload = test.value("workload", "register");
  // Transactional workloads name their consistency model: "list-append:serializable".
  if ((workload == "list-append" || workload == "rw-register") && test.contains("consistency") &&
      test["consistency"].is_string()) {
    workload += ":" + test["consistency"].get<std::string>();
  }
  std::vector<std::string> names = {workload == "register" ? "linearizable" : workload, "stats",
                                    "perf"};
  checker::LinearizableOptions options = CheckerOptions(test, time_limit_s);
  std::vector<checker::CheckerOutput> outputs;
  Json linearizable;
  for (const auto& name : names) {
    CHAOS_ASSIGN_OR_RETURN(checker::CheckerOutput o,
                           checker::RunChecker(name, h, options, checked));
    if (name == "linearizable") linearizable = o.result;
    outputs.push_back(std::move(o));
  }
  if (test.contains("fatal_log_patterns") && test["fatal_log_patterns"].is_array() &&
      !test["fatal_log_patterns"].empty()) {
    std::vector<std::string> patterns;
    for (const auto& p : test["fatal_log_patterns"]) {
      if (p.is_string() && !p.get<std::string>().empty()) patterns.push_back(p.get<std::string>());
    }
    std::optional<int64_t> origin;
    if (test.contains("history_origin_unix_ns") && test["history_origin_unix_ns"].is_number()) {
      origin = test["history_origin_unix_ns"].get<int64_t>();
    }
    outputs.push_back(checker::CheckNodeLogs(run_dir, patterns, origin));
  }
  checker::CheckerOutput all = checker::Compose(std::move(outputs));
  // results.json: the linearizability result's fields at the top (docs/architecture.md, "The
  // store"), the merged verdict, and every checker's result under "checkers".
  Json results = linearizable.is_object() ? linearizable : Json::object();
  results["valid"] = checker::VerdictJson(all.verdict);
  results["checkers"] = all.result["results"];
  if (test.contains("stopped_early")) results["stopped_early"] = test["stopped_early"];
  CHAOS_RETURN_IF_ERROR(WriteFileAtomically(run_dir + "/results.json", results.dump(2) + "\n"));
  Status s = reports::WriteReport(run_dir);
  if (!s.ok() && log) log->Line("report: " + s.message(), true);
  fs::path store = fs::path(run_dir).parent_path().parent_path();
  s = reports::WriteIndex(store.string());
  if (!s.ok() && log) log->Line("store index: " + s.message());
  return all.verdict;
}

int ExitCodeFor(checker::Verdict verdict) {
  switch (verdict) {
    case checker::Verdict::kValid:
      return 0;
    case checker::Verdict::kInvalid:
      return 1;
    case checker::Verdict::kUnknown:
      return 2;
  }
  return 2;
}

Result<RunOutcome> AnalyzeRun(const std::string& run_dir, double checker_time_limit_s) {
  std::error_code ec;
  std::string dir = fs::canonical(run_dir, ec).string();
  if (ec) return NotFound(run_dir + ": no such run (" + ec.message() + ")");
  RunLog log(dir + "/chaos.log");
  log.Line("analyze: re-checking the stored history");
  CHAOS_ASSIGN_OR_RETURN(checker::Verdict verdict, CheckRunDir(dir, checker_time_limit_s, &log));
  RunOutcome outcome;
  outcome.run_dir = dir;
  outcome.verdict = verdict;
  outcome.exit_code = ExitCodeFor(verdict);
  return outcome;
}

}  // namespace chaos::harness
