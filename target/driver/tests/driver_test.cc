// Tests of the driver on MemEnv: what it acknowledges survives a power loss,
// its persist policy syncs exactly the batches with acceptor state, it writes
// snapshot files and recovers from them, it refuses another node's directory,
// it keeps the disk's incarnation in IDENTITY, and the lazy-accept canary loses an acknowledged
// write.
#include "target/driver/driver.h"

#include <gtest/gtest.h>

#include <deque>
#include <optional>

namespace chaos::driver {
namespace {

// A one-node cluster on an in-memory disk: its own messages come back to it
// as inputs, as the server's self inbox does.
class OneNode : public Clock, public Transport, public ReplySink {
 public:
  explicit OneNode(DriverOptions options = {}) : options_(std::move(options)) {
    options_.data_dir = "data";
    options_.cluster_id = "test";
  }
  int64_t LeaseNowNs() override { return now_ns_; }
  void Send(const core::Message& m) override {
    sent_incarnations_.push_back(m.incarnation);
    inbox_.push_back(m);
  }
  void Deliver(const core::Reply& r) override { replies_.push_back(r); }

  Status Open(int node_id = 0, int cluster_size = 1) {
    core::Config c;
    c.self = core::NodeId{node_id};
    c.nodes = {core::NodeId{node_id}};
    for (int i = 0; i < cluster_size; ++i) {
      if (i != node_id) c.nodes.push_back(core::NodeId{i});
    }
    c.snapshot_interval_slots = 8;
    driver_.reset();
    inbox_.clear();
    DriverEnv env{&disk_, this, this, this, nullptr, nullptr};
    auto opened = Driver::Open(options_, c, env);
    if (!opened.ok()) return opened.status();
    driver_ = std::move(opened).value();
    return Status::Ok();
  }
  void PowerLoss() {
    driver_.reset();
    disk_.PowerLoss();
  }
  // Delivers its own messages and ticks, `rounds` times.
  void Run(int rounds) {
    for (int i = 0; i < rounds; ++i) {
      while (!inbox_.empty()) {
        core::Message m = inbox_.front();
        inbox_.pop_front();
        driver_->Step(m);
        ASSERT_TRUE(driver_->Process().ok());
      }
      now_ns_ += 10'000'000;
      driver_->Tick();
      ASSERT_TRUE(driver_->Process().ok());
    }
  }
  void ElectSelf() {
    for (int i = 0; i < 100 && !driver_->core().is_leader(); ++i) Run(1);
    ASSERT_TRUE(driver_->core().is_leader());
  }
  // Proposes and runs until its reply comes.
  std::optional<core::Reply> Do(core::Command c) {
    replies_.clear();
    driver_->Propose(c);
    EXPECT_TRUE(driver_->Process().ok());
    for (int i = 0; i < 20 && replies_.empty(); ++i) Run(1);
    if (replies_.empty()) return std::nullopt;
    return replies_.back();
  }
  core::Command Write(int64_t client, int64_t seq, int64_t value) {
    core::Command c;
    c.client_id = client;
    c.seq = seq;
    c.op = core::OpKind::kWrite;
    c.key = "k";
    c.value = value;
    return c;
  }
  std::optional<int64_t> Read(int64_t client) {
    core::Command c;
    c.client_id = client;
    c.seq = 1;
    c.op = core::OpKind::kRead;
    c.key = "k";
    auto r = Do(c);
    EXPECT_TRUE(r && r->status == core::ReplyStatus::kOk);
    return r ? r->value : std::nullopt;
  }

  storage::MemEnv disk_;
  DriverOptions options_;
  std::unique_ptr<Driver> driver_;
  std::deque<core::Message> inbox_;
  std::vector<int64_t> sent_incarnations_;
  std::vector<core::Reply> replies_;
  int64_t now_ns_ = 1'000'000'000;
};

// Proves every write acknowledged before a power loss is there after recovery.
TEST(DriverTest, AcknowledgedWritesSurvivePowerLoss) {
  OneNode n;
  ASSERT_TRUE(n.Open().ok());
  n.ElectSelf();
  for (int64_t seq = 1; seq <= 30; ++seq) {
    auto r = n.Do(n.Write(1, seq, seq * 10));
    ASSERT_TRUE(r && r->status == core::ReplyStatus::kOk) << seq;
  }
  n.PowerLoss();
  ASSERT_TRUE(n.Open().ok());
  n.ElectSelf();
  EXPECT_EQ(n.Read(2), 300);
}

// Proves the default policy syncs a batch with an acceptance and leaves a
// batch of learned values unsynced; kSyncEveryBatch syncs that one too. The
// node is a follower of three, fed the leader's messages by hand.
TEST(DriverTest, PersistPolicySyncsAcceptorStateOnly) {
  for (PersistPolicy policy : {PersistPolicy::kSyncAcceptorState, PersistPolicy::kSyncEveryBatch}) {
    DriverOptions o;
    o.policy = policy;
    OneNode n(o);
    ASSERT_TRUE(n.Open(0, 3).ok());
    core::Ballot ballot{1, core::NodeId{1}};
    core::Batch batch{{n.Write(1, 1, 5)}};
    n.driver_->Step(core::Message{core::NodeId{1}, core::NodeId{0},
                                  core::Accept{ballot, core::Slot{1}, batch, core::Slot{1}}});
    ASSERT_TRUE(n.driver_->Process().ok());
    EXPECT_EQ(n.driver_->stats().syncs, 1);
    EXPECT_TRUE(n.driver_->last_batch_synced());
    int64_t records = n.driver_->stats().records;
    n.driver_->Step(
        core::Message{core::NodeId{1}, core::NodeId{0}, core::Heartbeat{ballot, core::Slot{2}, 1}});
    ASSERT_TRUE(n.driver_->Process().ok());
    EXPECT_EQ(n.driver_->stats().records - records, 1);  // slot 1 learned chosen
    bool every = policy == PersistPolicy::kSyncEveryBatch;
    EXPECT_EQ(n.driver_->stats().syncs, every ? 2 : 1);
    EXPECT_EQ(n.driver_->last_batch_synced(), every);
  }
}

// Proves the canary: with lazy-accept an acknowledged write is lost by a
// power loss (the simulator's `--bug lazy-accept` must find the same).
TEST(DriverTest, LazyAcceptLosesAnAcknowledgedWrite) {
  DriverOptions o;
  o.bugs.lazy_accept = true;
  OneNode n(o);
  ASSERT_TRUE(n.Open().ok());
  n.ElectSelf();
  n.Run(5);
  auto r = n.Do(n.Write(1, 1, 7));
  ASSERT_TRUE(r && r->status == core::ReplyStatus::kOk);
  n.PowerLoss();
  ASSERT_TRUE(n.Open().ok());
  n.ElectSelf();
  EXPECT_EQ(n.Read(2), std::nullopt);
}

// Proves snapshot files are written, the WAL is compacted behind them, and a
// node recovers from a snapshot plus the WAL after it.
TEST(DriverTest, SnapshotsCompactTheWalAndRecover) {
  DriverOptions o;
  o.snapshot_wal_bytes = 512;
  o.wal_segment_bytes = 256;
  OneNode n(o);
  ASSERT_TRUE(n.Open().ok());
  n.ElectSelf();
  for (int64_t seq = 1; seq <= 60; ++seq) {
    ASSERT_TRUE(n.Do(n.Write(1, seq, seq)).has_value());
  }
  EXPECT_GT(n.driver_->stats().snapshots, 0);
  auto snaps = n.disk_.ListDir("data/snap");
  ASSERT_TRUE(snaps.ok());
  EXPECT_EQ(snaps->size(), 1u);
  auto segments = n.disk_.ListDir("data/wal");
  ASSERT_TRUE(segments.ok());
  EXPECT_LT(segments->size(), 10u);
  n.PowerLoss();
  ASSERT_TRUE(n.Open().ok());
  n.ElectSelf();
  EXPECT_EQ(n.Read(2), 60);
}

// Proves a data directory of another node is refused with an error naming IDENTITY.
TEST(DriverTest, RefusesAnotherNodesDirectory) {
  OneNode n;
  ASSERT_TRUE(n.Open(0).ok());
  n.driver_.reset();
  Status s = n.Open(1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("data/IDENTITY"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("belongs to node 0"), std::string::npos) << s.ToString();
}

// Proves the incarnation comes from IDENTITY: a new directory draws one
// (> 1, or DriverOptions::new_incarnation), a recovery keeps it, a wiped
// disk gets a new one, and the core's messages carry it.
TEST(DriverTest, IncarnationLivesInIdentity) {
  OneNode n;
  ASSERT_TRUE(n.Open().ok());
  int64_t drawn = n.driver_->incarnation();
  EXPECT_GT(drawn, 1);
  n.ElectSelf();
  ASSERT_FALSE(n.sent_incarnations_.empty());
  for (int64_t inc : n.sent_incarnations_) EXPECT_EQ(inc, drawn);
  n.PowerLoss();
  ASSERT_TRUE(n.Open().ok());
  EXPECT_EQ(n.driver_->incarnation(), drawn);

  OneNode wiped;
  wiped.options_.new_incarnation = 7;
  ASSERT_TRUE(wiped.Open().ok());
  EXPECT_EQ(wiped.driver_->incarnation(), 7);
  wiped.PowerLoss();
  wiped.options_.new_incarnation = 8;  // only a new directory takes it
  ASSERT_TRUE(wiped.Open().ok());
  EXPECT_EQ(wiped.driver_->incarnation(), 7);
}

}  // namespace
}  // namespace chaos::driver
