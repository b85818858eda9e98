// Proves the search agrees with a brute-force oracle (every order of every
// subset of uncertain ops) on tens of thousands of random small histories
// over every model, keyed and not, under every semantic option.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>

#include "checker/checker.h"
#include "checker/model.h"
#include "checker/tests/test_util.h"

namespace chaos::checker {
namespace {

using history::History;
using history::OpType;
using Json = nlohmann::json;

struct Spec {
  std::string model;
  bool keyed = false;
  Json initial;
  NilRead nil_read = NilRead::kUnknown;
  FailedCas failed_cas = FailedCas::kVoid;
};

// One random op of `model` as (f, invoke value, ok value).
struct GenOp {
  std::string f;
  Json invoke_value, ok_value;
};

GenOp RandomOp(const std::string& model, std::mt19937_64& rng) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  auto small = [&]() -> Json {
    int v = pick(4);
    return v == 3 ? Json(nullptr) : Json(v);
  };
  if (model == "register" || model == "cas-register") {
    int k = pick(model == "register" ? 2 : 3);
    if (k == 0) return {"read", nullptr, small()};
    if (k == 1) {
      Json v = pick(3);
      return {"write", v, v};
    }
    Json v = Json::array({pick(3), pick(3)});
    return {"cas", v, v};
  }
  if (model == "multi-register") {
    Json txn = Json::array();
    Json seen = Json::array();
    int n = 1 + pick(2);
    for (int i = 0; i < n; ++i) {
      std::string key = pick(2) ? ":x" : ":y";
      if (pick(2)) {
        Json v = pick(2);
        txn.push_back({":write", key, v});
        seen.push_back({":write", key, v});
      } else {
        txn.push_back({":read", key, nullptr});
        seen.push_back({":read", key, small()});
      }
    }
    return {"txn", txn, seen};
  }
  if (model == "mutex") return {pick(2) ? "acquire" : "release", nullptr, nullptr};
  if (model == "set") {
    if (pick(2)) {
      Json v = pick(3);
      return {"add", v, v};
    }
    Json read = Json::array();
    for (int e = 0; e < 3; ++e) {
      if (pick(2)) read.push_back(e);
    }
    return {"read", nullptr, pick(8) == 0 ? Json(nullptr) : read};
  }
  // Queues.
  if (pick(2)) {
    Json v = pick(3);
    return {"enqueue", v, v};
  }
  return {"dequeue", nullptr, small()};
}

// A random history: 1-8 ops by 1-3 concurrent workers; a worker whose op
// ends info continues as a new process. `info_of_16`: how many of 16
// completions are info (or, for a worker's last op, never come).
History RandomHistory(const Spec& spec, std::mt19937_64& rng, int info_of_16 = 4) {
  const int n = 1 + static_cast<int>(rng() % 8);
  const int workers = 1 + static_cast<int>(rng() % 3);
  struct Worker {
    int64_t process;
    int remaining = 0;
    bool open = false;
    GenOp op;
    Json key;
  };
  std::vector<Worker> ws(static_cast<size_t>(workers));
  int64_t next_process = 0;
  for (auto& w : ws) w.process = next_process++;
  for (int i = 0; i < n; ++i) ws[rng() % ws.size()].remaining++;
  History h;
  auto wrap = [&](const Worker& w, const Json& v) {
    return spec.keyed ? Json::array({w.key, v}) : v;
  };
  while (true) {
    std::vector<size_t> live;
    for (size_t i = 0; i < ws.size(); ++i) {
      if (ws[i].open || ws[i].remaining > 0) live.push_back(i);
    }
    if (live.empty()) break;
    Worker& w = ws[live[rng() % live.size()]];
    if (!w.open) {
      w.op = RandomOp(spec.model, rng);
      w.key = static_cast<int>(rng() % 2);
      testing::Add(h, w.process, OpType::kInvoke, w.op.f, wrap(w, w.op.invoke_value));
      w.open = true;
      w.remaining--;
      continue;
    }
    w.open = false;
    int r = static_cast<int>(rng() % 16);
    if (r < info_of_16 / 2 && w.remaining == 0) continue;  // never completes
    if (r < info_of_16) {
      testing::Add(h, w.process, OpType::kInfo, w.op.f, wrap(w, w.op.invoke_value));
      w.process = next_process++;
    } else if (r < 6) {
      testing::Add(h, w.process, OpType::kFail, w.op.f, wrap(w, w.op.invoke_value));
    } else {
      testing::Add(h, w.process, OpType::kOk, w.op.f, wrap(w, w.op.ok_value));
    }
  }
  return h;
}

// The oracle: every order of every subset of uncertain calls, in real-time
// order, stepping one model state per key.
bool OracleLinearizable(const History& h, const Spec& spec) {
  ValueTable values;
  auto made = MakeModel({spec.model, spec.initial, spec.nil_read}, values);
  EXPECT_TRUE(made.ok());
  const Model& model = **made;
  struct OCall {
    Call call;
    int key;
    bool must;
    int64_t invoke, complete;  // complete = INT64_MAX when none
  };
  std::vector<OCall> calls;
  std::map<int64_t, int64_t> open;
  auto add = [&](int64_t inv, int64_t comp) {
    const history::Op& iop = h[static_cast<size_t>(inv)];
    const history::Op* cop = comp >= 0 ? &h[static_cast<size_t>(comp)] : nullptr;
    bool mismatch = false;
    if (cop != nullptr && cop->is_fail()) {
      if (!(spec.failed_cas == FailedCas::kMismatch && iop.f == "cas")) return;
      mismatch = true;
    }
    bool ok = cop != nullptr && cop->is_ok();
    Json v = ok ? cop->value : iop.value;
    int key = 0;
    if (spec.keyed) {
      key = v[0].get<int>();
      Json inner = v[1];
      v = inner;
    }
    OCall c;
    EXPECT_TRUE(model.Encode(iop.f, v, values, &c.call).ok());
    if (mismatch) c.call.fn = Fn::kCasFailed;
    c.call.known_output = ok || mismatch;
    c.key = key;
    c.must = ok || mismatch;
    c.invoke = inv;
    c.complete = c.must ? comp : INT64_MAX;
    calls.push_back(c);
  };
  for (int64_t pos = 0; pos < static_cast<int64_t>(h.size()); ++pos) {
    const history::Op& op = h[static_cast<size_t>(pos)];
    if (op.is_invoke()) {
      open[op.process.id] = pos;
    } else {
      add(open[op.process.id], pos);
      open.erase(op.process.id);
    }
  }
  for (auto [p, inv] : open) add(inv, -1);
  int must_total = 0;
  for (const OCall& c : calls) must_total += c.must;
  std::vector<State> states = {model.Initial(), model.Initial()};
  std::vector<bool> used(calls.size(), false);
  std::function<bool(int)> dfs = [&](int must_done) -> bool {
    if (must_done == must_total) return true;
    for (size_t i = 0; i < calls.size(); ++i) {
      if (used[i]) continue;
      bool allowed = true;  // no unused must-call completed before i was invoked
      for (size_t j = 0; j < calls.size() && allowed; ++j) {
        if (!used[j] && j != i && calls[j].must && calls[j].complete < calls[i].invoke) {
          allowed = false;
        }
      }
      if (!allowed) continue;
      State next;
      State& s = states[static_cast<size_t>(calls[i].key)];
      if (!model.Step(s, calls[i].call, &next)) continue;
      State saved = s;
      s = next;
      used[i] = true;
      bool found = dfs(must_done + (calls[i].must ? 1 : 0));
      used[i] = false;
      s = saved;
      if (found) return true;
    }
    return false;
  };
  return dfs(0);
}

std::vector<Spec> Specs() {
  std::vector<Spec> specs;
  for (const char* m : {"register", "cas-register", "multi-register", "mutex", "set", "fifo-queue",
                        "unordered-queue"}) {
    specs.push_back({m, false, nullptr});
  }
  specs.push_back({"register", false, 0, NilRead::kValue});
  specs.push_back({"cas-register", false, 0, NilRead::kUnknown, FailedCas::kMismatch});
  specs.push_back({"cas-register", false, nullptr, NilRead::kValue, FailedCas::kMismatch});
  specs.push_back({"cas-register", true, 0});
  specs.push_back({"register", true, nullptr, NilRead::kValue});
  specs.push_back({"multi-register", false, Json{{"x", 0}, {"y", 1}}, NilRead::kValue});
  return specs;
}

// Sanitizer builds (3-5x slower, and much more system time) run a quarter of
// the cases; the normal build runs 52,000.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kCasesPerSpec = 1000;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr int kCasesPerSpec = 1000;
#else
constexpr int kCasesPerSpec = 4000;
#endif
#else
constexpr int kCasesPerSpec = 4000;
#endif

LinearizableOptions OptionsFor(const Spec& spec) {
  LinearizableOptions o;
  o.model = spec.model;
  o.keyed = spec.keyed;
  o.initial = spec.initial;
  o.nil_read = spec.nil_read;
  o.failed_cas = spec.failed_cas;
  o.threads = 1;
  return o;
}

TEST(Oracle, AgreesOnRandomSmallHistories) {
  const uint64_t seed = 20261128;
  std::mt19937_64 rng(seed);
  int cases = 0;
  for (const Spec& spec : Specs()) {
    int valid = 0, invalid = 0;
    for (int i = 0; i < kCasesPerSpec; ++i, ++cases) {
      History h = RandomHistory(spec, rng);
      LinearizableOptions o = OptionsFor(spec);
      o.shrink = (i % 10 == 0);
      CheckResult r = CheckLinearizable(h, o);
      bool want = OracleLinearizable(h, spec);
      ASSERT_NE(r.verdict, Verdict::kUnknown) << r.cause;
      ASSERT_EQ(r.verdict == Verdict::kValid, want) << "seed " << seed << " case " << i << " model "
                                                    << spec.model << " keyed " << spec.keyed << "\n"
                                                    <<
          [&] {
            std::string s;
            for (const auto& op : h) s += history::Describe(op) + "\n";
            return s;
          }() << r.Explain();
      (want ? valid : invalid)++;
    }
    // Both verdicts must be well represented, or the oracle proves little.
    EXPECT_GT(valid, kCasesPerSpec / 10) << spec.model;
    EXPECT_GT(invalid, kCasesPerSpec / 10) << spec.model;
  }
  EXPECT_GE(cases, 13 * kCasesPerSpec);
}

// The rules for pending calls (checker/search.h: twins in invocation order,
// no call that changes nothing, none just before a call that makes it moot):
// on info-heavy histories, where they apply often, the search agrees with the
// oracle and with itself without them.
TEST(Oracle, PendingCallRulesLoseNothing) {
  const uint64_t seed = 20261129;
  std::mt19937_64 rng(seed);
  int with_twins = 0;
  for (const Spec& spec : Specs()) {
    for (int i = 0; i < kCasesPerSpec / 2; ++i) {
      History h = RandomHistory(spec, rng, 12);
      std::map<std::string, int> pending;  // f and value of info ops
      for (const auto& op : h) {
        if (op.is_info()) with_twins += ++pending[op.f + op.value.dump()] == 2 ? 1 : 0;
      }
      LinearizableOptions o = OptionsFor(spec);
      o.shrink = false;
      CheckResult canonical = CheckLinearizable(h, o);
      o.canonical_pending = false;
      CheckResult every_order = CheckLinearizable(h, o);
      bool want = OracleLinearizable(h, spec);
      ASSERT_EQ(canonical.verdict == Verdict::kValid, want)
          << "seed " << seed << " case " << i << " model " << spec.model << "\n"
          << [&] {
               std::string s;
               for (const auto& op : h) s += history::Describe(op) + "\n";
               return s;
             }();
      ASSERT_EQ(canonical.verdict, every_order.verdict);
    }
  }
  // Twins must be common, or this proves little.
  EXPECT_GT(with_twins, 13 * kCasesPerSpec / 20);
}

}  // namespace
}  // namespace chaos::checker
