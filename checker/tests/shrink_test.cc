// Proves the shrunk counterexample explains itself: it keeps the op the
// checker could not linearize (still the one that fails in it), every value
// read in it has an op that could have written it (or the initial value), no
// op can be removed under that rule, and the story names a stale read as
// stale. On the Knossos corpus's bad histories and on generated stale-read,
// lost-write and duplicate-write histories.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>

#include "checker/checker.h"
#include "checker/tests/test_util.h"
#include "history/codec.h"

namespace chaos::checker {
namespace {

using history::History;
using history::OpType;
using Json = nlohmann::json;

// One op of a history: its invocation and completion positions.
struct Pair {
  size_t invoke = 0;
  size_t complete = SIZE_MAX;  // none
  const history::Op* done = nullptr;
};

std::vector<Pair> Pairs(const History& h) {
  std::vector<Pair> out;
  std::map<history::Process, size_t> open;
  for (size_t i = 0; i < h.size(); ++i) {
    if (!h[i].is_client()) continue;
    if (h[i].is_invoke()) {
      open[h[i].process] = out.size();
      out.push_back({i, SIZE_MAX, nullptr});
      continue;
    }
    auto it = open.find(h[i].process);
    if (it == open.end()) continue;
    out[it->second].complete = i;
    out[it->second].done = &h[i];
    open.erase(it);
  }
  return out;
}

// The (key, value) an op observed (ok read, ok cas's from) and wrote (write
// of any outcome but fail, cas's to), for a keyed or plain cas-register.
struct Effects {
  std::vector<std::pair<Json, Json>> observed, written;
};
Effects EffectsOf(const History& h, const Pair& p, bool keyed) {
  Effects e;
  const history::Op& inv = h[p.invoke];
  if (p.done != nullptr && p.done->is_fail()) return e;
  const bool ok = p.done != nullptr && p.done->is_ok();
  Json value = ok && !p.done->value.is_null() ? p.done->value : inv.value;
  Json key;
  if (keyed) {
    key = value[0];
    Json v = value[1];
    value = v;
  }
  const std::string f(history::NameOf(Json(inv.f)));
  if (f == "read" && ok && !value.is_null()) e.observed.push_back({key, value});
  if (f == "write") e.written.push_back({key, value});
  if (f == "cas") {
    if (ok) e.observed.push_back({key, value[0]});
    e.written.push_back({key, value[1]});
  }
  return e;
}

// Empty when every value observed in `shrunk` was written by one of its ops
// invoked before the observer completed, or is the initial value, or no op of
// `whole` could have written it; else which observation lacks its writer.
std::string MissingWriter(const History& whole, const History& shrunk, const Json& initial,
                          bool keyed) {
  auto writers_before = [&](const History& h, const std::pair<Json, Json>& fact, int64_t end) {
    int n = 0;
    for (const Pair& p : Pairs(h)) {
      if (h[p.invoke].index >= end) continue;
      for (const auto& w : EffectsOf(h, p, keyed).written) n += w == fact ? 1 : 0;
    }
    return n;
  };
  for (const Pair& p : Pairs(shrunk)) {
    if (p.done == nullptr) continue;
    for (const auto& fact : EffectsOf(shrunk, p, keyed).observed) {
      if (fact.second == initial) continue;
      const int64_t end = p.done->index;
      if (writers_before(shrunk, fact, end) > 0 || writers_before(whole, fact, end) == 0) continue;
      return "op " + std::to_string(end) + " observed " + fact.second.dump() +
             " and no op of the shrunk history wrote it";
    }
  }
  return "";
}

// `h` without the ops whose invocation index is in `drop`.
History Without(const History& h, const std::vector<int64_t>& drop) {
  History out;
  std::map<history::Process, bool> dropping;
  for (const history::Op& op : h) {
    if (op.is_invoke()) {
      dropping[op.process] = std::count(drop.begin(), drop.end(), op.index) > 0;
    }
    if (!dropping[op.process]) out.push_back(op);
  }
  return out;
}

// Every property the brief asks of a shrunk counterexample, checked from the
// result's JSON alone.
void ExpectExplains(const History& whole, const CheckResult& r, const LinearizableOptions& o,
                    const std::string& what) {
  ASSERT_EQ(r.verdict, Verdict::kInvalid) << what;
  const Json& cx = r.counterexample;
  const int64_t failing = cx["op"]["index"].get<int64_t>();
  ASSERT_TRUE(cx["shrunk_minimal"].get<bool>()) << what << "\n" << r.Explain();
  // The story is the shrunk history; the failing op is in it, marked.
  int marked = 0;
  for (const Json& e : cx["story"]) {
    if (e.value("fails", false)) {
      ++marked;
      EXPECT_EQ(e["index"].get<int64_t>(), failing) << what << "\n" << r.Explain();
    }
  }
  EXPECT_EQ(marked, 1) << what << "\n" << r.Explain();
  EXPECT_EQ(cx["story"].size(), cx["shrunk_ops"].get<size_t>()) << what;
  History shrunk;
  for (const Json& j : cx["shrunk"]) {
    history::Op op = testing::MakeOp(j["process"].get<int64_t>(),
                                     *history::ParseOpType(j["type"].get<std::string>()),
                                     j["f"].get<std::string>(), j["value"]);
    op.index = j["index"].get<int64_t>();
    shrunk.push_back(std::move(op));
  }
  // It fails alone, at the same op.
  LinearizableOptions quiet = o;
  quiet.shrink = false;
  CheckResult again = CheckLinearizable(shrunk, quiet);
  ASSERT_EQ(again.verdict, Verdict::kInvalid) << what << "\n" << r.Explain();
  EXPECT_EQ(again.counterexample["op"]["index"].get<int64_t>(), failing) << what;
  // Every value read has its writer.
  EXPECT_EQ(MissingWriter(whole, shrunk, o.initial, o.keyed), "") << what << "\n" << r.Explain();
  // Minimal under the rule: dropping any other op, and then the observers it
  // leaves without a writer, makes it valid or moves or loses the failure.
  for (const Pair& p : Pairs(shrunk)) {
    const int64_t id = shrunk[p.invoke].index;
    if (p.done != nullptr && p.done->index == failing) continue;
    std::vector<int64_t> drop = {id};
    History less = Without(shrunk, drop);
    bool lost_failing = false;
    for (std::string missing;
         !(missing = MissingWriter(whole, less, o.initial, o.keyed)).empty();) {
      const int64_t end = std::stoll(missing.substr(3));  // "op END observed ..."
      if (end == failing) lost_failing = true;
      if (lost_failing) break;
      const size_t before = drop.size();
      for (const Pair& q : Pairs(less)) {
        if (q.done != nullptr && q.done->index == end) drop.push_back(less[q.invoke].index);
      }
      ASSERT_GT(drop.size(), before) << missing;
      less = Without(shrunk, drop);
    }
    if (lost_failing) continue;
    CheckResult without = CheckLinearizable(less, quiet);
    const bool still_fails_there = without.verdict == Verdict::kInvalid &&
                                   without.counterexample["op"]["index"].get<int64_t>() == failing;
    EXPECT_FALSE(still_fails_there) << what << ": op " << id << " could be removed\n"
                                    << r.Explain();
  }
}

TEST(Shrink, KnossosBadHistoriesKeepTheFailingOpAndEveryWriter) {
  int files = 0;
  int listed = testing::ForEachKnossosHistory([&](const std::string& file, bool linearizable) {
    if (linearizable || file.rfind("cas-register/bad/", 0) != 0) return;
    auto h = history::ReadHistory(testing::KnossosDir() + "/" + file);
    ASSERT_TRUE(h.ok()) << file;
    for (const Json& initial : {Json(0), Json(nullptr)}) {
      LinearizableOptions o;
      o.initial = initial;
      o.time_limit_s = 120;
      o.shrink_time_limit_s = 60;
      CheckResult r = CheckLinearizable(*h, o);
      if (initial.is_null() && r.verdict == Verdict::kValid) continue;  // only bad from 0
      ++files;
      ExpectExplains(*h, r, o, file + " from " + initial.dump());
      std::printf("%s from %s:\n%s", file.c_str(), initial.dump().c_str(), r.Explain().c_str());
    }
  });
  ASSERT_GE(listed, 0) << testing::KnossosDir();
  EXPECT_GE(files, 7);
}

// A register run with unique write values: ops applied one at a time at
// instants 10*i, each recorded within 9 of its instant (neighbours may
// overlap, ops two apart never do), one or two planted anomalies at `at`.
enum class Anomaly { kStaleRead, kLostWrite, kDuplicateWrite };

History Run(std::mt19937_64& rng, Anomaly anomaly, int n, bool keyed, Json* planted) {
  struct Step {
    std::string f;
    Json in, out;
    OpType type = OpType::kOk;
  };
  std::vector<Step> steps;
  Json reg = nullptr;
  int next_value = 1;
  const int at = n / 2 + static_cast<int>(rng() % static_cast<uint64_t>(n / 4));
  Json stale_value;
  for (int i = 0; i < n; ++i) {
    Step s;
    const int k = i - at;
    // The planted pattern: write A, read, write B, read, then the anomaly.
    if (k >= -4 && k <= 1) {
      if (k == -4 || k == -2) {
        s.f = "write";
        s.in = s.out = next_value++;
        if (k == -4) stale_value = s.in;
        const bool lost = anomaly == Anomaly::kLostWrite && k == -2;
        if (!lost) reg = s.in;
      } else {
        s.f = "read";
        if (k == 0 && anomaly == Anomaly::kStaleRead) {
          s.out = stale_value;  // this read alone returns the old value
        } else {
          if (k == 0 && anomaly == Anomaly::kDuplicateWrite) reg = stale_value;  // applied again
          s.out = reg;
        }
      }
      if (k == 0) *planted = s.out;
    } else if (rng() % 2 == 0) {
      s.f = "read";
      s.out = reg;
      if (rng() % 10 == 0) s.type = OpType::kInfo;
    } else {
      s.f = "write";
      s.in = s.out = next_value++;
      if (rng() % 10 == 0) {
        s.type = OpType::kInfo;
        if (rng() % 2 == 0) reg = s.in;
      } else {
        reg = s.in;
      }
    }
    steps.push_back(s);
  }
  struct Event {
    int64_t time;
    history::Op op;
  };
  std::vector<Event> events;
  std::vector<int64_t> busy_until, process_of;
  int64_t processes = 0;
  for (int i = 0; i < n; ++i) {
    const Step& s = steps[static_cast<size_t>(i)];
    const int64_t invoke = 10 * i - static_cast<int64_t>(rng() % 10);
    const int64_t complete = 10 * i + static_cast<int64_t>(rng() % 10);
    size_t slot = busy_until.size();
    for (size_t p = 0; p < busy_until.size(); ++p) {
      if (busy_until[p] < invoke) slot = std::min(slot, p);
    }
    if (slot == busy_until.size()) {
      busy_until.push_back(0);
      process_of.push_back(processes++);
    }
    busy_until[slot] = complete;
    auto wrap = [&](const Json& v) { return keyed ? Json::array({"k", v}) : v; };
    const int64_t p = process_of[slot];
    events.push_back({invoke, testing::MakeOp(p, OpType::kInvoke, s.f, wrap(s.in))});
    events.push_back(
        {complete, testing::MakeOp(p, s.type, s.f, wrap(s.type == OpType::kOk ? s.out : s.in))});
    if (s.type == OpType::kInfo) process_of[slot] = processes++;
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.time < b.time; });
  History h;
  for (Event& e : events) {
    e.op.index = static_cast<int64_t>(h.size());
    h.push_back(std::move(e.op));
  }
  return h;
}

void ExpectGeneratedExplained(Anomaly anomaly, const char* name) {
  const uint64_t seed = 20261205;
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 30; ++round) {
    const bool keyed = round % 2 == 1;
    Json planted;
    History h = Run(rng, anomaly, 20 + static_cast<int>(rng() % 100), keyed, &planted);
    LinearizableOptions o;
    o.keyed = keyed;
    o.threads = 1;
    CheckResult r = CheckLinearizable(h, o);
    const std::string what =
        std::string(name) + " seed " + std::to_string(seed) + " round " + std::to_string(round);
    ExpectExplains(h, r, o, what);
    if (round < 2) std::printf("%s:\n%s", what.c_str(), r.Explain().c_str());
    // Write A, write B, read A: three ops, and the story calls it stale.
    const Json& story = r.counterexample["story"];
    EXPECT_EQ(story.size(), 3u) << what << "\n" << r.Explain();
    const Json& last = story.back();
    EXPECT_TRUE(last.value("fails", false)) << what << "\n" << r.Explain();
    EXPECT_NE(last.value("why", "").find("stale: " + planted.dump() + " was overwritten"),
              std::string::npos)
        << what << "\n"
        << r.Explain();
    EXPECT_NE(r.Explain().find("<- cannot be linearized: stale"), std::string::npos) << what;
  }
}

TEST(Shrink, StaleReadShrinksToWriteWriteRead) {
  ExpectGeneratedExplained(Anomaly::kStaleRead, "stale-read");
}
TEST(Shrink, LostWriteShrinksToWriteWriteRead) {
  ExpectGeneratedExplained(Anomaly::kLostWrite, "lost-write");
}
TEST(Shrink, DuplicateWriteShrinksToWriteWriteRead) {
  ExpectGeneratedExplained(Anomaly::kDuplicateWrite, "duplicate-write");
}

// A read of a value nothing wrote shrinks to that read alone, and says so.
TEST(Shrink, ReadOfAValueNeverWrittenIsAloneAndSaysSo) {
  History h;
  testing::Add(h, 0, OpType::kInvoke, "write", 1);
  testing::Add(h, 0, OpType::kOk, "write", 1);
  testing::Add(h, 1, OpType::kInvoke, "read", nullptr);
  testing::Add(h, 1, OpType::kOk, "read", 7);
  LinearizableOptions o;
  CheckResult r = CheckLinearizable(h, o);
  ASSERT_EQ(r.verdict, Verdict::kInvalid);
  ASSERT_EQ(r.counterexample["story"].size(), 1u) << r.Explain();
  EXPECT_NE(r.Explain().find("nothing wrote 7 before it completed"), std::string::npos)
      << r.Explain();
}

}  // namespace
}  // namespace chaos::checker
