// Proves the set, counter, unique-ids, stats and perf checkers find what they
// promise on small hand-built histories, and compose merges worst-first.
#include "checker/others.h"

#include <gtest/gtest.h>

#include "checker/tests/test_util.h"

namespace chaos::checker {
namespace {

using history::History;
using history::OpType;
using Json = nlohmann::json;
using testing::Add;
constexpr OpType kI = OpType::kInvoke, kO = OpType::kOk, kF = OpType::kFail, kN = OpType::kInfo;

TEST(SetChecker, FindsLostUnexpectedDuplicatedAndNeverRead) {
  History h;
  for (int v : {1, 2, 3}) {
    Add(h, 0, kI, "add", v);
    Add(h, 0, kO, "add", v);
  }
  Add(h, 1, kI, "add", 4);
  Add(h, 1, kO, "add", 4);
  Add(h, 0, kI, "read", nullptr);
  Add(h, 0, kO, "read", Json::array({1, 2, 2, 9}));  // 3 lost, 9 unexpected, 2 duplicated
  CheckerOutput o = CheckSet(h);
  EXPECT_EQ(o.verdict, Verdict::kInvalid);
  EXPECT_EQ(o.result["lost"], Json::array({3, 4}));
  EXPECT_EQ(o.result["unexpected"], Json::array({9}));
  EXPECT_EQ(o.result["duplicated"], Json::array({2}));
  EXPECT_EQ(o.result["never_read"], Json::array({3, 4}));

  History good;
  Add(good, 0, kI, "add", 1);
  Add(good, 1, kI, "read", nullptr);
  Add(good, 1, kO, "read", Json::array());  // concurrent with the add: fine
  Add(good, 0, kO, "add", 1);
  Add(good, 1, kI, "read", nullptr);
  Add(good, 1, kO, "read", Json::array({1}));
  EXPECT_EQ(CheckSet(good).verdict, Verdict::kValid);
  History no_reads;
  Add(no_reads, 0, kI, "add", 1);
  Add(no_reads, 0, kO, "add", 1);
  EXPECT_EQ(CheckSet(no_reads).verdict, Verdict::kUnknown);
}

TEST(CounterChecker, ReadsMustLieBetweenAcknowledgedAndAttemptedAdds) {
  History h;
  Add(h, 0, kI, "add", 1);
  Add(h, 0, kO, "add", 1);
  Add(h, 1, kI, "add", 5);  // attempted, never acknowledged
  Add(h, 1, kN, "add", 5);
  Add(h, 2, kI, "add", 100);
  Add(h, 2, kF, "add", 100);  // failed: never counts
  Add(h, 3, kI, "read", nullptr);
  Add(h, 3, kO, "read", 6);
  EXPECT_EQ(CheckCounter(h).verdict, Verdict::kValid);
  Add(h, 3, kI, "read", nullptr);
  Add(h, 3, kO, "read", 0);  // below the acknowledged 1
  CheckerOutput o = CheckCounter(h);
  EXPECT_EQ(o.verdict, Verdict::kInvalid);
  EXPECT_EQ(o.result["errors"][0]["index"], 9);
  EXPECT_EQ(o.result["errors"][0]["lower"], 1.0);
}

TEST(UniqueIdsChecker, DuplicateIdsAreInvalid) {
  History h;
  for (int v : {1, 2, 2}) {
    Add(h, 0, kI, "generate", nullptr);
    Add(h, 0, kO, "generate", v);
  }
  CheckerOutput o = CheckUniqueIds(h);
  EXPECT_EQ(o.verdict, Verdict::kInvalid);
  EXPECT_EQ(o.result["duplicated"][0]["value"], 2);
  EXPECT_EQ(o.result["duplicated"][0]["count"], 2);
  h.pop_back();
  h.pop_back();
  EXPECT_EQ(CheckUniqueIds(h).verdict, Verdict::kValid);
}

TEST(StatsAndPerf, CountByFAndLatencyPercentiles) {
  History h;
  for (int i = 0; i < 10; ++i) {
    Add(h, 0, kI, "read", nullptr);
    h.back().time_ns = i * 1000000000LL;
    Add(h, 0, i == 9 ? kF : kO, "read", 1);
    h.back().time_ns = i * 1000000000LL + (i + 1) * 1000000LL;
  }
  Add(h, 1, kI, "write", 1);
  Add(h, 1, kN, "write", 1);
  CheckerOutput s = CheckStats(h);
  EXPECT_EQ(s.result["by_f"]["read"]["ok_count"], 9);
  EXPECT_EQ(s.result["by_f"]["read"]["fail_count"], 1);
  EXPECT_EQ(s.result["by_f"]["write"]["info_count"], 1);
  EXPECT_EQ(s.verdict, Verdict::kInvalid);  // write never succeeded
  CheckerOutput p = CheckPerf(h);
  EXPECT_EQ(p.verdict, Verdict::kValid);
  EXPECT_DOUBLE_EQ(p.result["latency"]["read"]["ok"]["max_ms"].get<double>(), 9.0);
  EXPECT_DOUBLE_EQ(p.result["latency"]["read"]["ok"]["p50_ms"].get<double>(), 5.0);
  EXPECT_EQ(p.result["throughput_per_second"].size(), 10u);
  EXPECT_EQ(p.result["untimed"], 1);
}

TEST(Compose, MergesWorstFirst) {
  CheckerOutput valid{"a", Verdict::kValid, {}};
  CheckerOutput unknown{"b", Verdict::kUnknown, {}};
  CheckerOutput invalid{"c", Verdict::kInvalid, {}};
  EXPECT_EQ(Compose({valid, unknown}).verdict, Verdict::kUnknown);
  CheckerOutput all = Compose({valid, unknown, invalid});
  EXPECT_EQ(all.verdict, Verdict::kInvalid);
  EXPECT_EQ(all.result["valid"], false);
  EXPECT_EQ(all.result["results"].size(), 3u);
  EXPECT_FALSE(RunChecker("nope", History(), LinearizableOptions()).ok());
}

}  // namespace
}  // namespace chaos::checker
