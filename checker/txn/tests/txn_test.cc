// Proves the transactional checker names each anomaly class on a hand-built
// history that has exactly that anomaly, judges it against each consistency
// model as the model allows, and explains cycles step by step.
#include "checker/txn/txn.h"

#include <gtest/gtest.h>

#include "checker/txn/graph.h"
#include "checker/txn/tests/txn_util.h"

namespace chaos::checker::txn {
namespace {

using history::History;
using history::OpType;
using testing::Complete;
using testing::Invoke;
using testing::Ok;

TxnResult Check(const History& h, Consistency c, Workload w = Workload::kAny) {
  TxnOptions o;
  o.consistency = c;
  o.workload = w;
  return CheckTxn(h, o);
}

bool Has(const TxnResult& r, const std::string& type) {
  return std::find(r.anomaly_types.begin(), r.anomaly_types.end(), type) != r.anomaly_types.end();
}

TEST(TxnChecker, SerialListAppendHistoryIsValidUnderEveryModel) {
  History h;
  Ok(h, 0, "[[:append :x 1] [:r :x [1]]]");
  Ok(h, 1, "[[:r :x [1]] [:append :x 2] [:append :y 1]]");
  Ok(h, 0, "[[:r :y [1]] [:r :x [1 2]]]");
  Invoke(h, 2, "[[:append :y 2]]");
  Complete(h, 2, OpType::kFail, "[[:append :y 2]]");
  Invoke(h, 3, "[[:append :x 3]]");  // never completed, never read: fine
  for (const std::string& name : ConsistencyNames()) {
    Consistency c;
    ASSERT_TRUE(ParseConsistency(name, &c));
    TxnResult r = Check(h, c);
    EXPECT_EQ(r.verdict, Verdict::kValid) << name << "\n" << r.Explain();
    EXPECT_TRUE(r.anomaly_types.empty()) << name;
  }
}

TEST(TxnChecker, G0WriteCycle) {
  History h;
  Ok(h, 0, "[[:append :x 1] [:append :y 1]]");
  Ok(h, 1, "[[:append :x 2] [:append :y 2]]");
  Ok(h, 2, "[[:r :x [1 2]] [:r :y [2 1]]]");
  TxnResult r = Check(h, Consistency::kReadCommitted);
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  EXPECT_EQ(r.anomaly_types, std::vector<std::string>{"G0"});
  const auto& steps = r.anomalies["G0"][0]["steps"];
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0]["type"], "ww");
  EXPECT_EQ(steps[1]["type"], "ww");
  EXPECT_NE(r.Explain().find("T1 -ww-> T2 -ww-> T1"), std::string::npos) << r.Explain();
}

TEST(TxnChecker, G1aAbortedRead) {
  History h;
  Invoke(h, 0, "[[:append :x 1]]");
  Complete(h, 0, OpType::kFail, "[[:append :x 1]]");
  Ok(h, 1, "[[:r :x [1]]]");
  TxnResult r = Check(h, Consistency::kReadCommitted);
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  EXPECT_EQ(r.anomaly_types, std::vector<std::string>{"G1a"});
}

TEST(TxnChecker, G1bIntermediateRead) {
  History h;
  Ok(h, 0, "[[:append :x 1] [:append :x 2]]");
  Ok(h, 1, "[[:r :x [1]]]");
  TxnResult r = Check(h, Consistency::kReadCommitted);
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  EXPECT_TRUE(Has(r, "G1b")) << r.Explain();
}

TEST(TxnChecker, G1cCircularInformationFlow) {
  History h;
  Ok(h, 0, "[[:append :x 1] [:r :y [1]]]");
  Ok(h, 1, "[[:append :y 1] [:r :x [1]]]");
  TxnResult r = Check(h, Consistency::kReadCommitted);
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  EXPECT_EQ(r.anomaly_types, std::vector<std::string>{"G1c"});
}

TEST(TxnChecker, GSingleReadSkewIsForbiddenBySnapshotIsolationNotReadCommitted) {
  History h;
  Ok(h, 0, "[[:r :x [1]] [:r :y []]]");
  Ok(h, 1, "[[:append :x 1] [:append :y 1]]");
  Ok(h, 2, "[[:r :y [1]]]");
  TxnResult rc = Check(h, Consistency::kReadCommitted);
  EXPECT_EQ(rc.verdict, Verdict::kValid) << rc.Explain();
  EXPECT_EQ(rc.anomaly_types, std::vector<std::string>{"G-single"});
  TxnResult si = Check(h, Consistency::kSnapshotIsolation);
  EXPECT_EQ(si.verdict, Verdict::kInvalid);
  EXPECT_EQ(si.forbidden, std::vector<std::string>{"G-single"});
}

TEST(TxnChecker, G2ItemWriteSkewIsAllowedBySnapshotIsolationNotSerializable) {
  History h;
  Ok(h, 0, "[[:r :x []] [:append :y 1]]");
  Ok(h, 1, "[[:r :y []] [:append :x 1]]");
  Ok(h, 2, "[[:r :x [1]] [:r :y [1]]]");
  TxnResult si = Check(h, Consistency::kSnapshotIsolation);
  EXPECT_EQ(si.verdict, Verdict::kValid) << si.Explain();
  EXPECT_EQ(si.anomaly_types, std::vector<std::string>{"G2-item"});
  TxnResult s = Check(h, Consistency::kSerializable);
  EXPECT_EQ(s.verdict, Verdict::kInvalid);
  EXPECT_EQ(s.anomalies["G2-item"][0]["steps"][0]["type"], "rw");
  EXPECT_EQ(s.anomalies["G2-item"][0]["steps"][1]["type"], "rw");
}

TEST(TxnChecker, InternalDuplicateAndIncompatibleOrderAreAlwaysForbidden) {
  History internal;
  Ok(internal, 0, "[[:append :x 1] [:r :x []]]");
  TxnResult r = Check(internal, Consistency::kReadCommitted);
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  EXPECT_EQ(r.anomaly_types, std::vector<std::string>{"internal"});

  History dup;
  Ok(dup, 0, "[[:append :x 1]]");
  Ok(dup, 1, "[[:r :x [1 1]]]");
  r = Check(dup, Consistency::kReadCommitted);
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  EXPECT_TRUE(Has(r, "duplicate-elements"));

  History order;
  Ok(order, 0, "[[:append :x 1]]");
  Ok(order, 1, "[[:append :x 2]]");
  Ok(order, 2, "[[:r :x [1 2]]]");
  Ok(order, 3, "[[:r :x [2]]]");
  r = Check(order, Consistency::kReadCommitted);
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  EXPECT_TRUE(Has(r, "incompatible-order"));

  History garbage;
  Ok(garbage, 0, "[[:r :x [7]]]");
  r = Check(garbage, Consistency::kReadCommitted);
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  EXPECT_TRUE(Has(r, "garbage-read"));
}

TEST(TxnChecker, StaleReadAfterCompletionNeedsTheRealtimeOrder) {
  History h;
  Ok(h, 0, "[[:append :x 1]]");
  Ok(h, 1, "[[:r :x []]]");  // invoked after the append completed
  Ok(h, 2, "[[:r :x [1]]]");
  EXPECT_EQ(Check(h, Consistency::kSerializable).verdict, Verdict::kValid);
  EXPECT_EQ(Check(h, Consistency::kStrongSessionSerializable).verdict, Verdict::kValid);
  TxnResult r = Check(h, Consistency::kStrictSerializable);
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  EXPECT_EQ(r.anomaly_types, std::vector<std::string>{"G-single-realtime"}) << r.Explain();

  History concurrent;  // the read overlaps the append: fine
  Invoke(concurrent, 0, "[[:append :x 1]]");
  Invoke(concurrent, 1, "[[:r :x nil]]");
  Complete(concurrent, 0, OpType::kOk, "[[:append :x 1]]");
  Complete(concurrent, 1, OpType::kOk, "[[:r :x []]]");
  Ok(concurrent, 2, "[[:r :x [1]]]");
  EXPECT_EQ(Check(concurrent, Consistency::kStrictSerializable).verdict, Verdict::kValid);
}

TEST(TxnChecker, StaleReadInOneProcessNeedsTheProcessOrder) {
  History h;
  Invoke(h, 1, "[[:r :y nil]]");  // keeps the two txns of process 0 concurrent with something
  Ok(h, 0, "[[:append :x 1]]");
  Ok(h, 0, "[[:r :x []]]");
  Complete(h, 1, OpType::kOk, "[[:r :y []]]");
  Ok(h, 2, "[[:r :x [1]]]");
  EXPECT_EQ(Check(h, Consistency::kSerializable).verdict, Verdict::kValid);
  TxnResult r = Check(h, Consistency::kStrongSessionSerializable);
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  EXPECT_EQ(r.anomaly_types, std::vector<std::string>{"G-single-process"}) << r.Explain();
}

TEST(TxnChecker, RwRegisterCyclesAndReads) {
  History g1c;
  Ok(g1c, 0, "[[:w :x 1] [:r :y 1]]");
  Ok(g1c, 1, "[[:w :y 1] [:r :x 1]]");
  TxnResult r = Check(g1c, Consistency::kReadCommitted, Workload::kRwRegister);
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  EXPECT_EQ(r.anomaly_types, std::vector<std::string>{"G1c"});

  History skew;  // both read nil, each writes what the other read
  Ok(skew, 0, "[[:r :x nil] [:w :y 1]]");
  Ok(skew, 1, "[[:r :y nil] [:w :x 1]]");
  r = Check(skew, Consistency::kSerializable, Workload::kRwRegister);
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  EXPECT_EQ(r.anomaly_types, std::vector<std::string>{"G2-item"});
  EXPECT_EQ(Check(skew, Consistency::kSnapshotIsolation).verdict, Verdict::kValid);

  History single;  // T0 reads x = 1 (T1's) and y = nil, but T1 wrote y too; T2 orders 1 < 2
  Ok(single, 1, "[[:w :x 1] [:w :y 1]]");
  Ok(single, 0, "[[:r :x 1] [:r :y nil]]");
  r = Check(single, Consistency::kSnapshotIsolation, Workload::kRwRegister);
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  EXPECT_EQ(r.anomaly_types, std::vector<std::string>{"G-single"});

  History aborted;
  Invoke(aborted, 0, "[[:w :x 1]]");
  Complete(aborted, 0, OpType::kFail, "[[:w :x 1]]");
  Ok(aborted, 1, "[[:r :x 1]]");
  Ok(aborted, 2, "[[:w :y 1] [:w :y 2]]");
  Ok(aborted, 3, "[[:r :y 1]]");
  Ok(aborted, 4, "[[:w :z 1] [:r :z 2]]");
  r = Check(aborted, Consistency::kReadCommitted, Workload::kRwRegister);
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  EXPECT_TRUE(Has(r, "G1a"));
  EXPECT_TRUE(Has(r, "G1b"));
  EXPECT_TRUE(Has(r, "internal"));
}

TEST(TxnChecker, BadInputIsAnInputErrorNamingTheOp) {
  History dup;
  Ok(dup, 0, "[[:append :x 1]]");
  Ok(dup, 1, "[[:append :x 1]]");
  TxnResult r = Check(dup, Consistency::kSerializable);
  EXPECT_TRUE(r.input_error);
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.cause.find("unique"), std::string::npos) << r.cause;

  History mixed;
  Ok(mixed, 0, "[[:append :x 1] [:w :x 2]]");
  r = Check(mixed, Consistency::kSerializable);
  EXPECT_TRUE(r.input_error);
  EXPECT_NE(r.cause.find("op 1"), std::string::npos) << r.cause;

  History wrong;
  Ok(wrong, 0, "[[:w :x 1]]");
  EXPECT_TRUE(Check(wrong, Consistency::kSerializable, Workload::kListAppend).input_error);
  History shape;
  Ok(shape, 0, "[[:append :x]]");
  EXPECT_TRUE(Check(shape, Consistency::kSerializable).input_error);
}

TEST(TxnChecker, ReadsJepsenEdnHistories) {
  const std::string edn =
      "{:type :invoke, :f :txn, :value [[:append 5 1] [:r 6 nil]], :process 0, :index 0}\n"
      "{:type :invoke, :f :txn, :value [[:append 6 1] [:r 5 nil]], :process 1, :index 1}\n"
      "{:type :ok, :f :txn, :value [[:append 5 1] [:r 6 []]], :process 0, :index 2}\n"
      "{:type :ok, :f :txn, :value [[:append 6 1] [:r 5 []]], :process 1, :index 3}\n"
      "{:type :invoke, :f :txn, :value [[:r 5 nil] [:r 6 nil]], :process 0, :index 4}\n"
      "{:type :ok, :f :txn, :value [[:r 5 [1]] [:r 6 [1]]], :process 0, :index 5}\n";
  auto reader = history::EdnReaderFromString(edn, "skew.edn");
  TxnOptions o;
  TxnResult r = CheckTxnStream(*reader, o);
  EXPECT_EQ(r.verdict, Verdict::kInvalid) << r.cause;
  EXPECT_EQ(r.anomaly_types, std::vector<std::string>{"G2-item"});
  EXPECT_NE(r.Explain().find("did not yet hold 1"), std::string::npos) << r.Explain();
  EXPECT_EQ(r.stats.committed, 3);
}

TEST(TxnGraph, TarjanAndShortestCycle) {
  // 0 -> 1 -> 2 -> 0 and 2 -> 3 -> 4 -> 3; 5 alone.
  Graph g(6, {{0, 1, -1, kWw},
              {1, 2, -1, kWw},
              {2, 0, -1, kRw},
              {2, 3, -1, kWw},
              {3, 4, -1, kWw},
              {4, 3, -1, kWr}});
  Walker w(g);
  std::vector<int32_t> comp(6, -1);
  auto all = w.Components(kDataEdges, &comp);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(all[1], (std::vector<int32_t>{0, 1, 2}));
  std::vector<int32_t> ww_only(6, -1);
  EXPECT_TRUE(w.Components(kWw, &ww_only).empty());
  int64_t steps = 0;
  auto cycle = w.ShortestPath(0, 0, kDataEdges, Scope{&comp, comp[0]}, &steps, 1000);
  ASSERT_TRUE(cycle.has_value());
  EXPECT_EQ(cycle->size(), 3u);
  steps = 0;
  EXPECT_FALSE(w.ShortestPath(0, 0, kDataEdges, Scope{&comp, comp[0]}, &steps, 2).has_value());
}

}  // namespace
}  // namespace chaos::checker::txn
