// Core: one Multi-Paxos replica of the register cluster as a pure,
// deterministic state machine (the shape of etcd raft's RawNode).
//
// Protocol: Lamport, "Paxos Made Simple" (2001) §2 for one slot and §3 for
// the log of slots ("Multi-Paxos": a distinguished proposer runs phase 1 once
// for every slot not known chosen and then only phase 2 per slot), with the
// engineering of Chandra, Griesemer, Redstone, "Paxos Made Live" (2007):
// leader leases, snapshots, and a periodic checksum of the replicated state
// agreed through the log (§5.1 database consistency). Leader stability uses
// Raft's pre-vote and check-quorum (Ongaro, PhD thesis, 2014, §9.6, §6.2).
//
// Inputs:   Step(message), Tick(), Propose(command), SetNow(ns) for leases.
// Output:   TakeReady(): records to persist and sync, then messages to send,
//           then replies to deliver (see types.h `Ready` and README.md).
// The core has no threads, does no I/O and reads no clock; all randomness
// comes from Config::seed. Every invariant is a CHAOS_CHECK (on in release).
//
// Divergence (a checksum mismatch, or a slot learned chosen with two different
// values) makes the core halt: fatal() becomes non-empty and every later
// input is ignored. A driver must then stop the process (the server
// CHAOS_CHECKs it; the simulator reports the run as failed).
//
// Thread safety: none; one thread drives a Core.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "target/core/state_machine.h"
#include "target/core/types.h"

namespace chaos::core {

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
const char* RoleName(Role role);

// Counts distinct voters of one membership toward a majority of its voters;
// the one place quorums are decided. A vote counts only from a voter at its
// pinned incarnation (Membership::Counts): a learner's, a removed node's or a
// wiped node's reply is no vote.
class QuorumCounter {
 public:
  QuorumCounter() = default;
  QuorumCounter(Membership members, const Bugs* bugs) : members_(std::move(members)), bugs_(bugs) {}
  // Records a vote; returns true when this vote completes the quorum.
  bool Add(NodeId voter, int64_t incarnation);
  bool reached() const;
  int count() const { return count_; }
  bool has(NodeId voter) const { return voters_.contains(voter); }
  static int QuorumSize(int voters, const Bugs& bugs);

 private:
  Membership members_;
  const Bugs* bugs_ = nullptr;
  std::set<NodeId> voters_;
  int count_ = 0;  // distinct voters (or every vote, under count-duplicate-acks)
};

// What this node may do as an acceptor under the membership it has applied.
enum class Standing : uint8_t {
  kVoter,    // promises and accepts
  kLearner,  // a learner: accepts and promises, counts in no quorum, never campaigns
  kOutside,  // not a member, disk intact: as a learner (it may still be a
             // voter of the slots before its removal)
  kNone,     // a wiped disk not yet re-added: refuses every Prepare and Accept
};
const char* StandingName(Standing standing);

class Core {
 public:
  // Starts from `restored` (the fold of synced records; default-constructed on
  // first boot). Checks the configuration.
  Core(Config config, const PersistentState& restored);

  // Inputs. Each may add to the pending Ready.
  void Step(const Message& message);
  void Tick();
  void Propose(const Command& command);
  // Starts an election now, as if the election timeout had passed (tests,
  // scripted scenarios, a leadership transfer).
  void Campaign();
  // The driver's clock (ns, monotonic for this node); used by lease reads only.
  void SetNow(int64_t now_ns);

  bool HasReady() const { return !ready_.empty(); }
  Ready TakeReady();

  // Introspection (tests, simulator, server status).
  NodeId id() const { return config_.self; }
  Role role() const { return role_; }
  bool is_leader() const { return role_ == Role::kLeader; }
  // At the leader: a membership change proposed, queued or taken over in
  // phase 1 and not applied yet (the simulator's administrator waits for it).
  bool ConfigChangeInFlight() const;
  Ballot promised() const { return promised_; }
  Ballot ballot() const { return ballot_; }
  NodeId leader_hint() const;
  Slot chosen_prefix() const { return chosen_prefix_; }
  Slot applied() const { return sm_.applied(); }
  const StateMachine& state() const { return sm_; }
  const std::string& fatal() const { return fatal_; }
  const Config& config() const { return config_; }
  // The membership in effect for the next slot (the register's Members call).
  const Membership& members() const { return sm_.members(); }
  Standing standing() const;
  // The nodes whose promises this candidate (or leader: the ones it was
  // elected by) counted in its last phase 1, in id order.
  std::vector<NodeId> phase1_quorum() const;
  // What the last BecomeLeader did with the slots it took over: values it
  // adopted from the promises, and slots it filled with a no-op, counting
  // those where its own log held an accepted value it did not adopt.
  struct Takeover {
    int64_t adopted = 0;
    int64_t noops = 0;
    int64_t noops_over_own = 0;
  };
  const Takeover& last_takeover() const { return takeover_; }
  // Lease length in clock ns for this configuration (0 if leases are off).
  int64_t LeaseNs() const;

 private:
  struct Inflight {  // a slot this leader proposed and has not seen chosen
    Batch batch;
    QuorumCounter acks;
  };
  struct PendingRead {  // read-index / lease read waiting for confirmation
    Command command;
    Slot read_index;
    int64_t round_needed = 0;
  };

  // Acceptor (phase 1b / 2b).
  bool CanPromise(Ballot b) const;
  void SetPromised(Ballot b);
  void OnPrepare(const Message& m, const Prepare& p);
  void OnAccept(const Message& m, const Accept& a);
  void OnHeartbeat(const Message& m, const Heartbeat& h);
  void OnPreVote(const Message& m, const PreVote& v);
  void OnLearn(const Message& m, const Learn& l);
  void OnInstallSnapshot(const Message& m, const InstallSnapshot& s);
  void BuildPromise(Slot first, std::vector<PromiseEntry>* entries,
                    std::optional<Snapshot>* snapshot) const;
  void HeardFromLeader(Ballot b, NodeId leader);
  void LearnCommit(Ballot b, Slot commit);
  void AfterInput();
  // Proposer / leader.
  void OnPreVoteReply(const Message& m, const PreVoteReply& r);
  void OnPromise(const Message& m, const Promise& p);
  void OnAccepted(const Message& m, const Accepted& a);
  void OnHeartbeatReply(const Message& m, const HeartbeatReply& r);
  void StartPreVote();
  void StartPhase1();
  void BecomeLeader();
  void BecomeFollower(Ballot seen);
  void ProposeSlot(Slot slot, Batch batch);
  void SendAccept(NodeId to, Slot slot, const Batch& batch);
  void FlushPending();
  void BroadcastHeartbeat();
  void OnRoundConfirmed(int64_t round, int64_t sent_ns);
  void SendCatchUp(NodeId to, Slot their_prefix);
  void MergePromise(const std::vector<PromiseEntry>& entries,
                    const std::optional<Snapshot>& snapshot);
  // Membership changes (README.md, "Membership").
  std::vector<Membership> Phase1Memberships() const;
  bool Phase1Complete() const;
  void SendPrepares();
  void ProposeTakeover();
  void AfterConfigApplied();
  void MaybePin();
  void NotePeer(const Message& m);
  bool ConfigPending() const;
  void ProposeConfig(const Command& c);
  Membership Bootstrap() const;
  std::vector<NodeId> Recipients() const;  // every member but this node
  void ServeReads();
  void HandleRejection(Ballot promised);
  Ballot NextBallot() const;
  // Learning and applying.
  void MarkChosen(Slot slot, const Batch& batch);
  void ApplyChosen();
  void InstallSnapshotState(const Snapshot& snapshot);
  void MaybeSnapshot();
  void Halt(std::string why);
  void ResetElectionTimer();
  bool LeaderContactRecent() const;
  void Send(NodeId to, MessageBody body);
  void ReplyTo(const Command& c, ReplyStatus status, std::optional<int64_t> value);
  // The membership this leader counts quorums in (the applied one; under
  // --bug config-before-chosen, with its unchosen changes already in).
  const Membership& counting_members() const {
    return early_members_ ? *early_members_ : sm_.members();
  }
  QuorumCounter NewCounter() const { return QuorumCounter(counting_members(), &config_.bugs); }

  Config config_;
  std::mt19937_64 rng_;
  Ready ready_;
  std::string fatal_;
  int64_t now_ns_ = 0;

  // Acceptor state (durable through records).
  Ballot promised_;
  std::map<Slot, LogEntry> log_;  // slots > sm_.applied() or not yet compacted
  Slot snapshot_slot_;            // last snapshot taken or installed

  // Learner state.
  Slot chosen_prefix_;  // every slot <= chosen_prefix_ is chosen
  StateMachine sm_;

  // Election state.
  Role role_ = Role::kFollower;
  int election_elapsed_ticks_ = 0;
  int election_timeout_ticks_ = 0;  // randomized
  int leader_contact_elapsed_ticks_ = 0;
  QuorumCounter prevotes_;
  Ballot ballot_;    // this node's ballot as (pre)candidate or leader
  Ballot max_seen_;  // highest ballot of another node that rejected us
  NodeId known_leader_;
  std::vector<std::pair<NodeId, int64_t>> promise_votes_;  // (node, incarnation), every ok Promise
  std::set<NodeId> prepared_to_;                           // phase 1a sent this ballot
  Slot phase1_first_;
  Takeover takeover_;
  std::map<Slot, PromiseEntry> phase1_best_;  // highest-ballot (or chosen) value per slot
  std::optional<Snapshot> phase1_snapshot_;

  // Leader state.
  Slot next_slot_{1};
  Slot adopted_through_;  // last slot this leader adopted (or filled) in phase 1
  std::map<Slot, Inflight> inflight_;
  std::deque<Command> pending_;
  std::set<std::pair<int64_t, int64_t>> waiting_;  // (client, seq) proposed via this node
  int heartbeat_elapsed_ticks_ = 0;
  int check_quorum_elapsed_ticks_ = 0;
  std::map<NodeId, int64_t> recent_active_;  // node -> incarnation
  int64_t heartbeat_round_ = 0;
  std::map<int64_t, std::pair<QuorumCounter, int64_t>> round_acks_;  // round -> acks, sent_ns
  int64_t confirmed_round_ = 0;
  int64_t lease_until_ns_ = 0;
  bool heartbeat_soon_ = false;
  std::vector<PendingRead> reads_;
  std::map<NodeId, Slot> follower_prefix_;  // from heartbeat replies (promotion check)
  // Membership changes at the leader: the slot of the change proposed and not
  // yet applied (Slot{0}: none; nothing is proposed after it until it is),
  // the slots taken over in phase 1 still to propose (held behind such a
  // change), the incarnations heard from unpinned members.
  Slot config_slot_;
  std::deque<std::pair<Slot, Batch>> takeover_queue_;
  std::map<NodeId, int64_t> pin_wanted_;
  std::optional<Membership> early_members_;  // --bug config-before-chosen only
  bool config_applied_ = false;              // a change was applied since AfterInput
  int64_t last_checksum_slot_ = 0;
};

}  // namespace chaos::core
