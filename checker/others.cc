#include "checker/others.h"

#include <algorithm>
#include <map>
#include <set>

#include "checker/txn/txn.h"
#include "history/pairing.h"

namespace chaos::checker {
namespace {

using history::History;
using history::Op;
using Json = nlohmann::json;

std::string FName(const std::string& f) { return std::string(history::NameOf(Json(f))); }

// A completed (or never completed) client op: positions of its invocation and
// completion (-1 when none).
struct Pair {
  int64_t invoke = -1;
  int64_t complete = -1;
};

// Pairs invocations with completions by process; ignores nemesis ops and
// completions without an invocation (counted as malformed).
std::vector<Pair> PairOps(const History& h, int64_t* malformed) {
  std::vector<Pair> out;
  history::Pairing<size_t> pairing;  // the open invocation's place in `out`
  for (int64_t pos = 0; pos < static_cast<int64_t>(h.size()); ++pos) {
    const Op& op = h[static_cast<size_t>(pos)];
    if (!op.is_client()) continue;
    if (op.is_invoke()) {
      if (!pairing.Invoke(op.process, out.size())) ++*malformed;
      out.push_back({pos, -1});
      continue;
    }
    size_t invocation = 0;
    if (!pairing.Complete(op.process, &invocation)) {
      ++*malformed;
      continue;
    }
    out[invocation].complete = pos;
  }
  return out;
}

std::string Key(const Json& v) {
  return v.is_string() ? "s" + std::string(history::NameOf(v)) : v.dump();
}

CheckerOutput Finish(std::string name, Verdict v, Json result) {
  result["valid"] = VerdictJson(v);
  result["checker"] = name;
  return {std::move(name), v, std::move(result)};
}

}  // namespace

CheckerOutput CheckSet(const History& h) {
  int64_t malformed = 0;
  std::vector<Pair> pairs = PairOps(h, &malformed);
  std::map<std::string, Json> attempted;    // key -> value
  std::map<std::string, int64_t> known_at;  // key -> position it was known present
  std::set<std::string> acked;
  struct Read {
    int64_t invoke, complete;
    std::set<std::string> elements;
  };
  std::vector<Read> reads;
  std::set<std::string> duplicated, seen;
  std::map<std::string, Json> read_value;  // key -> the value as first read
  for (const Pair& p : pairs) {
    const Op& inv = h[static_cast<size_t>(p.invoke)];
    const Op* comp = p.complete >= 0 ? &h[static_cast<size_t>(p.complete)] : nullptr;
    const std::string f = FName(inv.f);
    if (f == "add") {
      std::string k = Key(inv.value);
      attempted.emplace(k, inv.value);
      if (comp != nullptr && comp->is_ok()) {
        acked.insert(k);
        auto [it, inserted] = known_at.emplace(k, p.complete);
        if (!inserted) it->second = std::min(it->second, p.complete);
      }
    } else if (f == "read" && comp != nullptr && comp->is_ok()) {
      if (!comp->value.is_array()) {
        ++malformed;
        continue;
      }
      Read r{p.invoke, p.complete, {}};
      for (const Json& e : comp->value) {
        std::string k = Key(e);
        if (!r.elements.insert(k).second) duplicated.insert(k);
        seen.insert(k);
        read_value.emplace(k, e);
        auto [it, inserted] = known_at.emplace(k, p.complete);
        if (!inserted) it->second = std::min(it->second, p.complete);
      }
      reads.push_back(std::move(r));
    }
  }
  auto values = [&](const std::set<std::string>& keys) {
    Json out = Json::array();
    for (const std::string& k : keys) {
      auto it = attempted.find(k);
      out.push_back(it != attempted.end() ? it->second : read_value[k]);
    }
    return out;
  };
  std::set<std::string> lost, unexpected, never_read;
  for (const std::string& k : seen) {
    if (!attempted.count(k)) unexpected.insert(k);
  }
  for (const auto& [k, at] : known_at) {
    // The last read that began after k was known decides whether it survived.
    const Read* last = nullptr;
    for (const Read& r : reads) {
      if (r.invoke > at && (last == nullptr || r.invoke > last->invoke)) last = &r;
    }
    if (last != nullptr && !last->elements.count(k)) lost.insert(k);
    if (acked.count(k) && !seen.count(k)) never_read.insert(k);
  }
  Json result;
  result["attempt_count"] = attempted.size();
  result["acknowledged_count"] = acked.size();
  result["read_count"] = reads.size();
  result["lost"] = values(lost);
  result["unexpected"] = values(unexpected);
  result["duplicated"] = values(duplicated);
  result["never_read"] = values(never_read);
  result["malformed"] = malformed;
  Verdict v = Verdict::kValid;
  if (!lost.empty() || !unexpected.empty() || !duplicated.empty()) {
    v = Verdict::kInvalid;
  } else if (reads.empty() || malformed > 0) {
    v = Verdict::kUnknown;
    result["cause"] = reads.empty() ? "no ok read" : "malformed ops";
  }
  return Finish("set", v, std::move(result));
}

CheckerOutput CheckCounter(const History& h) {
  int64_t malformed = 0;
  std::vector<Pair> pairs = PairOps(h, &malformed);
  struct Add {
    int64_t invoke, complete;  // complete -1: not acknowledged
    double value;
  };
  std::vector<Add> adds;
  std::vector<Pair> reads;
  for (const Pair& p : pairs) {
    const Op& inv = h[static_cast<size_t>(p.invoke)];
    const Op* comp = p.complete >= 0 ? &h[static_cast<size_t>(p.complete)] : nullptr;
    const std::string f = FName(inv.f);
    if (f == "add") {
      if (comp != nullptr && comp->is_fail()) continue;
      if (!inv.value.is_number()) {
        ++malformed;
        continue;
      }
      adds.push_back(
          {p.invoke, comp != nullptr && comp->is_ok() ? p.complete : -1, inv.value.get<double>()});
    } else if (f == "read" && comp != nullptr && comp->is_ok()) {
      if (!comp->value.is_number()) {
        ++malformed;
        continue;
      }
      reads.push_back(p);
    }
  }
  Json errors = Json::array();
  for (const Pair& r : reads) {
    double lower = 0, upper = 0;
    for (const Add& a : adds) {
      bool acked_before = a.complete >= 0 && a.complete < r.invoke;
      bool attempted_before = a.invoke < r.complete;
      if (a.value >= 0) {
        if (acked_before) lower += a.value;
        if (attempted_before) upper += a.value;
      } else {
        if (attempted_before) lower += a.value;
        if (acked_before) upper += a.value;
      }
    }
    const Op& op = h[static_cast<size_t>(r.complete)];
    double v = op.value.get<double>();
    if (v < lower || v > upper) {
      errors.push_back({{"index", op.index != history::kAbsent ? op.index : r.complete},
                        {"value", op.value},
                        {"lower", lower},
                        {"upper", upper}});
    }
  }
  Json result;
  result["reads"] = reads.size();
  result["errors"] = errors;
  result["malformed"] = malformed;
  Verdict v = !errors.empty() ? Verdict::kInvalid
              : malformed > 0 ? Verdict::kUnknown
                              : Verdict::kValid;
  return Finish("counter", v, std::move(result));
}

CheckerOutput CheckUniqueIds(const History& h) {
  int64_t malformed = 0;
  std::vector<Pair> pairs = PairOps(h, &malformed);
  std::map<std::string, std::pair<Json, int64_t>> counts;
  int64_t attempted = 0, acknowledged = 0;
  for (const Pair& p : pairs) {
    const Op& inv = h[static_cast<size_t>(p.invoke)];
    if (FName(inv.f) != "generate") continue;
    ++attempted;
    if (p.complete < 0 || !h[static_cast<size_t>(p.complete)].is_ok()) continue;
    ++acknowledged;
    const Json& v = h[static_cast<size_t>(p.complete)].value;
    auto& slot = counts[Key(v)];
    slot.first = v;
    ++slot.second;
  }
  Json duplicated = Json::array();
  for (const auto& [k, vc] : counts) {
    if (vc.second > 1) duplicated.push_back({{"value", vc.first}, {"count", vc.second}});
  }
  Json result;
  result["attempted_count"] = attempted;
  result["acknowledged_count"] = acknowledged;
  result["duplicated_count"] = duplicated.size();
  result["duplicated"] = duplicated;
  Verdict v = !duplicated.empty() ? Verdict::kInvalid
              : malformed > 0     ? Verdict::kUnknown
                                  : Verdict::kValid;
  return Finish("unique-ids", v, std::move(result));
}

CheckerOutput CheckStats(const History& h) {
  std::map<std::string, std::map<std::string, int64_t>> by_f;
  int64_t total = 0;
  for (const Op& op : h) {
    if (!op.is_client() || op.is_invoke()) continue;
    by_f[FName(op.f)][history::OpTypeName(op.type)]++;
    ++total;
  }
  Json result;
  result["count"] = total;
  Json fs = Json::object();
  bool all_ok = true;
  for (auto& [f, types] : by_f) {
    int64_t ok = types["ok"], fail = types["fail"], info = types["info"];
    bool valid = ok > 0;
    all_ok = all_ok && valid;
    fs[f] = {{"ok_count", ok},
             {"fail_count", fail},
             {"info_count", info},
             {"count", ok + fail + info},
             {"valid", valid}};
  }
  result["by_f"] = fs;
  return Finish("stats", all_ok ? Verdict::kValid : Verdict::kInvalid, std::move(result));
}

CheckerOutput CheckPerf(const History& h) {
  int64_t malformed = 0;
  std::vector<Pair> pairs = PairOps(h, &malformed);
  std::map<std::string, std::map<std::string, std::vector<int64_t>>> latency;  // f -> type -> ns
  std::map<int64_t, std::map<std::string, int64_t>> per_second;                // s -> type -> n
  int64_t untimed = 0;
  for (const Pair& p : pairs) {
    if (p.complete < 0) continue;
    const Op& inv = h[static_cast<size_t>(p.invoke)];
    const Op& comp = h[static_cast<size_t>(p.complete)];
    if (inv.time_ns == history::kAbsent || comp.time_ns == history::kAbsent) {
      ++untimed;
      continue;
    }
    latency[FName(inv.f)][history::OpTypeName(comp.type)].push_back(comp.time_ns - inv.time_ns);
    per_second[comp.time_ns / 1000000000][history::OpTypeName(comp.type)]++;
  }
  Json lat = Json::object();
  for (auto& [f, types] : latency) {
    for (auto& [type, samples] : types) {
      std::vector<int64_t>& v = samples;  // clang 14 cannot capture a structured binding
      std::sort(v.begin(), v.end());
      auto q = [&](double p) {
        size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
        return static_cast<double>(v[std::min(i, v.size() - 1)]) / 1e6;
      };
      lat[f][type] = {{"count", v.size()}, {"p50_ms", q(0.5)}, {"p95_ms", q(0.95)},
                      {"p99_ms", q(0.99)}, {"max_ms", q(1.0)}, {"min_ms", q(0.0)}};
    }
  }
  Json rate = Json::array();
  for (const auto& [s, types] : per_second) {
    Json row = {{"second", s}};
    for (const auto& [type, n] : types) row[type] = n;
    rate.push_back(row);
  }
  Json result;
  result["latency"] = lat;
  result["throughput_per_second"] = rate;
  result["untimed"] = untimed;
  return Finish("perf", Verdict::kValid, std::move(result));
}

CheckerOutput Compose(std::vector<CheckerOutput> outputs) {
  Verdict v = Verdict::kValid;
  Json results = Json::object();
  for (CheckerOutput& o : outputs) {
    v = Merge(v, o.verdict);
    results[o.checker] = std::move(o.result);
  }
  Json result;
  result["results"] = std::move(results);
  return Finish("compose", v, std::move(result));
}

const std::vector<std::string>& OtherCheckerNames() {
  static const std::vector<std::string> kNames = {"set",  "counter",     "unique-ids", "stats",
                                                  "perf", "list-append", "rw-register"};
  return kNames;
}

Result<CheckerOutput> RunChecker(const std::string& name, const History& h,
                                 const LinearizableOptions& options, const KeyChecks* checked) {
  if (name == "linearizable") {
    CheckResult r = CheckLinearizable(h, options, checked);
    Json j = r.ToJson();
    return CheckerOutput{"linearizable", r.verdict, std::move(j)};
  }
  if (name == "set") return CheckSet(h);
  if (name == "counter") return CheckCounter(h);
  if (name == "unique-ids") return CheckUniqueIds(h);
  if (name == "stats") return CheckStats(h);
  if (name == "perf") return CheckPerf(h);
  // list-append / rw-register, optionally ":<consistency model>" (default serializable).
  const std::string base = name.substr(0, name.find(':'));
  if (base == "list-append" || base == "rw-register") {
    txn::TxnOptions o;
    o.workload = base == "list-append" ? txn::Workload::kListAppend : txn::Workload::kRwRegister;
    if (base.size() < name.size() &&
        !txn::ParseConsistency(name.substr(base.size() + 1), &o.consistency)) {
      return InvalidArgument("unknown consistency model in checker '" + name +
                             "' (read-committed, snapshot-isolation, serializable, "
                             "strong-session-serializable, strict-serializable)");
    }
    txn::TxnResult r = txn::CheckTxn(h, o);
    nlohmann::json j = r.ToJson();
    j["checker"] = base;
    if (r.input_error) j["input_error"] = true;
    return CheckerOutput{base, r.verdict, std::move(j)};
  }
  return InvalidArgument("unknown checker '" + name +
                         "' (linearizable, set, counter, unique-ids, stats, perf, list-append, "
                         "rw-register)");
}

}  // namespace chaos::checker
