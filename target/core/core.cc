#include "target/core/core.h"

#include <algorithm>
#include <type_traits>

#include "base/check.h"

namespace chaos::core {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "?";
}

const char* StandingName(Standing standing) {
  switch (standing) {
    case Standing::kVoter:
      return "voter";
    case Standing::kLearner:
      return "learner";
    case Standing::kOutside:
      return "outside";
    case Standing::kNone:
      return "none";
  }
  return "?";
}

// ---------------------------------------------------------------------------
// Quorums: a majority of the distinct voters of one membership ("Paxos Made
// Simple" §2.2: any two majorities of the same set intersect). The only place
// a quorum size is computed.

int QuorumCounter::QuorumSize(int voters, const Bugs& bugs) {
  if (bugs.majority_off_by_one) return voters / 2;
  return voters / 2 + 1;
}

bool QuorumCounter::reached() const {
  CHAOS_CHECK(bugs_ != nullptr);
  return count_ >= QuorumSize(static_cast<int>(members_.voters.size()), *bugs_);
}

bool QuorumCounter::Add(NodeId voter, int64_t incarnation) {
  CHAOS_CHECK(bugs_ != nullptr);
  bool counts =
      bugs_->wiped_node_votes ? members_.IsVoter(voter) : members_.Counts(voter, incarnation);
  if (!counts) return false;
  bool before = reached();
  bool fresh = voters_.insert(voter).second;
  if (fresh || bugs_->count_duplicate_acks) ++count_;
  int size = static_cast<int>(members_.voters.size());
  CHAOS_CHECK_MSG(bugs_->count_duplicate_acks || count_ <= size, "%d votes among %d voters", count_,
                  size);
  return !before && reached();
}

// ---------------------------------------------------------------------------

Core::Core(Config config, const PersistentState& restored)
    : config_(std::move(config)), sm_(config_.max_sessions) {
  CHAOS_CHECK(config_.self.valid());
  CHAOS_CHECK_MSG(!config_.nodes.empty() && config_.nodes.size() <= 64, "%zu nodes",
                  config_.nodes.size());
  std::set<NodeId> distinct(config_.nodes.begin(), config_.nodes.end());
  CHAOS_CHECK_MSG(distinct.size() == config_.nodes.size(), "node ids repeat");
  CHAOS_CHECK_MSG(config_.incarnation > 0, "incarnation %lld",
                  static_cast<long long>(config_.incarnation));
  CHAOS_CHECK(config_.heartbeat_ticks >= 1);
  CHAOS_CHECK(config_.election_timeout_ticks > 2 * config_.heartbeat_ticks);
  CHAOS_CHECK(config_.max_batch_commands >= 1 && config_.pipeline_window_slots >= 1);
  CHAOS_CHECK(config_.snapshot_interval_slots >= 1 && config_.checksum_interval_slots >= 1);
  CHAOS_CHECK(config_.catchup_tail_slots >= 0);
  CHAOS_CHECK(config_.max_catchup_slots >= 1 && config_.max_sessions >= 1);
  if (config_.read_mode == ReadMode::kLease) {
    CHAOS_CHECK_MSG(config_.max_clock_drift > 0 && config_.max_clock_drift < 0.5,
                    "lease reads need 0 < max_clock_drift < 0.5, got %f", config_.max_clock_drift);
  }
  rng_.seed(config_.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(config_.self.value));
  promised_ = restored.promised;
  sm_.Restore(restored.snapshot);
  if (sm_.members().empty()) sm_.SetMembers(Bootstrap());
  prevotes_ = NewCounter();
  snapshot_slot_ = restored.snapshot.slot;
  chosen_prefix_ = restored.snapshot.slot;
  for (const auto& [slot, entry] : restored.log) {
    CHAOS_CHECK_MSG(slot > snapshot_slot_, "log slot %lld behind snapshot %lld",
                    static_cast<long long>(slot.value),
                    static_cast<long long>(snapshot_slot_.value));
    log_[slot] = entry;
  }
  while (true) {
    auto it = log_.find(chosen_prefix_.next());
    if (it == log_.end() || !it->second.chosen) break;
    chosen_prefix_ = it->first;
  }
  next_slot_ = chosen_prefix_.next();
  if (!log_.empty()) next_slot_ = std::max(next_slot_, log_.rbegin()->first.next());
  ApplyChosen();
  ResetElectionTimer();
  // A restarted node behaves as if it just heard from a leader: it may have
  // promised a lease holder, before the crash, not to help elect another.
  leader_contact_elapsed_ticks_ = 0;
}

Membership Core::Bootstrap() const {
  Membership m;
  for (NodeId n : config_.nodes) m.voters.push_back(Member{n, 0});
  std::sort(m.voters.begin(), m.voters.end(),
            [](const Member& a, const Member& b) { return a.id < b.id; });
  return m;
}

Standing Core::standing() const {
  const Membership& m = sm_.members();
  const Member* me = m.Find(config_.self);
  // A wiped disk stands for nothing until the membership pins it (re-added);
  // before that its votes could contradict promises it forgot.
  bool pinned_here = me != nullptr && me->incarnation == config_.incarnation;
  bool forgot =
      config_.joining ? !pinned_here : me != nullptr && me->incarnation != 0 && !pinned_here;
  if (forgot && !config_.bugs.wiped_node_votes) return Standing::kNone;
  if (me == nullptr) return Standing::kOutside;
  return m.IsVoter(config_.self) ? Standing::kVoter : Standing::kLearner;
}

Ready Core::TakeReady() {
  Ready r = std::move(ready_);
  ready_ = Ready{};
  return r;
}

void Core::SetNow(int64_t now_ns) {
  CHAOS_CHECK_MSG(now_ns >= now_ns_, "clock went back from %lld to %lld",
                  static_cast<long long>(now_ns_), static_cast<long long>(now_ns));
  now_ns_ = now_ns;
}

NodeId Core::leader_hint() const {
  if (is_leader()) return config_.self;
  return known_leader_;
}

int64_t Core::LeaseNs() const {
  if (config_.read_mode != ReadMode::kLease) return 0;
  // Followers refuse to help elect another leader for election_timeout_ticks
  // of their own ticks after hearing from the leader; a tick may come right
  // after the message, so count one tick less. Their clock may run fast by
  // (1 + d) and ours slow by (1 - d): the lease must end first in real time.
  double promise_ns = static_cast<double>(config_.election_timeout_ticks - 1) *
                      static_cast<double>(config_.tick_ns);
  if (config_.bugs.stale_lease_read) return static_cast<int64_t>(promise_ns);
  double d = config_.max_clock_drift;
  return static_cast<int64_t>(promise_ns * (1 - d) / (1 + d));
}

void Core::Halt(std::string why) {
  if (fatal_.empty()) fatal_ = "node " + std::to_string(config_.self.value) + ": " + why;
}

void Core::ResetElectionTimer() {
  election_elapsed_ticks_ = 0;
  int t = config_.election_timeout_ticks;
  election_timeout_ticks_ = t + static_cast<int>(rng_() % static_cast<uint64_t>(t));
}

bool Core::LeaderContactRecent() const {
  return is_leader() || leader_contact_elapsed_ticks_ < config_.election_timeout_ticks;
}

void Core::Send(NodeId to, MessageBody body) {
  ready_.messages.push_back(Message{config_.self, to, std::move(body), config_.incarnation});
}

void Core::ReplyTo(const Command& c, ReplyStatus status, std::optional<int64_t> value) {
  ready_.replies.push_back(Reply{c.client_id, c.seq, status, value, leader_hint()});
}

// ---------------------------------------------------------------------------
// Inputs.

void Core::Step(const Message& m) {
  if (!fatal_.empty()) return;
  CHAOS_CHECK_MSG(m.to == config_.self, "message for %d delivered to %d", m.to.value,
                  config_.self.value);
  CHAOS_CHECK_MSG(m.from.valid(), "message from %d", m.from.value);
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, PreVote>) OnPreVote(m, body);
        if constexpr (std::is_same_v<T, PreVoteReply>) OnPreVoteReply(m, body);
        if constexpr (std::is_same_v<T, Prepare>) OnPrepare(m, body);
        if constexpr (std::is_same_v<T, Promise>) OnPromise(m, body);
        if constexpr (std::is_same_v<T, Accept>) OnAccept(m, body);
        if constexpr (std::is_same_v<T, Accepted>) OnAccepted(m, body);
        if constexpr (std::is_same_v<T, Heartbeat>) OnHeartbeat(m, body);
        if constexpr (std::is_same_v<T, HeartbeatReply>) OnHeartbeatReply(m, body);
        if constexpr (std::is_same_v<T, Learn>) OnLearn(m, body);
        if constexpr (std::is_same_v<T, InstallSnapshot>) OnInstallSnapshot(m, body);
      },
      m.body);
  AfterInput();
}

void Core::Tick() {
  if (!fatal_.empty()) return;
  if (is_leader()) {
    if (++heartbeat_elapsed_ticks_ >= config_.heartbeat_ticks) BroadcastHeartbeat();
    // Check quorum (Raft thesis §6.2): a leader that has not heard from a
    // quorum for an election timeout steps down, so a partitioned leader
    // stops accepting commands and serving reads.
    if (++check_quorum_elapsed_ticks_ >= config_.election_timeout_ticks) {
      check_quorum_elapsed_ticks_ = 0;
      QuorumCounter active = NewCounter();
      active.Add(config_.self, config_.incarnation);
      for (const auto& [node, incarnation] : recent_active_) active.Add(node, incarnation);
      bool healthy = active.reached();
      recent_active_.clear();
      if (!healthy) BecomeFollower(Ballot{});
    }
  } else {
    if (leader_contact_elapsed_ticks_ < config_.election_timeout_ticks) {
      ++leader_contact_elapsed_ticks_;
    }
    // Only a voter campaigns: a learner, a removed node or a wiped one waits.
    if (++election_elapsed_ticks_ >= election_timeout_ticks_ && standing() == Standing::kVoter) {
      StartPreVote();
    }
  }
  AfterInput();
}

void Core::Propose(const Command& c) {
  if (!fatal_.empty()) return;
  CHAOS_CHECK_MSG(c.client_id > 0 && c.seq > 0 && c.op != OpKind::kChecksum,
                  "command client %lld seq %lld", static_cast<long long>(c.client_id),
                  static_cast<long long>(c.seq));
  if (!is_leader()) {
    ReplyTo(c, ReplyStatus::kNotLeader, std::nullopt);
    return;
  }
  if (c.op == OpKind::kConfig) {
    ProposeConfig(c);
  } else if (c.op == OpKind::kRead && config_.read_mode != ReadMode::kLog) {
    if (static_cast<int>(reads_.size()) >= config_.max_pending_commands) return;  // dropped
    // Read index (Raft thesis §6.4): every write that completed before this
    // read is chosen at or below max(chosen prefix, the slots this leader
    // adopted in phase 1); commands still in flight need not be waited for.
    PendingRead r{c, std::max(chosen_prefix_, adopted_through_), heartbeat_round_ + 1};
    if (config_.read_mode == ReadMode::kLease && now_ns_ < lease_until_ns_) r.round_needed = 0;
    if (r.round_needed > 0) heartbeat_soon_ = true;
    reads_.push_back(r);
  } else {
    auto key = std::make_pair(c.client_id, c.seq);
    if (waiting_.contains(key)) return;  // already on its way; one reply will come
    if (static_cast<int>(pending_.size()) >= config_.max_pending_commands) return;  // dropped
    pending_.push_back(c);
    waiting_.insert(key);
  }
  AfterInput();
}

void Core::Campaign() {
  if (!fatal_.empty() || is_leader() || standing() != Standing::kVoter) return;
  StartPreVote();
  AfterInput();
}

std::vector<NodeId> Core::phase1_quorum() const {
  std::set<NodeId> voters;
  for (const auto& [node, incarnation] : promise_votes_) voters.insert(node);
  return {voters.begin(), voters.end()};
}

void Core::AfterInput() {
  // Each round proposes at most one membership change (nothing is proposed
  // behind an unapplied one), so the rounds are bounded by the work queued.
  size_t rounds_max = pending_.size() + takeover_queue_.size() + 2;
  for (size_t round = 0; fatal_.empty() && round < rounds_max; ++round) {
    if (config_applied_) {
      config_applied_ = false;
      AfterConfigApplied();
    }
    if (!is_leader()) return;
    ProposeTakeover();
    MaybePin();
    FlushPending();
    if (!config_applied_) break;
  }
  if (!fatal_.empty() || !is_leader()) return;
  if (heartbeat_soon_) BroadcastHeartbeat();
  ServeReads();
}

// ---------------------------------------------------------------------------
// Acceptor ("Paxos Made Simple" §2.2, phase 1b and 2b).

bool Core::CanPromise(Ballot b) const {
  if (config_.bugs.promise_geq) return b >= promised_;
  return b > promised_;
}

void Core::SetPromised(Ballot b) {
  if (b <= promised_) return;
  promised_ = b;
  if (!config_.bugs.forget_promise) ready_.records.push_back(PromiseRecord{b});
}

void Core::BuildPromise(Slot first, std::vector<PromiseEntry>* entries,
                        std::optional<Snapshot>* snapshot) const {
  Slot from = first;
  if (sm_.applied() >= first) {
    *snapshot = sm_.snapshot();
    from = sm_.applied().next();
  }
  for (auto it = log_.lower_bound(from); it != log_.end(); ++it) {
    const LogEntry& e = it->second;
    if (e.chosen) {
      entries->push_back(PromiseEntry{it->first, e.accepted_ballot, e.chosen_batch, true});
    } else if (!e.accepted_ballot.is_zero()) {
      entries->push_back(PromiseEntry{it->first, e.accepted_ballot, e.accepted, false});
    }
  }
}

void Core::OnPrepare(const Message& m, const Prepare& p) {
  // Raft thesis §4.2.3: while a leader is heard from, refuse to help elect
  // another. This is also the followers' side of the read lease. The leader
  // itself may run phase 1 again (after a membership change). A wiped disk
  // refuses until it is re-added; any other node promises (its promise
  // counts only where it is a voter: a removed node may still be one for
  // slots before its removal).
  bool leader_again = m.from == known_leader_ && !is_leader();
  if (!CanPromise(p.ballot) || (LeaderContactRecent() && !leader_again) ||
      standing() == Standing::kNone) {
    Send(m.from, Promise{p.ballot, false, promised_, {}, std::nullopt});
    return;
  }
  SetPromised(p.ballot);
  if (role_ != Role::kFollower && p.ballot != ballot_) BecomeFollower(p.ballot);
  Promise reply{p.ballot, true, promised_, {}, std::nullopt};
  BuildPromise(p.first_slot, &reply.entries, &reply.snapshot);
  Send(m.from, std::move(reply));
}

void Core::HeardFromLeader(Ballot b, NodeId leader) {
  SetPromised(b);
  if (role_ != Role::kFollower) BecomeFollower(b);
  known_leader_ = leader;
  leader_contact_elapsed_ticks_ = 0;
  election_elapsed_ticks_ = 0;
}

void Core::OnAccept(const Message& m, const Accept& a) {
  // Accept only if n >= promised, and not as a wiped disk (learners and
  // removed nodes accept: their acceptance counts only where they vote).
  if (a.ballot < promised_ || standing() == Standing::kNone) {
    Send(m.from, Accepted{a.ballot, a.slot, false, promised_});
    return;
  }
  HeardFromLeader(a.ballot, m.from);
  auto it = log_.find(a.slot);
  bool known_chosen = a.slot <= sm_.applied() || (it != log_.end() && it->second.chosen);
  if (!known_chosen) {
    // Already chosen slots keep their value: any higher ballot proposes the
    // chosen value (P2c), so acknowledging without storing is safe.
    LogEntry& e = log_[a.slot];
    e.accepted_ballot = a.ballot;
    e.accepted = a.batch;
    ready_.records.push_back(AcceptRecord{a.slot, a.ballot, a.batch});
  }
  Send(m.from, Accepted{a.ballot, a.slot, true, promised_});
  LearnCommit(a.ballot, a.commit);
}

void Core::OnHeartbeat(const Message& m, const Heartbeat& h) {
  if (h.ballot < promised_) {
    Send(m.from, HeartbeatReply{h.ballot, h.round, false, promised_, chosen_prefix_});
    return;
  }
  HeardFromLeader(h.ballot, m.from);
  LearnCommit(h.ballot, h.commit);
  HeartbeatReply reply{h.ballot, h.round, true, promised_, chosen_prefix_};
  // A wiped disk may have promised a higher ballot than this one and
  // forgotten it: a leader behind the membership that pins this node would
  // count its answer for a read-index round or a lease (a stale read, found
  // by the simulator with null reads checked as values, 2026-12-06).
  reply.forgot = standing() == Standing::kNone;
  Send(m.from, reply);
}

void Core::OnPreVote(const Message& m, const PreVote& v) {
  // Any node with its disk grants: one that lags may not know yet that it
  // is a voter, and the candidate counts only voters.
  bool granted = !LeaderContactRecent() && CanPromise(v.ballot) && standing() != Standing::kNone;
  Send(m.from, PreVoteReply{v.ballot, granted, promised_});
}

// A slot whose accepted ballot equals the leader's is chosen with that value
// once the leader says every slot below `commit` is chosen: a leader proposes
// one value per slot per ballot.
void Core::LearnCommit(Ballot b, Slot commit) {
  // Collect first: marking a slot chosen applies it and may compact the log.
  std::vector<std::pair<Slot, Batch>> learned;
  for (auto it = log_.upper_bound(chosen_prefix_); it != log_.end() && it->first < commit; ++it) {
    if (!it->second.chosen && it->second.accepted_ballot == b) {
      learned.emplace_back(it->first, it->second.accepted);
    }
  }
  for (const auto& [slot, batch] : learned) MarkChosen(slot, batch);
}

void Core::OnLearn(const Message& m, const Learn& l) {
  if (l.ballot >= promised_) HeardFromLeader(l.ballot, m.from);
  for (const PromiseEntry& e : l.entries) {
    CHAOS_CHECK(e.chosen);
    if (e.slot > sm_.applied()) MarkChosen(e.slot, e.batch);
  }
}

void Core::OnInstallSnapshot(const Message& m, const InstallSnapshot& s) {
  if (s.ballot >= promised_) HeardFromLeader(s.ballot, m.from);
  InstallSnapshotState(s.snapshot);
}

// ---------------------------------------------------------------------------
// Election: pre-vote, then phase 1 once for every slot not known chosen.

Ballot Core::NextBallot() const {
  // The lowest ballot of ours that our own acceptor would promise and that is
  // above every ballot we saw rejected us.
  Ballot b{std::max<int64_t>({promised_.round, max_seen_.round, 1}), config_.self};
  while (!CanPromise(b) || b <= max_seen_) ++b.round;
  return b;
}

void Core::StartPreVote() {
  if (is_leader()) return;
  role_ = Role::kPreCandidate;
  ResetElectionTimer();
  ballot_ = NextBallot();
  prevotes_ = NewCounter();
  if (prevotes_.Add(config_.self, config_.incarnation)) {
    StartPhase1();
    return;
  }
  for (const Member& n : sm_.members().voters) {
    if (n.id != config_.self) Send(n.id, PreVote{ballot_});
  }
}

void Core::OnPreVoteReply(const Message& m, const PreVoteReply& r) {
  if (r.promised > max_seen_ && r.promised.node != config_.self) max_seen_ = r.promised;
  if (role_ != Role::kPreCandidate || r.ballot != ballot_ || !r.granted) return;
  if (prevotes_.Add(m.from, m.incarnation)) StartPhase1();
}

void Core::StartPhase1() {
  role_ = Role::kCandidate;
  ResetElectionTimer();
  ballot_ = NextBallot();
  CHAOS_CHECK(CanPromise(ballot_));
  known_leader_ = NodeId{};
  promise_votes_.clear();
  prepared_to_.clear();
  phase1_first_ = chosen_prefix_.next();
  phase1_best_.clear();
  phase1_snapshot_.reset();
  // Values this node knows chosen above its prefix count as promised ones,
  // so that a membership change among them is known from the start.
  for (auto it = log_.upper_bound(chosen_prefix_); it != log_.end(); ++it) {
    if (it->second.chosen) {
      phase1_best_[it->first] = PromiseEntry{it->first, Ballot{}, it->second.chosen_batch, true};
    }
  }
  SendPrepares();
}

// The memberships in effect for the slots this candidate takes over: the one
// after its chosen prefix (or after the newest snapshot a promise carried),
// then the one after each membership change among the values it would adopt
// in slot order. A value chosen in a slot was accepted by a majority of the
// voters in effect for that slot, so a candidate must hear from a majority of
// each of them (README.md, "Membership": phase 1 across memberships).
std::vector<Membership> Core::Phase1Memberships() const {
  Membership m = sm_.members();
  Slot from = phase1_first_;
  if (phase1_snapshot_) {
    m = phase1_snapshot_->members;
    from = phase1_snapshot_->slot.next();
  }
  std::vector<Membership> out{m};
  if (config_.bugs.phase1_one_config) return out;
  for (auto it = phase1_best_.lower_bound(from); it != phase1_best_.end(); ++it) {
    for (const Command& c : it->second.batch.commands) {
      if (c.op == OpKind::kConfig && ApplyMemberChange(c, &m).empty()) out.push_back(m);
    }
  }
  return out;
}

bool Core::Phase1Complete() const {
  for (const Membership& m : Phase1Memberships()) {
    QuorumCounter q(m, &config_.bugs);
    for (const auto& [node, incarnation] : promise_votes_) q.Add(node, incarnation);
    if (!q.reached()) return false;
  }
  return true;
}

// Phase 1a goes to every voter of every membership involved, this node's own
// acceptor included (through the driver, like any message): the promises
// decide, and they need not include this node's own.
void Core::SendPrepares() {
  for (const Membership& m : Phase1Memberships()) {
    for (const Member& v : m.voters) {
      if (prepared_to_.insert(v.id).second) Send(v.id, Prepare{ballot_, phase1_first_});
    }
  }
}

// "Paxos Made Simple" §2.2 (P2c): per slot, the value accepted with the
// highest ballot among the quorum's promises; a value known chosen wins.
void Core::MergePromise(const std::vector<PromiseEntry>& entries,
                        const std::optional<Snapshot>& snapshot) {
  if (snapshot && snapshot->slot >= phase1_first_ &&
      (!phase1_snapshot_ || snapshot->slot > phase1_snapshot_->slot)) {
    phase1_snapshot_ = snapshot;
  }
  for (const PromiseEntry& e : entries) {
    if (e.slot < phase1_first_) continue;
    auto it = phase1_best_.find(e.slot);
    if (it == phase1_best_.end()) {
      phase1_best_[e.slot] = e;
    } else if (it->second.chosen) {
      if (e.chosen && e.batch != it->second.batch) {
        Halt("slot " + std::to_string(e.slot.value) + " reported chosen with two values");
      }
    } else if (e.chosen || e.ballot > it->second.ballot) {
      it->second = e;
    }
  }
}

void Core::OnPromise(const Message& m, const Promise& p) {
  if (!p.ok) {
    if (p.promised > ballot_ && role_ != Role::kFollower) HandleRejection(p.promised);
    return;
  }
  if (role_ != Role::kCandidate || p.ballot != ballot_) return;
  bool fresh = std::none_of(promise_votes_.begin(), promise_votes_.end(),
                            [&](const auto& v) { return v.first == m.from; });
  if (fresh) MergePromise(p.entries, p.snapshot);
  NotePeer(m);
  if (fresh || config_.bugs.count_duplicate_acks)
    promise_votes_.emplace_back(m.from, m.incarnation);
  SendPrepares();  // the promise may reveal a membership change
  if (Phase1Complete()) BecomeLeader();
}

void Core::BecomeLeader() {
  CHAOS_CHECK(role_ == Role::kCandidate);
  role_ = Role::kLeader;
  known_leader_ = config_.self;
  if (phase1_snapshot_ && phase1_snapshot_->slot > sm_.applied()) {
    InstallSnapshotState(*phase1_snapshot_);
  }
  Slot last = std::max(chosen_prefix_, Slot{next_slot_.value - 1});
  if (!phase1_best_.empty()) last = std::max(last, phase1_best_.rbegin()->first);
  next_slot_ = last.next();
  adopted_through_ = last;
  inflight_.clear();
  round_acks_.clear();
  confirmed_round_ = heartbeat_round_;
  lease_until_ns_ = 0;
  recent_active_.clear();
  check_quorum_elapsed_ticks_ = 0;
  config_slot_ = Slot{};
  early_members_.reset();
  takeover_queue_.clear();
  // Adopt, per slot not known chosen, the highest-ballot value; fill gaps with
  // no-ops. Values known chosen are learned first; the rest are proposed in
  // slot order, none behind a membership change until it is applied.
  takeover_ = Takeover{};
  std::vector<std::pair<Slot, Batch>> chosen;
  for (Slot s = chosen_prefix_.next(); s <= last; s = s.next()) {
    auto own = log_.find(s);
    if (own != log_.end() && own->second.chosen) continue;
    auto best = phase1_best_.find(s);
    if (best != phase1_best_.end() && best->second.chosen) {
      chosen.emplace_back(s, best->second.batch);
    } else if (best != phase1_best_.end()) {
      ++takeover_.adopted;
      takeover_queue_.emplace_back(s, best->second.batch);
    } else {
      ++takeover_.noops;
      if (own != log_.end() && !own->second.accepted.commands.empty()) ++takeover_.noops_over_own;
      takeover_queue_.emplace_back(s, Batch{});
    }
  }
  phase1_best_.clear();
  phase1_snapshot_.reset();
  for (const auto& [slot, batch] : chosen) MarkChosen(slot, batch);
  // Drop what learning made chosen (a snapshot or the prefix passed it).
  while (!takeover_queue_.empty() && takeover_queue_.front().first <= chosen_prefix_) {
    takeover_queue_.pop_front();
  }
  ProposeTakeover();
  if (is_leader()) BroadcastHeartbeat();
}

void Core::BecomeFollower(Ballot seen) {
  if (seen > max_seen_ && seen.node != config_.self) max_seen_ = seen;
  bool was_leader = is_leader();
  role_ = Role::kFollower;
  known_leader_ = NodeId{};
  ResetElectionTimer();
  if (was_leader) {
    // Commands never proposed get kNotLeader. Proposed ones may still be
    // chosen by the next leader: no reply; the client times out and retries
    // with the same seq (marked retry), and its session makes that exactly-once.
    for (const Command& c : pending_) {
      if (c.client_id != 0) ReplyTo(c, ReplyStatus::kNotLeader, std::nullopt);
    }
    for (const PendingRead& r : reads_) ReplyTo(r.command, ReplyStatus::kNotLeader, std::nullopt);
    pending_.clear();
    reads_.clear();
    waiting_.clear();
    inflight_.clear();
    round_acks_.clear();
    lease_until_ns_ = 0;
    takeover_queue_.clear();
    config_slot_ = Slot{};
    early_members_.reset();
    pin_wanted_.clear();
  }
}

// ---------------------------------------------------------------------------
// Membership changes (README.md, "Membership"): one at a time, chosen in the
// log, in effect from the slot after it; the leader proposes nothing behind a
// change until it is applied, and runs phase 1 again if the voters that
// promised it are no majority of the new membership.

bool Core::ConfigPending() const {
  if (config_slot_.value != 0) return true;
  return std::any_of(pending_.begin(), pending_.end(),
                     [](const Command& c) { return c.op == OpKind::kConfig; });
}

bool Core::ConfigChangeInFlight() const {
  if (ConfigPending()) return true;
  return std::any_of(takeover_queue_.begin(), takeover_queue_.end(), [](const auto& slot_batch) {
    const std::vector<Command>& cs = slot_batch.second.commands;
    return std::any_of(cs.begin(), cs.end(),
                       [](const Command& c) { return c.op == OpKind::kConfig; });
  });
}

void Core::ProposeConfig(const Command& c) {
  auto key = std::make_pair(c.client_id, c.seq);
  if (waiting_.contains(key)) return;  // already on its way
  Membership next = counting_members();
  bool refused = !ApplyMemberChange(c, &next).empty();
  refused = refused || (ConfigPending() && !config_.bugs.config_before_chosen);
  if (c.key == "promote" && !refused) {
    // A learner is promoted once it has caught up (liveness: a voter that
    // lags far makes every quorum wait for the others).
    NodeId id{static_cast<int32_t>(c.value)};
    auto it = follower_prefix_.find(id);
    refused = it == follower_prefix_.end() ||
              it->second.value + config_.max_catchup_slots < chosen_prefix_.value;
  }
  if (refused || static_cast<int>(pending_.size()) >= config_.max_pending_commands) {
    ReplyTo(c, ReplyStatus::kFail, std::nullopt);
    return;
  }
  pending_.push_back(c);
  waiting_.insert(key);
}

// Proposes the slots taken over in phase 1, in order, stopping after a
// membership change (the slots behind it wait until it is applied).
void Core::ProposeTakeover() {
  while (is_leader() && !takeover_queue_.empty() && config_slot_.value == 0) {
    auto [slot, batch] = std::move(takeover_queue_.front());
    takeover_queue_.pop_front();
    if (slot <= chosen_prefix_) continue;
    bool change = std::any_of(batch.commands.begin(), batch.commands.end(),
                              [](const Command& c) { return c.op == OpKind::kConfig; });
    if (change) config_slot_ = slot;
    ProposeSlot(slot, std::move(batch));
  }
}

void Core::AfterConfigApplied() {
  if (early_members_ && !config_.bugs.config_before_chosen) early_members_.reset();
  if (!is_leader()) return;
  if (!sm_.members().Counts(config_.self, config_.incarnation) &&
      !(config_.bugs.wiped_node_votes && sm_.members().IsVoter(config_.self))) {
    BecomeFollower(Ballot{});  // removed: the remaining voters elect a leader
    return;
  }
  if (config_.bugs.phase1_one_config || config_.bugs.config_before_chosen) return;
  QuorumCounter q = NewCounter();
  for (const auto& [node, incarnation] : promise_votes_) q.Add(node, incarnation);
  if (!q.reached()) {
    // The promises this leader holds are no majority of the new voters: a
    // lower ballot could still get values chosen by them. Phase 1 again.
    BecomeFollower(Ballot{});
    leader_contact_elapsed_ticks_ = config_.election_timeout_ticks;  // its own lease is over
    StartPhase1();
  }
}

void Core::NotePeer(const Message& m) {
  const Member* member = sm_.members().Find(m.from);
  if (member != nullptr && member->incarnation == 0 && m.incarnation > 0) {
    pin_wanted_[m.from] = m.incarnation;
  }
}

// Pins one unpinned member to the incarnation heard from it, when no other
// change is under way (a "pin" changes no voter, but one change at a time).
void Core::MaybePin() {
  if (config_.incarnation > 0 && !pin_wanted_.contains(config_.self)) {
    const Member* me = sm_.members().Find(config_.self);
    if (me != nullptr && me->incarnation == 0) pin_wanted_[config_.self] = config_.incarnation;
  }
  if (pin_wanted_.empty() || ConfigPending()) return;
  for (auto it = pin_wanted_.rbegin(); it != pin_wanted_.rend(); ++it) {
    const Member* member = sm_.members().Find(it->first);
    if (member == nullptr || member->incarnation != 0) continue;
    Command c;
    c.op = OpKind::kConfig;
    c.key = "pin";
    c.value = it->first.value;
    c.from = it->second;
    pending_.push_front(c);
  }
  pin_wanted_.clear();
}

void Core::HandleRejection(Ballot promised) {
  if (promised <= ballot_) return;
  if (is_leader() && config_.bugs.skip_phase1_on_retry) {
    // BUG: keep leading with a higher ballot and re-send phase 2 without phase 1.
    ballot_ = Ballot{promised.round + 1, config_.self};
    SetPromised(ballot_);
    std::vector<std::pair<Slot, Batch>> again;
    for (const auto& [slot, inf] : inflight_) again.emplace_back(slot, inf.batch);
    for (auto& [slot, batch] : again) {
      if (is_leader() && slot > chosen_prefix_) ProposeSlot(slot, std::move(batch));
    }
    return;
  }
  BecomeFollower(promised);
}

// ---------------------------------------------------------------------------
// Leader: phase 2, batching, pipelining, heartbeats, reads, catch-up.

void Core::ProposeSlot(Slot slot, Batch batch) {
  CHAOS_CHECK(is_leader());
  CHAOS_CHECK_MSG(slot > chosen_prefix_, "propose slot %lld <= chosen prefix %lld",
                  static_cast<long long>(slot.value), static_cast<long long>(chosen_prefix_.value));
  if (ballot_ < promised_) {  // our own acceptor promised a higher ballot
    HandleRejection(promised_);
    return;
  }
  SetPromised(ballot_);  // accepting raises the promise (phase 2b)
  Inflight& inf = inflight_[slot];
  inf.batch = std::move(batch);
  inf.acks = NewCounter();
  // The leader's own acceptor accepts first (it promised ballot_).
  LogEntry& e = log_[slot];
  if (!e.chosen) {
    e.accepted_ballot = ballot_;
    e.accepted = inf.batch;
    ready_.records.push_back(AcceptRecord{slot, ballot_, inf.batch});
  }
  for (NodeId n : Recipients()) SendAccept(n, slot, inf.batch);
  if (inf.acks.Add(config_.self, config_.incarnation)) MarkChosen(slot, Batch(inf.batch));
}

void Core::SendAccept(NodeId to, Slot slot, const Batch& batch) {
  Send(to, Accept{ballot_, slot, batch, chosen_prefix_.next()});
}

void Core::OnAccepted(const Message& m, const Accepted& a) {
  if (!a.ok) {
    if (is_leader() && a.ballot == ballot_) HandleRejection(a.promised);
    return;
  }
  if (!is_leader() || a.ballot != ballot_) return;
  recent_active_[m.from] = m.incarnation;
  NotePeer(m);
  auto it = inflight_.find(a.slot);
  if (it == inflight_.end()) return;
  if (it->second.acks.Add(m.from, m.incarnation)) MarkChosen(a.slot, Batch(it->second.batch));
}

// A membership change goes alone in its slot, and nothing is proposed behind
// it until it is applied: every slot in flight is then in the membership the
// leader counts in.
void Core::FlushPending() {
  while (is_leader() && !pending_.empty() && takeover_queue_.empty() && config_slot_.value == 0 &&
         !config_applied_ && static_cast<int>(inflight_.size()) < config_.pipeline_window_slots) {
    Batch batch;
    Slot slot = next_slot_;
    if (pending_.front().op == OpKind::kConfig) {
      // Pins change no voter: the ones queued together share the slot.
      do {
        batch.commands.push_back(std::move(pending_.front()));
        pending_.pop_front();
      } while (!pending_.empty() && batch.commands.back().key == "pin" &&
               pending_.front().op == OpKind::kConfig && pending_.front().key == "pin");
      if (config_.bugs.config_before_chosen) {
        // BUG: count in the new membership at once, before it is chosen.
        Membership next = counting_members();
        ApplyMemberChange(batch.commands.back(), &next);
        early_members_ = next;
      } else {
        config_slot_ = slot;
      }
    } else {
      while (!pending_.empty() && pending_.front().op != OpKind::kConfig &&
             static_cast<int>(batch.commands.size()) < config_.max_batch_commands) {
        batch.commands.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
    }
    next_slot_ = next_slot_.next();
    ProposeSlot(slot, std::move(batch));
  }
}

std::vector<NodeId> Core::Recipients() const {
  std::set<NodeId> to;
  for (const Membership* m : {&sm_.members(), &counting_members()}) {
    for (const auto* list : {&m->voters, &m->learners}) {
      for (const Member& member : *list) to.insert(member.id);
    }
  }
  to.erase(config_.self);
  return {to.begin(), to.end()};
}

void Core::BroadcastHeartbeat() {
  heartbeat_elapsed_ticks_ = 0;
  heartbeat_soon_ = false;
  int64_t round = ++heartbeat_round_;
  auto& [acks, sent_ns] = round_acks_[round];
  acks = NewCounter();
  sent_ns = now_ns_;
  while (round_acks_.size() > 16) round_acks_.erase(round_acks_.begin());
  bool confirmed = acks.Add(config_.self, config_.incarnation);
  for (NodeId n : Recipients()) {
    Send(n, Heartbeat{ballot_, chosen_prefix_.next(), round});
    // Retransmit phase 2 to acceptors that have not answered (lost messages).
    for (const auto& [slot, inf] : inflight_) {
      if (!inf.acks.has(n)) SendAccept(n, slot, inf.batch);
    }
  }
  if (confirmed) OnRoundConfirmed(round, now_ns_);
}

void Core::OnRoundConfirmed(int64_t round, int64_t sent_ns) {
  confirmed_round_ = std::max(confirmed_round_, round);
  int64_t lease_ns = LeaseNs();
  if (lease_ns > 0) lease_until_ns_ = std::max(lease_until_ns_, sent_ns + lease_ns);
}

void Core::OnHeartbeatReply(const Message& m, const HeartbeatReply& r) {
  if (!r.ok) {
    if (is_leader() && r.ballot == ballot_) HandleRejection(r.promised);
    return;
  }
  if (!is_leader() || r.ballot != ballot_) return;
  NotePeer(m);  // a pin is chosen by a quorum like any change
  follower_prefix_[m.from] = r.chosen_prefix;
  if (!r.forgot) {
    recent_active_[m.from] = m.incarnation;
    auto it = round_acks_.find(r.round);
    if (it != round_acks_.end() && it->second.first.Add(m.from, m.incarnation)) {
      OnRoundConfirmed(r.round, it->second.second);
    }
  }
  if (r.chosen_prefix < chosen_prefix_) SendCatchUp(m.from, r.chosen_prefix);
}

void Core::SendCatchUp(NodeId to, Slot their_prefix) {
  Slot from = their_prefix.next();
  auto it = log_.find(from);
  if (it == log_.end() || !it->second.chosen) {
    // Compacted (or not kept): the follower needs the applied state.
    if (from <= sm_.applied()) Send(to, InstallSnapshot{ballot_, sm_.snapshot()});
    return;
  }
  Learn learn{ballot_, {}};
  for (; it != log_.end() && it->second.chosen &&
         static_cast<int>(learn.entries.size()) < config_.max_catchup_slots;
       ++it) {
    learn.entries.push_back(PromiseEntry{it->first, Ballot{}, it->second.chosen_batch, true});
  }
  Send(to, std::move(learn));
}

void Core::ServeReads() {
  for (size_t i = 0; i < reads_.size();) {
    PendingRead& r = reads_[i];
    if (r.round_needed == 0 && now_ns_ >= lease_until_ns_) {
      // The lease ran out before the read could be served: confirm by quorum.
      r.round_needed = heartbeat_round_ + 1;
      heartbeat_soon_ = true;
    }
    bool confirmed = r.round_needed == 0 || confirmed_round_ >= r.round_needed;
    if (confirmed && sm_.applied() >= r.read_index) {
      ReplyTo(r.command, ReplyStatus::kOk, sm_.Get(r.command.key));
      reads_.erase(reads_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  if (heartbeat_soon_) BroadcastHeartbeat();
}

// ---------------------------------------------------------------------------
// Learning, applying, snapshots.

void Core::MarkChosen(Slot slot, const Batch& batch) {
  if (slot <= sm_.applied()) return;  // applied (maybe compacted) already
  LogEntry& e = log_[slot];
  if (e.chosen) {
    if (e.chosen_batch != batch) {
      Halt("slot " + std::to_string(slot.value) + " learned chosen with two different values");
    }
    return;
  }
  e.chosen = true;
  e.chosen_batch = batch;
  ready_.records.push_back(ChosenRecord{slot, batch});
  ready_.chosen.push_back(ChosenEntry{slot, batch});
  inflight_.erase(slot);
  while (true) {
    auto it = log_.find(chosen_prefix_.next());
    if (it == log_.end() || !it->second.chosen) break;
    chosen_prefix_ = it->first;
  }
  ApplyChosen();
}

void Core::ApplyChosen() {
  while (sm_.applied() < chosen_prefix_ && fatal_.empty()) {
    Slot slot = sm_.applied().next();
    auto it = log_.find(slot);
    CHAOS_CHECK_MSG(it != log_.end() && it->second.chosen, "slot %lld not chosen",
                    static_cast<long long>(slot.value));
    std::string mismatch;
    const Batch& batch = it->second.chosen_batch;
    if (std::any_of(batch.commands.begin(), batch.commands.end(),
                    [](const Command& c) { return c.op == OpKind::kConfig; })) {
      config_applied_ = true;
      if (slot == config_slot_) config_slot_ = Slot{};
    }
    std::vector<Reply> replies = sm_.Apply(slot, batch, &mismatch);
    if (!mismatch.empty()) {
      Halt(mismatch);
      return;
    }
    for (Reply& r : replies) {
      if (waiting_.erase({r.client_id, r.seq}) > 0) {
        r.leader_hint = leader_hint();
        ready_.replies.push_back(r);
      }
    }
    if (slot.value % config_.checksum_interval_slots == 0) {
      sm_.RecordChecksum();
      // Paxos Made Live §5.1: agree on the checksum through the log; every
      // replica that applied this slot compares its own when it applies it.
      if (is_leader() && slot.value > last_checksum_slot_) {
        last_checksum_slot_ = slot.value;
        Command c;
        c.op = OpKind::kChecksum;
        c.from = slot.value;
        c.value = static_cast<int64_t>(*sm_.ChecksumAt(slot.value));
        pending_.push_back(c);
      }
    }
  }
  MaybeSnapshot();
}

void Core::MaybeSnapshot() {
  if (sm_.applied().value - snapshot_slot_.value < config_.snapshot_interval_slots) return;
  snapshot_slot_ = sm_.applied();
  ready_.records.push_back(SnapshotRecord{sm_.snapshot()});
  Slot compact_through{snapshot_slot_.value - config_.catchup_tail_slots};
  log_.erase(log_.begin(), log_.upper_bound(compact_through));
}

void Core::InstallSnapshotState(const Snapshot& snapshot) {
  if (snapshot.slot <= sm_.applied()) return;
  if (snapshot.members != sm_.members()) config_applied_ = true;
  if (config_slot_ <= snapshot.slot) config_slot_ = Slot{};
  sm_.Restore(snapshot);
  if (sm_.members().empty()) sm_.SetMembers(Bootstrap());
  snapshot_slot_ = snapshot.slot;
  ready_.records.push_back(SnapshotRecord{snapshot});
  log_.erase(log_.begin(), log_.upper_bound(snapshot.slot));
  for (auto it = inflight_.begin(); it != inflight_.end() && it->first <= snapshot.slot;) {
    it = inflight_.erase(it);
  }
  if (chosen_prefix_ < snapshot.slot) chosen_prefix_ = snapshot.slot;
  while (true) {
    auto it = log_.find(chosen_prefix_.next());
    if (it == log_.end() || !it->second.chosen) break;
    chosen_prefix_ = it->first;
  }
  if (next_slot_ <= snapshot.slot) next_slot_ = snapshot.slot.next();
  ApplyChosen();
}

}  // namespace chaos::core
