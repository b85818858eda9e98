// The page of a mutation run (see report.h).
#include "bench/mutate/report.h"

#include <map>
#include <sstream>
#include <vector>

#include "reports/html.h"
#include "reports/report.h"

namespace chaos::mutate {
namespace {

using reports::EscapeHtml;

constexpr size_t kFields = 14;

std::vector<std::string> SplitTabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    fields.push_back(
        line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

struct Row {
  std::string id, file, line, op, original, replacement, function, compiled, tests, sim3, sim5,
      verdict, first_failure, sim_none;
};

// What the cluster's runs of one mutant found, as a cell of the table.
struct Blackbox {
  bool found = false;         // a run invalid, or the cluster never served
  bool never_served = false;  // test-all's error for the cell
  std::string html;           // each run linked to its report
  std::string text;           // the same, plain
};

std::map<std::string, Blackbox> BlackboxCells(const nlohmann::json& summary) {
  std::map<std::string, Blackbox> cells;
  if (!summary.is_object() || !summary.contains("cells") || !summary["cells"].is_array()) {
    return cells;
  }
  for (const auto& cell : summary["cells"]) {
    std::string name = cell.value("name", "");
    // Mutants are cells mutant-ID; the control, the unmutated server, is
    // kept under its own name (no listing row has it).
    if ((name.rfind("mutant-", 0) != 0 && name != "unmutated") || !cell.contains("runs")) continue;
    Blackbox b;
    for (const auto& run : cell["runs"]) {
      std::string verdict = run.value("verdict", "unknown");
      b.found = b.found || verdict == "invalid";
      std::string text = verdict + " (seed " + run.value("seed", nlohmann::json()).dump();
      if (run.contains("detection_s") && run["detection_s"].is_number() &&
          run["detection_s"].get<double>() >= 0) {
        text += ", at " + std::to_string(static_cast<int>(run["detection_s"].get<double>())) + " s";
      }
      text += ")";
      b.text += (b.text.empty() ? "" : ", ") + text;
      std::string link = run.value("report", "");
      b.html +=
          (b.html.empty() ? "" : "<br>") +
          (link.empty() ? EscapeHtml(text)
                        : "<a href=\"" + EscapeHtml(link) + "\">" + EscapeHtml(text) + "</a>");
    }
    if (cell.contains("error") && cell["error"].is_string()) {
      // The matrix records a run that could not start as the cell's error:
      // for a mutant, the cluster never accepted a write.
      std::string text = "error: " + cell["error"].get<std::string>();
      b.found = b.never_served = true;
      b.text += (b.text.empty() ? "" : ", ") + text;
      b.html += (b.html.empty() ? "" : "<br>") + EscapeHtml(text);
    }
    // A cell the matrix never reached (it was stopped) ran nothing.
    if (b.text.empty()) continue;
    cells[name == "unmutated" ? name : name.substr(7)] = b;
  }
  return cells;
}

std::string Badge(const std::string& verdict) {
  // The report's badge colours: a mutant killed is the tool working.
  std::string cls = verdict == "killed" ? "valid" : verdict == "survived" ? "invalid" : "unknown";
  return "<span class=\"badge " + cls + "\">" + EscapeHtml(verdict) + "</span>";
}

Result<std::vector<Row>> ParseResults(const std::string& results_tsv) {
  std::vector<Row> rows;
  std::istringstream in(results_tsv);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    if (++number == 1 || line.empty()) continue;  // the header
    std::vector<std::string> f = SplitTabs(line);
    if (f.size() != kFields) {
      return InvalidArgument("results.tsv line " + std::to_string(number) + ": " +
                             std::to_string(f.size()) + " fields, want " + std::to_string(kFields));
    }
    rows.push_back(Row{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11],
                       f[12], f[13]});
  }
  return rows;
}

// A table cell's text: bars escaped (GitHub's tables allow \| inside code
// too), line breaks as spaces.
std::string MarkdownCell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else {
      out += c == '\n' ? ' ' : c;
    }
  }
  return out;
}

}  // namespace

Result<std::string> RenderBlackboxMarkdown(const std::string& results_tsv,
                                           const nlohmann::json& blackbox) {
  CHAOS_ASSIGN_OR_RETURN(std::vector<Row> rows, ParseResults(results_tsv));
  std::map<std::string, Blackbox> cluster = BlackboxCells(blackbox);
  int found = 0, ran = 0, never_served = 0;
  std::string table =
      "| id | where | function | change | tests | runs on the cluster "
      "|\n|---|---|---|---|---|---|\n";
  for (const Row& r : rows) {
    auto it = cluster.find(r.id);
    if (it == cluster.end()) continue;
    ++ran;
    found += it->second.found;
    never_served += it->second.never_served;
    std::string where = r.file.substr(r.file.rfind('/') + 1) + ":" + r.line;
    table += "| " + r.id + " | " + where + " | " + MarkdownCell(r.function) + " | `" +
             MarkdownCell(r.original) + "` → `" + MarkdownCell(r.replacement) + "` | " + r.tests +
             " | " + (it->second.found ? "found: " : "not found: ") + it->second.text + " |\n";
  }
  std::string control;
  if (auto it = cluster.find("unmutated"); it != cluster.end()) {
    control = "control, the unmutated server: " + it->second.text + "\n\n";
  }
  return "found under the default schedule: " + std::to_string(found) + " of " +
         std::to_string(ran) + " (" + std::to_string(found - never_served) +
         " by an invalid history, " + std::to_string(never_served) +
         " by a cluster that never served)\n\n" + control + table;
}

Result<std::string> RenderMutationPage(const std::string& results_tsv,
                                       const nlohmann::json& blackbox, const std::string& title) {
  CHAOS_ASSIGN_OR_RETURN(std::vector<Row> rows, ParseResults(results_tsv));
  std::map<std::string, Blackbox> cluster = BlackboxCells(blackbox);
  int compiled = 0, uncompiled = 0, by_tests = 0, by_sim = 0, sim_only = 0, either = 0,
      survived = 0, timeouts = 0, cluster_runs = 0, cluster_found = 0, never_served = 0;
  std::map<std::string, int> survivors;
  for (const Row& r : rows) {
    if (r.compiled != "yes") {
      ++uncompiled;
      continue;
    }
    ++compiled;
    by_tests += r.tests == "killed";
    by_sim += r.verdict == "killed";
    sim_only += r.verdict == "killed" && r.tests != "killed";
    either += r.verdict == "killed" || r.tests == "killed";
    timeouts += r.verdict == "timeout";
    if (r.verdict == "survived") {
      ++survived;
      ++survivors[r.function.empty() ? "(file scope)" : r.function];
    }
    if (auto it = cluster.find(r.id); it != cluster.end()) {
      ++cluster_runs;
      cluster_found += it->second.found;
      never_served += it->second.never_served;
    }
  }
  auto percent = [&](int n) {
    return compiled == 0 ? std::string("-")
                         : std::to_string((200 * n + compiled) / (2 * compiled)) + " %";
  };
  std::ostringstream s;
  s << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
       "style-src 'unsafe-inline'\"><title>"
    << EscapeHtml(title) << "</title><style>" << reports::kReportCss
    << "#mutants td{max-width:36em;overflow-wrap:anywhere}</style></head><body><h1 "
       "style=\"margin-top:18px\">"
    << EscapeHtml(title) << "</h1>"
    << "<table class=\"runs\" id=\"score\"><tr><th>mutants that compile</th><th>did not "
       "compile</th><th>killed by the tests</th><th>killed by the simulator</th><th>by the "
       "simulator only</th><th>killed by either</th><th>survived the simulator</th><th>timed "
       "out</th></tr><tr><td class=\"n\">"
    << compiled << "</td><td class=\"n\">" << uncompiled << "</td><td class=\"n\">" << by_tests
    << " (" << percent(by_tests) << ")</td><td class=\"n\">" << by_sim << " (" << percent(by_sim)
    << ")</td><td class=\"n\">" << sim_only << "</td><td class=\"n\">" << either << " ("
    << percent(either) << ")</td><td class=\"n\">" << survived << "</td><td class=\"n\">"
    << timeouts << "</td></tr></table>";
  if (cluster_runs > 0) {
    s << "<p id=\"blackbox\">On the cluster, under the default schedule: " << cluster_found
      << " of " << cluster_runs << " simulator-killed mutants found ("
      << cluster_found - never_served << " by an invalid history, " << never_served
      << " by a cluster that never served).";
    if (auto it = cluster.find("unmutated"); it != cluster.end()) {
      s << " The control, the unmutated server: " << it->second.html << ".";
    }
    s << "</p>";
  }
  s << "<h2>Survivors of the simulator by function</h2><ul id=\"survivors\">";
  for (const auto& [function, n] : survivors) {
    s << "<li>" << EscapeHtml(function) << ": " << n << "</li>";
  }
  if (survivors.empty()) s << "<li>none</li>";
  s << "</ul><h2>Mutants</h2><table class=\"runs\" id=\"mutants\"><tr><th>id</th><th>where</th>"
       "<th>function</th><th>operator</th><th>change</th><th>tests</th><th>simulator, 3 "
       "nodes</th><th>5 nodes</th><th>no faults</th><th>verdict</th><th>first failure</th>"
    << (cluster.empty() ? "" : "<th>cluster</th>") << "</tr>";
  for (const Row& r : rows) {
    s << "<tr><td class=\"n\">" << EscapeHtml(r.id) << "</td><td>"
      << EscapeHtml(r.file + ":" + r.line) << "</td><td>" << EscapeHtml(r.function) << "</td><td>"
      << EscapeHtml(r.op) << "</td><td><code>" << EscapeHtml(r.original) << "</code> → <code>"
      << EscapeHtml(r.replacement) << "</code></td>";
    if (r.compiled != "yes") {
      s << "<td colspan=\"6\">did not compile</td><td></td>";
    } else {
      s << "<td>" << EscapeHtml(r.tests) << "</td><td>" << EscapeHtml(r.sim3) << "</td><td>"
        << EscapeHtml(r.sim5) << "</td><td>" << EscapeHtml(r.sim_none) << "</td><td>"
        << Badge(r.verdict) << "</td><td>" << EscapeHtml(r.first_failure) << "</td>";
    }
    if (!cluster.empty()) {
      auto it = cluster.find(r.id);
      s << "<td>"
        << (it == cluster.end() ? std::string()
                                : (it->second.found ? "found: " : "not found: ") + it->second.html)
        << "</td>";
    }
    s << "</tr>";
  }
  s << "</table></body></html>\n";
  return s.str();
}

}  // namespace chaos::mutate
