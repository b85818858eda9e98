#include "target/server/codec.h"

#include <gtest/gtest.h>

namespace chaos::server {
namespace {

core::Batch SampleBatch() {
  core::Batch b;
  b.commands.push_back(core::Command{7, 3, core::OpKind::kCas, "k", 0, 1, 2});
  b.commands.push_back(core::Command{8, 1, core::OpKind::kWrite, "other", -5, 0, 0});
  b.commands.push_back(core::Command{9, 2, core::OpKind::kWrite, "k", 3, 0, 0, /*retry=*/true});
  b.commands.push_back(core::Command{0, 0, core::OpKind::kConfig, "pin", 2, 77, 0});
  return b;
}

core::Snapshot SampleSnapshot() {
  core::Snapshot s;
  s.slot = core::Slot{12};
  s.registers = {{"a", 1}, {"b", -2}};
  core::Session session;
  session.last_seq = 4;
  session.last_reply = core::Reply{9, 4, core::ReplyStatus::kFail, std::nullopt, core::NodeId{}};
  session.last_slot = 11;
  s.sessions[9] = session;
  s.members.voters = {core::Member{core::NodeId{0}, 0}, core::Member{core::NodeId{2}, 77}};
  s.members.learners = {core::Member{core::NodeId{1}, 5}};
  return s;
}

bool SameMessage(const core::Message& a, const core::Message& b) {
  peer_api::PeerMessage x, y;
  EncodeMessage(a, &x);
  EncodeMessage(b, &y);
  return x.SerializeAsString() == y.SerializeAsString();
}

// Proves every peer message kind survives encode/decode unchanged.
TEST(Codec, EveryMessageRoundTrips) {
  core::Ballot b{3, core::NodeId{1}};
  core::PromiseEntry e{core::Slot{5}, b, SampleBatch(), true};
  std::vector<core::MessageBody> bodies = {
      core::PreVote{b},
      core::PreVoteReply{b, true, core::Ballot{5, core::NodeId{2}}},
      core::Prepare{b, core::Slot{4}},
      core::Promise{b, false, core::Ballot{4, core::NodeId{2}}, {e}, SampleSnapshot()},
      core::Promise{b, true, core::Ballot{}, {}, std::nullopt},
      core::Accept{b, core::Slot{6}, SampleBatch(), core::Slot{5}},
      core::Accepted{b, core::Slot{6}, true, core::Ballot{}},
      core::Heartbeat{b, core::Slot{9}, 17},
      core::HeartbeatReply{b, 17, true, core::Ballot{}, core::Slot{8}},
      core::HeartbeatReply{b, 18, true, core::Ballot{}, core::Slot{2}, /*forgot=*/true},
      core::Learn{b, {e, e}},
      core::InstallSnapshot{b, SampleSnapshot()},
  };
  for (const auto& body : bodies) {
    core::Message m{core::NodeId{0}, core::NodeId{2}, body, 123};
    peer_api::PeerMessage wire;
    EncodeMessage(m, &wire);
    auto back = DecodeMessage(wire, 3);
    ASSERT_TRUE(back.ok()) << core::MessageName(body) << ": " << back.status().ToString();
    EXPECT_EQ(back->body.index(), body.index());
    EXPECT_TRUE(SameMessage(m, *back)) << core::MessageName(body);
  }
  // Spot-check decoded values, not just re-encoding.
  peer_api::PeerMessage wire;
  EncodeMessage(core::Message{core::NodeId{0}, core::NodeId{1}, bodies[3]}, &wire);
  EXPECT_EQ(DecodeMessage(wire, 3)->incarnation, 0);
  auto p = std::get<core::Promise>(DecodeMessage(wire, 3)->body);
  EXPECT_EQ(p.entries[0].batch, SampleBatch());
  EXPECT_EQ(*p.snapshot, SampleSnapshot());
  EXPECT_EQ(p.promised, (core::Ballot{4, core::NodeId{2}}));
  for (size_t i : {8, 9}) {
    peer_api::PeerMessage reply;
    EncodeMessage(core::Message{core::NodeId{0}, core::NodeId{1}, bodies[i]}, &reply);
    EXPECT_EQ(std::get<core::HeartbeatReply>(DecodeMessage(reply, 3)->body).forgot, i == 9);
  }
}

// Proves malformed peer messages are rejected, not passed to the core.
TEST(Codec, MalformedMessagesAreRejected) {
  peer_api::PeerMessage empty;
  empty.set_from(0);
  empty.set_to(1);
  EXPECT_FALSE(DecodeMessage(empty, 3).ok());  // no body
  peer_api::PeerMessage bad_node;
  EncodeMessage(core::Message{core::NodeId{0}, core::NodeId{7}, core::PreVote{}}, &bad_node);
  EXPECT_FALSE(DecodeMessage(bad_node, 3).ok());  // node 7 of 3
  peer_api::PeerMessage bad_slot;
  EncodeMessage(core::Message{core::NodeId{0}, core::NodeId{1},
                              core::Prepare{core::Ballot{1, core::NodeId{0}}, core::Slot{1}}},
                &bad_slot);
  bad_slot.mutable_prepare()->set_first_slot(-3);
  EXPECT_FALSE(DecodeMessage(bad_slot, 3).ok());
  peer_api::PeerMessage bad_op;
  EncodeMessage(core::Message{core::NodeId{0}, core::NodeId{1},
                              core::Accept{core::Ballot{1, core::NodeId{0}}, core::Slot{1},
                                           SampleBatch(), core::Slot{0}}},
                &bad_op);
  bad_op.mutable_accept()->mutable_batch()->mutable_commands(0)->set_op(99);
  EXPECT_FALSE(DecodeMessage(bad_op, 3).ok());
}

// Proves every WAL record kind and the snapshot state round-trip, and garbage is an error.
TEST(Codec, RecordsAndStateRoundTrip) {
  core::Ballot b{2, core::NodeId{0}};
  std::vector<core::Record> records = {
      core::PromiseRecord{b},
      core::AcceptRecord{core::Slot{13}, b, SampleBatch()},
      core::ChosenRecord{core::Slot{13}, SampleBatch()},
      core::SnapshotRecord{SampleSnapshot()},
  };
  core::PersistentState state;
  for (const auto& r : records) {
    auto back = DecodeRecord(EncodeRecord(r));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->index(), r.index());
    core::PersistentState a, c;
    a.Apply(r);
    c.Apply(*back);
    EXPECT_EQ(a, c);
    state.Apply(r);
  }
  auto s = DecodeState(EncodeState(state));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, state);
  EXPECT_FALSE(DecodeRecord("\xff\xff\xff").ok());
  EXPECT_FALSE(DecodeRecord("").ok());  // no kind
}

// Regression (found 2026-12-05 by the simulator once it ran the real codec):
// Command::retry was not encoded, so a follower applied a retried command
// that the leader refused (no session) and the replicas' checksums diverged.
TEST(Codec, CommandRetryFlagSurvivesMessagesAndRecords) {
  core::Ballot b{2, core::NodeId{0}};
  core::Message m{core::NodeId{0}, core::NodeId{1},
                  core::Accept{b, core::Slot{3}, SampleBatch(), core::Slot{2}}};
  peer_api::PeerMessage wire;
  EncodeMessage(m, &wire);
  auto back = DecodeMessage(wire, 3);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(std::get<core::Accept>(back->body).batch, SampleBatch());
  auto record = DecodeRecord(EncodeRecord(core::AcceptRecord{core::Slot{3}, b, SampleBatch()}));
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(std::get<core::AcceptRecord>(*record).batch, SampleBatch());
}

}  // namespace
}  // namespace chaos::server
