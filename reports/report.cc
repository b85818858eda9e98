// The run report (see report.h): HTML, SVG charts and the embedded op data
// the page's timeline script draws from.
#include "reports/report.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "base/check.h"
#include "base/file.h"
#include "checker/others.h"
#include "reports/html.h"
#include "reports/run_data.h"

namespace chaos::reports {
namespace fs = std::filesystem;
using nlohmann::json;

static_assert(std::endian::native == std::endian::little, "packed op data is little-endian");

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Base64(std::string_view bytes) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += k[n >> 18];
    out += k[(n >> 12) & 63];
    out += k[(n >> 6) & 63];
    out += k[n & 63];
  }
  if (i + 1 == bytes.size()) {
    uint32_t n = uint8_t(bytes[i]) << 16;
    out += k[n >> 18];
    out += k[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += k[n >> 18];
    out += k[(n >> 12) & 63];
    out += k[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

// JSON safe inside <script>: no "</" can close the element.
std::string ScriptJson(const json& j) {
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<' && i + 1 < s.size() && s[i + 1] == '/') {
      out += "<\\/";
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

namespace {

const char* kTypeNames[] = {"ok", "fail", "info", "pending"};
const char* kTypeColors[] = {"#3d8fe0", "#e0508e", "#f0a020", "#9a9a9a"};

std::string Fmt(double v, int digits = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string ValueText(const json& v) {
  if (v.is_null()) return "nil";
  if (v.is_string()) return v.get<std::string>();
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  // [1,2] reads better as [1 2], as Jepsen prints it.
  std::replace(s.begin(), s.end(), ',', ' ');
  return s;
}

std::string JsonField(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || obj[key].is_null()) return "—";
  const json& v = obj[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string s;
    for (const auto& x : v)
      s += (s.empty() ? "" : ", ") + (x.is_string() ? x.get<std::string>() : x.dump());
    return s.empty() ? "none" : s;
  }
  return v.dump();
}

const char* VerdictClass(checker::Verdict v) { return checker::VerdictName(v); }

std::string DurationText(double ms, bool timed) {
  if (!timed) return Fmt(ms, 0) + " ops";
  if (ms < 1000) return Fmt(ms, 1) + " ms";
  return Fmt(ms / 1000, 1) + " s";
}

// ---- SVG charts ----

struct Plot {
  double width = 960, height = 260, left = 64, right = 16, top = 26, bottom = 34;
  double x0 = 0, x1 = 1;  // data range on x
  double X(double v) const {
    return left + (v - x0) / std::max(x1 - x0, 1e-9) * (width - left - right);
  }
  double inner_h() const { return height - top - bottom; }
};

std::string FaultColor(const std::string& kind) {
  if (kind == "partition") return "#c040c0";
  if (kind == "kill") return "#d03030";
  if (kind == "pause") return "#3070d0";
  if (kind == "clock") return "#20a080";
  return "#808080";
}

std::string FaultShading(const Plot& p, const std::vector<FaultWindow>& faults) {
  std::ostringstream s;
  int row = 0;
  for (const FaultWindow& f : faults) {
    double a = p.X(f.start_ms), b = std::max(p.X(f.end_ms), a + 1);
    s << "<g class=\"fault\"><title>" << EscapeHtml(f.label) << (f.open ? " (never healed)" : "")
      << "</title><rect x=\"" << Fmt(a, 1) << "\" y=\"" << p.top << "\" width=\"" << Fmt(b - a, 1)
      << "\" height=\"" << p.inner_h() << "\" fill=\"" << FaultColor(f.kind)
      << "\" fill-opacity=\"0.13\"/><text x=\"" << Fmt(a + 2, 1) << "\" y=\"" << 10 + 9 * (row % 2)
      << "\" font-size=\"9\" fill=\"" << FaultColor(f.kind) << "\">"
      << EscapeHtml(f.label.substr(0, 48)) << "</text></g>";
    ++row;
  }
  return s.str();
}

std::string XAxis(const Plot& p, bool timed) {
  std::ostringstream s;
  double span = p.x1 - p.x0;
  double unit = timed ? 1000.0 : 1.0;  // seconds or positions
  double raw = span / unit / 8;
  double step = std::pow(10, std::floor(std::log10(std::max(raw, 1e-9))));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (step * m >= raw) {
      step *= m;
      break;
    }
  }
  double y = p.height - p.bottom;
  s << "<line x1=\"" << p.left << "\" y1=\"" << y << "\" x2=\"" << p.width - p.right << "\" y2=\""
    << y << "\" stroke=\"#888\"/>";
  for (int i = 0; i <= 40; ++i) {
    double v = std::ceil(p.x0 / unit / step) * step + i * step;
    if (v * unit > p.x1 + 1e-9) break;
    double x = p.X(v * unit);
    s << "<line x1=\"" << Fmt(x, 1) << "\" y1=\"" << y << "\" x2=\"" << Fmt(x, 1) << "\" y2=\""
      << y + 4 << "\" stroke=\"#888\"/><text x=\"" << Fmt(x, 1) << "\" y=\"" << y + 15
      << "\" font-size=\"10\" text-anchor=\"middle\">" << (step < 1 ? Fmt(v, 1) : Fmt(v, 0))
      << "</text>";
  }
  s << "<text x=\"" << p.width - p.right << "\" y=\"" << p.height - 3
    << "\" font-size=\"10\" text-anchor=\"end\">" << (timed ? "time (s)" : "history position")
    << "</text>";
  return s.str();
}

std::string Legend(const Plot& p) {
  std::ostringstream s;
  double x = p.left + 4;
  for (int t = 0; t < 3; ++t) {
    s << "<rect x=\"" << x << "\" y=\"" << p.top + 4 << "\" width=\"8\" height=\"8\" fill=\""
      << kTypeColors[t] << "\"/><text x=\"" << x + 11 << "\" y=\"" << p.top + 12
      << "\" font-size=\"10\">" << kTypeNames[t] << "</text>";
    x += 44;
  }
  return s.str();
}

std::string ThroughputSvg(const RunData& d) {
  Plot p;
  p.x0 = 0;
  p.x1 = std::max(d.end_ms, 1.0);
  const double unit_ms = d.timed ? 1000.0 : 1.0;
  // At most ~480 buckets, each a whole number of seconds (or positions).
  double bucket = std::max(1.0, std::ceil(p.x1 / unit_ms / 480)) * unit_ms;
  size_t n = static_cast<size_t>(p.x1 / bucket) + 1;
  std::vector<std::array<double, 3>> counts(n, {0, 0, 0});
  for (const OpPair& op : d.pairs) {
    if (op.complete_ms < 0 || op.type > 2) continue;
    counts[std::min(n - 1, static_cast<size_t>(op.complete_ms / bucket))][op.type] += 1;
  }
  double max_rate = 1;
  for (auto& c : counts) {
    for (double& v : c) {
      v /= bucket / unit_ms;
      max_rate = std::max(max_rate, v);
    }
  }
  std::ostringstream s;
  s << "<svg class=\"chart\" id=\"throughput\" viewBox=\"0 0 " << p.width << " " << p.height
    << "\" xmlns=\"http://www.w3.org/2000/svg\">" << FaultShading(p, d.faults) << XAxis(p, d.timed);
  auto Y = [&](double v) { return p.top + p.inner_h() * (1 - v / max_rate); };
  for (double v : {0.0, max_rate / 2, max_rate}) {
    s << "<text x=\"" << p.left - 4 << "\" y=\"" << Fmt(Y(v) + 3, 1)
      << "\" font-size=\"10\" text-anchor=\"end\">" << Fmt(v, v < 10 ? 1 : 0)
      << "</text><line x1=\"" << p.left << "\" x2=\"" << p.width - p.right << "\" y1=\""
      << Fmt(Y(v), 1) << "\" y2=\"" << Fmt(Y(v), 1) << "\" stroke=\"#ddd\"/>";
  }
  s << "<text x=\"12\" y=\"" << p.top + p.inner_h() / 2
    << "\" font-size=\"10\" transform=\"rotate(-90 12 " << p.top + p.inner_h() / 2
    << ")\" text-anchor=\"middle\">" << (d.timed ? "ops/s" : "ops/position") << "</text>";
  for (int t = 0; t < 3; ++t) {
    s << "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"" << kTypeColors[t]
      << "\" points=\"";
    for (size_t i = 0; i < n; ++i) {
      s << Fmt(p.X((static_cast<double>(i) + 0.5) * bucket), 1) << "," << Fmt(Y(counts[i][t]), 1)
        << " ";
    }
    s << "\"/>";
  }
  s << Legend(p) << "</svg>";
  return s.str();
}

std::string LatencySvg(const RunData& d) {
  Plot p;
  p.x0 = 0;
  p.x1 = std::max(d.end_ms, 1.0);
  double lo = 1e300, hi = 0;
  for (const OpPair& op : d.pairs) {
    if (op.complete_ms < 0 || op.type > 2) continue;
    double l = std::max(op.complete_ms - op.start_ms, 1e-3);
    lo = std::min(lo, l);
    hi = std::max(hi, l);
  }
  std::ostringstream s;
  s << "<svg class=\"chart\" id=\"latency\" viewBox=\"0 0 " << p.width << " " << p.height
    << "\" xmlns=\"http://www.w3.org/2000/svg\">" << FaultShading(p, d.faults) << XAxis(p, d.timed);
  if (hi <= 0) return s.str() + "</svg>";
  double dlo = std::floor(std::log10(lo)), dhi = std::max(std::ceil(std::log10(hi)), dlo + 1);
  auto Y = [&](double l) {
    return p.top + p.inner_h() * (1 - (std::log10(std::max(l, 1e-3)) - dlo) / (dhi - dlo));
  };
  for (double e = dlo; e <= dhi; e += 1) {
    double v = std::pow(10, e);
    s << "<text x=\"" << p.left - 4 << "\" y=\"" << Fmt(Y(v) + 3, 1)
      << "\" font-size=\"10\" text-anchor=\"end\">" << (v >= 1 ? Fmt(v, 0) : Fmt(v, 3))
      << "</text><line x1=\"" << p.left << "\" x2=\"" << p.width - p.right << "\" y1=\""
      << Fmt(Y(v), 1) << "\" y2=\"" << Fmt(Y(v), 1) << "\" stroke=\"#ddd\"/>";
  }
  s << "<text x=\"12\" y=\"" << p.top + p.inner_h() / 2
    << "\" font-size=\"10\" transform=\"rotate(-90 12 " << p.top + p.inner_h() / 2
    << ")\" text-anchor=\"middle\">latency (ms, log)</text>";
  // Every op is a point; points that fall in the same 2x2 pixel cell are
  // drawn once, so the SVG stays bounded for any history length.
  const int cw = static_cast<int>(p.width / 2), ch = static_cast<int>(p.height / 2);
  for (int t : {0, 2, 1}) {
    std::vector<bool> seen(static_cast<size_t>(cw * ch), false);
    s << "<path fill=\"" << kTypeColors[t] << "\" d=\"";
    for (const OpPair& op : d.pairs) {
      if (op.type != t || op.complete_ms < 0) continue;
      int cx = static_cast<int>(p.X(op.complete_ms) / 2);
      int cy = static_cast<int>(Y(op.complete_ms - op.start_ms) / 2);
      if (cx < 0 || cy < 0 || cx >= cw || cy >= ch) continue;
      size_t cell = static_cast<size_t>(cy * cw + cx);
      if (seen[cell]) continue;
      seen[cell] = true;
      s << "M" << cx * 2 << " " << cy * 2 << "h2v2h-2z";
    }
    s << "\"/>";
  }
  s << Legend(p) << "</svg>";
  return s.str();
}

// ---- tables ----

std::string CountsTable(const RunData& d) {
  std::vector<std::array<int64_t, 4>> by_f(d.fs.size(), {0, 0, 0, 0});
  for (const OpPair& op : d.pairs) by_f[static_cast<size_t>(op.f)][static_cast<size_t>(op.type)]++;
  std::ostringstream s;
  s << "<table id=\"counts\"><tr><th>f</th><th>ok</th><th>fail</th><th>info</th><th>pending</th>"
       "<th>total</th></tr>";
  std::array<int64_t, 4> sum{0, 0, 0, 0};
  for (size_t f = 0; f < d.fs.size(); ++f) {
    s << "<tr><td>" << EscapeHtml(d.fs[f]) << "</td>";
    int64_t total = 0;
    for (size_t t = 0; t < 4; ++t) {
      s << "<td class=\"n t" << t << "\">" << by_f[f][t] << "</td>";
      total += by_f[f][t];
      sum[t] += by_f[f][t];
    }
    s << "<td class=\"n\">" << total << "</td></tr>";
  }
  s << "<tr class=\"sum\"><td>all</td>";
  for (size_t t = 0; t < 4; ++t) s << "<td class=\"n\">" << sum[t] << "</td>";
  s << "<td class=\"n\" id=\"op-total\">" << sum[0] + sum[1] + sum[2] + sum[3]
    << "</td></tr></table>";
  s << "<p class=\"small\">" << d.history.size() << " history lines, " << d.pairs.size()
    << " client ops, " << d.nemesis_ops << " nemesis ops, " << d.processes.size()
    << " processes.</p>";
  return s.str();
}

std::string CheckerSummary(const std::string& name, const json& r) {
  std::ostringstream s;
  if (r.contains("cause") && r["cause"].is_string())
    s << EscapeHtml(r["cause"].get<std::string>()) << ". ";
  if (name == "linearizable" || r.value("checker", "") == "linearizable") {
    s << "model " << EscapeHtml(JsonField(r, "model")) << ", " << EscapeHtml(JsonField(r, "ops"))
      << " ops";
    if (r.contains("stats") && r["stats"].is_object()) {
      s << ", " << EscapeHtml(JsonField(r["stats"], "states")) << " states, "
        << EscapeHtml(JsonField(r["stats"], "ms")) << " ms";
    }
  } else if (r.contains("count")) {
    s << EscapeHtml(JsonField(r, "count")) << " ops";
  }
  return s.str();
}

std::string CheckersTable(const RunData& d) {
  std::ostringstream s;
  s << "<table id=\"checkers\"><tr><th>checker</th><th>result</th><th>summary</th></tr>";
  json checkers = d.results.is_object() ? d.results.value("checkers", json::object()) : json();
  if (!checkers.is_object() || checkers.empty()) {
    s << "<tr><td colspan=\"3\">" << (d.results.is_null() ? "no results.json" : "no checkers")
      << "</td></tr>";
  } else {
    for (const auto& [name, r] : checkers.items()) {
      checker::Verdict v = VerdictOfJson(r.is_object() ? r.value("valid", json()) : json());
      std::string text = r.dump(2, ' ', false, json::error_handler_t::replace);
      if (text.size() > 20000) text = text.substr(0, 20000) + "\n…";
      s << "<tr><td>" << EscapeHtml(name) << "</td><td><span class=\"badge " << VerdictClass(v)
        << "\">" << checker::VerdictName(v) << "</span></td><td>"
        << (r.is_object() ? CheckerSummary(name, r) : "") << "<details><summary>JSON</summary><pre>"
        << EscapeHtml(text) << "</pre></details></td></tr>";
    }
  }
  s << "</table>";
  return s.str();
}

std::string PercentilesTable(const RunData& d) {
  json perf;
  if (d.results.is_object() && d.results.contains("checkers") &&
      d.results["checkers"].is_object() && d.results["checkers"].contains("perf")) {
    perf = d.results["checkers"]["perf"];
  }
  if (!perf.is_object() || !perf.contains("latency")) perf = checker::CheckPerf(d.history).result;
  const json& lat = perf.value("latency", json::object());
  std::ostringstream s;
  s << "<table id=\"percentiles\"><tr><th>f</th><th>type</th><th>count</th><th>p50 ms</th>"
       "<th>p95 ms</th><th>p99 ms</th><th>max ms</th></tr>";
  if (!d.timed) s << "<tr><td colspan=\"7\">the history has no times</td></tr>";
  if (lat.is_object()) {
    for (const auto& [f, types] : lat.items()) {
      if (!types.is_object()) continue;
      for (const auto& [type, q] : types.items()) {
        s << "<tr><td>" << EscapeHtml(f) << "</td><td>" << EscapeHtml(type) << "</td>";
        for (const char* k : {"count", "p50_ms", "p95_ms", "p99_ms", "max_ms"}) {
          double v = q.is_object() && q.contains(k) && q[k].is_number() ? q[k].get<double>() : 0;
          s << "<td class=\"n\">" << (std::string(k) == "count" ? Fmt(v, 0) : Fmt(v, 2)) << "</td>";
        }
        s << "</tr>";
      }
    }
  }
  s << "</table>";
  return s.str();
}

// ---- counterexample ----

int64_t IndexOfSummary(const json& op) {
  return op.is_object() && op.contains("index") && op["index"].is_number_integer()
             ? op["index"].get<int64_t>()
             : -1;
}

// The register's state after an op, when the op alone determines it.
std::optional<std::string> RegisterStateAfter(const json& op) {
  std::string f = op.value("f", "");
  const json& v = op.contains("value") ? op["value"] : json();
  if (f == "write") return ValueText(v);
  if (f == "cas" && v.is_array() && v.size() == 2) return ValueText(v[1]);
  if (f == "read" && !v.is_null()) return ValueText(v);
  return std::nullopt;
}

std::string WhyNot(const json& op, const json& state, bool is_register) {
  std::string f = op.value("f", "");
  const json& v = op.contains("value") ? op["value"] : json();
  std::string st = ValueText(state);
  if (is_register && f == "read") return "read " + ValueText(v) + ", but the register holds " + st;
  if (is_register && f == "cas" && v.is_array() && v.size() == 2) {
    return "cas " + ValueText(v[0]) + "→" + ValueText(v[1]) + ", but the register holds " + st;
  }
  return f + " " + ValueText(v) + " is not possible in state " + st;
}

struct CxRow {
  size_t pair;
  std::string role;  // "fail", "path", "concurrent"
  int order = 0;     // position in the first final path, 0 if none
};

std::string OpLabel(const RunData& d, const OpPair& p) {
  const history::Op& inv = d.history[static_cast<size_t>(p.invoke)];
  const history::Op& shown =
      d.history[static_cast<size_t>(p.complete >= 0 ? p.complete : p.invoke)];
  std::string s =
      "#" + std::to_string(shown.index) + " p" + d.processes[static_cast<size_t>(p.lane)];
  if (p.node >= 0) s += "@" + d.node_names[static_cast<size_t>(p.node)];
  s += " " + std::string(kTypeNames[p.type]) + " " + inv.f + " " +
       ValueText(shown.value.is_null() ? inv.value : shown.value);
  return s;
}

std::string CxBars(const RunData& d, const std::vector<CxRow>& rows, const std::string& id) {
  double lo = 1e300, hi = -1e300, done_hi = -1e300;
  for (const CxRow& r : rows) {
    const OpPair& p = d.pairs[r.pair];
    lo = std::min(lo, p.start_ms);
    hi = std::max(hi, p.start_ms);
    if (p.complete_ms >= 0) done_hi = std::max(done_hi, p.complete_ms);
  }
  hi = std::max(hi, done_hi);
  double pad = std::max((hi - lo) * 0.08, d.timed ? 0.5 : 1.0);
  Plot pl;
  pl.left = 300;
  pl.top = 8;
  pl.bottom = 34;
  pl.x0 = lo - pad;
  pl.x1 = hi + pad;
  const double row_h = 18;
  pl.height = pl.top + pl.bottom + row_h * static_cast<double>(rows.size());
  std::ostringstream s;
  s << "<svg class=\"cx\" id=\"" << id << "\" viewBox=\"0 0 " << pl.width << " " << pl.height
    << "\" xmlns=\"http://www.w3.org/2000/svg\">";
  for (size_t i = 0; i < rows.size(); ++i) {
    const OpPair& p = d.pairs[rows[i].pair];
    double y = pl.top + row_h * static_cast<double>(i);
    double a = pl.X(p.start_ms);
    double b = pl.X(p.complete_ms >= 0 && p.type != 2 ? p.complete_ms : pl.x1);
    const bool bad = rows[i].role == "fail";
    std::string label = OpLabel(d, p);
    s << "<g class=\"cxop " << rows[i].role << "\" data-index=\""
      << d.history[static_cast<size_t>(p.complete >= 0 ? p.complete : p.invoke)].index
      << "\"><title>" << EscapeHtml(label) << "</title><text x=\"4\" y=\"" << y + 13
      << "\" font-size=\"11\"" << (bad ? " font-weight=\"bold\" fill=\"#b00\"" : "") << ">"
      << EscapeHtml(label.substr(0, 46)) << "</text><rect x=\"" << Fmt(a, 1) << "\" y=\"" << y + 3
      << "\" width=\"" << Fmt(std::max(b - a, 2.0), 1) << "\" height=\"12\" rx=\"2\" fill=\""
      << kTypeColors[p.type] << "\""
      << (p.complete < 0 || p.type == 2 ? " fill-opacity=\"0.45\"" : "")
      << (bad ? " stroke=\"#b00\" stroke-width=\"2.5\"" : "") << "/>";
    if (rows[i].order > 0) {
      s << "<text x=\"" << Fmt(a + 3, 1) << "\" y=\"" << y + 13
        << "\" font-size=\"10\" fill=\"#fff\" font-weight=\"bold\">" << rows[i].order << "</text>";
    }
    if (bad) {
      s << "<text x=\"" << Fmt(std::max(b - a, 2.0) + a + 4, 1) << "\" y=\"" << y + 13
        << "\" font-size=\"11\" fill=\"#b00\" font-weight=\"bold\">✗</text>";
    }
    s << "</g>";
  }
  s << XAxis(pl, d.timed) << "</svg>";
  return s.str();
}

std::vector<CxRow> RowsOf(const RunData& d, const std::vector<std::pair<json, std::string>>& ops,
                          const std::map<int64_t, int>& order) {
  std::vector<CxRow> rows;
  std::set<size_t> seen;
  for (const auto& [op, role] : ops) {
    auto it = d.pair_of_index.find(IndexOfSummary(op));
    if (it == d.pair_of_index.end() || !seen.insert(it->second).second) continue;
    CxRow r{it->second, role, 0};
    const OpPair& p = d.pairs[it->second];
    for (int64_t pos : {p.invoke, p.complete}) {
      if (pos < 0) continue;
      auto o = order.find(d.history[static_cast<size_t>(pos)].index);
      if (o != order.end()) r.order = o->second;
    }
    rows.push_back(r);
  }
  std::sort(rows.begin(), rows.end(), [&](const CxRow& a, const CxRow& b) {
    return d.pairs[a.pair].start_ms < d.pairs[b.pair].start_ms;
  });
  return rows;
}

// ---- transactional anomalies (checker/txn) ----

// One cycle drawn as an SVG: the transactions on a circle, an arrow per
// dependency labelled with its type (ww, wr, rw, process, realtime).
std::string CycleSvg(const json& anomaly) {
  const json& cycle = anomaly.value("cycle", json::array());
  const json& steps = anomaly.value("steps", json::array());
  if (!cycle.is_array() || cycle.empty() || !steps.is_array()) return "";
  const size_t n = cycle.size();
  const double r = n == 1 ? 0 : 70 + 12.0 * static_cast<double>(n), cx = r + 60, cy = r + 40;
  std::map<std::string, std::pair<double, double>> at;
  std::ostringstream s;
  s << "<svg class=\"cycle\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << 2 * cx
    << "\" height=\"" << 2 * cy
    << "\" role=\"img\"><defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" "
       "refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0 "
       "L10,5 L0,10 z\"/></marker></defs>";
  for (size_t i = 0; i < n; ++i) {
    const double a = -1.5707963 + 6.2831853 * static_cast<double>(i) / static_cast<double>(n);
    at[cycle[i].value("name", "")] = {cx + r * std::cos(a), cy + r * std::sin(a)};
  }
  for (const json& e : steps) {
    auto from = at.find(e.value("from", "")), to = at.find(e.value("to", ""));
    if (from == at.end() || to == at.end()) continue;
    const auto [x1, y1] = from->second;
    const auto [x2, y2] = to->second;
    const double dx = x2 - x1, dy = y2 - y1, len = std::max(1.0, std::hypot(dx, dy));
    // Shorten both ends to the node circles; bend a little so 2-cycles show two arrows.
    const double sx = x1 + dx / len * 22, sy = y1 + dy / len * 22;
    const double ex = x2 - dx / len * 22, ey = y2 - dy / len * 22;
    const double mx = (sx + ex) / 2 - dy / len * 18, my = (sy + ey) / 2 + dx / len * 18;
    const std::string type = e.value("type", "");
    s << "<path d=\"M" << sx << "," << sy << " Q" << mx << "," << my << " " << ex << "," << ey
      << "\" class=\"edge " << EscapeHtml(type) << "\" fill=\"none\" marker-end=\"url(#arrow)\"/>"
      << "<text x=\"" << mx << "\" y=\"" << my << "\" class=\"edge-label\">" << EscapeHtml(type)
      << "</text>";
  }
  for (const auto& [name, xy] : at) {
    s << "<circle cx=\"" << xy.first << "\" cy=\"" << xy.second << "\" r=\"20\" class=\"txn\"/>"
      << "<text x=\"" << xy.first << "\" y=\"" << xy.second + 5 << "\" text-anchor=\"middle\">"
      << EscapeHtml(name) << "</text>";
  }
  s << "</svg>";
  return s.str();
}

// Every transactional checker's anomalies: the explanation Elle would give,
// the transactions, and the cycle drawn.
std::string TxnAnomalies(const RunData& d) {
  if (!d.results.is_object() || !d.results.contains("checkers") ||
      !d.results["checkers"].is_object()) {
    return "";
  }
  std::ostringstream s;
  for (const auto& [name, c] : d.results["checkers"].items()) {
    if (!c.is_object() || !c.contains("anomalies") || !c["anomalies"].is_object() ||
        c["anomalies"].empty()) {
      continue;
    }
    s << "<section id=\"anomalies\"><h2>Anomalies (" << EscapeHtml(name) << ", "
      << EscapeHtml(c.value("consistency", "")) << ")</h2>";
    const json forbidden = c.value("forbidden", json::array());
    for (const auto& [type, list] : c["anomalies"].items()) {
      if (!list.is_array()) continue;
      bool bad = false;
      for (const json& f : forbidden) bad = bad || f == type;
      const int64_t count = c["anomalies"].value(type + "-count", int64_t{0});
      s << "<h3 class=\"anomaly\" data-type=\"" << EscapeHtml(type) << "\">" << EscapeHtml(type)
        << " · " << count << " found" << (bad ? "" : " (allowed by this model)") << "</h3>";
      for (const json& a : list) {
        s << "<div class=\"anomaly-case\">";
        if (a.contains("drawn")) {
          s << "<pre>" << EscapeHtml(a.value("drawn", "")) << "</pre>" << CycleSvg(a) << "<ul>";
          for (const json& t : a.value("cycle", json::array())) {
            s << "<li><b>" << EscapeHtml(t.value("name", "")) << "</b> = <code>"
              << EscapeHtml(t.value("op", "")) << "</code></li>";
          }
          s << "</ul>";
        }
        s << "<p>" << EscapeHtml(a.value("explanation", "")) << "</p></div>";
      }
    }
    s << "</section>";
  }
  return s.str();
}

struct Counterexample {
  std::string html;
  std::string headline;  // first-screen line
  std::vector<size_t> highlight;
};

Counterexample RenderCounterexample(const RunData& d) {
  Counterexample out;
  if (!d.results.is_object() || !d.results.contains("checkers") ||
      !d.results["checkers"].is_object()) {
    return out;
  }
  json r;
  for (const auto& [name, c] : d.results["checkers"].items()) {
    if (c.is_object() && c.contains("counterexample") && c["counterexample"].is_object()) {
      r = c;
      break;
    }
  }
  if (r.is_null()) return out;
  const json& cx = r["counterexample"];
  const json& bad = cx.value("op", json());
  const std::string model = r.value("model", "");
  const bool is_register = model.rfind("register", 0) == 0 || model.rfind("cas-register", 0) == 0;
  std::ostringstream s;
  s << "<section id=\"counterexample\" data-op=\"" << IndexOfSummary(bad) << "\"";
  // Indices of every op drawn, for tests and for the timeline.
  std::vector<std::pair<json, std::string>> ops;
  ops.push_back({bad, "fail"});
  std::map<int64_t, int> order;
  const json& paths = cx.value("final_paths", json::array());
  if (paths.is_array() && !paths.empty() && paths[0].is_object()) {
    int k = 0;
    for (const auto& op : paths[0].value("path", json::array())) {
      ops.push_back({op, "path"});
      order[IndexOfSummary(op)] = ++k;
    }
  }
  if (cx.contains("last_linearized") && !cx["last_linearized"].is_null()) {
    ops.push_back({cx["last_linearized"], "path"});
  }
  for (const auto& op : cx.value("concurrent", json::array())) ops.push_back({op, "concurrent"});
  std::vector<CxRow> rows = RowsOf(d, ops, order);
  std::string indices;
  for (const CxRow& row : rows) {
    const OpPair& p = d.pairs[row.pair];
    indices += (indices.empty() ? "" : " ") +
               std::to_string(
                   d.history[static_cast<size_t>(p.complete >= 0 ? p.complete : p.invoke)].index);
    out.highlight.push_back(row.pair);
  }
  s << " data-op-indices=\"" << indices << "\"><h2>Counterexample</h2>";

  // Which op, where, during which fault, and why.
  std::string where, during;
  auto it = d.pair_of_index.find(IndexOfSummary(bad));
  if (it != d.pair_of_index.end()) {
    const OpPair& p = d.pairs[it->second];
    where = "process " + d.processes[static_cast<size_t>(p.lane)];
    if (p.node >= 0) where += " on node " + d.node_names[static_cast<size_t>(p.node)];
    // The node that answered, when the client followed a redirect elsewhere
    // (a stale read names the old leader that served it).
    if (p.complete >= 0) {
      const history::Op& done = d.history[static_cast<size_t>(p.complete)];
      if (done.extra.is_object() && done.extra.contains("served_by") &&
          done.extra["served_by"].is_string()) {
        where += ", served by " + done.extra["served_by"].get<std::string>();
      }
    }
    for (const FaultWindow& f : d.faults) {
      if (f.start_ms <= p.end_ms && f.end_ms >= p.start_ms) {
        during += (during.empty() ? "" : "; ") + f.label;
      }
    }
  }
  std::string why;
  if (paths.is_array() && !paths.empty() && paths[0].is_object()) {
    why = WhyNot(bad, paths[0].value("state", json()), is_register);
  } else if (cx.contains("initial")) {
    why = WhyNot(bad, cx["initial"], is_register);
  }
  out.headline = "op " + std::to_string(IndexOfSummary(bad)) + " (" + bad.value("f", "") + " " +
                 ValueText(bad.value("value", json())) + ", " + (where.empty() ? "?" : where) +
                 ") cannot be linearized" + (why.empty() ? "" : ": " + why) +
                 (during.empty() ? "" : " — during " + during);
  if (cx.contains("key") && !cx["key"].is_null()) out.headline += " (key " + cx["key"].dump() + ")";
  s << "<p class=\"why\" id=\"cx-why\">" << EscapeHtml(out.headline) << "</p>";
  s << "<p class=\"small\">Bars: every op concurrent with op " << IndexOfSummary(bad)
    << ", and the ops the search linearized last (numbered in the order it placed them). "
       "Faded bars never completed (info or pending): they may take effect at any later time.</p>";
  s << "<div class=\"cxwrap\"><div><h3>Ops around the failure</h3>" << CxBars(d, rows, "cx-bars")
    << "</div>";

  // The shrunk counterexample beside it.
  if (cx.contains("shrunk") && cx["shrunk"].is_array()) {
    std::vector<std::pair<json, std::string>> sops;
    for (const auto& op : cx["shrunk"]) {
      sops.push_back({op, IndexOfSummary(op) == IndexOfSummary(bad) ? "fail" : "shrunk"});
    }
    std::vector<CxRow> srows = RowsOf(d, sops, {});
    // The failing op's invocation or completion may be listed: mark its pair.
    for (CxRow& row : srows) {
      if (it != d.pair_of_index.end() && row.pair == it->second) row.role = "fail";
    }
    s << "<div><h3>Shrunk: " << EscapeHtml(JsonField(cx, "shrunk_ops")) << " ops"
      << (cx.value("shrunk_minimal", false) ? " (no op can be removed)"
                                            : " (shrinking stopped early)")
      << ", from initial state " << EscapeHtml(ValueText(cx.value("initial", json()))) << "</h3>"
      << CxBars(d, srows, "cx-shrunk");
    // What happened, in time order: each op, the op that wrote what it read,
    // and why the failing one cannot be linearized.
    if (cx.contains("story") && cx["story"].is_array()) {
      s << "<ol class=\"small\" id=\"cx-story\">";
      for (const auto& e : cx["story"]) {
        s << "<li" << (e.value("fails", false) ? " class=\"why\"" : "") << ">"
          << EscapeHtml(checker::StoryLine(e)) << "</li>";
      }
      s << "</ol>";
    }
    s << "</div>";
  }
  s << "</div>";

  // The orders the search tried, with the model state after each op.
  s << "<h3>Final paths: the last orders the search tried, and the state after each op</h3>"
       "<table id=\"cx-paths\"><tr><th>#</th><th>linearized ops → state after each</th>"
       "<th>then op "
    << IndexOfSummary(bad) << "</th></tr>";
  int n = 0;
  for (const auto& path : paths) {
    if (!path.is_object()) continue;
    if (++n > 20) {
      s << "<tr><td colspan=\"3\">… " << paths.size() - 20 << " more</td></tr>";
      break;
    }
    s << "<tr><td>" << n << "</td><td>";
    const json& ops_in = path.value("path", json::array());
    for (size_t i = 0; i < ops_in.size(); ++i) {
      const json& op = ops_in[i];
      std::string state = i + 1 == ops_in.size() ? ValueText(path.value("state", json()))
                          : is_register          ? RegisterStateAfter(op).value_or("?")
                                                 : "…";
      s << "<span class=\"step\">#" << IndexOfSummary(op) << " p"
        << EscapeHtml(op.contains("process") ? ValueText(op["process"]) : "?") << " "
        << EscapeHtml(op.value("f", "")) << " " << EscapeHtml(ValueText(op.value("value", json())))
        << " → <b>" << EscapeHtml(state) << "</b></span> ";
    }
    s << "</td><td class=\"bad\">✗ "
      << EscapeHtml(WhyNot(bad, path.value("state", json()), is_register)) << "</td></tr>";
  }
  if (n == 0) s << "<tr><td colspan=\"3\">the checker gave no final paths</td></tr>";
  s << "</table><p><button id=\"cx-show\">Show these ops on the timeline</button></p></section>";
  out.html = s.str();
  return out;
}

// ---- embedded op data for the timeline ----

template <typename T>
void Put(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out->append(b, sizeof(T));
}

std::string TimelineData(const RunData& d, const std::vector<size_t>& highlight) {
  std::string start, dur, inv, comp, lane, type, f, node;
  const size_t n = d.pairs.size();
  start.reserve(n * 4);
  dur.reserve(n * 4);
  inv.reserve(n * 4);
  comp.reserve(n * 4);
  lane.reserve(n * 2);
  json vals = json::array();
  for (const OpPair& p : d.pairs) {
    Put(&start, static_cast<float>(p.start_ms));
    Put(&dur, static_cast<float>(p.end_ms - p.start_ms));
    const history::Op& a = d.history[static_cast<size_t>(p.invoke)];
    Put(&inv, static_cast<int32_t>(a.index));
    const history::Op* b = p.complete >= 0 ? &d.history[static_cast<size_t>(p.complete)] : nullptr;
    Put(&comp, static_cast<int32_t>(b ? b->index : -1));
    Put(&lane, static_cast<uint16_t>(std::min(p.lane, 65535)));
    Put(&type, static_cast<uint8_t>(p.type));
    Put(&f, static_cast<uint8_t>(std::min(p.f, 255)));
    Put(&node, static_cast<uint8_t>(p.node < 0 ? 255 : std::min(p.node, 254)));
    // Short: the value a person reads (the completion's, else the invocation's);
    // "a → b" only when both are set and differ. The tooltip adds the rest.
    std::string v;
    if (b && !b->value.is_null() && !a.value.is_null() && b->value != a.value) {
      v = ValueText(a.value) + " → " + ValueText(b->value);
    } else {
      v = ValueText(b && !b->value.is_null() ? b->value : a.value);
    }
    if (b && !b->error.is_null()) v += " error " + ValueText(b->error);
    vals.push_back(std::move(v));
  }
  json faults = json::array();
  for (const FaultWindow& w : d.faults) {
    faults.push_back({{"kind", w.kind},
                      {"label", w.label},
                      {"start", w.start_ms},
                      {"end", w.end_ms},
                      {"color", FaultColor(w.kind)}});
  }
  json meta = {
      {"lanes", d.processes},   {"nodes", d.node_names}, {"fs", d.fs},      {"faults", faults},
      {"highlight", highlight}, {"timed", d.timed},      {"end", d.end_ms}, {"n", n}};
  std::ostringstream s;
  auto blob = [&](const char* id, const std::string& bytes) {
    s << "<script type=\"application/octet-stream\" id=\"" << id << "\">" << Base64(bytes)
      << "</script>\n";
  };
  blob("d-start", start);
  blob("d-dur", dur);
  blob("d-inv", inv);
  blob("d-comp", comp);
  blob("d-lane", lane);
  blob("d-type", type);
  blob("d-f", f);
  blob("d-node", node);
  s << "<script type=\"application/json\" id=\"d-meta\">" << ScriptJson(meta) << "</script>\n";
  s << "<script type=\"application/json\" id=\"d-vals\">" << ScriptJson(vals) << "</script>\n";
  return s.str();
}

std::string ConfigRows(const RunData& d) {
  const json& t = d.test;
  std::ostringstream s;
  auto row = [&](const char* k, const std::string& v, const char* id = nullptr) {
    s << "<tr><th>" << k << "</th><td" << (id ? std::string(" id=\"") + id + "\"" : "") << ">"
      << EscapeHtml(v) << "</td></tr>";
  };
  row("test", d.test_name, "test-name");
  row("run", d.run_id);
  row("adapter", JsonField(t, "adapter"));
  row("workload", JsonField(t, "workload"));
  row("nodes", JsonField(t, "nodes"));
  row("nemeses", JsonField(t, "nemeses"));
  std::string dur = JsonField(t, "duration_s");
  row("duration",
      dur == "—" ? DurationText(d.end_ms, d.timed) + " (from the history)" : dur + " s");
  row("seed", JsonField(t, "seed"));
  row("started", JsonField(t, "start_time"));
  row("concurrency", JsonField(t, "concurrency"));
  if (t.contains("bug") && !t["bug"].is_null()) row("bug (canary)", JsonField(t, "bug"));
  if (t.contains("stopped_early") && t["stopped_early"].is_object()) {
    const json& stop = t["stopped_early"];
    char text[160];
    std::snprintf(text, sizeof text, "at %.1f s (--stop-on-invalid): key %s was found invalid",
                  stop.value("at_s", 0.0), stop.value("key", json()).dump().c_str());
    row("stopped early", text, "stopped-early");
  }
  return s.str();
}

}  // namespace

Result<std::string> RenderReport(const std::string& run_dir) {
  CHAOS_ASSIGN_OR_RETURN(RunData d, LoadRun(run_dir));
  Counterexample cx = RenderCounterexample(d);
  const char* vclass = VerdictClass(d.verdict);
  std::string verdict_word = d.verdict == checker::Verdict::kValid     ? "VALID"
                             : d.verdict == checker::Verdict::kInvalid ? "INVALID"
                                                                       : "UNKNOWN";
  std::ostringstream s;
  s << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
       "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
       "<title>"
    << verdict_word << " · " << EscapeHtml(d.test_name) << " · " << EscapeHtml(d.run_id)
    << "</title><style>" << kReportCss << "</style><script>" << kErrorTrapJs << "</script></head>"
    << "<body><pre id=\"chaos-errors\" hidden></pre>"
    << "<header class=\"top " << vclass << "\"><div id=\"verdict\" class=\"verdict " << vclass
    << "\" data-verdict=\"" << vclass << "\">" << verdict_word << "</div><div class=\"what\"><h1>"
    << EscapeHtml(d.test_name) << "</h1><div class=\"sub\">" << EscapeHtml(d.run_id) << " · "
    << EscapeHtml(JsonField(d.test, "adapter")) << " · " << EscapeHtml(JsonField(d.test, "nemeses"))
    << "</div></div></header>";
  if (!cx.headline.empty()) {
    s << "<p class=\"cause invalid\" id=\"cause\">" << EscapeHtml(cx.headline)
      << " <a href=\"#counterexample\">counterexample ↓</a></p>";
  } else if (!d.cause.empty()) {
    s << "<p class=\"cause " << vclass << "\" id=\"cause\">" << EscapeHtml(d.cause) << "</p>";
  }
  s << "<section class=\"first\"><table class=\"config\">" << ConfigRows(d)
    << "</table><div><h3>Reproduce</h3><pre id=\"command\">"
    << EscapeHtml(JsonField(d.test, "command_line") == "—" ? "(command line not recorded)"
                                                           : JsonField(d.test, "command_line"))
    << "</pre><pre>chaos check "
    << EscapeHtml(d.history_file.empty() ? "history.jsonl" : d.history_file)
    << "   # re-check this history</pre>";
  if (!d.notes.empty()) {
    s << "<ul class=\"notes\">";
    for (const std::string& n : d.notes) s << "<li>" << EscapeHtml(n) << "</li>";
    s << "</ul>";
  }
  s << "<h3>Files</h3><ul class=\"files\" id=\"files\">";
  for (const std::string& f : d.files) {
    s << "<li><a href=\"" << EscapeHtml(f) << "\">" << EscapeHtml(f) << "</a></li>";
  }
  if (d.files.empty()) s << "<li>none</li>";
  s << "</ul></div></section>";
  s << "<section><h2>Checkers</h2>" << CheckersTable(d) << "</section>";
  s << "<section><h2>Ops</h2><div class=\"two\"><div>" << CountsTable(d)
    << "</div><div><h3>Latency percentiles by f</h3>" << PercentilesTable(d)
    << "</div></div></section>";
  if (!d.pairs.empty() && d.timed) {
    s << "<section><h2>Throughput</h2>" << ThroughputSvg(d) << "</section>";
    s << "<section><h2>Latency (every op)</h2>" << LatencySvg(d) << "</section>";
  } else if (!d.pairs.empty()) {
    s << "<p class=\"small\">The history has no times: no throughput or latency charts; the "
         "timeline and the counterexample use history positions.</p>";
  }
  s << cx.html;
  s << TxnAnomalies(d);
  s << "<section id=\"timeline-section\"><h2>Timeline</h2><div class=\"tlbar\">"
       "<label>columns <select id=\"tl-lanes\"><option value=\"process\">one per process</option>"
       "<option value=\"node\">one per node</option></select></label> "
       "<button id=\"tl-in\">zoom in</button><button id=\"tl-out\">zoom out</button>"
       "<button id=\"tl-reset\">whole history</button> <span id=\"tl-range\"></span>"
       "<span class=\"small\"> · wheel: zoom · drag: pan · hover: op</span></div>"
       "<div id=\"tl-wrap\"><canvas id=\"timeline\" width=\"960\" height=\"640\"></canvas>"
       "<div id=\"tl-tip\" hidden></div></div></section>";
  s << "<footer class=\"small\">chaos report · <a href=\"../../index.html\">all runs</a></footer>";
  s << TimelineData(d, cx.highlight);
  s << "<script>" << kTimelineJs << "</script></body></html>\n";
  return s.str();
}

Status WriteReport(const std::string& run_dir) {
  CHAOS_ASSIGN_OR_RETURN(std::string html, RenderReport(run_dir));
  return WriteFileAtomically((fs::path(run_dir) / "report.html").string(), html);
}

}  // namespace chaos::reports
