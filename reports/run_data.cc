// Loading a stored run and pairing its ops (see run_data.h).
#include "reports/run_data.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "history/codec.h"
#include "history/nemesis_op.h"
#include "history/pairing.h"

namespace chaos::reports {
namespace fs = std::filesystem;
using history::Op;
using nlohmann::json;

namespace {

constexpr size_t kMaxListedFiles = 2000;

Result<json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) return InvalidArgument(path + ": not valid JSON");
  return j;
}

// "clock bump n1 +5000ms n2 +5000ms", "clock drift n3 x0.55": each target's setting.
std::string ClockLabel(const json& value) {
  std::string label = "clock " + value.value("mode", std::string());
  const json& clocks = value["clocks"];
  for (const auto& n : value["nodes"]) {
    if (!n.is_string()) continue;
    std::string name = n.get<std::string>();
    label += " " + name;
    if (!clocks.is_object() || !clocks.contains(name) || !clocks[name].is_object()) continue;
    const json& c = clocks[name];
    char text[64];
    if (c.contains("strobe") && c["strobe"].is_object()) {
      std::snprintf(text, sizeof text, " strobe %+lldms/%lldms",
                    static_cast<long long>(c["strobe"].value("delta_ms", int64_t{0})),
                    static_cast<long long>(c["strobe"].value("period_ms", int64_t{0})));
    } else if (c.value("rate", 1.0) != 1.0) {
      std::snprintf(text, sizeof text, " x%g", c.value("rate", 1.0));
    } else {
      std::snprintf(text, sizeof text, " %+lldms",
                    static_cast<long long>(c.value("offset_ms", int64_t{0})));
    }
    label += text;
  }
  return label;
}

// "packet delay n1 n2 (delay 150ms, loss 5%)": the targets and what was done.
std::string PacketLabel(const json& value) {
  std::string label = "packet " + value.value("mode", std::string());
  for (const auto& n : value["nodes"]) {
    if (n.is_string()) label += " " + n.get<std::string>();
  }
  const json& plan = value["plan"];
  if (!plan.is_object()) return label;
  std::string parts;
  char text[64];
  auto add = [&](const char* s) { parts += (parts.empty() ? "" : ", ") + std::string(s); };
  if (plan.value("delay_ms", int64_t{0}) > 0) {
    std::snprintf(text, sizeof text, "delay %lldms+-%lldms",
                  static_cast<long long>(plan.value("delay_ms", int64_t{0})),
                  static_cast<long long>(plan.value("jitter_ms", int64_t{0})));
    add(text);
  }
  for (const char* key : {"loss", "duplicate", "reorder"}) {
    if (plan.value(key, 0.0) > 0) {
      std::snprintf(text, sizeof text, "%s %g%%", key, plan.value(key, 0.0) * 100);
      add(text);
    }
  }
  if (plan.value("rate_kbit", int64_t{0}) > 0) {
    std::snprintf(text, sizeof text, "rate %lldkbit",
                  static_cast<long long>(plan.value("rate_kbit", int64_t{0})));
    add(text);
  }
  return parts.empty() ? label : label + " (" + parts + ")";
}

// True when value[key] is a non-empty list.
bool Listed(const json& value, const char* key) {
  return value.is_object() && value.contains(key) && value[key].is_array() && !value[key].empty();
}

std::string Names(const json& list) {
  std::string text;
  if (!list.is_array()) return text;
  for (const auto& n : list) text += " " + (n.is_string() ? n.get<std::string>() : n.dump());
  return text;
}

// The membership changes a completion recorded: the steps taken
// ("remove n3, learner n3, promote n3"), the steps that re-added wiped nodes,
// or why re-adding failed, and the voters afterwards.
std::string ChangesLabel(const json& value) {
  auto steps = [](const json& list) {
    std::string text;
    for (const auto& s : list)
      text += (text.empty() ? "" : ", ") + (s.is_string() ? s.get<std::string>() : s.dump());
    return text;
  };
  std::string label;
  if (Listed(value, "steps")) {
    label += ": " + steps(value["steps"]);
  }
  if (Listed(value, "readded")) {
    label += ", re-added: " + steps(value["readded"]);
  }
  if (value.contains("readd_error") && value["readd_error"].is_string()) {
    label += ", re-adding failed: " + value["readd_error"].get<std::string>();
  }
  if (value.contains("voters_after") && value["voters_after"].is_array()) {
    label += "; voters" + Names(value["voters_after"]);
  }
  return label;
}

// What a nemesis completion recorded, as one line: the mode, then the
// network's groups ("partition halves n1 n2 | n3 n4 n5") or the nodes it
// touched ("kill majority n1 n2 n3"), then what else it did (the leader it
// aimed at, the nodes it stalled or restarted, a disk's delay, the file it
// corrupted). A start that failed says so with its error.
std::string FaultLabel(const std::string& kind, const json& value, const json& error) {
  bool targets = value.is_object() && value.contains("nodes") && value["nodes"].is_array();
  std::string label;
  if (kind == "clock" && targets && value.contains("clocks")) {
    label = ClockLabel(value);
  } else if (kind == "packet" && targets && value.contains("plan")) {
    label = PacketLabel(value);
  } else if (value.is_object()) {
    label = kind;
    if (value.contains("mode") && value["mode"].is_string()) {
      label += " " + value["mode"].get<std::string>();
    }
    if (value.contains("node") && value["node"].is_string()) {
      label += " " + value["node"].get<std::string>();
    }
    if (value.contains("groups") && value["groups"].is_array()) {
      std::string g;
      for (const auto& group : value["groups"]) g += (g.empty() ? "" : " |") + Names(group);
      label += g;
    } else if (targets) {
      label += Names(value["nodes"]);
    }
    if (value.contains("leader") && value["leader"].is_string()) {
      label += ", leader " + value["leader"].get<std::string>();
    }
    for (const char* key : {"stalled", "restarted", "wiped"}) {
      if (Listed(value, key)) {
        label += std::string(", ") + key + Names(value[key]);
      }
    }
    for (const char* key : {"stalled_ms", "delay_ms", "slow_ms"}) {
      if (value.contains(key) && value[key].is_number()) {
        label += std::string(", ") + key + " " + value[key].dump();
      }
    }
    label += ChangesLabel(value);
  } else if (value.is_array()) {
    label = kind + Names(value);
  } else if (value.is_string()) {
    label = kind + " " + value.get<std::string>();
  } else {
    label = kind;
  }
  if (!error.is_null()) {
    label += " failed: " + (error.is_string() ? error.get<std::string>() : error.dump());
  }
  return label;
}

// What a stop's completion did beyond ending the fault, for the window's
// label: nodes it had to wipe, membership steps that made every node a
// voter again, or why it failed. Empty when it did nothing more.
std::string StopLabel(const json& value, const json& error) {
  std::string label;
  if (Listed(value, "wiped")) label += ", wiped" + Names(value["wiped"]);
  if (Listed(value, "steps") || Listed(value, "readded") ||
      (value.is_object() && value.contains("readd_error"))) {
    label += ChangesLabel(value);
  }
  if (!error.is_null()) {
    label += ", failed: " + (error.is_string() ? error.get<std::string>() : error.dump());
  }
  // Every piece above begins with ", " or ": ".
  return label.empty() ? label : "; stop: " + label.substr(2);
}

int IndexOf(std::vector<std::string>* names, std::map<std::string, int>* ids,
            const std::string& name) {
  auto [it, inserted] = ids->emplace(name, static_cast<int>(names->size()));
  if (inserted) names->push_back(name);
  return it->second;
}

}  // namespace

checker::Verdict VerdictOfJson(const json& valid) {
  if (valid.is_boolean()) {
    return valid.get<bool>() ? checker::Verdict::kValid : checker::Verdict::kInvalid;
  }
  return checker::Verdict::kUnknown;
}

void AnalyzeHistory(RunData* d) {
  const history::History& h = d->history;
  d->timed = !h.empty();
  int64_t t_first = 0;
  for (const Op& op : h) {
    if (op.time_ns == history::kAbsent) d->timed = false;
  }
  if (d->timed) {
    t_first = h.front().time_ns;
    for (const Op& op : h) t_first = std::min(t_first, op.time_ns);
  }
  auto at = [&](size_t pos) {
    return d->timed ? static_cast<double>(h[pos].time_ns - t_first) / 1e6
                    : static_cast<double>(pos);
  };
  d->end_ms = 0;
  for (size_t i = 0; i < h.size(); ++i) d->end_ms = std::max(d->end_ms, at(i));
  if (!d->timed) d->end_ms = static_cast<double>(h.size());

  // Lanes: numbered processes in numeric order, then named ones.
  std::vector<int64_t> numbers;
  std::vector<std::string> named;
  for (const Op& op : h) {
    if (op.process.is_nemesis()) continue;
    if (op.process.is_named()) {
      named.push_back(op.process.name);
    } else {
      numbers.push_back(op.process.id);
    }
  }
  std::sort(numbers.begin(), numbers.end());
  numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
  std::sort(named.begin(), named.end());
  named.erase(std::unique(named.begin(), named.end()), named.end());
  std::map<std::string, int> lane_of;
  for (int64_t n : numbers) IndexOf(&d->processes, &lane_of, std::to_string(n));
  for (const std::string& n : named) IndexOf(&d->processes, &lane_of, n);

  std::map<std::string, int> node_ids, f_ids;
  history::Pairing<size_t> pairing;  // the open pair of each process (the nemesis apart)
  std::map<std::string, size_t> open_faults;
  std::map<std::string, size_t> closing;  // kind -> window whose stop was invoked
  bool nemesis_invoked = false;           // the last nemesis op was an invocation
  std::string last_nemesis_f;
  for (size_t i = 0; i < h.size(); ++i) {
    const Op& op = h[i];
    const int64_t index = op.index != history::kAbsent ? op.index : static_cast<int64_t>(i);
    if (op.process.is_nemesis()) {
      ++d->nemesis_ops;
      const std::optional<history::NemesisF> fault = history::ParseNemesisF(op.f);
      // The runner records a nemesis op twice, both info as in Jepsen: the
      // invocation (the spec) and, next among the nemesis ops, its
      // completion (what was done). An op right after an invocation of the
      // same f completes it; an invoke-typed op always invokes.
      const bool completes = !op.is_invoke() && nemesis_invoked && last_nemesis_f == op.f;
      nemesis_invoked = !completes;
      last_nemesis_f = op.f;
      if (!fault) continue;
      const bool start = fault->start;
      const std::string& kind = fault->nemesis;
      auto it = open_faults.find(kind);
      if (start && !completes) {
        if (it != open_faults.end()) continue;  // already open: keep the first start
        open_faults[kind] = d->faults.size();
        d->faults.push_back({kind, FaultLabel(kind, op.value, op.error), at(i), d->end_ms, true});
      } else if (start) {
        // The window opened at the invocation (the fault may be in force from
        // then on); the completion says what was done.
        if (it != open_faults.end()) {
          d->faults[it->second].label = FaultLabel(kind, op.value, op.error);
        }
      } else if (!completes) {
        if (it == open_faults.end()) continue;
        d->faults[it->second].end_ms = at(i);
        d->faults[it->second].open = false;
        closing[kind] = it->second;
        open_faults.erase(it);
      } else if (auto c = closing.find(kind); c != closing.end()) {
        // In force until the stop completed.
        d->faults[c->second].end_ms = at(i);
        d->faults[c->second].label += StopLabel(op.value, op.error);
        closing.erase(c);
      }
      continue;
    }
    const std::string proc = op.process.ToString();
    if (op.is_invoke()) {
      OpPair p;
      p.invoke = static_cast<int64_t>(i);
      p.lane = lane_of[proc];
      p.node = op.node ? IndexOf(&d->node_names, &node_ids, *op.node) : -1;
      p.f = IndexOf(&d->fs, &f_ids, op.f);
      p.start_ms = at(i);
      p.end_ms = d->end_ms;
      pairing.Invoke(op.process, d->pairs.size());
      d->pair_of_index[index] = d->pairs.size();
      d->pairs.push_back(p);
      continue;
    }
    size_t open = 0;
    if (!pairing.Complete(op.process, &open)) {
      // A completion without an invocation: shown as a zero-length op.
      OpPair p;
      p.invoke = p.complete = static_cast<int64_t>(i);
      p.lane = lane_of[proc];
      p.node = op.node ? IndexOf(&d->node_names, &node_ids, *op.node) : -1;
      p.f = IndexOf(&d->fs, &f_ids, op.f);
      p.type = op.is_ok() ? 0 : op.is_fail() ? 1 : 2;
      p.start_ms = p.end_ms = p.complete_ms = at(i);
      d->pair_of_index[index] = d->pairs.size();
      d->pairs.push_back(p);
      continue;
    }
    OpPair& p = d->pairs[open];
    p.complete = static_cast<int64_t>(i);
    p.type = op.is_ok() ? 0 : op.is_fail() ? 1 : 2;
    // Bars end at the completion, info included (as Jepsen's timeline); only
    // ops never completed run to the history's end.
    p.end_ms = at(i);
    p.complete_ms = at(i);
    if (p.node < 0 && op.node) p.node = IndexOf(&d->node_names, &node_ids, *op.node);
    d->pair_of_index[index] = open;
  }
}

Result<RunData> LoadRun(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFound(dir + ": not a run folder");
  RunData d;
  d.dir = dir;
  fs::path p = fs::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  d.run_id = p.filename().string();
  d.test_name = p.parent_path().filename().string();

  d.test = json::object();
  if (fs::exists(p / "test.json", ec)) {
    auto t = ReadJsonFile((p / "test.json").string());
    if (t.ok() && t->is_object()) {
      d.test = *t;
      if (d.test.contains("name") && d.test["name"].is_string()) {
        d.test_name = d.test["name"].get<std::string>();
      }
    } else {
      d.notes.push_back("test.json: " + (t.ok() ? "not an object" : t.status().message()));
    }
  } else {
    d.notes.push_back("no test.json");
  }

  if (fs::exists(p / "results.json", ec)) {
    auto r = ReadJsonFile((p / "results.json").string());
    if (r.ok() && r->is_object()) {
      d.results = *r;
    } else {
      d.notes.push_back("results.json: " + (r.ok() ? "not an object" : r.status().message()));
    }
  }
  if (d.results.is_null()) {
    d.verdict = checker::Verdict::kUnknown;
    d.cause = "no results.json: the run was not checked";
  } else {
    d.verdict = VerdictOfJson(d.results.value("valid", json()));
    // The cause: the first checker that gives the verdict and says why.
    const json& checkers = d.results.value("checkers", json::object());
    if (checkers.is_object()) {
      for (const auto& [name, r] : checkers.items()) {
        if (!r.is_object() || VerdictOfJson(r.value("valid", json())) != d.verdict) continue;
        if (d.verdict == checker::Verdict::kValid) break;
        std::string why = r.contains("cause") && r["cause"].is_string()
                              ? r["cause"].get<std::string>()
                              : (d.verdict == checker::Verdict::kInvalid ? "invalid" : "unknown");
        d.cause = name + ": " + why;
        break;
      }
    }
    if (d.cause.empty() && d.results.contains("cause") && d.results["cause"].is_string()) {
      d.cause = d.results["cause"].get<std::string>();
    }
  }

  for (const char* name : {"history.jsonl", "history.edn"}) {
    if (!fs::exists(p / name, ec)) continue;
    auto h = history::ReadHistory((p / name).string());
    if (!h.ok()) {
      d.notes.push_back(std::string(name) + ": " + h.status().message());
      continue;
    }
    d.history = std::move(*h);
    d.history_file = name;
    break;
  }
  if (d.history_file.empty()) d.notes.push_back("no readable history");
  AnalyzeHistory(&d);

  // Linkable files: the run's own files and every node's logs.
  for (const char* name :
       {"history.jsonl", "history.edn", "results.json", "test.json", "chaos.log"}) {
    if (fs::exists(p / name, ec)) d.files.push_back(name);
  }
  if (fs::is_directory(p / "nodes", ec)) {
    std::vector<std::string> logs;
    for (auto it = fs::recursive_directory_iterator(p / "nodes", ec);
         !ec && it != fs::recursive_directory_iterator() && logs.size() < kMaxListedFiles;
         it.increment(ec)) {
      if (it->is_regular_file(ec)) logs.push_back(fs::relative(it->path(), p, ec).string());
    }
    std::sort(logs.begin(), logs.end());
    d.files.insert(d.files.end(), logs.begin(), logs.end());
  }
  return d;
}

}  // namespace chaos::reports
