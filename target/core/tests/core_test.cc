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

Membership Voters(std::initializer_list<int> ids) {
  Membership m;
  for (int id : ids) m.voters.push_back(Member{NodeId{id}, 0});
  return m;
}

// Proves a quorum is a strict majority of distinct ids, and what each quorum bug changes.
TEST(QuorumTest, MajorityOfDistinctIds) {
  Bugs none;
  EXPECT_EQ(QuorumCounter::QuorumSize(3, none), 2);
  EXPECT_EQ(QuorumCounter::QuorumSize(5, none), 3);
  QuorumCounter q(Voters({0, 1, 2, 3, 4}), &none);
  EXPECT_FALSE(q.Add(NodeId{1}, 1));
  EXPECT_FALSE(q.Add(NodeId{1}, 1));  // a repeated reply does not count
  EXPECT_FALSE(q.Add(NodeId{2}, 1));
  EXPECT_TRUE(q.Add(NodeId{3}, 1));
  EXPECT_FALSE(q.Add(NodeId{4}, 1));  // reached once only
  Bugs dup;
  dup.count_duplicate_acks = true;
  QuorumCounter d(Voters({0, 1, 2, 3, 4}), &dup);
  d.Add(NodeId{1}, 1);
  d.Add(NodeId{1}, 1);
  EXPECT_TRUE(d.Add(NodeId{1}, 1));
  Bugs off;
  off.majority_off_by_one = true;
  EXPECT_EQ(QuorumCounter::QuorumSize(3, off), 1);
}

// Proves only voters at their pinned incarnation count: not learners, not
// non-members, not a wiped node's new incarnation (unless --bug wiped-node-votes).
TEST(QuorumTest, OnlyVotersAtTheirIncarnationCount) {
  Membership m = Voters({0, 1, 2});
  m.voters[2].incarnation = 7;
  m.learners.push_back(Member{NodeId{3}, 1});
  Bugs none;
  QuorumCounter q(m, &none);
  EXPECT_FALSE(q.Add(NodeId{3}, 1));  // learner
  EXPECT_FALSE(q.Add(NodeId{9}, 1));  // not a member
  EXPECT_FALSE(q.Add(NodeId{2}, 8));  // wiped: a new incarnation
  EXPECT_EQ(q.count(), 0);
  EXPECT_FALSE(q.Add(NodeId{2}, 7));
  EXPECT_TRUE(q.Add(NodeId{0}, 4));  // unpinned: any incarnation
  Bugs wiped;
  wiped.wiped_node_votes = true;
  QuorumCounter w(m, &wiped);
  EXPECT_FALSE(w.Add(NodeId{2}, 8));
  EXPECT_TRUE(w.Add(NodeId{1}, 1));
}

// Proves each membership change moves at most one voter and refuses what does not apply.
TEST(MembershipTest, OneVoterPerChange) {
  Membership m = Voters({0, 1, 2});
  EXPECT_EQ(ApplyMemberChange(testing::Change(1, 1, "learner", 3, 5), &m), "");
  EXPECT_EQ(ToString(m), "voters=[0 1 2] learners=[3@5]");
  EXPECT_NE(ApplyMemberChange(testing::Change(1, 2, "learner", 3), &m), "");
  EXPECT_NE(ApplyMemberChange(testing::Change(1, 2, "promote", 2), &m), "");
  EXPECT_EQ(ApplyMemberChange(testing::Change(1, 2, "promote", 3), &m), "");
  EXPECT_EQ(ApplyMemberChange(testing::Change(1, 3, "remove", 0), &m), "");
  EXPECT_EQ(ApplyMemberChange(testing::Change(1, 4, "pin", 1, 9), &m), "");
  EXPECT_NE(ApplyMemberChange(testing::Change(1, 5, "pin", 1, 10), &m), "");  // pinned already
  EXPECT_NE(ApplyMemberChange(testing::Change(1, 5, "grow", 1), &m), "");
  EXPECT_EQ(ToString(m), "voters=[1@9 2 3@5] learners=[]");
  Membership one = Voters({4});
  EXPECT_NE(ApplyMemberChange(testing::Change(1, 1, "remove", 4), &one), "");  // last voter
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

// Runs `change` at the current leader until it is answered; returns its reply status.
ReplyStatus ChangeMembers(TestCluster& c, const Command& change) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    int leader = c.ElectLeader();
    if (leader < 0) continue;
    c.replies().clear();
    c.Propose(leader, change);
    c.TickAll(6);
    for (const Reply& r : c.replies()) {
      if (r.client_id == change.client_id && r.seq == change.seq &&
          r.status != ReplyStatus::kNotLeader) {
        return r.status;
      }
    }
  }
  return ReplyStatus::kUnknown;
}

std::string MembersAt(TestCluster& c, int i) { return ToString(c.node(i).members()); }

// Proves the leader pins every bootstrap member to the incarnation it hears from.
TEST(MembershipTest, LeaderPinsIncarnations) {
  TestCluster c(3);
  ASSERT_GE(c.ElectLeader(), 0);
  c.TickAll(6);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(MembersAt(c, i), "voters=[0@1 1@1 2@1] learners=[]");
}

// Proves a node outside the bootstrap membership joins as a learner that
// catches up (it votes in nothing), is refused promotion while it lags, is
// promoted once caught up, and then counts in quorums (4 voters: 3 needed).
TEST(MembershipTest, AddLearnerCatchUpThenPromote) {
  TestCluster c(3, Config{}, /*spares=*/1);
  int leader = c.ElectLeader();
  ASSERT_GE(leader, 0);
  for (int s = 1; s <= 5; ++s) c.Propose(leader, Write(1, s, "x", s));
  c.TickAll(4);
  EXPECT_EQ(c.node(3).standing(), Standing::kNone);  // a spare starts joining
  EXPECT_EQ(c.node(3).applied().value, 0);           // not a member: nobody sends it anything
  EXPECT_EQ(ChangeMembers(c, testing::Change(9, 1, "learner", 3)), ReplyStatus::kOk);
  c.TickAll(10);
  EXPECT_EQ(c.node(3).standing(), Standing::kLearner);
  EXPECT_EQ(c.node(3).state().Get("x"), 5);
  EXPECT_EQ(MembersAt(c, 3), "voters=[0@1 1@1 2@1] learners=[3@1]");
  EXPECT_EQ(ChangeMembers(c, testing::Change(9, 2, "promote", 3)), ReplyStatus::kOk);
  c.TickAll(6);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(MembersAt(c, i), "voters=[0@1 1@1 2@1 3@1] learners=[]") << "node " << i;
  }
  EXPECT_EQ(c.node(3).standing(), Standing::kVoter);
  // Two of the original three down: 2 of 4 voters are no quorum.
  leader = c.ElectLeader();
  int down = 0;
  for (int i = 0; i < 3 && down < 2; ++i) {
    if (i != leader) {
      c.Crash(i);
      ++down;
    }
  }
  int64_t before = c.node(leader).chosen_prefix().value;
  c.Propose(leader, Write(1, 6, "x", 6));
  c.TickAll(3);
  EXPECT_EQ(c.node(leader).chosen_prefix().value, before);
  EXPECT_FALSE(c.agreement_violated());
}

// Proves a learner that lags is refused promotion (kFail), and a second change
// is refused while one is in flight.
TEST(MembershipTest, PromotionNeedsCatchUpAndOneChangeAtATime) {
  TestCluster c(3, Config{}, 1);
  int leader = c.ElectLeader();
  ASSERT_GE(leader, 0);
  c.TickAll(4);
  c.Isolate(3);
  EXPECT_EQ(ChangeMembers(c, testing::Change(9, 1, "learner", 3)), ReplyStatus::kOk);
  for (int s = 1; s <= 80; ++s) c.Propose(c.ElectLeader(), Write(1, s, "x", s));
  c.TickAll(10);
  EXPECT_EQ(ChangeMembers(c, testing::Change(9, 2, "promote", 3)), ReplyStatus::kFail);
  leader = c.ElectLeader();
  c.replies().clear();
  c.Propose(leader, testing::Change(9, 3, "remove", 3));
  c.Propose(leader, testing::Change(8, 1, "remove", 2));  // while the first is in flight
  ASSERT_GE(c.replies().size(), 1u);
  EXPECT_EQ(c.replies()[0].client_id, 8);
  EXPECT_EQ(c.replies()[0].status, ReplyStatus::kFail);
}

// Proves removing the leader: the change is chosen, the old leader steps down
// and never campaigns again, the rest elect a leader and keep choosing.
TEST(MembershipTest, RemoveTheLeader) {
  TestCluster c(3);
  int leader = c.ElectLeader();
  ASSERT_GE(leader, 0);
  c.TickAll(4);
  EXPECT_EQ(ChangeMembers(c, testing::Change(9, 1, "remove", leader)), ReplyStatus::kOk);
  c.TickAll(60);
  EXPECT_FALSE(c.node(leader).is_leader());
  EXPECT_EQ(c.node(leader).standing(), Standing::kOutside);
  int next = c.ElectLeader();
  ASSERT_GE(next, 0);
  ASSERT_NE(next, leader);
  c.Propose(next, Write(1, 1, "y", 7));
  c.TickAll(4);
  for (int i = 0; i < 3; ++i) {
    if (i != leader) {
      EXPECT_EQ(c.node(i).state().Get("y"), 7) << "node " << i;
    }
  }
  EXPECT_FALSE(c.node(leader).state().Get("y").has_value());  // no longer told anything
  EXPECT_FALSE(c.agreement_violated());
}

// Proves replacing a node (learner, promote, remove) and that the membership
// survives restarts of every node (it is in the log and in snapshots).
TEST(MembershipTest, ReplaceAndRestart) {
  Config base;
  base.snapshot_interval_slots = 4;
  TestCluster c(3, base, 1);
  ASSERT_GE(c.ElectLeader(), 0);
  c.TickAll(4);
  EXPECT_EQ(ChangeMembers(c, testing::Change(9, 1, "learner", 3)), ReplyStatus::kOk);
  c.TickAll(6);
  EXPECT_EQ(ChangeMembers(c, testing::Change(9, 2, "promote", 3)), ReplyStatus::kOk);
  EXPECT_EQ(ChangeMembers(c, testing::Change(9, 3, "remove", 1)), ReplyStatus::kOk);
  c.TickAll(6);
  std::string want = "voters=[0@1 2@1 3@1] learners=[]";
  for (int i : {0, 2, 3}) EXPECT_EQ(MembersAt(c, i), want) << "node " << i;
  for (int i = 0; i < 4; ++i) c.Crash(i);
  for (int i = 0; i < 4; ++i) c.Start(i);
  for (int i : {0, 2, 3}) EXPECT_EQ(MembersAt(c, i), want) << "node " << i << " after restart";
  int leader = c.ElectLeader();
  ASSERT_GE(leader, 0);
  EXPECT_NE(leader, 1);
  c.Propose(leader, Write(1, 1, "z", 3));
  c.TickAll(4);
  EXPECT_EQ(c.node(3).state().Get("z"), 3);
}

// Proves amnesia safety: a wiped node (new incarnation) refuses to promise or
// accept, even when asked directly, until a membership change re-adds it at
// its new incarnation; then it votes again.
TEST(MembershipTest, WipedNodeRefusesUntilReAdded) {
  TestCluster c(3);
  int leader = c.ElectLeader();
  ASSERT_GE(leader, 0);
  c.Propose(leader, Write(1, 1, "x", 1));
  c.TickAll(6);
  int wiped = (leader + 1) % 3;
  c.Wipe(wiped);
  // Even before it learns the membership: a wiped disk under an unpinned
  // bootstrap entry stands for nothing.
  EXPECT_EQ(c.node(wiped).standing(), Standing::kNone);
  c.TickAll(6);  // heartbeats: it catches up, learns it is pinned at incarnation 1
  EXPECT_EQ(c.node(wiped).state().Get("x"), 1);
  EXPECT_EQ(c.node(wiped).standing(), Standing::kNone);
  NodeId asker{(leader + 2) % 3};
  Ballot high{1000, asker};
  c.node(wiped).Step(Message{asker, NodeId{wiped}, Prepare{high, Slot{1}}, 1});
  c.node(wiped).Step(Message{asker, NodeId{wiped}, Accept{high, Slot{99}, Batch{}, Slot{1}}, 1});
  Ready r = c.node(wiped).TakeReady();
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_FALSE(std::get<Promise>(r.messages[0].body).ok);
  EXPECT_FALSE(std::get<Accepted>(r.messages[1].body).ok);
  for (const Record& rec : r.records) EXPECT_FALSE(std::holds_alternative<AcceptRecord>(rec));
  // Re-added at its new incarnation: remove, learner, promote.
  EXPECT_EQ(ChangeMembers(c, testing::Change(9, 1, "remove", wiped)), ReplyStatus::kOk);
  EXPECT_EQ(ChangeMembers(c, testing::Change(9, 2, "learner", wiped, c.incarnation(wiped))),
            ReplyStatus::kOk);
  c.TickAll(6);
  EXPECT_EQ(ChangeMembers(c, testing::Change(9, 3, "promote", wiped)), ReplyStatus::kOk);
  c.TickAll(6);
  EXPECT_EQ(c.node(wiped).standing(), Standing::kVoter);
  EXPECT_FALSE(c.agreement_violated());
}

// Proves a wiped disk's answer to a heartbeat confirms no read-index round:
// with the other follower down, a leader whose membership does not pin the
// wiped node yet has no quorum and serves no read (before 2026-12-06 it
// counted the answer and served reads from whatever it had applied).
TEST(CoreTest, WipedNodeConfirmsNoReadRound) {
  Config base;
  base.read_mode = ReadMode::kReadIndex;
  TestCluster c(3, base);
  c.Isolate(2);  // unheard, so not pinned by the leader
  int leader = c.ElectLeader();
  ASSERT_GE(leader, 0);
  c.TickAll(6);
  ASSERT_EQ(MembersAt(c, leader), "voters=[0@1 1@1 2] learners=[]");
  c.Crash(1 - leader);
  c.Wipe(2);
  EXPECT_EQ(c.node(2).standing(), Standing::kNone);
  c.Heal();
  c.replies().clear();
  c.Propose(leader, Read(2, 1, "k"));
  c.TickAll(base.election_timeout_ticks - 1);
  bool served = false;
  for (const Reply& r : c.replies()) served |= r.status == ReplyStatus::kOk;
  EXPECT_FALSE(served);
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
