#include "target/sim/sim.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <type_traits>
#include <vector>

#include "base/check.h"
#include "checker/checker.h"
#include "target/core/core.h"
#include "target/driver/driver.h"
#include "target/storage/env.h"

namespace chaos::sim {
namespace {

using core::Ballot;
using core::Batch;
using core::Command;
using core::Message;
using core::NodeId;
using core::OpKind;
using core::Reply;
using core::ReplyStatus;
using history::Json;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kTickNs = 10 * kMs;  // nominal tick
constexpr double kMaxDrift = 0.45;     // configured bound; actual rates stay within it

// The driver's --bug switches; the core's are core::kBugSwitches.
struct DriverBugSwitch {
  const char* name;
  bool driver::DriverBugs::*field;
};
constexpr DriverBugSwitch kDriverBugSwitches[] = {
    {"lazy-accept", &driver::DriverBugs::lazy_accept},
    {"early-ack", &driver::DriverBugs::early_ack},
};

// Every name --bug takes: the core's, then the driver's; null-terminated.
constexpr size_t kBugCount = std::size(core::kBugSwitches) + std::size(kDriverBugSwitches);
constexpr std::array<const char*, kBugCount + 1> MakeBugNames() {
  std::array<const char*, kBugCount + 1> names{};
  size_t i = 0;
  for (const core::BugSwitch& b : core::kBugSwitches) names[i++] = b.name;
  for (const DriverBugSwitch& b : kDriverBugSwitches) names[i++] = b.name;
  names[i] = nullptr;
  return names;
}
constexpr std::array<const char*, kBugCount + 1> kBugNames = MakeBugNames();

// The client id of the simulated administrator that changes the membership.
constexpr int64_t kAdminClient = 1'000'000;

enum class EventKind : uint8_t {
  kTick,
  kDeliver,
  kClientRequest,
  kClientReply,
  kClientTimer,
  kClientResend,
  kFault,
  kRestart,
  kBackgroundSync,
  kHeal,
  kResume,      // a paused node continues (token: its epoch)
  kScenario,    // the next step of the scripted fault scenario (token: its generation)
  kSlowDisk,    // a node's disk turns slow for a while (SimOptions::slow_disk)
  kMembership,  // the administrator changes the membership (SimOptions::membership)
};

struct Event {
  int64_t time_ns = 0;
  uint64_t seq = 0;
  EventKind kind = EventKind::kTick;
  int node = -1;
  int client = -1;
  uint64_t token = 0;  // node epoch for ticks, client attempt for timers
  Message message;
  Command command;
  Reply reply;
};

struct EventLater {
  bool operator()(const Event& a, const Event& b) const {
    if (a.time_ns != b.time_ns) return a.time_ns > b.time_ns;
    return a.seq > b.seq;
  }
};

class Simulation;

// One node's environment for its driver: its clock, the simulated network
// and clients, and the agreement check.
class NodeEnv final : public driver::Clock,
                      public driver::Transport,
                      public driver::ReplySink,
                      public driver::Observer {
 public:
  NodeEnv(Simulation* sim, int node) : sim_(sim), node_(node) {}
  int64_t LeaseNowNs() override;
  void Send(const core::Message& message) override;
  void Deliver(const core::Reply& reply) override;
  void Chosen(const core::ChosenEntry& entry) override;
  void BeforeSync() override;

 private:
  Simulation* sim_;
  int node_;
};

struct SimNode {
  // The node's disk: it outlives the driver, and a crash is a power loss
  // (MemEnv::PowerLoss) after which a new driver recovers from it.
  std::unique_ptr<storage::MemEnv> disk = std::make_unique<storage::MemEnv>();
  std::unique_ptr<NodeEnv> env;
  std::unique_ptr<driver::Driver> driver;
  const core::Core& core() const { return driver->core(); }
  bool up = true;
  uint64_t epoch = 0;
  // While the driver performs a batch: what it sent (for the crash and
  // stall moments) and how long its sync takes on a slow disk.
  bool sent_promise = false, sent_prepare = false;
  bool sent_before_sync = false;  // a message left in this batch before its sync
  bool power_lost = false;        // the power went out during a sync
  double rate = 1;                // local clock rate
  int64_t skew_ns = 0;            // local clock = skew_ns + rate * simulated time
  uint64_t cut = 0;               // bit j set: the link to node j is cut (both directions)
  // Paused (SIGSTOP): the process runs nothing, but the kernel still takes in
  // its messages and client requests; they wait here, in arrival order.
  bool paused = false;
  int64_t paused_since_ns = 0;
  std::vector<Event> held;
  // The disk's incarnation (core::Config::incarnation): a wipe draws the
  // next one, and the node then starts as joining.
  int64_t incarnation = 1;
  bool joining = false;
  // A slow disk: until slow_until_ns every sync takes sync_ns.
  int64_t sync_ns = 0;
  int64_t slow_until_ns = 0;
};

// A scripted fault scenario: a few partition, pause and crash steps aimed at
// the roles nodes have when it starts (as Jepsen's nemeses aim at the leader).
// While one runs, the random faults wait.
enum class ScenarioKind : uint8_t {
  kNone,
  // The leader keeps a minority that accepts its last proposals; then that
  // minority is cut off and the old leader's side regains a majority without
  // it; then everything heals.
  kMinoritySwap,
  // The leader is paused (a long GC or VM stall) and cut off while the others
  // elect a new leader; just before it wakes, the network changes to split it
  // off with quorum - 1 others, which crash and restart, so the stale leader
  // meets freshly restarted acceptors and nobody else.
  kStaleLeader,
  // The leader alone | the rest, with the clocks at the worst case for its
  // lease, then everything heals: the others elect a new leader while the
  // old one may still serve reads from its lease.
  kIsolateLeader,
};

struct Scenario {
  ScenarioKind kind = ScenarioKind::kNone;
  uint64_t generation = 0;  // events of an earlier scenario are void
  int step = 0;
  int leader = -1;
  std::vector<int> minority;  // the nodes the scenario singles out
  int64_t resume_ns = 0;      // kStaleLeader: when the leader wakes
  // The network's loss, duplication and delay before it, restored after it.
  double drop_p = 0, dup_p = 0;
  int64_t max_delay_ns = 0;
};

struct SimClient {
  int64_t process = 0;
  int64_t client_id = 0;
  int64_t seq = 0;
  bool busy = false;
  Command command;
  Json invoke_value;
  std::string f;
  int64_t invoke_ns = 0;
  int64_t deadline_ns = 0;
  uint64_t attempt = 0;
  int target = 0;
  int64_t progress_ns = -1;  // completion of the first op invoked after the faults stopped
};

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
  return h * 1099511628211ULL;
}

class Simulation {
 public:
  Simulation(const SimOptions& options, const SimBugs& bugs)
      : options_(options),
        bugs_(bugs.core),
        driver_bugs_(bugs.driver),
        rng_(options.seed),
        disk_rng_(options.seed ^ 0xD15C5105ULL),
        member_rng_(options.seed ^ 0x3E3BE25ULL) {}

  SimResult Run();

  // The driver's environment (NodeEnv).
  int64_t LocalNs(int node) const {
    const SimNode& n = nodes_[node];
    return n.skew_ns + static_cast<int64_t>(n.rate * static_cast<double>(now_));
  }
  void SendFrom(int node, const Message& m);
  void ReplyFrom(int node, const Reply& r);
  void ChosenAt(int node, const core::ChosenEntry& c);
  void BeforeSync(int node);
  void CountDriverWork(const SimNode& n) {
    result_.syncs += n.driver->stats().syncs;
    result_.snapshot_files += n.driver->stats().snapshots;
  }

 private:
  int64_t Uniform(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(rng_() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  void Schedule(Event e) {
    e.seq = next_seq_++;
    queue_.push(std::move(e));
  }
  // Sync time of the batch the node's driver performs now (0 unless slow).
  int64_t SyncNs(int node) const {
    const SimNode& n = nodes_[node];
    return n.slow_until_ns > now_ && n.driver->last_batch_synced() ? n.sync_ns : 0;
  }
  core::Config NodeConfig(int node) const;
  driver::DriverOptions NodeDriverOptions(int node) const;
  void StartNode(int node);
  void ScheduleTick(int node);
  void Process(int node);
  // Sends after `after_ns` (a slow sync before it) plus the network's delay.
  void SendPeer(const Message& m, int64_t after_ns = 0);
  void SlowDisk();
  void Deliver(int node, const Message& m);  // Step + Process
  bool Connected(int a, int b) const { return a == b || ((nodes_[a].cut >> b) & 1) == 0; }
  void SetLink(int a, int b, bool up);
  // Nodes talk only within their group (group[i] for node i).
  void SetGroups(const std::vector<int>& group);
  void HealLinks();
  void Fail(const std::string& why) {
    if (result_.ok) {
      result_.ok = false;
      result_.failure = why;
    }
  }
  // Clients.
  void ClientIssue(int c);
  void ClientSend(int c);
  void ClientComplete(int c, history::OpType type, Json value);
  void OnClientReply(int c, const Reply& r);
  void Record(const SimClient& cl, history::OpType type, const std::string& f, Json value);
  // Faults.
  void InjectFault();
  void Crash(int node, int64_t restart_after_ns);
  // Crash, lose the whole disk, restart later on an empty one (new incarnation).
  void Wipe(int node, int64_t restart_after_ns);
  void ChangeMembership();
  void ProposeChange(int leader, Command c);
  void Heal();
  int LeaderCount() const;
  int Leader() const;  // the up leader with the highest ballot, or -1
  std::vector<int> OthersShuffled(int except);
  // Changes a node's clock rate from now on; its clock stays continuous.
  void SetRate(int node, double rate);
  void Pause(int node, int64_t duration_ns);
  void Resume(int node);
  bool Hold(const Event& e);  // keeps e for a paused node; true if held
  void StartScenario(ScenarioKind kind);
  void ScenarioStep();
  void ScheduleScenarioStep(int64_t at_ns);
  void EndScenario();

  SimOptions options_;
  core::Bugs bugs_;
  driver::DriverBugs driver_bugs_;
  std::mt19937_64 rng_;
  std::mt19937_64 disk_rng_;    // the slow-disk windows only: without them rng_ draws as before
  std::mt19937_64 member_rng_;  // the membership changes only
  int64_t admin_seq_ = 0;
  int64_t disrupted_ns_ = 0;  // when the membership was last seen incomplete or changed
  core::ReadMode read_mode_ = core::ReadMode::kLog;
  std::priority_queue<Event, std::vector<Event>, EventLater> queue_;
  uint64_t next_seq_ = 0;
  int64_t now_ = 0;
  std::vector<SimNode> nodes_;
  std::vector<SimClient> clients_;
  std::map<int64_t, int> client_by_id_;
  int64_t next_client_id_ = 1;
  std::map<int64_t, Batch> chosen_;  // agreement: slot -> the one chosen value
  bool faults_on_ = false;
  Scenario scenario_;
  uint64_t scenario_generation_ = 0;
  double drop_p_ = 0, dup_p_ = 0;
  int64_t max_delay_ns_ = 2 * kMs;
  int64_t heal_ns_ = 0, end_ns_ = 0;
  SimResult result_;
  uint64_t hash_ = 1469598103934665603ULL;
  bool debug_ = std::getenv("CHAOS_SIM_DEBUG") != nullptr;
};

core::Config Simulation::NodeConfig(int node) const {
  core::Config c;
  c.self = NodeId{node};
  for (int i = 0; i < options_.nodes; ++i) c.nodes.push_back(NodeId{i});
  c.seed = options_.seed * 1000003ULL + nodes_[node].epoch;
  c.heartbeat_ticks = 2;
  c.election_timeout_ticks = 10;
  c.max_batch_commands = 8;
  c.pipeline_window_slots = 4;
  c.snapshot_interval_slots = 24;
  c.checksum_interval_slots = 8;
  c.max_sessions = 64;
  c.read_mode = read_mode_;
  c.tick_ns = kTickNs;
  c.max_clock_drift = kMaxDrift;
  c.bugs = bugs_;
  c.incarnation = nodes_[node].incarnation;
  c.joining = nodes_[node].joining;
  return c;
}

// Small WAL segments and frequent snapshot files, so that every run rolls
// segments, writes snapshots and compacts the WAL, and recoveries start from
// a snapshot file.
driver::DriverOptions Simulation::NodeDriverOptions(int node) const {
  driver::DriverOptions o;
  o.data_dir = "data";
  o.cluster_id = "sim";
  o.unsynced_bytes_max = 4 << 10;
  o.snapshot_wal_bytes = 8 << 10;
  o.wal_segment_bytes = 4 << 10;
  o.bugs = driver_bugs_;
  o.new_incarnation = nodes_[node].incarnation;  // a wiped disk's IDENTITY gets the next one
  return o;
}

void Simulation::StartNode(int node) {
  SimNode& n = nodes_[node];
  ++n.epoch;  // ticks scheduled for an earlier life of this node are void
  if (!n.env) n.env = std::make_unique<NodeEnv>(this, node);
  driver::DriverEnv env{n.disk.get(), n.env.get(), n.env.get(), n.env.get(), n.env.get(), nullptr};
  auto opened = driver::Driver::Open(NodeDriverOptions(node), NodeConfig(node), env);
  if (!opened.ok()) {  // what a power loss left must always recover
    Fail("recovery: node " + std::to_string(node) + ": " + opened.status().ToString());
    n.up = false;
    return;
  }
  n.driver = std::move(opened).value();
  if (n.epoch > 1) ++result_.recoveries;
  n.up = true;
  ScheduleTick(node);
  Process(node);
}

int64_t NodeEnv::LeaseNowNs() { return sim_->LocalNs(node_); }
void NodeEnv::Send(const core::Message& message) { sim_->SendFrom(node_, message); }
void NodeEnv::Deliver(const core::Reply& reply) { sim_->ReplyFrom(node_, reply); }
void NodeEnv::Chosen(const core::ChosenEntry& entry) { sim_->ChosenAt(node_, entry); }
void NodeEnv::BeforeSync() { sim_->BeforeSync(node_); }

// A moment to cut the power: during a sync that messages of the same batch
// went out before (the Accepts a leader sends ahead of its own fsync). What
// the sync would have made durable is lost; what was sent is out.
void Simulation::BeforeSync(int node) {
  SimNode& n = nodes_[node];
  if (!n.sent_before_sync || !faults_on_ || !Chance(0.05)) return;
  n.disk->PowerLoss();
  n.power_lost = true;
  ++result_.power_losses_in_sync;
  if (debug_) {
    std::fprintf(stderr, "t=%.1fms power loss n%d during a sync\n", static_cast<double>(now_) / kMs,
                 node);
  }
}

void Simulation::ScheduleTick(int node) {
  Event e;
  e.kind = EventKind::kTick;
  e.node = node;
  e.token = nodes_[node].epoch;
  e.time_ns = now_ + static_cast<int64_t>(static_cast<double>(kTickNs) / nodes_[node].rate);
  Schedule(std::move(e));
}

// The driver performs the core's batches: persist (and sync when its
// policy says so), then send (SendFrom), then reply (ReplyFrom).
void Simulation::Process(int node) {
  SimNode& n = nodes_[node];
  if (debug_) {
    std::fprintf(stderr, "t=%.1fms n%d %s b=%s promised=%s prefix=%lld applied=%lld\n",
                 static_cast<double>(now_) / kMs, node, core::RoleName(n.core().role()),
                 core::ToString(n.core().ballot()).c_str(),
                 core::ToString(n.core().promised()).c_str(),
                 static_cast<long long>(n.core().chosen_prefix().value),
                 static_cast<long long>(n.core().applied().value));
  }
  if (debug_ && LeaderCount() > 1) {
    std::fprintf(stderr, "TWO LEADERS t=%lld\n", static_cast<long long>(now_ / kMs));
  }
  if (!n.core().HasReady()) return;
  n.sent_promise = n.sent_prepare = n.sent_before_sync = false;
  int64_t syncs_before = n.driver->stats().syncs;
  Status s = n.driver->Process();
  if (n.power_lost) {  // the sync failed on the lost disk: the node is down
    CHAOS_CHECK_MSG(!s.ok(), "node %d: a sync succeeded after the power went out", node);
    n.power_lost = false;
    Crash(node, Uniform(5 * kMs, 50 * kMs));
    return;
  }
  CHAOS_CHECK_MSG(s.ok(), "node %d: driver on MemEnv failed: %s", node, s.ToString().c_str());
  if (!n.core().fatal().empty()) Fail("divergence: " + n.core().fatal());
  // On a slow disk the sync blocks the node, and what it guards waits for it.
  if (n.slow_until_ns > now_ && n.driver->stats().syncs != syncs_before) Pause(node, n.sync_ns);
  // An interesting moment to crash (FoundationDB's buggify): right after
  // promising, before the candidate uses the promise.
  if (n.sent_promise && faults_on_ && Chance(0.1)) Crash(node, Uniform(5 * kMs, 50 * kMs));
  // Another: a candidate stalls (a GC pause, a slow disk) right after sending
  // phase 1. The other acceptors' promises pile up meanwhile and are handled
  // before its own acceptor's reply comes back, so it may win with a quorum
  // that lacks itself, as a stalled server would.
  if (n.sent_prepare && nodes_[node].up && faults_on_ && Chance(0.5)) {
    Pause(node, Uniform(10, 40) * kMs);
  }
}

void Simulation::ChosenAt(int node, const core::ChosenEntry& c) {
  auto [it, fresh] = chosen_.emplace(c.slot.value, c.batch);
  if (!fresh && it->second != c.batch) {
    Fail("agreement: slot " + std::to_string(c.slot.value) + " chosen with two values (node " +
         std::to_string(node) + ", t=" + std::to_string(now_ / kMs) + "ms)");
  }
  hash_ = Mix(hash_, static_cast<uint64_t>(c.slot.value));
}

void Simulation::SendFrom(int node, const Message& m) {
  SimNode& n = nodes_[node];
  if (debug_) {
    std::fprintf(stderr, "  send %d->%d %s\n", m.from.value, m.to.value, core::MessageName(m.body));
  }
  if (const auto* p = std::get_if<core::Promise>(&m.body)) n.sent_promise |= p->ok;
  n.sent_prepare |= std::holds_alternative<core::Prepare>(m.body);
  n.sent_before_sync |= !n.driver->last_batch_synced();
  SendPeer(m, SyncNs(node));
}

void Simulation::ReplyFrom(int node, const Reply& r) {
  SimNode& n = nodes_[node];
  if (debug_) {
    std::fprintf(stderr, "  reply c%lld s%lld status %d\n", static_cast<long long>(r.client_id),
                 static_cast<long long>(r.seq), static_cast<int>(r.status));
    if (r.status == ReplyStatus::kOk) {
      for (int j = 0; j < options_.nodes; ++j) {
        if (j != node && nodes_[j].up && nodes_[j].core().is_leader() &&
            nodes_[j].core().ballot() > n.core().ballot()) {
          std::fprintf(stderr, "STALE? t=%lld node %d replied while %d leads\n",
                       static_cast<long long>(now_ / kMs), node, j);
        }
      }
    }
  }
  auto it = client_by_id_.find(r.client_id);
  if (it == client_by_id_.end()) return;
  if (faults_on_ && Chance(drop_p_)) return;
  Event e;
  e.kind = EventKind::kClientReply;
  e.client = it->second;
  e.reply = r;
  e.time_ns = now_ + SyncNs(node) + Uniform(kMs / 2, max_delay_ns_);
  Schedule(std::move(e));
}

void Simulation::Deliver(int node, const Message& m) {
  if (debug_) {
    if (const auto* p = std::get_if<core::Promise>(&m.body)) {
      std::fprintf(stderr, "t=%.1fms n%d gets promise from %d ok=%d b=%s entries=%zu\n",
                   static_cast<double>(now_) / kMs, node, m.from.value, p->ok,
                   core::ToString(p->ballot).c_str(), p->entries.size());
    }
  }
  nodes_[node].driver->Step(m);
  Process(node);
}

void Simulation::SendPeer(const Message& m, int64_t after_ns) {
  int from = m.from.value, to = m.to.value;
  hash_ = Mix(hash_, (static_cast<uint64_t>(from) << 40) ^ (static_cast<uint64_t>(to) << 32) ^
                         m.body.index());
  if (!Connected(from, to)) return;
  int copies = 1;
  if (faults_on_ && from != to) {  // loopback is never lost
    if (Chance(drop_p_)) return;
    if (Chance(dup_p_)) copies = 2;
  }
  for (int i = 0; i < copies; ++i) {
    Event e;
    e.kind = EventKind::kDeliver;
    e.node = to;
    e.message = m;
    e.time_ns = now_ + after_ns + Uniform(kMs / 4, max_delay_ns_);
    // A few messages are stuck for a long time and arrive far out of order.
    if (faults_on_ && from != to && Chance(0.02)) e.time_ns = now_ + Uniform(100, 600) * kMs;
    Schedule(std::move(e));
  }
}

// ---------------------------------------------------------------------------
// Clients: one command at a time, retries with the same seq, a deadline after
// which the op is recorded as info and the worker continues as a new process.

void Simulation::Record(const SimClient& cl, history::OpType type, const std::string& f,
                        Json value) {
  history::Op op;
  op.index = static_cast<int64_t>(result_.history.size());
  op.time_ns = now_;
  op.process = history::Process::Number(cl.process);
  op.type = type;
  op.f = f;
  op.value = std::move(value);
  hash_ = Mix(hash_, static_cast<uint64_t>(now_) ^ static_cast<uint64_t>(type));
  result_.history.push_back(std::move(op));
}

void Simulation::ClientIssue(int c) {
  SimClient& cl = clients_[c];
  if (now_ >= end_ns_ - 100 * kMs) return;  // no new ops right before the end
  int key = static_cast<int>(Uniform(0, options_.keys - 1));
  Command cmd;
  cmd.client_id = cl.client_id;
  cmd.seq = ++cl.seq;
  cmd.key = "k" + std::to_string(key);
  int64_t roll = Uniform(0, 9);
  // Lease runs are read-heavy: lease reads are what they exercise.
  int64_t reads = read_mode_ == core::ReadMode::kLease ? 7 : 4;
  if (roll < reads) {
    cmd.op = OpKind::kRead;
    cl.f = "read";
    cl.invoke_value = Json::array({key, nullptr});
  } else if (roll < reads + (10 - reads) / 2) {
    cmd.op = OpKind::kWrite;
    cmd.value = Uniform(0, 4);
    cl.f = "write";
    cl.invoke_value = Json::array({key, cmd.value});
  } else {
    cmd.op = OpKind::kCas;
    cmd.from = Uniform(0, 4);
    cmd.to = Uniform(0, 4);
    cl.f = "cas";
    cl.invoke_value = Json::array({key, Json::array({cmd.from, cmd.to})});
  }
  cl.command = cmd;
  cl.busy = true;
  cl.invoke_ns = now_;
  cl.deadline_ns = now_ + 400 * kMs;
  // Like Jepsen's workers, each client is bound to a node and starts every op
  // there; it follows redirects and tries others only for this op.
  cl.target = c % options_.nodes;
  ++result_.ops_invoked;
  Record(cl, history::OpType::kInvoke, cl.f, cl.invoke_value);
  ClientSend(c);
}

void Simulation::ClientSend(int c) {
  SimClient& cl = clients_[c];
  ++cl.attempt;
  Event req;
  req.kind = EventKind::kClientRequest;
  req.node = cl.target;
  req.client = c;
  req.command = cl.command;
  req.time_ns = now_ + Uniform(kMs / 2, max_delay_ns_);
  if (!(faults_on_ && Chance(drop_p_))) Schedule(std::move(req));
  Event timer;
  timer.kind = EventKind::kClientTimer;
  timer.client = c;
  timer.token = cl.attempt;
  timer.time_ns = now_ + 50 * kMs;
  Schedule(std::move(timer));
}

void Simulation::ClientComplete(int c, history::OpType type, Json value) {
  SimClient& cl = clients_[c];
  Record(cl, type, cl.f, std::move(value));
  cl.busy = false;
  ++cl.attempt;  // invalidates pending timers
  if (type == history::OpType::kInfo) {
    ++result_.ops_info;
    // Jepsen: a process with an unknown outcome never issues another op.
    client_by_id_.erase(cl.client_id);
    cl.process += options_.clients;
    cl.client_id = next_client_id_++;
    cl.seq = 0;
    client_by_id_[cl.client_id] = c;
  } else {
    if (type == history::OpType::kOk) ++result_.ops_ok;
    if (type == history::OpType::kFail) ++result_.ops_fail;
    if (cl.invoke_ns >= heal_ns_ && cl.progress_ns < 0) cl.progress_ns = now_;
  }
  Event next;
  next.kind = EventKind::kClientTimer;
  next.client = c;
  next.token = cl.attempt;
  next.time_ns = now_ + Uniform(1 * kMs, 20 * kMs);
  Schedule(std::move(next));
}

void Simulation::OnClientReply(int c, const Reply& r) {
  SimClient& cl = clients_[c];
  if (!cl.busy || r.client_id != cl.client_id || r.seq != cl.command.seq) return;  // stale
  Json key = cl.invoke_value[0];
  switch (r.status) {
    case ReplyStatus::kOk: {
      Json v = cl.invoke_value;
      if (cl.command.op == OpKind::kRead) {
        v = Json::array({key, r.value ? Json(*r.value) : Json(nullptr)});
      }
      ClientComplete(c, history::OpType::kOk, v);
      return;
    }
    case ReplyStatus::kFail:
      ClientComplete(c, history::OpType::kFail, cl.invoke_value);
      return;
    case ReplyStatus::kUnknown:
      ClientComplete(c, history::OpType::kInfo, cl.invoke_value);
      return;
    case ReplyStatus::kNotLeader:
      cl.target = r.leader_hint.valid() && r.leader_hint.value != cl.target
                      ? r.leader_hint.value
                      : static_cast<int>((cl.target + 1) % options_.nodes);
      ++cl.attempt;
      {
        Event retry;  // back off a little so an election can finish
        retry.kind = EventKind::kClientResend;
        retry.client = c;
        retry.token = cl.attempt;
        retry.time_ns = now_ + (r.leader_hint.valid() ? kMs : 10 * kMs);
        Schedule(std::move(retry));
      }
      return;
  }
}

// ---------------------------------------------------------------------------
// Faults.

void Simulation::Crash(int node, int64_t restart_after_ns) {
  SimNode& sn = nodes_[node];
  if (!sn.up) return;
  sn.up = false;
  CountDriverWork(sn);
  sn.driver.reset();
  sn.disk->PowerLoss();  // what was not synced is lost
  sn.paused = false;
  sn.held.clear();
  if (debug_) {
    std::fprintf(stderr, "t=%.1fms crash n%d, restart in %.1fms\n", static_cast<double>(now_) / kMs,
                 node, static_cast<double>(restart_after_ns) / kMs);
  }
  ++sn.epoch;
  hash_ = Mix(hash_, 0xC0DE0000ULL + static_cast<uint64_t>(node));
  Event e;
  e.kind = EventKind::kRestart;
  e.node = node;
  e.time_ns = now_ + restart_after_ns;
  Schedule(std::move(e));
}

void Simulation::Wipe(int node, int64_t restart_after_ns) {
  SimNode& sn = nodes_[node];
  if (!sn.up) return;
  Crash(node, restart_after_ns);
  sn.disk = std::make_unique<storage::MemEnv>();  // a new, empty disk
  ++sn.incarnation;
  sn.joining = true;
  hash_ = Mix(hash_, 0xA3E5000ULL + static_cast<uint64_t>(node));
  if (debug_) {
    std::fprintf(stderr, "t=%.1fms wipe n%d (incarnation %lld)\n", static_cast<double>(now_) / kMs,
                 node, static_cast<long long>(sn.incarnation));
  }
}

// The administrator, every 60-250 ms (drawn from member_rng_): first it
// brings the membership back to every node as a voter at its current
// incarnation (remove a wiped member, pinned or not yet, add it as a
// learner, promote it), one change at a time; with all in, while faults are
// on, it removes a node (the leader half the time) or wipes one (2 in 5
// rounds each). Changes go to the leader (or are dropped when there is none:
// the next round tries again), meanwhile the other faults go on: changes
// meet partitions, crashes and leader changes.
void Simulation::ChangeMembership() {
  auto draw = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(member_rng_() % static_cast<uint64_t>(hi - lo + 1));
  };
  Event next;
  next.kind = EventKind::kMembership;
  next.time_ns = now_ + draw(60, 250) * kMs;
  if (next.time_ns < end_ns_) Schedule(std::move(next));
  int leader = Leader();
  if (leader < 0 || nodes_[leader].paused) return;
  const core::Membership& m = nodes_[leader].core().members();
  Command c;
  c.client_id = kAdminClient;
  c.op = core::OpKind::kConfig;
  for (int x = 0; x < options_.nodes && c.key.empty(); ++x) {
    const core::Member* found = m.Find(NodeId{x});
    if (found == nullptr) {
      c.key = "learner";
      c.value = x;
      c.from = nodes_[x].incarnation;
    } else if (found->incarnation != 0 ? found->incarnation != nodes_[x].incarnation
                                       : nodes_[x].joining) {
      // Pinned at an older incarnation, or wiped before any pin: a joining
      // node stands for nothing until it is re-added at its incarnation, so
      // until then it is out, and another wipe could leave no majority.
      c.key = "remove";
      c.value = x;
    } else if (!m.IsVoter(NodeId{x})) {
      c.key = "promote";
      c.value = x;
    }
  }
  // One disruption at a time (a wipe while another voter is out could leave
  // no majority that remembers): the last one must be over for 500 ms, long
  // enough for a removal to be chosen or dropped with its leader.
  if (!c.key.empty()) disrupted_ns_ = now_;
  if (c.key.empty()) {
    if (!faults_on_ || now_ - disrupted_ns_ < 500 * kMs) return;
    // Nor while the leader has a change on its way (one it took over in
    // phase 1 from an earlier leader included).
    if (nodes_[leader].core().ConfigChangeInFlight()) return;
    // The leader may not have applied a change another node has (a removal
    // chosen by an earlier leader), or a re-added node may not have learnt
    // yet that it was pinned (it stands for nothing until it has, and only a
    // leader can tell it): a disruption then could leave a voter set with
    // no majority that remembers, which no schedule recovers.
    for (const SimNode& n : nodes_) {
      if (!n.up) continue;
      if (n.core().standing() == core::Standing::kNone) return;
      const core::Membership& seen = n.core().members();
      for (int x = 0; x < options_.nodes; ++x) {
        if (!seen.IsVoter(NodeId{x})) return;
      }
    }
    disrupted_ns_ = now_;
    int64_t roll = draw(0, 4);
    int x = static_cast<int>(draw(0, options_.nodes - 1));
    if (roll == 0) x = leader;
    if (roll <= 1) {
      c.key = "remove";
      c.value = x;
      // Half the time the administrator shrinks by two at once: the second
      // removal comes while the first is in flight (refused, one change at
      // a time; under --bug config-before-chosen both count at once).
      if (options_.nodes >= 3 && draw(0, 1) == 0) {
        int y = static_cast<int>(draw(0, options_.nodes - 1));
        while (y == x || y == leader) y = (y + 1) % options_.nodes;
        ProposeChange(leader, c);
        if (!nodes_[leader].up) return;
        c.value = y;
      }
    } else if (roll <= 3) {
      Wipe(x, draw(20, 200) * kMs);
      return;
    } else {
      return;
    }
  }
  ProposeChange(leader, c);
}

void Simulation::ProposeChange(int leader, Command c) {
  c.seq = ++admin_seq_;
  hash_ = Mix(hash_, 0x3E3B0000ULL + static_cast<uint64_t>(c.value) * 8 +
                         static_cast<uint64_t>(c.key.size()));
  if (debug_) {
    std::fprintf(stderr, "t=%.1fms membership: %s %lld at n%d (%s)\n",
                 static_cast<double>(now_) / kMs, c.key.c_str(), static_cast<long long>(c.value),
                 leader, core::ToString(nodes_[leader].core().members()).c_str());
  }
  nodes_[leader].driver->Propose(c);
  Process(leader);
}

void Simulation::SetLink(int a, int b, bool up) {
  if (a == b) return;
  uint64_t bit_b = uint64_t{1} << b, bit_a = uint64_t{1} << a;
  if (up) {
    nodes_[a].cut &= ~bit_b;
    nodes_[b].cut &= ~bit_a;
  } else {
    nodes_[a].cut |= bit_b;
    nodes_[b].cut |= bit_a;
  }
}

void Simulation::SetGroups(const std::vector<int>& group) {
  for (int a = 0; a < options_.nodes; ++a) {
    for (int b = 0; b < options_.nodes; ++b) SetLink(a, b, group[a] == group[b]);
  }
}

void Simulation::HealLinks() {
  for (SimNode& n : nodes_) n.cut = 0;
}

int Simulation::Leader() const {
  int leader = -1;
  for (int i = 0; i < options_.nodes; ++i) {
    const SimNode& n = nodes_[i];
    if (n.up && n.core().is_leader() &&
        (leader < 0 || n.core().ballot() > nodes_[leader].core().ballot())) {
      leader = i;
    }
  }
  return leader;
}

std::vector<int> Simulation::OthersShuffled(int except) {
  std::vector<int> others;
  for (int i = 0; i < options_.nodes; ++i) {
    if (i != except) others.push_back(i);
  }
  std::shuffle(others.begin(), others.end(), rng_);
  return others;
}

void Simulation::SetRate(int node, double rate) {
  SimNode& n = nodes_[node];
  int64_t local_ns = LocalNs(node);
  n.rate = rate;
  n.skew_ns = local_ns - static_cast<int64_t>(rate * static_cast<double>(now_));
}

// Jepsen's pause nemesis (SIGSTOP, then SIGCONT): the node's clock runs on,
// its inputs wait in the kernel, and when it continues it handles them in
// order and then runs the ticks it missed, at most 5 at once as the server's
// loop does after a stall. It still believes whatever it believed before.
void Simulation::Pause(int node, int64_t duration_ns) {
  SimNode& n = nodes_[node];
  if (!n.up) return;
  if (!n.paused) {
    n.paused = true;
    n.paused_since_ns = now_;
  }
  ++n.epoch;  // its pending ticks (or earlier resume) are void; Resume schedules new ones
  hash_ = Mix(hash_, 0x5A05E000ULL + static_cast<uint64_t>(node));
  Event e;
  e.kind = EventKind::kResume;
  e.node = node;
  e.token = n.epoch;
  e.time_ns = now_ + duration_ns;
  Schedule(std::move(e));
}

bool Simulation::Hold(const Event& e) {
  SimNode& n = nodes_[e.node];
  if (!n.up || !n.paused) return false;
  CHAOS_CHECK_MSG(n.held.size() < 100'000, "node %d holds %zu inputs", e.node, n.held.size());
  n.held.push_back(e);
  return true;
}

void Simulation::Resume(int node) {
  SimNode& n = nodes_[node];
  if (!n.up || !n.paused) return;
  n.paused = false;
  if (debug_) {
    std::fprintf(stderr, "t=%.1fms resume n%d (%zu held)\n", static_cast<double>(now_) / kMs, node,
                 n.held.size());
  }
  std::vector<Event> held = std::move(n.held);
  n.held.clear();
  for (size_t i = 0; i < held.size(); ++i) {
    if (held[i].kind == EventKind::kDeliver) {
      Deliver(node, held[i].message);
    } else {
      n.driver->Propose(held[i].command);
      Process(node);
    }
    if (!n.up) return;  // crashed right after promising
    if (n.paused) {     // stalled again right after sending phase 1: the rest waits
      n.held.insert(n.held.begin(), held.begin() + static_cast<std::ptrdiff_t>(i) + 1, held.end());
      return;
    }
  }
  int64_t tick_ns = static_cast<int64_t>(static_cast<double>(kTickNs) / n.rate);
  int64_t missed = std::clamp<int64_t>((now_ - n.paused_since_ns) / tick_ns, 1, 5);
  for (int64_t i = 0; i < missed && n.up && !n.paused; ++i) {
    n.driver->Tick();
    Process(node);
  }
  if (n.up && !n.paused) ScheduleTick(node);
}

void Simulation::InjectFault() {
  if (scenario_.kind != ScenarioKind::kNone) return;  // the scenario owns the faults
  int n = options_.nodes;
  int64_t roll = Uniform(0, 16);
  if (roll < 3) {  // crash one node (lose unsynced records), restart later
    int node = static_cast<int>(Uniform(0, n - 1));
    if (roll == 0 && Leader() >= 0) node = Leader();  // crashes between accept and commit
    Crash(node, Uniform(20 * kMs, 400 * kMs));
  } else if (roll < 6) {  // partition: random groups, or isolate the leader
    // Two or three groups: with three, often no side holds a majority.
    int groups = static_cast<int>(Uniform(2, 3));
    std::vector<int> group(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) group[i] = static_cast<int>(Uniform(0, groups - 1));
    if (roll >= 4) {
      for (int i = 0; i < n; ++i) group[i] = (nodes_[i].up && nodes_[i].core().is_leader()) ? 1 : 0;
    }
    SetGroups(group);
  } else if (roll < 8) {  // heal the network
    HealLinks();
  } else if (roll < 10) {  // change message loss / duplication / delay
    drop_p_ = static_cast<double>(Uniform(0, 20)) / 100;
    dup_p_ = static_cast<double>(Uniform(0, 20)) / 100;
    max_delay_ns_ = Uniform(1, 30) * kMs;
  } else if (roll == 10) {  // pause a node, the leader half the time
    int node = static_cast<int>(Uniform(0, n - 1));
    if (Chance(0.5) && Leader() >= 0) node = Leader();
    Pause(node, Uniform(50, 400) * kMs);
  } else if (roll <= 12) {
    StartScenario(ScenarioKind::kIsolateLeader);
  } else {
    StartScenario(roll <= 14 ? ScenarioKind::kMinoritySwap : ScenarioKind::kStaleLeader);
  }
}

// The slow-disk nemesis: one node's disk (the leader's half the time) turns
// slow for 100-500 ms, each sync taking 2-20 ms; the next window is picked
// 100-300 ms later. All drawn from disk_rng_.
void Simulation::SlowDisk() {
  auto draw = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(disk_rng_() % static_cast<uint64_t>(hi - lo + 1));
  };
  int node = static_cast<int>(draw(0, options_.nodes - 1));
  if (draw(0, 1) == 0 && Leader() >= 0) node = Leader();
  SimNode& n = nodes_[node];
  n.sync_ns = draw(2, 20) * kMs;
  n.slow_until_ns = now_ + draw(100, 500) * kMs;
  hash_ = Mix(hash_, 0xD15C0000ULL + static_cast<uint64_t>(node));
  if (debug_) {
    std::fprintf(stderr, "t=%.1fms slow disk n%d: syncs take %lld ms until t=%.1fms\n",
                 static_cast<double>(now_) / kMs, node, static_cast<long long>(n.sync_ns / kMs),
                 static_cast<double>(n.slow_until_ns) / kMs);
  }
  Event e;
  e.kind = EventKind::kSlowDisk;
  e.time_ns = now_ + draw(100, 300) * kMs;
  Schedule(std::move(e));
}

void Simulation::StartScenario(ScenarioKind kind) {
  int leader = Leader();
  if (leader < 0) return;  // nothing to aim at now
  scenario_ = Scenario{};
  scenario_.kind = kind;
  scenario_.generation = ++scenario_generation_;
  scenario_.leader = leader;
  hash_ = Mix(hash_, 0x5CE0000ULL + static_cast<uint64_t>(kind));
  // Its faults are the partitions, pauses and crashes it scripts: the
  // network itself is reliable meanwhile, with short delays.
  scenario_.drop_p = drop_p_;
  scenario_.dup_p = dup_p_;
  scenario_.max_delay_ns = max_delay_ns_;
  drop_p_ = dup_p_ = 0;
  max_delay_ns_ = Uniform(2, 10) * kMs;
  ScenarioStep();
}

void Simulation::ScheduleScenarioStep(int64_t at_ns) {
  Event e;
  e.kind = EventKind::kScenario;
  e.token = scenario_.generation;
  e.time_ns = at_ns;
  Schedule(std::move(e));
}

void Simulation::EndScenario() {
  if (scenario_.kind == ScenarioKind::kNone) return;
  scenario_.kind = ScenarioKind::kNone;
  drop_p_ = scenario_.drop_p;
  dup_p_ = scenario_.dup_p;
  max_delay_ns_ = scenario_.max_delay_ns;
}

void Simulation::ScenarioStep() {
  int n = options_.nodes;
  int quorum = n / 2 + 1;
  int x = scenario_.leader;
  int step = scenario_.step++;
  if (debug_) {
    std::string minority;
    for (int i : scenario_.minority) minority += " " + std::to_string(i);
    std::fprintf(stderr, "t=%.1fms scenario %d step %d leader %d minority%s\n",
                 static_cast<double>(now_) / kMs, static_cast<int>(scenario_.kind), step, x,
                 minority.c_str());
  }
  if (scenario_.kind == ScenarioKind::kMinoritySwap) {
    if (step == 0) {
      // {leader + minority} | the rest in groups too small for a quorum. With
      // 3 nodes the leader's pair is a majority and it simply keeps leading.
      std::vector<int> others = OthersShuffled(x);
      size_t m = static_cast<size_t>(std::max(1, quorum - 2));
      scenario_.minority.assign(others.begin(), others.begin() + static_cast<std::ptrdiff_t>(m));
      std::vector<int> group(static_cast<size_t>(n), 0);
      int max_group = quorum - 1, next = 1, in_group = 0;
      for (size_t i = m; i < others.size(); ++i) {
        if (in_group == max_group) {
          ++next;
          in_group = 0;
        }
        group[others[i]] = next;
        ++in_group;
      }
      SetGroups(group);
      ScheduleScenarioStep(now_ + Uniform(250, 500) * kMs);
    } else if (step == 1) {  // the minority alone | everyone else, the old leader included
      std::vector<int> group(static_cast<size_t>(n), 0);
      for (int i : scenario_.minority) group[i] = 1;
      SetGroups(group);
      ScheduleScenarioStep(now_ + Uniform(150, 400) * kMs);
    } else {
      HealLinks();
      EndScenario();
    }
    return;
  }
  if (scenario_.kind == ScenarioKind::kIsolateLeader) {
    if (step == 0) {
      std::vector<int> group(static_cast<size_t>(n), 0);
      group[x] = 1;
      SetGroups(group);
      // The worst case a lease must survive: from now on the leader's clock
      // runs at the slow edge of the drift bound and everyone else's at the
      // fast edge.
      for (int i = 0; i < n; ++i) {
        SetRate(i, i == x ? 1 - 0.99 * kMaxDrift : 1 + 0.99 * kMaxDrift);
      }
      ScheduleScenarioStep(now_ + Uniform(150, 400) * kMs);
    } else {
      HealLinks();
      EndScenario();
    }
    return;
  }
  CHAOS_CHECK(scenario_.kind == ScenarioKind::kStaleLeader);
  if (step == 0) {
    // The leader stops, cut off from everyone (so nothing from the new
    // leader waits for it), for long enough that the others elect another.
    std::vector<int> others = OthersShuffled(x);
    scenario_.minority.assign(others.begin(), others.begin() + (quorum - 1));
    for (int i : others) SetLink(x, i, false);
    int64_t pause_ns = Uniform(300, 700) * kMs;
    scenario_.resume_ns = now_ + pause_ns;
    Pause(x, pause_ns);
    ScheduleScenarioStep(scenario_.resume_ns - Uniform(10, 60) * kMs);
  } else if (step == 1) {
    // Just before it wakes, the network splits it off with quorum - 1 others,
    // which crash and are back up when it wakes.
    std::vector<int> group(static_cast<size_t>(n), 1);
    group[x] = 0;
    for (int i : scenario_.minority) {
      group[i] = 0;
      Crash(i, scenario_.resume_ns - Uniform(0, 5) * kMs - now_);
    }
    SetGroups(group);
    ScheduleScenarioStep(scenario_.resume_ns + Uniform(100, 300) * kMs);
  } else {
    HealLinks();
    EndScenario();
  }
}

void Simulation::Heal() {
  EndScenario();
  faults_on_ = false;
  drop_p_ = dup_p_ = 0;
  max_delay_ns_ = 2 * kMs;
  HealLinks();
  for (int i = 0; i < options_.nodes; ++i) {
    if (!nodes_[i].up) StartNode(i);
    Resume(i);
    nodes_[i].slow_until_ns = 0;
  }
}

int Simulation::LeaderCount() const {
  int leaders = 0;
  for (const SimNode& n : nodes_) leaders += n.up && n.driver && n.core().is_leader();
  return leaders;
}

// ---------------------------------------------------------------------------

SimResult Simulation::Run() {
  CHAOS_CHECK_MSG(options_.nodes >= 1 && options_.nodes <= 9, "%d nodes", options_.nodes);
  CHAOS_CHECK(options_.clients >= 1 && options_.keys >= 1);
  if (options_.read_mode) {
    read_mode_ = *options_.read_mode;
  } else if (bugs_.stale_lease_read) {
    read_mode_ = core::ReadMode::kLease;
  } else {
    read_mode_ = static_cast<core::ReadMode>(Uniform(0, 2));
  }
  result_.read_mode = read_mode_;
  heal_ns_ = options_.faults ? options_.fault_ms * kMs : 0;
  end_ns_ = heal_ns_ + options_.recovery_ms * kMs;
  faults_on_ = options_.faults;
  nodes_.resize(static_cast<size_t>(options_.nodes));
  for (int i = 0; i < options_.nodes; ++i) {
    SimNode& n = nodes_[i];
    if (options_.faults) {  // drift within the configured bound, often at its edges
      double d = kMaxDrift * static_cast<double>(Uniform(-100, 100)) / 100;
      if (Chance(0.5)) d = Chance(0.5) ? kMaxDrift * 0.99 : -kMaxDrift * 0.99;
      n.rate = 1 + d;
      n.skew_ns = Uniform(0, 1000) * kMs;
    }
  }
  for (int i = 0; i < options_.nodes; ++i) StartNode(i);
  clients_.resize(static_cast<size_t>(options_.clients));
  for (int c = 0; c < options_.clients; ++c) {
    SimClient& cl = clients_[c];
    cl.process = c;
    cl.client_id = next_client_id_++;
    cl.target = static_cast<int>(Uniform(0, options_.nodes - 1));
    client_by_id_[cl.client_id] = c;
    Event e;
    e.kind = EventKind::kClientTimer;
    e.client = c;
    e.token = cl.attempt;
    e.time_ns = Uniform(1, 50) * kMs;
    Schedule(std::move(e));
  }
  if (options_.faults) {
    for (int64_t t = 50 * kMs; t < heal_ns_; t += Uniform(20, 200) * kMs) {
      Event e;
      e.kind = EventKind::kFault;
      e.time_ns = t;
      Schedule(std::move(e));
    }
    Event h;
    h.kind = EventKind::kHeal;
    h.time_ns = heal_ns_;
    Schedule(std::move(h));
  }
  if (options_.membership) {
    Event c;
    c.kind = EventKind::kMembership;
    c.time_ns = 100 * kMs;
    Schedule(std::move(c));
  }
  if (options_.faults && options_.slow_disk) {
    Event d;
    d.kind = EventKind::kSlowDisk;
    d.time_ns = 50 * kMs;
    Schedule(std::move(d));
  }
  if (bugs_.no_fsync) {
    Event s;
    s.kind = EventKind::kBackgroundSync;
    s.time_ns = 20 * kMs;
    Schedule(std::move(s));
  }

  bool leader_after_heal = false;
  const int64_t kMaxEvents = 5'000'000;  // a bound: a run that exceeds it fails
  while (!queue_.empty() && result_.ok) {
    Event e = queue_.top();
    queue_.pop();
    if (e.time_ns > end_ns_) break;
    if (++result_.events > kMaxEvents) {
      Fail("bound: more than 5000000 events");
      break;
    }
    now_ = e.time_ns;
    hash_ = Mix(hash_, (static_cast<uint64_t>(now_) << 8) ^ static_cast<uint64_t>(e.kind));
    switch (e.kind) {
      case EventKind::kTick: {
        SimNode& n = nodes_[e.node];
        if (!n.up || n.paused || e.token != n.epoch) break;
        n.driver->Tick();
        Process(e.node);
        if (!n.paused) ScheduleTick(e.node);  // Resume schedules the ticks of a stalled node
        break;
      }
      case EventKind::kDeliver: {
        SimNode& n = nodes_[e.node];
        if (!n.up || !Connected(e.message.from.value, e.node) || Hold(e)) break;
        Deliver(e.node, e.message);
        break;
      }
      case EventKind::kClientRequest: {
        SimNode& n = nodes_[e.node];
        if (!n.up || Hold(e)) break;
        if (debug_) {
          std::fprintf(stderr, "t=%lld request n%d op %d lease_ns %lld\n",
                       static_cast<long long>(now_ / kMs), e.node, static_cast<int>(e.command.op),
                       static_cast<long long>(n.core().LeaseNs()));
        }
        n.driver->Propose(e.command);
        Process(e.node);
        break;
      }
      case EventKind::kClientReply:
        OnClientReply(e.client, e.reply);
        break;
      case EventKind::kClientTimer: {
        SimClient& cl = clients_[e.client];
        if (e.token != cl.attempt) break;
        if (!cl.busy) {
          ClientIssue(e.client);
        } else if (now_ >= cl.deadline_ns) {
          ClientComplete(e.client, history::OpType::kInfo, cl.invoke_value);
        } else {
          cl.target = (cl.target + 1) % options_.nodes;  // no answer: try another node
          cl.command.retry = true;  // the unanswered attempt may have been proposed
          ClientSend(e.client);
        }
        break;
      }
      case EventKind::kClientResend: {
        SimClient& cl = clients_[e.client];
        if (e.token == cl.attempt && cl.busy) ClientSend(e.client);
        break;
      }
      case EventKind::kFault:
        if (faults_on_) InjectFault();
        break;
      case EventKind::kRestart:
        if (faults_on_ && !nodes_[e.node].up) StartNode(e.node);
        break;
      case EventKind::kBackgroundSync: {  // the kernel writes back what no-fsync left
        for (SimNode& n : nodes_) n.disk->WriteBack();
        Event s;
        s.kind = EventKind::kBackgroundSync;
        s.time_ns = now_ + 20 * kMs;
        Schedule(std::move(s));
        break;
      }
      case EventKind::kHeal:
        Heal();
        break;
      case EventKind::kResume:
        if (e.token == nodes_[e.node].epoch) Resume(e.node);
        break;
      case EventKind::kScenario:
        if (faults_on_ && e.token == scenario_.generation &&
            scenario_.kind != ScenarioKind::kNone) {
          ScenarioStep();
        }
        break;
      case EventKind::kSlowDisk:
        if (faults_on_) SlowDisk();
        break;
      case EventKind::kMembership:
        ChangeMembership();
        break;
    }
    if (!leader_after_heal && now_ >= heal_ns_ && LeaderCount() > 0) leader_after_heal = true;
  }
  result_.sim_ns = now_;
  result_.slots_chosen = static_cast<int64_t>(chosen_.size());
  for (const SimNode& n : nodes_) {
    if (n.up && n.driver) CountDriverWork(n);
  }
  // Ops still open at the end: their outcome is unknown.
  for (SimClient& cl : clients_) {
    if (cl.busy) {
      Record(cl, history::OpType::kInfo, cl.f, cl.invoke_value);
      cl.busy = false;
      ++result_.ops_info;
    }
  }
  if (result_.ok) {  // liveness
    if (!leader_after_heal) Fail("liveness: no leader after the faults stopped");
    int64_t bound_ns = heal_ns_ + options_.liveness_bound_ms * kMs;
    for (const SimClient& cl : clients_) {
      if (result_.ok && (cl.progress_ns < 0 || cl.progress_ns > bound_ns)) {
        Fail("liveness: client process " + std::to_string(cl.process) +
             " completed no operation within " + std::to_string(options_.liveness_bound_ms) +
             "ms after the faults stopped");
      }
    }
    if (result_.ok && !options_.faults && result_.ops_invoked > 0 &&
        static_cast<double>(result_.ops_ok + result_.ops_fail) <
            0.99 * static_cast<double>(result_.ops_invoked)) {
      Fail("liveness: only " + std::to_string(result_.ops_ok + result_.ops_fail) + " of " +
           std::to_string(result_.ops_invoked) + " operations completed without faults");
    }
  }
  if (result_.ok && options_.check_linearizable) {
    checker::LinearizableOptions lo;
    lo.model = "cas-register";
    lo.keyed = true;
    lo.time_limit_s = 20;
    lo.threads = 1;
    lo.memory_limit_bytes = 1LL << 30;
    lo.shrink = false;
    // A read of a key no write reached answers null: that is an observation
    // ("nothing there"), as harness/analyze.cc checks the runs' histories.
    // Checked as Knossos's "value unknown", a node that lost or never applied
    // writes answered null unnoticed (a mutant that dropped every write
    // survived 210 runs).
    lo.nil_read = checker::NilRead::kValue;
    checker::CheckResult check = checker::CheckLinearizable(result_.history, lo);
    if (check.verdict == checker::Verdict::kInvalid) {
      Fail("linearizability: " + check.cause);
    } else if (check.verdict == checker::Verdict::kUnknown) {
      result_.checker_unknown = true;
    }
  }
  result_.trace_hash = hash_;
  return std::move(result_);
}

}  // namespace

const char* const* BugNames() { return kBugNames.data(); }

Result<SimBugs> ParseBug(const std::string& name) {
  SimBugs bugs;
  if (name.empty()) return bugs;
  if (const core::BugSwitch* bug = core::FindBug(name)) {
    bugs.core.*(bug->field) = true;
    return bugs;
  }
  for (const DriverBugSwitch& bug : kDriverBugSwitches) {
    if (name == bug.name) {
      bugs.driver.*(bug.field) = true;
      return bugs;
    }
  }
  return InvalidArgument("unknown --bug '" + name + "'");
}

SimResult RunSimulation(const SimOptions& options) {
  Result<SimBugs> bugs = ParseBug(options.bug);
  CHAOS_CHECK_MSG(bugs.ok(), "%s", bugs.status().message().c_str());
  Simulation sim(options, *bugs);
  return sim.Run();
}

SeedsSummary RunSeeds(const SimOptions& base, uint64_t first_seed, int64_t runs, bool stop_at_first,
                      bool verbose, std::FILE* out) {
  SeedsSummary sum;
  auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < runs; ++i) {
    SimOptions o = base;
    o.seed = first_seed + static_cast<uint64_t>(i);
    SimResult r = RunSimulation(o);
    ++sum.runs;
    sum.ops += r.ops_invoked;
    sum.sim_s += static_cast<double>(r.sim_ns) / 1e9;
    sum.checker_unknown += r.checker_unknown;
    if (verbose) {
      std::fprintf(out,
                   "seed %llu: %s read-mode=%d ops=%lld ok=%lld fail=%lld info=%lld slots=%lld "
                   "events=%lld hash=%016llx\n",
                   static_cast<unsigned long long>(o.seed), r.ok ? "ok" : "FAILED",
                   static_cast<int>(r.read_mode), static_cast<long long>(r.ops_invoked),
                   static_cast<long long>(r.ops_ok), static_cast<long long>(r.ops_fail),
                   static_cast<long long>(r.ops_info), static_cast<long long>(r.slots_chosen),
                   static_cast<long long>(r.events), static_cast<unsigned long long>(r.trace_hash));
      std::fflush(out);
    }
    if (!r.ok) {
      if (sum.failed == 0) sum.first_failing_seed = o.seed;
      ++sum.failed;
      std::fprintf(out, "seed %llu FAILED: %s\n  replay: %s\n",
                   static_cast<unsigned long long>(o.seed), r.failure.c_str(),
                   ReplayCommand(o).c_str());
      std::fflush(out);
      if (stop_at_first) break;
    }
  }
  sum.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double wall = std::max(sum.wall_s, 1e-9);
  std::fprintf(out,
               "chaos sim: %lld of %lld runs failed, %lld checker unknown, %lld client ops, "
               "%.1f s simulated in %.2f s: %.1f runs/s, %.0f simulated client ops/s\n",
               static_cast<long long>(sum.failed), static_cast<long long>(sum.runs),
               static_cast<long long>(sum.checker_unknown), static_cast<long long>(sum.ops),
               sum.sim_s, sum.wall_s, static_cast<double>(sum.runs) / wall,
               static_cast<double>(sum.ops) / wall);
  std::fflush(out);
  return sum;
}

std::string ReplayCommand(const SimOptions& o) {
  std::string cmd = "chaos sim --seed " + std::to_string(o.seed) + " --runs 1 --nodes " +
                    std::to_string(o.nodes) + " --faults " + (o.faults ? "all" : "none");
  if (!o.bug.empty()) cmd += " --bug " + o.bug;
  if (o.slow_disk) cmd += " --slow-disk";
  if (o.read_mode) {
    static const char* kModes[] = {"log", "read-index", "lease"};
    cmd += std::string(" --read-mode ") + kModes[static_cast<int>(*o.read_mode)];
  }
  return cmd;
}

}  // namespace chaos::sim
