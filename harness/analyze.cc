#include "harness/analyze.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "base/file.h"
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

std::optional<int64_t> LogLineUnixNs(const std::string& line) {
  std::tm tm{};
  int fraction_start = 0;
  if (line.size() < 20 || line[4] != '-' || line[10] != 'T') return std::nullopt;
  if (std::sscanf(line.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &fraction_start) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  int64_t ns = static_cast<int64_t>(timegm(&tm)) * 1'000'000'000;
  size_t i = static_cast<size_t>(fraction_start);
  if (i < line.size() && line[i] == '.') {
    int64_t scale = 100'000'000;
    for (++i; i < line.size() && std::isdigit(static_cast<unsigned char>(line[i])); ++i) {
      ns += (line[i] - '0') * scale;
      scale /= 10;
    }
  }
  return ns;
}

checker::CheckerOutput CheckNodeLogs(const std::string& run_dir,
                                     const std::vector<std::string>& patterns,
                                     std::optional<int64_t> origin_unix_ns) {
  constexpr size_t kMatchesMax = 50;
  Json matches = Json::array();
  int64_t count = 0;
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::recursive_directory_iterator it(run_dir + "/nodes", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_regular_file(ec)) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::ifstream in(path);
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
      for (const auto& pattern : patterns) {
        if (line.find(pattern) == std::string::npos) continue;
        ++count;
        if (matches.size() < kMatchesMax) {
          Json m = {{"file", fs::relative(path, run_dir).string()},
                    {"line", number},
                    {"text", line.substr(0, 1000)},
                    {"pattern", pattern}};
          std::optional<int64_t> at = LogLineUnixNs(line);
          // The node's own clock: under the clock nemesis this time is skewed.
          if (at && origin_unix_ns) m["time_ns"] = *at - *origin_unix_ns;
          matches.push_back(std::move(m));
        }
        break;
      }
    }
  }
  Json result = {{"checker", "logs"},
                 {"patterns", patterns},
                 {"files", files.size()},
                 {"count", count},
                 {"matches", matches}};
  checker::Verdict verdict = count == 0 ? checker::Verdict::kValid : checker::Verdict::kInvalid;
  if (count > 0) {
    // The earliest match (by its own time stamp) is the one to show first.
    std::stable_sort(matches.begin(), matches.end(), [](const Json& a, const Json& b) {
      return a.value("time_ns", INT64_MAX) < b.value("time_ns", INT64_MAX);
    });
    result["matches"] = matches;
    const Json& first = matches[0];
    result["cause"] =
        "the system reported a safety violation itself: " + first["file"].get<std::string>() + ":" +
        std::to_string(first["line"].get<int64_t>()) + ": " + first["text"].get<std::string>();
  }
  result["valid"] = checker::VerdictJson(verdict);
  return checker::CheckerOutput{"logs", verdict, std::move(result)};
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
    outputs.push_back(CheckNodeLogs(run_dir, patterns, origin));
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
