#include "harness/test_all.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "base/file.h"
#include "base/strings.h"
#include "reports/report.h"

namespace chaos::harness {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string CellName(const MatrixCell& cell) {
  std::string name = cell.run.adapter;
  if (cell.run.workload != "register") name += "-" + cell.run.workload;
  std::string faults;
  for (const auto& n : cell.run.nemeses) faults += (faults.empty() ? "" : "+") + n;
  name += "-" + (faults.empty() ? std::string("none") : faults);
  for (const auto& b : cell.run.bugs) name += "-bug-" + b;
  if (cell.run.read_mode != "log") name += "-" + cell.run.read_mode;
  // Modes ("kill:majority/all") must not make folders in the store.
  std::replace(name.begin(), name.end(), ':', '-');
  std::replace(name.begin(), name.end(), '/', '_');
  return name;
}

// Reads one field of a cell: the cell's own value, else the matrix default.
// Errors name the file and the field.
class FieldReader {
 public:
  FieldReader(const Json& defaults, const Json& cell, std::string where)
      : defaults_(defaults), cell_(cell), where_(std::move(where)) {}

  const Json* Find(const char* key) const {
    if (cell_.contains(key)) return &cell_[key];
    if (defaults_.contains(key)) return &defaults_[key];
    return nullptr;
  }

  Status String(const char* key, std::string* out) const {
    const Json* v = Find(key);
    if (v == nullptr || v->is_null()) return Status::Ok();
    if (!v->is_string()) return InvalidArgument(where_ + "." + key + ": must be a string");
    *out = v->get<std::string>();
    return Status::Ok();
  }

  // An object of name -> value merged over `*out`: with `as_json` each value
  // is kept as JSON text (nemesis specs); else it must be a string or a
  // number (adapter options).
  Status StringMap(const char* key, bool as_json, std::map<std::string, std::string>* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_object()) return InvalidArgument(where_ + "." + key + ": must be an object");
    for (const auto& [name, value] : v->items()) {
      if (as_json) {
        if (!value.is_object()) {
          return InvalidArgument(where_ + "." + key + "." + name + ": must be an object");
        }
        (*out)[name] = value.dump();
      } else if (value.is_string()) {
        (*out)[name] = value.get<std::string>();
      } else if (value.is_number()) {
        (*out)[name] = value.dump();
      } else {
        return InvalidArgument(where_ + "." + key + "." + name + ": must be a string or a number");
      }
    }
    return Status::Ok();
  }

  Status Bool(const char* key, bool* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_boolean()) return InvalidArgument(where_ + "." + key + ": must be true or false");
    *out = v->get<bool>();
    return Status::Ok();
  }

  template <typename T>
  Status Number(const char* key, T min, T* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_number()) return InvalidArgument(where_ + "." + key + ": must be a number");
    T value = v->get<T>();
    if (value < min) {
      return InvalidArgument(where_ + "." + key + ": must be at least " + std::to_string(min));
    }
    *out = value;
    return Status::Ok();
  }

 private:
  const Json& defaults_;
  const Json& cell_;
  std::string where_;
};

Result<MatrixCell> ParseCell(const Json& defaults, const Json& cell, const std::string& where,
                             const RunOptions& base) {
  if (!cell.is_object()) return InvalidArgument(where + ": must be an object");
  static const std::set<std::string> kKnown = {
      "name",       "adapter",          "workload",      "nemesis",
      "bug",        "read_mode",        "expect",        "seeds",
      "seed",       "time_limit",       "concurrency",   "ops_per_key",
      "cells",      "nemesis_interval", "recovery_time", "until_found",
      "op_timeout", "adapter_options",  "nemesis_specs", "stop_on_invalid",
      "value_max"};
  for (const auto& [key, value] : cell.items()) {
    if (!kKnown.contains(key)) return InvalidArgument(where + "." + key + ": unknown field");
  }
  FieldReader r(defaults, cell, where);
  MatrixCell out;
  out.run = base;
  std::string nemesis, bug, expect;
  CHAOS_RETURN_IF_ERROR(r.String("name", &out.name));
  CHAOS_RETURN_IF_ERROR(r.String("adapter", &out.run.adapter));
  CHAOS_RETURN_IF_ERROR(r.String("workload", &out.run.workload));
  CHAOS_RETURN_IF_ERROR(r.String("nemesis", &nemesis));
  CHAOS_RETURN_IF_ERROR(r.String("bug", &bug));
  CHAOS_RETURN_IF_ERROR(r.String("read_mode", &out.run.read_mode));
  CHAOS_RETURN_IF_ERROR(r.String("expect", &expect));
  CHAOS_RETURN_IF_ERROR(r.Number<int>("seeds", 1, &out.seeds));
  CHAOS_RETURN_IF_ERROR(r.Number<uint64_t>("seed", 0, &out.first_seed));
  CHAOS_RETURN_IF_ERROR(r.Number<double>("time_limit", 0.1, &out.run.time_limit_s));
  CHAOS_RETURN_IF_ERROR(r.Number<double>("nemesis_interval", 0.1, &out.run.nemesis_interval_s));
  CHAOS_RETURN_IF_ERROR(r.Number<double>("recovery_time", 0, &out.run.recovery_time_s));
  CHAOS_RETURN_IF_ERROR(r.Number<int>("concurrency", 0, &out.run.concurrency));
  CHAOS_RETURN_IF_ERROR(r.Number<int64_t>("ops_per_key", 1, &out.run.ops_per_key));
  if (const Json* v = r.Find("value_max"); v != nullptr) {
    Result<std::optional<int64_t>> value_max =
        ParseValueMax(v->is_string() ? v->get<std::string>() : v->dump());
    if (!value_max.ok())
      return InvalidArgument(where + ".value_max: " + value_max.status().message());
    out.run.value_max = *value_max;
  }
  CHAOS_RETURN_IF_ERROR(r.Number<int64_t>("op_timeout", 1, &out.run.op_timeout_ms));
  CHAOS_RETURN_IF_ERROR(r.StringMap("adapter_options", false, &out.run.adapter_options));
  CHAOS_RETURN_IF_ERROR(r.StringMap("nemesis_specs", true, &out.run.nemesis_specs));
  CHAOS_RETURN_IF_ERROR(r.Bool("until_found", &out.until_found));
  CHAOS_RETURN_IF_ERROR(r.Bool("stop_on_invalid", &out.run.stop_on_invalid));
  out.run.nemeses = nemesis == "none" ? std::vector<std::string>() : SplitCommas(nemesis);
  out.run.bugs = SplitCommas(bug);
  if (expect.empty()) {
    out.expect = out.run.bugs.empty() ? checker::Verdict::kValid : checker::Verdict::kInvalid;
  } else if (expect == "valid") {
    out.expect = checker::Verdict::kValid;
  } else if (expect == "invalid") {
    out.expect = checker::Verdict::kInvalid;
  } else {
    return InvalidArgument(where + ".expect: must be \"valid\" or \"invalid\", got \"" + expect +
                           "\"");
  }
  if (out.name.empty()) out.name = CellName(out);
  out.run.test_name = out.name;
  return out;
}

double Median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// When, from the start of the run, the run first showed a violation
// (seconds): the earliest of the op the checker could not linearize, the
// moment the online check found a key invalid (test.json's online_invalid)
// and the first node log line of a safety violation (checker "logs");
// negative if the run's files say none of them.
double DetectionSeconds(const std::string& run_dir) {
  double earliest = -1;
  auto consider = [&](const Json& value, double per_second) {
    if (!value.is_number()) return;
    double s = value.get<double>() / per_second;
    if (earliest < 0 || s < earliest) earliest = s;
  };
  auto read = [&](const std::string& name) {
    std::ifstream in(run_dir + "/" + name);
    return in ? Json::parse(in, nullptr, false) : Json();
  };
  Json results = read("results.json");
  if (results.is_object()) {
    const Json& counterexample = results.value("counterexample", Json::object());
    if (counterexample.is_object()) {
      const Json& op = counterexample.value("op", Json::object());
      if (op.is_object()) consider(op.value("time_ns", Json()), 1e9);
    }
    const Json& logs = results.value("checkers", Json::object()).value("logs", Json::object());
    const Json& matches = logs.value("matches", Json::array());
    if (!matches.empty() && matches[0].is_object())
      consider(matches[0].value("time_ns", Json()), 1e9);
  }
  Json test = read("test.json");
  if (test.is_object()) {
    for (const Json& found : test.value("online_invalid", Json::array())) {
      if (found.is_object()) consider(found.value("at_s", Json()), 1);
    }
  }
  return earliest;
}

// The cell's row of summary.json from its runs so far.
void Summarize(const MatrixCell& cell, Json& row) {
  int valid = 0, invalid = 0, unknown = 0;
  int64_t ops = 0;
  std::vector<double> detections;
  for (const auto& run : row["runs"]) {
    std::string v = run["verdict"];
    if (v == "valid") ++valid;
    if (v == "invalid") ++invalid;
    if (v == "unknown") ++unknown;
    ops += run.value("ops", int64_t{0});
    if (v == "invalid" && run.value("detection_s", -1.0) >= 0) {
      detections.push_back(run["detection_s"].get<double>());
    }
  }
  int runs = static_cast<int>(row["runs"].size());
  row["valid"] = valid;
  row["invalid"] = invalid;
  row["unknown"] = unknown;
  row["ops"] = ops;
  row["median_detection_s"] = detections.empty() ? Json(nullptr) : Json(Median(detections));
  // A correct build must never be invalid (nor undecided); a bug must be
  // found in at least 4 runs of 5 (all of them when it stops once found).
  row["as_expected"] =
      cell.expect == checker::Verdict::kValid
          ? (invalid == 0 && unknown == 0)
          : (runs > 0 && (cell.until_found ? invalid > 0 : invalid * 5 >= runs * 4));
}

}  // namespace

Result<Matrix> ParseMatrix(const std::string& text, const std::string& source,
                           const RunOptions& base) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) return InvalidArgument(source + ": not valid JSON");
  if (!j.is_object()) return InvalidArgument(source + ": must be a JSON object with \"cells\"");
  if (!j.contains("cells") || !j["cells"].is_array() || j["cells"].empty()) {
    return InvalidArgument(source + ": \"cells\" must be a non-empty array");
  }
  Json defaults = j;
  defaults.erase("cells");
  // The top level takes the same fields as a cell (as defaults).
  CHAOS_RETURN_IF_ERROR(ParseCell(Json::object(), defaults, source, base).status());
  Matrix matrix;
  for (size_t i = 0; i < j["cells"].size(); ++i) {
    std::string where = source + ": cells[" + std::to_string(i) + "]";
    CHAOS_ASSIGN_OR_RETURN(MatrixCell cell, ParseCell(defaults, j["cells"][i], where, base));
    matrix.cells.push_back(std::move(cell));
  }
  return matrix;
}

std::string RenderMatrixSummary(const Json& summary) {
  std::string h =
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>chaos test-all</title>"
      "<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
      ".ok{background:#dfd}.bad{background:#fdd}.run{margin-right:4px}"
      ".valid{color:#070}.invalid{color:#b00}.unknown{color:#a60}</style></head><body>";
  h += "<h1>chaos test-all</h1><p>started " +
       reports::EscapeHtml(summary.value("started", std::string())) + ", " +
       std::to_string(summary["cells"].size()) + " cells; " +
       (summary.value("as_expected", false) ? "every cell as expected"
                                            : "<b>some cells not as expected</b>") +
       "</p><table><tr><th>cell</th><th>nemeses</th><th>bug</th><th>expect</th>"
       "<th>runs</th><th>valid</th><th>invalid</th><th>unknown</th>"
       "<th>median detection (s)</th><th>first invalid after (s)</th><th>ops</th>"
       "<th>reports</th></tr>";
  for (const auto& row : summary["cells"]) {
    bool ok = row.value("as_expected", false);
    auto num = [&](const char* key) {
      if (!row.contains(key) || row[key].is_null()) return std::string("–");
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f", row[key].get<double>());
      return std::string(buf);
    };
    h += std::string("<tr class=\"") + (ok ? "ok" : "bad") + "\"><td>" +
         reports::EscapeHtml(row["name"].get<std::string>()) + "</td><td>" +
         reports::EscapeHtml(row["nemesis"].get<std::string>()) + "</td><td>" +
         reports::EscapeHtml(row["bug"].get<std::string>()) + "</td><td>" +
         reports::EscapeHtml(row["expect"].get<std::string>()) + "</td><td>" +
         std::to_string(row["runs"].size()) + "</td><td>" + row["valid"].dump() + "</td><td>" +
         row["invalid"].dump() + "</td><td>" + row["unknown"].dump() + "</td><td>" +
         num("median_detection_s") + "</td><td>" + num("first_invalid_after_s") + "</td><td>" +
         row["ops"].dump() + "</td><td>";
    for (const auto& run : row["runs"]) {
      std::string verdict = run["verdict"];
      h += "<a class=\"run " + reports::EscapeHtml(verdict) + "\" href=\"" +
           reports::EscapeHtml(run["report"].get<std::string>()) + "\">" +
           reports::EscapeHtml(verdict) + " (seed " + run["seed"].dump() + ")</a> ";
    }
    h += "</td></tr>";
  }
  h += "</table></body></html>\n";
  return h;
}

Result<MatrixOutcome> RunMatrix(const Matrix& matrix, const control::Inventory& inventory,
                                const std::string& store_dir) {
  MatrixOutcome outcome;
  outcome.summary_dir = store_dir + "/test-all/" + UtcTimestamp(true);
  std::error_code ec;
  fs::create_directories(outcome.summary_dir, ec);
  if (ec) return IoError(outcome.summary_dir + ": cannot create: " + ec.message());
  Json summary = {
      {"started", UtcTimestamp(false)}, {"cells", Json::array()}, {"as_expected", true}};
  for (const auto& cell : matrix.cells) {
    summary["cells"].push_back({{"name", cell.name},
                                {"adapter", cell.run.adapter},
                                {"workload", cell.run.workload},
                                {"nemesis", JoinCommas(cell.run.nemeses)},
                                {"bug", JoinCommas(cell.run.bugs)},
                                {"read_mode", cell.run.read_mode},
                                {"expect", checker::VerdictName(cell.expect)},
                                {"runs", Json::array()},
                                {"valid", 0},
                                {"invalid", 0},
                                {"unknown", 0},
                                {"ops", 0},
                                {"as_expected", false}});
  }
  auto write = [&]() -> Status {
    bool all = true;
    for (const auto& row : summary["cells"]) all = all && row["as_expected"].get<bool>();
    summary["as_expected"] = all;
    CHAOS_RETURN_IF_ERROR(
        WriteFileAtomically(outcome.summary_dir + "/summary.json", summary.dump(2) + "\n"));
    return WriteFileAtomically(outcome.summary_dir + "/summary.html", RenderMatrixSummary(summary));
  };
  CHAOS_RETURN_IF_ERROR(write());
  bool stop = false;
  for (size_t c = 0; c < matrix.cells.size() && !stop; ++c) {
    const MatrixCell& cell = matrix.cells[c];
    Json& row = summary["cells"][c];
    auto cell_start = std::chrono::steady_clock::now();
    for (int s = 0; s < cell.seeds; ++s) {
      RunOptions options = cell.run;
      options.seed = cell.first_seed + static_cast<uint64_t>(s);
      std::fprintf(stderr, "chaos test-all: cell %zu/%zu %s, seed %llu\n", c + 1,
                   matrix.cells.size(), cell.name.c_str(),
                   static_cast<unsigned long long>(options.seed));
      auto result = RunTest(options, inventory);
      if (!result.ok()) {
        row["error"] = result.status().message();
        outcome.exit_code = WorstExitCode(outcome.exit_code, 3);
        CHAOS_RETURN_IF_ERROR(write());
        std::printf("%s seed %llu: error: %s\n", cell.name.c_str(),
                    static_cast<unsigned long long>(options.seed),
                    result.status().message().c_str());
        std::fflush(stdout);
        // A system that never served (a broken build under test) is this
        // cell's finding: the matrix goes on with the next cell. Anything
        // else (bad input, the nodes out of reach, Ctrl-C) ends it.
        stop = result.status().code() != StatusCode::kTimeout || AbortRequested();
        break;
      }
      double detection =
          result->verdict == checker::Verdict::kInvalid ? DetectionSeconds(result->run_dir) : -1;
      Json run = {
          {"seed", options.seed},
          {"verdict", checker::VerdictName(result->verdict)},
          {"run_dir", result->run_dir},
          {"report", fs::relative(result->run_dir + "/report.html", outcome.summary_dir).string()},
          {"ops", result->ops_completed}};
      if (detection >= 0) run["detection_s"] = detection;
      row["runs"].push_back(run);
      if (result->verdict == checker::Verdict::kInvalid && !row.contains("first_invalid_after_s")) {
        row["first_invalid_after_s"] =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - cell_start).count();
      }
      Summarize(cell, row);
      outcome.exit_code = WorstExitCode(outcome.exit_code, result->exit_code);
      CHAOS_RETURN_IF_ERROR(write());
      std::printf("%s seed %llu: %s  report: %s/report.html\n", cell.name.c_str(),
                  static_cast<unsigned long long>(options.seed),
                  checker::VerdictName(result->verdict), result->run_dir.c_str());
      std::fflush(stdout);
      if (result->exit_code >= 3) {
        stop = true;  // aborted (Ctrl-C) or could not finish
        break;
      }
      if (cell.until_found && result->verdict == checker::Verdict::kInvalid) break;
    }
  }
  CHAOS_RETURN_IF_ERROR(write());
  outcome.as_expected = summary["as_expected"].get<bool>();
  return outcome;
}

}  // namespace chaos::harness
