// Unit tests of the consensus core: quorums, the record fold, the state
// machine's exactly-once sessions, and small clusters on a controlled network.
#include "target/core/core.h"

#include <gtest/gtest.h>

#include "target/core/state_machine.h"
#include "target/core/tests/test_cluster.h"

namespace chaos::core {
namespace {

using testing::Cas;
using testing::Read;
using testing::TestCluster;
using testing::Write;

// Proves a quorum is a strict majority of distinct ids, and what each quorum bug changes.
TEST(QuorumTest, MajorityOfDistinctIds) {
  Bugs none;
  EXPECT_EQ(QuorumCounter::QuorumSize(3, none), 2);
  EXPECT_EQ(QuorumCounter::QuorumSize(5, none), 3);
  QuorumCounter q(5, &none);
  EXPECT_FALSE(q.Add(NodeId{1}));
  EXPECT_FALSE(q.Add(NodeId{1}));  // a repeated reply does not count
  EXPECT_FALSE(q.Add(NodeId{2}));
  EXPECT_TRUE(q.Add(NodeId{3}));
  EXPECT_FALSE(q.Add(NodeId{4}));  // reached once only
  Bugs dup;
  dup.count_duplicate_acks = true;
  QuorumCounter d(5, &dup);
  d.Add(NodeId{1});
  d.Add(NodeId{1});
  EXPECT_TRUE(d.Add(NodeId{1}));
  Bugs off;
  off.majority_off_by_one = true;
  EXPECT_EQ(QuorumCounter::QuorumSize(3, off), 1);
}

// Proves the record fold keeps the promise, accepts and chosen values, and compacts behind a
// snapshot.
TEST(PersistentStateTest, FoldAndCompaction) {
  PersistentState s;
  Batch b{{Write(1, 1, "k", 5)}};
  s.Apply(PromiseRecord{Ballot{2, NodeId{1}}});
  s.Apply(AcceptRecord{Slot{1}, Ballot{2, NodeId{1}}, b});
  s.Apply(AcceptRecord{Slot{2}, Ballot{2, NodeId{1}}, Batch{}});
  s.Apply(ChosenRecord{Slot{1}, b});
  EXPECT_EQ(s.promised, (Ballot{2, NodeId{1}}));
  ASSERT_EQ(s.log.size(), 2u);
  EXPECT_TRUE(s.log[Slot{1}].chosen);
  Snapshot snap;
  snap.slot = Slot{1};
  snap.registers["k"] = 5;
  s.Apply(SnapshotRecord{snap});
  EXPECT_EQ(s.log.size(), 1u);
  EXPECT_EQ(s.log.begin()->first, Slot{2});
  s.Apply(AcceptRecord{Slot{1}, Ballot{3, NodeId{0}}, Batch{}});  // behind the snapshot: ignored
  EXPECT_EQ(s.log.size(), 1u);
}

// Proves a retried command is applied once and gets the recorded reply; a failed cas reports the
// current value.
TEST(StateMachineTest, ExactlyOnceAndCas) {
  StateMachine sm(4);
  std::string mismatch;
  auto r1 = sm.Apply(Slot{1}, Batch{{Write(1, 1, "k", 1)}}, &mismatch);
  ASSERT_EQ(r1.size(), 1u);
  EXPECT_EQ(r1[0].status, ReplyStatus::kOk);
  Command cas = Cas(1, 2, "k", 1, 2);
  auto r2 = sm.Apply(Slot{2}, Batch{{cas, cas}}, &mismatch);  // the same command twice
  EXPECT_EQ(r2[0], r2[1]);
  EXPECT_EQ(sm.Get("k"), 2);
  auto r3 = sm.Apply(Slot{3}, Batch{{Cas(2, 1, "k", 7, 9), Read(3, 1, "absent")}}, &mismatch);
  EXPECT_EQ(r3[0].status, ReplyStatus::kFail);
  EXPECT_EQ(r3[0].value, 2);
  EXPECT_EQ(r3[1].status, ReplyStatus::kOk);
  EXPECT_FALSE(r3[1].value.has_value());
  EXPECT_TRUE(mismatch.empty());
}

// Proves sessions are bounded and a retry from an evicted session is not applied twice.
TEST(StateMachineTest, EvictedSessionRetryIsUnknown) {
  StateMachine sm(2);
  std::string mismatch;
  sm.Apply(Slot{1}, Batch{{Write(1, 1, "k", 1)}}, &mismatch);
  sm.Apply(Slot{2}, Batch{{Write(2, 1, "k", 2)}}, &mismatch);
  sm.Apply(Slot{3}, Batch{{Write(3, 1, "k", 3)}}, &mismatch);  // evicts client 1
  EXPECT_EQ(sm.snapshot().sessions.size(), 2u);
  Command retry = Write(1, 1, "k", 1);
  retry.retry = true;
  auto r = sm.Apply(Slot{4}, Batch{{retry}}, &mismatch);
  EXPECT_EQ(r[0].status, ReplyStatus::kUnknown);
  EXPECT_EQ(sm.Get("k"), 3);
}

// Proves the Chubby-style checksum command detects a replica whose state differs.
TEST(StateMachineTest, ChecksumMismatchIsReported) {
  StateMachine a, b;
  std::string mismatch;
  a.Apply(Slot{1}, Batch{{Write(1, 1, "k", 1)}}, &mismatch);
  b.Apply(Slot{1}, Batch{{Write(1, 1, "k", 2)}}, &mismatch);
  a.RecordChecksum();
  b.RecordChecksum();
  Command c;
  c.op = OpKind::kChecksum;
  c.from = 1;
  c.value = static_cast<int64_t>(*a.ChecksumAt(1));
  a.Apply(Slot{2}, Batch{{c}}, &mismatch);
  EXPECT_TRUE(mismatch.empty());
  b.Apply(Slot{2}, Batch{{c}}, &mismatch);
  EXPECT_NE(mismatch.find("checksum of slot 1"), std::string::npos);
}

// Proves a 3-node cluster elects one leader, chooses commands, replies, and followers apply them.
TEST(CoreTest, ThreeNodesChooseAndApply) {
  TestCluster c(3);
  int leader = c.ElectLeader();
  ASSERT_GE(leader, 0);
  c.Propose(leader, Write(7, 1, "x", 42));
  c.DeliverAll();
  c.Propose(leader, Read(7, 2, "x"));
  c.DeliverAll();
  c.TickAll(4);  // heartbeats carry the commit index to followers
  ASSERT_EQ(c.replies().size(), 2u);
  EXPECT_EQ(c.replies()[1].status, ReplyStatus::kOk);
  EXPECT_EQ(c.replies()[1].value, 42);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.node(i).state().Get("x"), 42) << "node " << i;
  EXPECT_FALSE(c.agreement_violated());
}

// Proves a follower answers kNotLeader with the leader as hint.
TEST(CoreTest, FollowerRedirects) {
  TestCluster c(3);
  int leader = c.ElectLeader();
  ASSERT_GE(leader, 0);
  c.TickAll(3);
  int follower = (leader + 1) % 3;
  c.Propose(follower, Write(1, 1, "x", 1));
  ASSERT_EQ(c.replies().size(), 1u);
  EXPECT_EQ(c.replies()[0].status, ReplyStatus::kNotLeader);
  EXPECT_EQ(c.replies()[0].leader_hint, NodeId{leader});
}

// Proves many commands proposed at once are batched into fewer slots than commands.
TEST(CoreTest, BatchingAndPipelining) {
  Config base;
  base.max_batch_commands = 8;
  base.pipeline_window_slots = 2;
  TestCluster c(3, base);
  int leader = c.ElectLeader();
  ASSERT_GE(leader, 0);
  Slot before = c.node(leader).chosen_prefix();
  for (int i = 1; i <= 40; ++i) c.node(leader).Propose(Write(100 + i, 1, "k", i));
  c.Drain(leader);
  c.DeliverAll();
  EXPECT_EQ(c.replies().size(), 40u);
  int64_t slots = c.node(leader).chosen_prefix().value - before.value;
  EXPECT_LE(slots, 40 / 8 + 2 + 1);  // + checksum commands
  EXPECT_GE(slots, 5);
}

// Proves a restarted replica rebuilds its state from synced records.
TEST(CoreTest, RestartRecoversFromRecords) {
  TestCluster c(3);
  int leader = c.ElectLeader();
  ASSERT_GE(leader, 0);
  for (int i = 1; i <= 5; ++i) {
    c.Propose(leader, Write(1, i, "k", i));
    c.DeliverAll();
  }
  c.TickAll(3);
  int f = (leader + 1) % 3;
  c.Crash(f);
  c.Start(f);
  EXPECT_EQ(c.node(f).state().Get("k"), 5);
}

// Cuts a follower off while the leader chooses 30 writes of "k"; returns it.
int LagOneFollower(TestCluster& c, int leader) {
  int lag = (leader + 1) % 3;
  c.Isolate(lag);
  for (int i = 1; i <= 30; ++i) {
    c.Propose(leader, Write(1, i, "k", i));
    c.DeliverAll();
  }
  return lag;
}

// Proves a replica far behind a compacted log catches up by snapshot.
TEST(CoreTest, LaggingReplicaCatchesUpBySnapshot) {
  Config base;
  base.snapshot_interval_slots = 4;
  TestCluster c(3, base);
  int leader = c.ElectLeader();
  ASSERT_GE(leader, 0);
  int lag = LagOneFollower(c, leader);
  EXPECT_NE(c.node(lag).state().Get("k"), 30);
  c.Heal();
  c.TickAll(6);
  EXPECT_EQ(c.node(lag).state().Get("k"), 30);
  EXPECT_GT(c.disk(lag).snapshot.slot.value, 0);
  EXPECT_FALSE(c.agreement_violated());
}

// Proves a replica that lags by less than the catch-up tail gets the chosen
// values by Learn although the leader has taken snapshots past its prefix.
TEST(CoreTest, LaggingReplicaWithinTheTailCatchesUpByLearn) {
  Config base;
  base.snapshot_interval_slots = 4;
  base.catchup_tail_slots = 64;
  TestCluster c(3, base);
  int leader = c.ElectLeader();
  ASSERT_GE(leader, 0);
  int lag = LagOneFollower(c, leader);
  EXPECT_GT(c.disk(leader).snapshot.slot.value, c.node(lag).chosen_prefix().value);
  c.Heal();
  int snapshots_sent = 0;
  for (int t = 0; t < 6; ++t) {
    for (int i = 0; i < 3; ++i) {
      c.node(i).Tick();
      c.Drain(i);
    }
    while (!c.network().empty()) {
      snapshots_sent += std::holds_alternative<InstallSnapshot>(c.network().front().body);
      c.DeliverOne();
    }
  }
  EXPECT_EQ(c.node(lag).state().Get("k"), 30);
  EXPECT_EQ(c.node(lag).chosen_prefix(), c.node(leader).chosen_prefix());
  EXPECT_EQ(snapshots_sent, 0);
  EXPECT_FALSE(c.agreement_violated());
}

// Proves read-index reads are answered by the leader after a quorum round, without a log slot.
TEST(CoreTest, ReadIndexReadsSkipTheLog) {
  Config base;
  base.read_mode = ReadMode::kReadIndex;
  TestCluster c(3, base);
  int leader = c.ElectLeader();
  ASSERT_GE(leader, 0);
  c.Propose(leader, Write(1, 1, "k", 9));
  c.DeliverAll();
  Slot before = c.node(leader).chosen_prefix();
  c.Propose(leader, Read(2, 1, "k"));
  EXPECT_EQ(c.replies().size(), 1u);  // not yet: waits for the quorum round
  c.DeliverAll();
  ASSERT_EQ(c.replies().size(), 2u);
  EXPECT_EQ(c.replies()[1].value, 9);
  EXPECT_EQ(c.node(leader).chosen_prefix(), before);
}

// Proves an isolated leader steps down (check quorum) and cannot serve read-index reads.
TEST(CoreTest, IsolatedLeaderStepsDown) {
  Config base;
  base.read_mode = ReadMode::kReadIndex;
  TestCluster c(3, base);
  int leader = c.ElectLeader();
  ASSERT_GE(leader, 0);
  c.Isolate(leader);
  c.Propose(leader, Read(2, 1, "k"));
  c.TickAll(2 * base.election_timeout_ticks + 2);
  EXPECT_FALSE(c.node(leader).is_leader());
  bool served = false;
  for (const Reply& r : c.replies()) served |= r.status == ReplyStatus::kOk;
  EXPECT_FALSE(served);
}

}  // namespace
}  // namespace chaos::core
