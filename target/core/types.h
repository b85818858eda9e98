// The vocabulary of the consensus core: ids, ballots, slots, client commands
// and replies, durable records, peer messages, configuration and the Ready
// batch a driver performs after every input.
//
// Everything here is a plain value (structs, vectors, maps, variants) so the
// storage layer can serialize records and the server can encode messages to
// protobuf field by field. No type here owns a thread, a file or a clock.
//
// Thread safety: plain values.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chaos::core {

// A replica's id. Node ids are small non-negative integers, unique in a cluster.
struct NodeId {
  int32_t value = -1;
  bool valid() const { return value >= 0; }
  auto operator<=>(const NodeId&) const = default;
};

// A log position. Slots start at 1; Slot{0} means "none" (nothing chosen yet).
struct Slot {
  int64_t value = 0;
  auto operator<=>(const Slot&) const = default;
  Slot next() const { return Slot{value + 1}; }
};

// A Paxos ballot (Lamport, "Paxos Made Simple", §2.2: proposal numbers drawn
// from disjoint sets per proposer): (round, node id), ordered by round then node.
// The zero ballot {0, -1} is below every ballot a proposer uses.
struct Ballot {
  int64_t round = 0;
  NodeId node;
  auto operator<=>(const Ballot&) const = default;
  bool is_zero() const { return round == 0; }
};

enum class OpKind : uint8_t {
  kRead,
  kWrite,
  kCas,
  // Internal: the Chubby-style consistency check. `from` is a slot, `value`
  // the checksum of the applied state right after that slot (client_id 0).
  kChecksum,
  // A membership change (target/core/README.md, "Membership"): `key` names
  // the change ("learner", "promote", "remove", "pin"), `value` is the node
  // id, `from` the incarnation ("learner", "pin"; 0: not known yet). From an
  // administrator (client_id > 0) or the leader itself (client_id 0, "pin").
  kConfig,
};

// A client command. (client_id, seq) identifies it for exactly-once
// application: a client issues seq 1, 2, 3, ... one at a time and retries a
// command with the same seq. client_id 0 is reserved for the core itself.
struct Command {
  int64_t client_id = 0;
  int64_t seq = 0;
  OpKind op = OpKind::kRead;
  std::string key;
  int64_t value = 0;  // write: the value; checksum: the checksum
  int64_t from = 0;   // cas: expected value; checksum: the slot it covers
  int64_t to = 0;     // cas: new value
  // Set by the client when an earlier attempt with this seq went unanswered
  // (it may be in the log). With no session for the client, such a command
  // may belong to an evicted session: it is not applied and gets kUnknown.
  bool retry = false;
  bool operator==(const Command&) const = default;
};

// The value of one slot: a batch of commands. An empty batch is a no-op
// (what a new leader proposes to fill a gap).
struct Batch {
  std::vector<Command> commands;
  bool operator==(const Batch&) const = default;
};

enum class ReplyStatus : uint8_t {
  kOk,         // happened; `value` holds the read value / written value
  kFail,       // definitely did not happen (cas mismatch: `value` is the current value)
  kNotLeader,  // not proposed by this node; retry at `leader_hint` with the same seq
  kUnknown,    // may or may not have happened (e.g. the client's session expired)
};

struct Reply {
  int64_t client_id = 0;
  int64_t seq = 0;
  ReplyStatus status = ReplyStatus::kUnknown;
  std::optional<int64_t> value;  // nullopt: the key is absent (reads as nil)
  NodeId leader_hint;            // for kNotLeader; invalid when unknown
  bool operator==(const Reply&) const = default;
};

// Exactly-once state of one client: the last command applied and its reply.
struct Session {
  int64_t last_seq = 0;
  Reply last_reply;
  int64_t last_slot = 0;  // slot of the last command applied, for eviction order
  bool operator==(const Session&) const = default;
};

// A member of the cluster: a node id and the incarnation of its disk. A
// node's incarnation is drawn anew whenever it starts on storage that is not
// the one it had (a new or wiped disk), so a vote of a node that forgot its
// promises never passes for one of the node that made them. Incarnation 0
// means "not pinned yet" (the bootstrap membership lists ids only); the
// leader pins every member to the incarnation it hears from (a "pin" change).
struct Member {
  NodeId id;
  int64_t incarnation = 0;
  bool operator==(const Member&) const = default;
};

// The configuration of the replicated register: voters (their promises and
// acceptances make quorums) and learners (they receive every value, vote in
// nothing). Both in id order, disjoint. Part of the replicated state: a
// change is a kConfig command chosen in the log, in effect from the next slot.
struct Membership {
  std::vector<Member> voters;
  std::vector<Member> learners;
  const Member* Find(NodeId id) const;
  bool IsVoter(NodeId id) const;
  // True when a message of `id` at `incarnation` is a vote of a voter: the
  // member is a voter, pinned to that incarnation or not pinned yet.
  bool Counts(NodeId id, int64_t incarnation) const;
  bool empty() const { return voters.empty() && learners.empty(); }
  bool operator==(const Membership&) const = default;
};

// Applies one kConfig command to `members`. Returns "" on success, else why
// the change is refused (then `members` is unchanged). Deterministic: every
// replica decides the same. Each change moves at most one voter: "learner"
// adds a non-member as learner, "promote" makes a learner a voter, "remove"
// drops a member (never the last voter), "pin" sets the incarnation of a
// member that has none.
std::string ApplyMemberChange(const Command& change, Membership* members);
std::string ToString(const Membership& members);

// The applied state at `slot`: registers, client sessions and the membership.
// Slot{0} is the empty initial state. An empty membership (snapshots written
// before membership changes existed, and the initial state) stands for the
// bootstrap membership, Config::nodes.
struct Snapshot {
  Slot slot;
  std::map<std::string, int64_t> registers;
  std::map<int64_t, Session> sessions;
  Membership members;
  bool operator==(const Snapshot&) const = default;
};

// ---------------------------------------------------------------------------
// Durable records. The driver appends them in order and syncs before sending
// the messages of the same Ready. Replaying them in order with
// PersistentState::Apply rebuilds what the core needs after a restart.

struct PromiseRecord {  // the acceptor promised `ballot` (phase 1b or 2b)
  Ballot ballot;
};
struct AcceptRecord {  // the acceptor accepted `batch` in `slot` at `ballot`
  Slot slot;
  Ballot ballot;
  Batch batch;
};
struct ChosenRecord {  // `batch` is known chosen in `slot`
  Slot slot;
  Batch batch;
};
struct SnapshotRecord {  // state after applying every slot <= snapshot.slot; records of
  Snapshot snapshot;     // slots <= snapshot.slot may be discarded (log compaction)
};
using Record = std::variant<PromiseRecord, AcceptRecord, ChosenRecord, SnapshotRecord>;

struct LogEntry {
  Ballot accepted_ballot;  // zero when only learned chosen
  Batch accepted;
  bool chosen = false;
  Batch chosen_batch;  // meaningful when chosen
  bool operator==(const LogEntry&) const = default;
};

// What survives a crash: the fold of synced records.
struct PersistentState {
  Ballot promised;
  std::map<Slot, LogEntry> log;  // slots > snapshot.slot only
  Snapshot snapshot;
  void Apply(const Record& record);
  bool operator==(const PersistentState&) const = default;
};

// ---------------------------------------------------------------------------
// Peer messages.

struct PreVote {  // "would you promise `ballot` if I asked?" (Raft §9.6 pre-vote)
  Ballot ballot;
};
struct PreVoteReply {
  Ballot ballot;
  bool granted = false;
  Ballot promised;  // the replier's promise, so a candidate learns of higher ballots
};
struct Prepare {  // phase 1a for every slot >= first_slot
  Ballot ballot;
  Slot first_slot;
};
struct PromiseEntry {
  Slot slot;
  Ballot ballot;  // accepted ballot; zero when `chosen` and only learned
  Batch batch;
  bool chosen = false;
};
struct Promise {  // phase 1b
  Ballot ballot;
  bool ok = false;
  Ballot promised;  // when !ok: the higher ballot promised
  std::vector<PromiseEntry> entries;
  std::optional<Snapshot> snapshot;  // when the acceptor compacted slots >= first_slot
};
struct Accept {  // phase 2a
  Ballot ballot;
  Slot slot;
  Batch batch;
  Slot commit;  // every slot < commit is chosen at the leader
};
struct Accepted {  // phase 2b
  Ballot ballot;
  Slot slot;
  bool ok = false;
  Ballot promised;  // when !ok
};
struct Heartbeat {  // leadership, commit index and read-index confirmation rounds
  Ballot ballot;
  Slot commit;
  int64_t round = 0;
};
struct HeartbeatReply {
  Ballot ballot;
  int64_t round = 0;
  bool ok = false;
  Ballot promised;     // when !ok
  Slot chosen_prefix;  // every slot <= chosen_prefix is known chosen here
  // The replier's disk stands for nothing yet (wiped, or new and not yet
  // pinned): it wants the chosen values, but its answer confirms no round
  // and keeps no leader in office.
  bool forgot = false;
};
struct Learn {  // catch-up: chosen values, in slot order
  Ballot ballot;
  std::vector<PromiseEntry> entries;
};
struct InstallSnapshot {  // catch-up when the leader compacted what the follower lacks
  Ballot ballot;
  Snapshot snapshot;
};
using MessageBody = std::variant<PreVote, PreVoteReply, Prepare, Promise, Accept, Accepted,
                                 Heartbeat, HeartbeatReply, Learn, InstallSnapshot>;

struct Message {
  NodeId from;
  NodeId to;
  MessageBody body;
  int64_t incarnation = 0;  // the sender's (Config::incarnation)
};

// A slot newly learned chosen at this node (for the simulator's agreement check).
struct ChosenEntry {
  Slot slot;
  Batch batch;
};

// ---------------------------------------------------------------------------

enum class ReadMode : uint8_t {
  kLog,        // reads are commands in the log (default)
  kReadIndex,  // leader confirms leadership with a quorum round, then reads locally
  kLease,      // leader reads locally within a lease bounded by max_clock_drift
};

// Deliberate mistakes to validate the toolkit. Each changes one place; all off
// is the real system.
struct Bugs {
  bool no_fsync = false;              // driver: send before records are synced
  bool promise_geq = false;           // promise when n >= promised
  bool skip_phase1_on_retry = false;  // rejected accept: retry phase 2 with a higher ballot
  bool forget_promise = false;        // promises not written as records
  bool majority_off_by_one = false;   // quorum of n/2
  bool count_duplicate_acks = false;  // a repeated reply counts twice
  bool stale_lease_read = false;      // lease ignores clock drift
  // Membership changes (target/core/README.md, "Membership"):
  bool config_before_chosen = false;  // leader counts in a change as soon as it proposes it
  bool phase1_one_config = false;     // phase 1 checks only the candidate's own membership
  bool wiped_node_votes = false;      // incarnations ignored: a wiped node votes at once
};

// The --bug switches of Bugs: the one table of their names, read by the
// server's flag and the simulator's (which adds the driver's own).
struct BugSwitch {
  const char* name;  // as given to --bug
  bool Bugs::*field;
  // chaos-register's --bug offers it; the membership canaries are the
  // simulator's alone.
  bool server;
};
inline constexpr BugSwitch kBugSwitches[] = {
    {"no-fsync", &Bugs::no_fsync, true},
    {"promise-geq", &Bugs::promise_geq, true},
    {"skip-phase1-on-retry", &Bugs::skip_phase1_on_retry, true},
    {"forget-promise", &Bugs::forget_promise, true},
    {"majority-off-by-one", &Bugs::majority_off_by_one, true},
    {"count-duplicate-acks", &Bugs::count_duplicate_acks, true},
    {"stale-lease-read", &Bugs::stale_lease_read, true},
    {"config-before-chosen", &Bugs::config_before_chosen, false},
    {"phase1-one-config", &Bugs::phase1_one_config, false},
    {"wiped-node-votes", &Bugs::wiped_node_votes, false},
};

// The switch named `name`, or null when none is.
const BugSwitch* FindBug(std::string_view name);

struct Config {
  NodeId self;
  // The bootstrap membership: the voters at the cluster's creation, distinct.
  // Later memberships are chosen in the log (Membership); a node added later
  // need not be listed here.
  std::vector<NodeId> nodes;
  // This node's disk incarnation (> 0), kept beside the data by the driver
  // and drawn anew when the node starts on a new or wiped disk.
  int64_t incarnation = 1;
  // True when this disk is not the node's first (wiped, replaced): the node
  // may have forgotten promises, so it neither promises nor accepts until the
  // chosen membership pins it at this incarnation (it was re-added).
  bool joining = false;
  uint64_t seed = 1;  // the only source of randomness

  int heartbeat_ticks = 2;
  int election_timeout_ticks = 10;  // randomized in [this, 2 * this)
  int max_batch_commands = 32;      // commands per slot
  int pipeline_window_slots = 8;    // slots proposed and not yet chosen
  int max_pending_commands = 1024;  // beyond: new commands are dropped (client retries)
  int max_catchup_slots = 64;       // chosen values per Learn message
  int64_t snapshot_interval_slots = 64;
  // Chosen slots kept in the log behind each snapshot, so that a follower
  // that lags by fewer catches up by Learn (the values, and the checksum
  // commands among them, which it compares) instead of a whole snapshot;
  // etcd keeps 5000 entries for the same reason.
  int64_t catchup_tail_slots = 0;
  int64_t checksum_interval_slots = 16;
  int max_sessions = 256;  // least recently used sessions are evicted beyond this

  ReadMode read_mode = ReadMode::kLog;
  int64_t tick_ns = 10'000'000;  // nominal clock time per tick, for the lease
  double max_clock_drift = 0;    // bound on |rate - 1| of any clock; lease needs > 0

  Bugs bugs;
};

// One batch of work for the driver, in this order:
//  1. append `records` to stable storage and sync (fsync) them;
//  2. send `messages`;
//  3. deliver `replies` to clients. `chosen` is informational.
struct Ready {
  std::vector<Record> records;
  std::vector<Message> messages;
  std::vector<ChosenEntry> chosen;
  std::vector<Reply> replies;
  bool empty() const {
    return records.empty() && messages.empty() && chosen.empty() && replies.empty();
  }
};

const char* MessageName(const MessageBody& body);
std::string ToString(Ballot b);

}  // namespace chaos::core
