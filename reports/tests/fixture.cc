// Stored runs for the reports' tests (see fixture.h).
#include "reports/tests/fixture.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "checker/others.h"
#include "history/codec.h"

namespace chaos::reports::testing {
namespace fs = std::filesystem;
using history::History;
using history::Op;
using history::OpType;
using history::Process;
using nlohmann::json;

namespace {

Status WriteText(const fs::path& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return IoError(path.string() + ": cannot create");
  out << text;
  return out ? Status::Ok() : IoError(path.string() + ": write failed");
}

Status WriteCommon(const fs::path& dir, const json& test) {
  CHAOS_RETURN_IF_ERROR(WriteText(dir / "test.json", test.dump(2) + "\n"));
  CHAOS_RETURN_IF_ERROR(WriteText(dir / "chaos.log", "21:30:00 run started\n21:31:15 run done\n"));
  for (const auto& n : test.value("nodes", json::array())) {
    std::string node = n.get<std::string>();
    CHAOS_RETURN_IF_ERROR(WriteText(dir / "nodes" / node / "chaos-register.log",
                                    node + ": started\n" + node + ": stopped\n"));
  }
  return Status::Ok();
}

}  // namespace

std::string KnossosDir() {
  if (const char* d = std::getenv("CHAOS_KNOSSOS_DIR")) return d;
  const char* src = std::getenv("CHAOS_SOURCE_DIR");
  return std::string(src ? src : ".") + "/tests/data/knossos";
}

Status WriteResults(const std::string& run_dir, const History& h, double time_limit_s) {
  checker::LinearizableOptions o;
  o.model = "cas-register";
  o.initial = 0;
  o.time_limit_s = time_limit_s;
  o.shrink_time_limit_s = std::min(5.0, time_limit_s);
  checker::CheckResult lin = checker::CheckLinearizable(h, o);
  checker::CheckerOutput stats = checker::CheckStats(h);
  checker::CheckerOutput perf = checker::CheckPerf(h);
  checker::Verdict v = checker::Merge(lin.verdict, checker::Merge(stats.verdict, perf.verdict));
  json results = {
      {"valid", checker::VerdictJson(v)},
      {"checkers",
       {{"linearizable", lin.ToJson()}, {"stats", stats.result}, {"perf", perf.result}}}};
  return WriteText(fs::path(run_dir) / "results.json", results.dump(2) + "\n");
}

Status MakeKnossosRun(const std::string& edn_path, const std::string& run_dir,
                      const std::string& test_name, double time_limit_s) {
  CHAOS_ASSIGN_OR_RETURN(History h, history::ReadHistory(edn_path));
  fs::path dir(run_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  CHAOS_RETURN_IF_ERROR(history::WriteHistory((dir / "history.jsonl").string(), h));
  CHAOS_RETURN_IF_ERROR(history::WriteHistory((dir / "history.edn").string(), h));
  json test = {{"name", test_name},
               {"adapter", "knossos-corpus"},
               {"workload", "cas-register"},
               {"nodes", json::array()},
               {"nemeses", json::array()},
               {"seed", nullptr},
               {"command_line", "chaos check " + edn_path},
               {"start_time", "2026-11-28T21:30:00Z"},
               {"bug", nullptr}};
  CHAOS_RETURN_IF_ERROR(WriteCommon(dir, test));
  return WriteResults(run_dir, h, time_limit_s);
}

History GenerateRegisterHistory(int64_t lines, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::lognormal_distribution<double> latency_ms(std::log(2.0), 0.8);
  constexpr int kSlots = 10, kNodes = 5;
  constexpr int64_t kMs = 1000000, kTimeoutNs = 1000 * kMs;
  struct Call {
    int64_t invoke_ns, complete_ns, lp_ns, process;
    int node;
    std::string f;
    json value;
    OpType result = OpType::kOk;
    json out;
    bool effective = true;
  };
  struct Slot {
    int64_t t_ns, process;
  };
  std::vector<Slot> slots;
  for (int i = 0; i < kSlots; ++i) slots.push_back({static_cast<int64_t>(unit(rng) * kMs), i});
  // Partitions: every 10 s from 10 s, 5 s long; two random nodes are cut off.
  auto partition_at = [](int64_t t) { return t >= 10000 * kMs && (t / kMs) % 10000 < 5000; };
  std::vector<std::vector<int>> minority;  // per partition
  auto minority_of = [&](int64_t t) -> const std::vector<int>& {
    size_t k = static_cast<size_t>(t / (10000 * kMs)) - 1;
    while (minority.size() <= k) {
      std::vector<int> ids = {0, 1, 2, 3, 4};
      std::shuffle(ids.begin(), ids.end(), rng);
      minority.push_back({std::min(ids[0], ids[1]), std::max(ids[0], ids[1])});
    }
    return minority[k];
  };
  std::vector<Call> calls;
  const int64_t want = std::max<int64_t>(lines / 2, 1);
  calls.reserve(static_cast<size_t>(want));
  while (static_cast<int64_t>(calls.size()) < want) {
    auto s = std::min_element(slots.begin(), slots.end(),
                              [](const Slot& a, const Slot& b) { return a.t_ns < b.t_ns; });
    Call c;
    c.invoke_ns = s->t_ns;
    c.process = s->process;
    c.node = static_cast<int>(s - slots.begin()) % kNodes;
    double r = unit(rng);
    c.f = r < 0.5 ? "read" : r < 0.8 ? "write" : "cas";
    int a = static_cast<int>(unit(rng) * 5), b = static_cast<int>(unit(rng) * 5);
    c.value = c.f == "read" ? json() : c.f == "write" ? json(a) : json::array({a, b});
    bool cut = partition_at(c.invoke_ns) && [&] {
      const auto& m = minority_of(c.invoke_ns);
      return std::find(m.begin(), m.end(), c.node) != m.end();
    }();
    if (cut && unit(rng) < 0.8) {
      c.complete_ns = c.invoke_ns + kTimeoutNs;
      c.result = OpType::kInfo;
      c.effective = c.f != "read" && unit(rng) < 0.5;
      s->process += kSlots;  // Jepsen: a crashed process is replaced by a new one
    } else {
      c.complete_ns = c.invoke_ns + static_cast<int64_t>((0.3 + latency_ms(rng)) * kMs);
    }
    c.lp_ns = c.invoke_ns +
              static_cast<int64_t>(unit(rng) * static_cast<double>(c.complete_ns - c.invoke_ns));
    // Think time: about 600 ops/s in all, so a 10 s nemesis interval spans ~6,000 ops.
    s->t_ns = c.complete_ns + static_cast<int64_t>(unit(rng) * 30 * kMs);
    calls.push_back(std::move(c));
  }
  // Apply each op at its linearization point.
  std::vector<size_t> order(calls.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t x, size_t y) { return calls[x].lp_ns < calls[y].lp_ns; });
  int state = 0;
  for (size_t i : order) {
    Call& c = calls[i];
    if (!c.effective) continue;
    if (c.f == "read") {
      c.out = state;
    } else if (c.f == "write") {
      state = c.value.get<int>();
    } else if (state == c.value[0].get<int>()) {
      state = c.value[1].get<int>();
    } else if (c.result == OpType::kOk) {
      c.result = OpType::kFail;
    }
  }
  struct Event {
    int64_t t_ns;
    int order;
    Op op;
  };
  std::vector<Event> events;
  events.reserve(calls.size() * 2 + 64);
  for (const Call& c : calls) {
    Op inv;
    inv.time_ns = c.invoke_ns;
    inv.process = Process::Number(c.process);
    inv.f = c.f;
    inv.value = c.value;
    inv.node = "n" + std::to_string(c.node + 1);
    Op done = inv;
    done.time_ns = c.complete_ns;
    done.type = c.result;
    if (c.f == "read") done.value = c.result == OpType::kOk ? c.out : json();
    if (c.result == OpType::kInfo) done.error = ":timeout";
    events.push_back({inv.time_ns, 0, std::move(inv)});
    events.push_back({done.time_ns, 1, std::move(done)});
  }
  const int64_t end_ns = calls.empty() ? 0 : calls.back().invoke_ns;
  for (int64_t t = 10000 * kMs; t + 5000 * kMs < end_ns; t += 10000 * kMs) {
    const auto& m = minority_of(t);
    json a = json::array(), b = json::array(), all = json::array();
    for (int n = 0; n < kNodes; ++n) {
      std::string name = "n" + std::to_string(n + 1);
      (std::find(m.begin(), m.end(), n) != m.end() ? a : b).push_back(name);
    }
    // As the runner records them: invocation and completion both info, the
    // invocation with the spec, the completion with what was done.
    json v = {{"mode", "halves"}, {"nodes", a}, {"groups", {a, b}}};
    json all_nodes = {{"nodes", {"n1", "n2", "n3", "n4", "n5"}}};
    for (auto [when, f, value, type] :
         {std::tuple{t, "start-partition", json::object(), OpType::kInfo},
          std::tuple{t + kMs, "start-partition", v, OpType::kInfo},
          std::tuple{t + 5000 * kMs, "stop-partition", json(), OpType::kInfo},
          std::tuple{t + 5001 * kMs, "stop-partition", all_nodes, OpType::kInfo}}) {
      Op op;
      op.time_ns = when;
      op.process = Process::Nemesis();
      op.type = type;
      op.f = f;
      op.value = value;
      events.push_back({when, 2, std::move(op)});
    }
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& x, const Event& y) {
    return x.t_ns != y.t_ns ? x.t_ns < y.t_ns : x.order < y.order;
  });
  History h;
  h.reserve(events.size());
  for (Event& e : events) {
    e.op.index = static_cast<int64_t>(h.size());
    h.push_back(std::move(e.op));
  }
  return h;
}

Status MakeGeneratedRun(const std::string& run_dir, int64_t lines, uint64_t seed,
                        double time_limit_s, bool write_edn) {
  History h = GenerateRegisterHistory(lines, seed);
  fs::path dir(run_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  CHAOS_RETURN_IF_ERROR(history::WriteHistory((dir / "history.jsonl").string(), h));
  if (write_edn) CHAOS_RETURN_IF_ERROR(history::WriteHistory((dir / "history.edn").string(), h));
  double duration_s = h.empty() ? 0 : static_cast<double>(h.back().time_ns) / 1e9;
  json test = {{"name", "register-partition"},
               {"adapter", "register"},
               {"workload", "register"},
               {"nodes", {"n1", "n2", "n3", "n4", "n5"}},
               {"nemeses", {"partition"}},
               {"nemesis_interval_s", 10},
               {"concurrency", 10},
               {"time_limit_s", std::ceil(duration_s)},
               {"seed", seed},
               {"command_line", "chaos run --nemesis partition --seed " + std::to_string(seed)},
               {"start_time", "2026-11-28T21:30:00Z"},
               {"duration_s", std::round(duration_s * 10) / 10},
               {"bug", nullptr}};
  CHAOS_RETURN_IF_ERROR(WriteCommon(dir, test));
  return WriteResults(run_dir, h, time_limit_s);
}

}  // namespace chaos::reports::testing
