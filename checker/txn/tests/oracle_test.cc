// Proves the transactional checker agrees with brute force: on small random
// list-append histories (a store with stale reads, aborted writes that leak,
// and indeterminate txns, then a final read of every key), a history is valid
// under serializable (strict-serializable) exactly when some serial order of
// its committed txns (respecting real time) reproduces every read.
// Rw-register histories, whose version order Elle only partly infers, are
// checked one way: whatever the checker calls invalid the oracle must too.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>

#include "checker/txn/tests/txn_util.h"
#include "checker/txn/txn.h"

namespace chaos::checker::txn {
namespace {

using history::History;
using history::OpType;
using Json = nlohmann::json;

struct Micro {
  bool write;  // append (list) or w (register)
  int key;
  int64_t value;  // written value
  Json read;      // observed value (ok txns)
};
struct T {
  int process;
  int64_t invoke_at, complete_at;  // event positions
  OpType type;                     // ok, fail or info
  std::vector<Micro> mops;
};

// Does some order of the committed txns (ok ones, plus any subset of the
// info ones) reproduce every ok read, with lists (or registers) as state?
bool Oracle(const std::vector<T>& txns, bool list, bool realtime) {
  std::vector<int> ok, info;
  for (int i = 0; i < static_cast<int>(txns.size()); ++i) {
    if (txns[i].type == OpType::kOk) ok.push_back(i);
    if (txns[i].type == OpType::kInfo) info.push_back(i);
  }
  using State = std::map<int, Json>;
  for (int mask = 0; mask < (1 << info.size()); ++mask) {
    std::vector<int> chosen = ok;
    for (size_t b = 0; b < info.size(); ++b) {
      if (mask & (1 << b)) chosen.push_back(info[b]);
    }
    std::vector<bool> used(txns.size(), false);
    std::function<bool(State&, size_t)> dfs = [&](State& s, size_t placed) {
      if (placed == chosen.size()) return true;
      for (int i : chosen) {
        if (used[i]) continue;
        if (realtime) {  // every unplaced txn that completed before i was invoked goes first
          bool blocked = false;
          for (int j : chosen) {
            if (!used[j] && j != i && txns[j].type == OpType::kOk &&
                txns[j].complete_at < txns[i].invoke_at) {
              blocked = true;
            }
          }
          if (blocked) continue;
        }
        State next = s;
        bool fine = true;
        for (const Micro& m : txns[i].mops) {
          Json& cur = next[m.key];
          if (m.write) {
            if (list) {
              if (cur.is_null()) cur = Json::array();
              cur.push_back(m.value);
            } else {
              cur = m.value;
            }
          } else if (txns[i].type == OpType::kOk) {
            Json want = cur;
            if (list && want.is_null()) want = Json::array();
            Json got = m.read;
            if (list && got.is_null()) got = Json::array();
            if (want != got) fine = false;
          }
        }
        if (!fine) continue;
        used[i] = true;
        if (dfs(next, placed + 1)) return true;
        used[i] = false;
      }
      return false;
    };
    State empty;
    if (dfs(empty, 0)) return true;
  }
  return false;
}

// A store that mostly serializes txns at completion, but sometimes lets a read
// see an older version (or, for lists, a prefix), leaks an aborted txn's
// writes, or applies an info txn; then a final txn reads every key.
std::vector<T> Generate(std::mt19937_64& rng, bool list) {
  const int n = 2 + static_cast<int>(rng() % 4);
  const int keys = 1 + static_cast<int>(rng() % 3);
  std::vector<T> txns;
  int64_t next_value = 1;
  std::vector<std::pair<int64_t, int>> events;  // time, txn (+ invoke, - complete)
  for (int i = 0; i < n; ++i) {
    T t;
    t.process = i;
    const int64_t a = static_cast<int64_t>(rng() % 20),
                  b = a + 1 + static_cast<int64_t>(rng() % 10);
    t.invoke_at = a;
    t.complete_at = b;
    const int r = static_cast<int>(rng() % 10);
    t.type = r < 7 ? OpType::kOk : r < 9 ? OpType::kFail : OpType::kInfo;
    const int mops = 1 + static_cast<int>(rng() % 3);
    for (int j = 0; j < mops; ++j) {
      Micro m{rng() % 2 == 0, static_cast<int>(rng() % keys), 0, nullptr};
      if (m.write) m.value = next_value++;
      t.mops.push_back(m);
    }
    txns.push_back(t);
  }
  // Apply in completion order, keeping every version of every key.
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](int x, int y) { return txns[x].complete_at < txns[y].complete_at; });
  std::map<int, std::vector<Json>> versions;  // key -> states, oldest first
  auto current = [&](int k) {
    auto& v = versions[k];
    return v.empty() ? (list ? Json::array() : Json()) : v.back();
  };
  for (int i : order) {
    T& t = txns[i];
    const bool applied = t.type == OpType::kOk || (t.type == OpType::kFail && rng() % 4 == 0) ||
                         (t.type == OpType::kInfo && rng() % 2 == 0);
    std::map<int, Json> local;
    for (Micro& m : t.mops) {
      if (!local.count(m.key)) {
        Json seen = current(m.key);
        auto& v = versions[m.key];
        if (!v.empty() && rng() % 4 == 0) seen = v[rng() % v.size()];  // stale
        if (!v.empty() && rng() % 6 == 0) seen = list ? Json::array() : Json();
        local[m.key] = seen;
      }
      if (m.write) {
        if (list) {
          local[m.key].push_back(m.value);
        } else {
          local[m.key] = m.value;
        }
      } else {
        m.read = local[m.key];
      }
    }
    if (!applied) continue;
    for (const Micro& m : t.mops) {
      if (!m.write) continue;
      Json s = current(m.key);
      if (list) {
        s.push_back(m.value);
      } else {
        s = m.value;
      }
      versions[m.key].push_back(s);
    }
  }
  T final;
  final.process = n;
  final.invoke_at = 40;
  final.complete_at = 41;
  final.type = OpType::kOk;
  for (int k = 0; k < keys; ++k) final.mops.push_back({false, k, 0, current(k)});
  txns.push_back(final);
  return txns;
}

History ToHistory(const std::vector<T>& txns, bool list) {
  std::vector<std::tuple<int64_t, int, int>> events;  // time, completion?, txn
  for (int i = 0; i < static_cast<int>(txns.size()); ++i) {
    events.emplace_back(txns[i].invoke_at, 0, i);
    events.emplace_back(txns[i].complete_at, 1, i);
  }
  std::sort(events.begin(), events.end());
  History h;
  for (const auto& [time, completion, i] : events) {
    Json value = Json::array();
    for (const Micro& m : txns[i].mops) {
      if (m.write) {
        value.push_back({list ? ":append" : ":w", m.key, m.value});
      } else {
        value.push_back({":r", m.key, completion && txns[i].type == OpType::kOk ? m.read : Json()});
      }
    }
    testing::Push(h, txns[i].process, completion ? txns[i].type : OpType::kInvoke, value);
  }
  return h;
}

TEST(TxnOracle, ListAppendAgreesWithBruteForce) {
  const uint64_t seed = 20261205;
  std::mt19937_64 rng(seed);
  int invalid[2] = {0, 0};
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::vector<T> txns = Generate(rng, true);
    History h = ToHistory(txns, true);
    for (int strict = 0; strict < 2; ++strict) {
      TxnOptions o;
      o.consistency = strict ? Consistency::kStrictSerializable : Consistency::kSerializable;
      o.workload = Workload::kListAppend;
      TxnResult r = CheckTxn(h, o);
      ASSERT_FALSE(r.input_error) << r.cause;
      const bool oracle = Oracle(txns, true, strict != 0);
      std::string text;
      for (const auto& op : h) text += history::Describe(op) + "\n";
      ASSERT_EQ(r.verdict == Verdict::kValid, oracle)
          << "seed " << seed << " iteration " << iteration << " strict " << strict << "\n"
          << text << r.Explain();
      if (!oracle) ++invalid[strict];
    }
  }
  std::printf("invalid: serializable %d, strict %d of 3000\n", invalid[0], invalid[1]);
  // The generator must produce both outcomes often, or the test proves little.
  EXPECT_GT(invalid[0], 300);
  EXPECT_GT(invalid[1], invalid[0]);
  EXPECT_LT(invalid[1], 2700);
}

TEST(TxnOracle, RwRegisterInvalidOnlyWhenBruteForceFindsNoOrder) {
  const uint64_t seed = 7;
  std::mt19937_64 rng(seed);
  int invalid = 0;
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::vector<T> txns = Generate(rng, false);
    History h = ToHistory(txns, false);
    TxnOptions o;
    o.workload = Workload::kRwRegister;
    TxnResult r = CheckTxn(h, o);
    ASSERT_FALSE(r.input_error) << r.cause;
    if (r.verdict != Verdict::kInvalid) continue;
    ++invalid;
    std::string text;
    for (const auto& op : h) text += history::Describe(op) + "\n";
    ASSERT_FALSE(Oracle(txns, false, false))
        << "seed " << seed << " iteration " << iteration << "\n"
        << text << r.Explain();
  }
  EXPECT_GT(invalid, 100);
}

}  // namespace
}  // namespace chaos::checker::txn
