// The store's index (see report.h): the summary pages (test-all matrices,
// mutation runs), then every run, newest first.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/file.h"
#include "checker/checker.h"
#include "reports/html.h"
#include "reports/report.h"
#include "reports/run_data.h"

namespace chaos::reports {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t kMaxRuns = 10000;

struct RunRow {
  std::string test, run, rel;  // rel: "<test>/<run>"
  json test_json = json::object();
  checker::Verdict verdict = checker::Verdict::kUnknown;
  std::string cause;
  int64_t ops = -1;
  bool has_report = false;
};

json ReadJson(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return json();
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  return j.is_discarded() ? json() : j;
}

// Lines in a JSONL history, read in blocks (bounded memory).
int64_t CountLines(const fs::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return -1;
  int64_t lines = 0;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) lines += std::count(buf, buf + n, '\n');
  std::fclose(f);
  return lines;
}

std::string Text(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || obj[key].is_null()) return "";
  const json& v = obj[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string s;
    for (const auto& x : v)
      s += (s.empty() ? "" : ",") + (x.is_string() ? x.get<std::string>() : x.dump());
    return s;
  }
  return v.dump();
}

RunRow ReadRow(const fs::path& dir, const std::string& test, const std::string& run) {
  RunRow r;
  r.test = test;
  r.run = run;
  r.rel = test + "/" + run;
  std::error_code ec;
  json t = ReadJson(dir / "test.json");
  if (t.is_object()) r.test_json = t;
  json res = ReadJson(dir / "results.json");
  if (res.is_object()) {
    r.verdict = VerdictOfJson(res.value("valid", json()));
    const json& cs = res.value("checkers", json::object());
    if (cs.is_object()) {
      for (const auto& [name, c] : cs.items()) {
        if (!c.is_object()) continue;
        if (r.ops < 0 && name == "linearizable" && c.contains("ops") && c["ops"].is_number()) {
          r.ops = c["ops"].get<int64_t>();
        }
        if (r.cause.empty() && r.verdict != checker::Verdict::kValid &&
            VerdictOfJson(c.value("valid", json())) == r.verdict && c.contains("cause") &&
            c["cause"].is_string()) {
          r.cause = c["cause"].get<std::string>();
        }
      }
    }
  } else {
    r.cause = "not checked";
  }
  if (r.ops < 0 && fs::exists(dir / "history.jsonl", ec)) r.ops = CountLines(dir / "history.jsonl");
  r.has_report = fs::exists(dir / "report.html", ec);
  return r;
}

// A folder holding a summary page rather than a run: store/test-all/<ts>/
// (chaos test-all), store/mutate/<ts>/ (bench/mutate).
struct PageRow {
  std::string kind, when;
};

bool IsRunDir(const fs::path& dir) {
  std::error_code ec;
  for (const char* f : {"test.json", "results.json", "history.jsonl", "history.edn"}) {
    if (fs::exists(dir / f, ec)) return true;
  }
  return false;
}

}  // namespace

Result<std::string> RenderIndex(const std::string& store_dir) {
  std::error_code ec;
  if (!fs::is_directory(store_dir, ec)) return NotFound(store_dir + ": no such store folder");
  std::vector<RunRow> rows;
  std::vector<PageRow> pages;
  for (auto t = fs::directory_iterator(store_dir, ec);
       !ec && t != fs::directory_iterator() && rows.size() < kMaxRuns; t.increment(ec)) {
    if (t->is_symlink(ec) || !t->is_directory(ec)) continue;  // store/latest, index.html
    const std::string test = t->path().filename().string();
    std::error_code ec2;
    for (auto r = fs::directory_iterator(t->path(), ec2);
         !ec2 && r != fs::directory_iterator() && rows.size() < kMaxRuns; r.increment(ec2)) {
      if (r->is_symlink(ec2) || !r->is_directory(ec2)) continue;
      const std::string when = r->path().filename().string();
      if (!IsRunDir(r->path())) {
        if (fs::is_regular_file(r->path() / "summary.html", ec2)) {
          pages.push_back({test, when});
        }
        continue;
      }
      rows.push_back(ReadRow(r->path(), test, when));
    }
  }
  // Run folders are named yyyymmddThhmmss: newest first is descending order.
  std::sort(rows.begin(), rows.end(), [](const RunRow& a, const RunRow& b) {
    return a.run != b.run ? a.run > b.run : a.test < b.test;
  });
  std::sort(pages.begin(), pages.end(), [](const PageRow& a, const PageRow& b) {
    return a.when != b.when ? a.when > b.when : a.kind < b.kind;
  });
  int counts[3] = {0, 0, 0};
  for (const RunRow& r : rows) counts[static_cast<int>(r.verdict)]++;
  std::ostringstream s;
  s << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
       "style-src 'unsafe-inline'\"><title>chaos runs</title><style>"
    << kReportCss << "</style></head><body><h1 style=\"margin-top:18px\">chaos runs</h1>";
  if (!pages.empty()) {
    s << "<table class=\"runs\" id=\"pages\"><tr><th>summary</th><th>of</th></tr>";
    for (const PageRow& p : pages) {
      s << "<tr><td><a href=\"" << EscapeHtml(p.kind + "/" + p.when + "/summary.html") << "\">"
        << EscapeHtml(p.when) << "</a></td><td>" << EscapeHtml(p.kind) << "</td></tr>";
    }
    s << "</table>";
  }
  s << "<p id=\"summary\">" << rows.size() << " runs: " << counts[0] << " valid, " << counts[1]
    << " invalid, " << counts[2]
    << " unknown</p><table class=\"runs\" id=\"runs\"><tr><th>run</th><th>verdict</th>"
       "<th>test</th><th>adapter</th><th>nemeses</th><th>duration</th><th>ops</th><th>cause</th></"
       "tr>";
  for (const RunRow& r : rows) {
    const char* v = checker::VerdictName(r.verdict);
    std::string link = r.rel + (r.has_report ? "/report.html" : "/");
    std::string dur = Text(r.test_json, "duration_s");
    std::string cause = r.cause.size() > 120 ? r.cause.substr(0, 120) + "…" : r.cause;
    s << "<tr class=\"" << v << "\"><td><a href=\"" << EscapeHtml(link) << "\">"
      << EscapeHtml(r.run) << "</a></td><td><span class=\"badge " << v << "\">" << v
      << "</span></td><td>" << EscapeHtml(r.test) << "</td><td>"
      << EscapeHtml(Text(r.test_json, "adapter")) << "</td><td>"
      << EscapeHtml(Text(r.test_json, "nemeses")) << "</td><td class=\"n\">"
      << EscapeHtml(dur.empty() ? "" : dur + " s") << "</td><td class=\"n\">"
      << (r.ops >= 0 ? std::to_string(r.ops) : "") << "</td><td>" << EscapeHtml(cause)
      << "</td></tr>";
  }
  if (rows.empty()) s << "<tr><td colspan=\"8\">no runs yet</td></tr>";
  s << "</table></body></html>\n";
  return s.str();
}

Status WriteIndex(const std::string& store_dir) {
  CHAOS_ASSIGN_OR_RETURN(std::string html, RenderIndex(store_dir));
  return WriteFileAtomically((fs::path(store_dir) / "index.html").string(), html);
}

}  // namespace chaos::reports
