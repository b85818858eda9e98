#include "target/server/node.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "base/check.h"
#include "target/core/core.h"
#include "target/driver/driver.h"
#include "target/proto/peer.grpc.pb.h"
#include "target/proto/register.grpc.pb.h"
#include "target/server/clock.h"
#include "target/server/codec.h"
#include "target/server/logger.h"

namespace chaos::server {

namespace api = chaos::register_api;
namespace pb = chaos::peer_api;

namespace {

constexpr size_t kInputQueueMax = 20000;     // inputs waiting for the loop
constexpr size_t kInputsPerRoundMax = 4096;  // inputs fed to the core per round
constexpr size_t kPeerQueueMax = 8192;       // messages waiting per peer
constexpr int kPeerBatchMax = 512;           // messages per PeerBatch
constexpr int kTicksPerRoundMax = 5;         // catch-up ticks after a stall
constexpr size_t kKeyBytesMax = 256;
constexpr size_t kClientRequestBytesMax = 1024;
constexpr int kGrpcMessageBytesMax = 64 << 20;

const char* RoleText(core::Role r) { return core::RoleName(r); }

// One client command waiting for its reply.
struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  core::Reply reply;
  int64_t deadline_steady_ns = 0;
  void Complete(const core::Reply& r) {
    std::lock_guard lock(mu);
    if (done) return;
    reply = r;
    done = true;
    cv.notify_all();
  }
};

// Logs the first event of a kind per second and counts the rest, so a busy
// node's log stays readable.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(Logger* log) : log_(log) {}
  void Note(const std::string& text) {
    int64_t now = SteadyNowNs();
    if (now - last_ns_ < 1'000'000'000) {
      ++suppressed_;
      return;
    }
    std::string extra =
        suppressed_ ? " (+" + std::to_string(suppressed_) + " similar in the last second)" : "";
    log_->Info(text + extra);
    suppressed_ = 0;
    last_ns_ = now;
  }

 private:
  Logger* log_;
  int64_t last_ns_ = 0;
  int64_t suppressed_ = 0;
};

struct Input {
  std::optional<core::Message> message;
  core::Command command;
  std::shared_ptr<Waiter> waiter;
};

// Sends messages to one peer over a long-lived Peer.Send stream. Messages are
// dropped when the queue is full or the stream breaks: Paxos retransmits what
// matters (heartbeats, retries), and a dropped message is a lost packet.
class PeerSender {
 public:
  PeerSender(int self, int peer, std::string address, std::string cluster_id, Logger* log)
      : self_(self),
        peer_(peer),
        address_(std::move(address)),
        cluster_id_(std::move(cluster_id)),
        log_(log) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 300);
    args.SetMaxSendMessageSize(kGrpcMessageBytesMax);
    channel_ = grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args);
    stub_ = pb::Peer::NewStub(channel_);
    thread_ = std::thread([this] { Loop(); });
  }
  ~PeerSender() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      if (context_) context_->TryCancel();
    }
    cv_.notify_all();
    thread_.join();
  }
  void Enqueue(pb::PeerMessage m) {
    std::lock_guard lock(mu_);
    if (queue_.size() >= kPeerQueueMax) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(m));
    cv_.notify_one();
  }

 private:
  void Loop() {
    std::unique_ptr<grpc::ClientWriter<pb::PeerBatch>> writer;
    pb::SendAck ack;
    bool was_connected = false;
    while (true) {
      pb::PeerBatch batch;
      {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(100),
                     [&] { return stop_ || !queue_.empty(); });
        if (stop_) break;
        if (queue_.empty()) continue;
        batch.set_cluster_id(cluster_id_);
        batch.set_from(self_);
        for (int i = 0; i < kPeerBatchMax && !queue_.empty(); ++i) {
          *batch.add_messages() = std::move(queue_.front());
          queue_.pop_front();
        }
        if (!writer) {
          context_ = std::make_unique<grpc::ClientContext>();
        }
      }
      if (!writer) writer = stub_->Send(context_.get(), &ack);
      if (!writer->Write(batch)) {
        grpc::Status st = writer->Finish();
        writer.reset();
        {
          std::lock_guard lock(mu_);
          context_.reset();
        }
        if (was_connected) {
          log_->Warn("stream to peer n" + std::to_string(peer_) + " at " + address_ +
                     " broke: " + st.error_message());
        }
        was_connected = false;
        // Bounded backoff before the next attempt; what was queued meanwhile stays.
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(50), [&] { return stop_; });
        continue;
      }
      if (!was_connected) {
        log_->Info("connected to peer n" + std::to_string(peer_) + " at " + address_);
        was_connected = true;
      }
    }
    if (writer) {
      writer->WritesDone();
      (void)writer->Finish();
    }
  }

  int self_;
  int peer_;
  std::string address_;
  std::string cluster_id_;
  Logger* log_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::Peer::Stub> stub_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<pb::PeerMessage> queue_;
  std::unique_ptr<grpc::ClientContext> context_;
  bool stop_ = false;
  uint64_t dropped_ = 0;
  std::thread thread_;
};

}  // namespace

Result<core::ReadMode> ParseReadMode(const std::string& text) {
  if (text == "log") return core::ReadMode::kLog;
  if (text == "read-index") return core::ReadMode::kReadIndex;
  if (text == "lease") return core::ReadMode::kLease;
  return InvalidArgument("--read-mode must be log, read-index or lease, not '" + text + "'");
}

Status EnableBug(const std::string& name, core::Bugs* bugs) {
  const core::BugSwitch* bug = core::FindBug(name);
  if (bug == nullptr || !bug->server) return InvalidArgument("unknown --bug '" + name + "'");
  bugs->*(bug->field) = true;
  return Status::Ok();
}

Result<std::vector<std::string>> ParsePeers(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  if (parts.empty()) return InvalidArgument("--peers is empty");
  std::vector<std::string> out(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string p = parts[i];
    size_t eq = p.find('=');
    size_t index = i;
    if (eq != std::string::npos) {
      std::string id = p.substr(0, eq);
      if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos ||
          std::stoul(id) >= parts.size()) {
        return InvalidArgument("--peers: bad node id in '" + p + "'");
      }
      index = std::stoul(id);
      p = p.substr(eq + 1);
    }
    if (p.find(':') == std::string::npos) {
      return InvalidArgument("--peers: '" + p + "' is not host:port");
    }
    if (!out[index].empty())
      return InvalidArgument("--peers: node id " + std::to_string(index) + " given twice");
    out[index] = p;
  }
  return out;
}

// The node's environment for the driver: the real disk, the wall clock made
// monotonic, gRPC peers and the waiting client handlers.
struct Node::Impl final : public api::Client::Service,
                          public pb::Peer::Service,
                          public driver::Clock,
                          public driver::Transport,
                          public driver::ReplySink,
                          public driver::Log {
  NodeOptions options;
  Logger log;
  std::unique_ptr<driver::Driver> driver;
  const core::Core* core = nullptr;  // driver->core(), for introspection
  std::unique_ptr<grpc::Server> server;
  std::vector<std::unique_ptr<PeerSender>> senders;  // index = node id; null for self

  std::mutex mu;  // guards inputs, stopping and the published membership
  core::Membership published_members;
  int64_t published_members_slot = 0;
  int64_t incarnation = 0;  // driver->incarnation(), fixed once the data directory is open
  std::condition_variable cv;
  std::deque<Input> inputs;
  bool stopping = false;
  std::atomic<bool> stop_requested{false};

  // Loop-thread state.
  std::map<std::pair<int64_t, int64_t>, std::vector<std::shared_ptr<Waiter>>> waiting;
  std::deque<core::Message> self_inbox;  // messages from this node's core to itself
  core::Role last_role = core::Role::kFollower;
  core::Ballot last_ballot;
  int64_t rounds = 0;  // for the periodic stats line (loop thread)
  int64_t last_stats_ns = 0;
  LeaseClock lease_clock;  // loop thread only
  ClockWatch clock_watch;  // loop thread only
  RateLimitedLog snapshot_log{&log};
  RateLimitedLog catchup_log{&log};
  int64_t refused_not_leader = 0;
  int64_t last_refusal_log_ns = 0;
  std::atomic<int64_t> refused_overload{0};

  // --- startup ---------------------------------------------------------------

  core::Config MakeConfig() {
    core::Config c;
    c.self = core::NodeId{options.id};
    for (size_t i = 0; i < options.peers.size(); ++i) {
      c.nodes.push_back(core::NodeId{static_cast<int32_t>(i)});
    }
    std::random_device rd;
    c.seed = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(options.id);
    c.heartbeat_ticks = options.heartbeat_ticks;
    c.election_timeout_ticks = options.election_timeout_ticks;
    c.read_mode = options.read_mode;
    c.tick_ns = options.tick_ms * 1'000'000;
    c.max_clock_drift = options.max_clock_drift;
    c.catchup_tail_slots = options.catchup_tail_slots;
    c.bugs = options.bugs;
    return c;
  }

  Status Start() {
    CHAOS_RETURN_IF_ERROR(log.Open(options.log_file, options.id));
    if (options.id < 0 || static_cast<size_t>(options.id) >= options.peers.size()) {
      return InvalidArgument("--id " + std::to_string(options.id) + " is not in --peers (" +
                             std::to_string(options.peers.size()) + " nodes)");
    }
    if (options.read_mode == core::ReadMode::kLease && !(options.max_clock_drift > 0)) {
      return InvalidArgument("--read-mode lease needs --max-clock-drift > 0");
    }
    if (options.cluster_id.empty()) {
      for (size_t i = 0; i < options.peers.size(); ++i) {
        options.cluster_id += (i ? "," : "") + options.peers[i];
      }
    }
    log.Info("starting node " + std::to_string(options.id) + " of " +
             std::to_string(options.peers.size()) + ", listen " + options.listen + ", data " +
             options.data_dir);
    driver::DriverOptions driver_options;
    driver_options.data_dir = options.data_dir;
    driver_options.cluster_id = options.cluster_id;
    driver_options.snapshot_wal_bytes = options.snapshot_wal_bytes;
    driver_options.wal_segment_bytes = options.wal_segment_bytes;
    driver::DriverEnv env{storage::PosixEnv(), this, this, this, nullptr, this};
    auto opened = driver::Driver::Open(driver_options, MakeConfig(), env);
    if (!opened.ok()) {
      // Damaged or foreign data: say why in the log too, not only on stderr.
      log.Error("refusing to start: " + opened.status().message());
      return opened.status();
    }
    driver = std::move(opened).value();
    core = &driver->core();
    incarnation = driver->incarnation();
    last_role = core->role();

    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &port);
    builder.SetMaxReceiveMessageSize(kGrpcMessageBytesMax);
    builder.RegisterService(static_cast<api::Client::Service*>(this));
    builder.RegisterService(static_cast<pb::Peer::Service*>(this));
    server = builder.BuildAndStart();
    if (!server || port == 0) return Unavailable("cannot listen on " + options.listen);
    for (size_t i = 0; i < options.peers.size(); ++i) {
      if (static_cast<int>(i) == options.id) {
        senders.emplace_back();
      } else {
        senders.push_back(std::make_unique<PeerSender>(options.id, static_cast<int>(i),
                                                       options.peers[i], options.cluster_id, &log));
      }
    }
    log.Info("serving on " + options.listen + ", read mode " +
             std::string(options.read_mode == core::ReadMode::kLog         ? "log"
                         : options.read_mode == core::ReadMode::kReadIndex ? "read-index"
                                                                           : "lease"));
    return Status::Ok();
  }

  // --- gRPC handlers (gRPC threads) ---------------------------------------------

  bool Push(Input input) {
    std::lock_guard lock(mu);
    if (stopping || inputs.size() >= kInputQueueMax) return false;
    inputs.push_back(std::move(input));
    cv.notify_one();
    return true;
  }

  grpc::Status Refuse(grpc::StatusCode code, const std::string& why) {
    log.Warn("refused request: " + why);
    return grpc::Status(code, why);
  }

  grpc::Status Handle(grpc::ServerContext* context, int64_t client_id, int64_t seq,
                      const std::string& key, size_t request_bytes, core::Command command,
                      api::Reply* reply) {
    if (request_bytes > kClientRequestBytesMax) {
      return Refuse(grpc::StatusCode::RESOURCE_EXHAUSTED,
                    "request of " + std::to_string(request_bytes) + " bytes over the limit of " +
                        std::to_string(kClientRequestBytesMax));
    }
    if (client_id <= 0) {
      return Refuse(grpc::StatusCode::INVALID_ARGUMENT,
                    "client_id must be > 0, got " + std::to_string(client_id));
    }
    if (seq <= 0) {
      return Refuse(grpc::StatusCode::INVALID_ARGUMENT,
                    "seq must be > 0, got " + std::to_string(seq));
    }
    if (key.empty() || key.size() > kKeyBytesMax) {
      return Refuse(grpc::StatusCode::INVALID_ARGUMENT,
                    "key must have 1 to " + std::to_string(kKeyBytesMax) + " bytes, got " +
                        std::to_string(key.size()));
    }
    command.client_id = client_id;
    command.seq = seq;
    command.key = key;
    auto waiter = std::make_shared<Waiter>();
    int64_t now = SteadyNowNs();
    int64_t wait_ns = options.request_timeout_ms_max * 1'000'000;
    auto client_deadline = context->deadline();
    auto until = std::chrono::system_clock::now() + std::chrono::nanoseconds(wait_ns);
    if (client_deadline < until) {
      wait_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    client_deadline - std::chrono::system_clock::now())
                    .count();
    }
    waiter->deadline_steady_ns = now + wait_ns;
    if (!Push(Input{std::nullopt, command, waiter})) {
      ++refused_overload;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "node overloaded or stopping");
    }
    std::unique_lock lock(waiter->mu);
    bool done = waiter->cv.wait_for(lock, std::chrono::nanoseconds(std::max<int64_t>(wait_ns, 0)),
                                    [&] { return waiter->done; });
    if (!done) {
      reply->set_status(api::Reply::UNKNOWN);
      reply->set_detail("no decision within the deadline");
      reply->set_leader_id(-1);
      return grpc::Status::OK;
    }
    const core::Reply& r = waiter->reply;
    if (r.value) reply->set_value(*r.value);
    reply->set_leader_id(r.leader_hint.value);
    switch (r.status) {
      case core::ReplyStatus::kOk:
        reply->set_status(api::Reply::OK);
        break;
      case core::ReplyStatus::kFail:
        reply->set_status(api::Reply::FAILED);
        reply->set_detail(command.op == core::OpKind::kConfig ? "membership change refused"
                                                              : "cas mismatch");
        break;
      case core::ReplyStatus::kNotLeader:
        reply->set_status(api::Reply::NOT_LEADER);
        reply->set_detail("not the leader");
        if (r.leader_hint.valid() &&
            static_cast<size_t>(r.leader_hint.value) < options.peers.size()) {
          reply->set_leader_address(options.peers[static_cast<size_t>(r.leader_hint.value)]);
        }
        break;
      case core::ReplyStatus::kUnknown:
        reply->set_status(api::Reply::UNKNOWN);
        reply->set_detail("outcome unknown (session expired, or the node is stopping)");
        break;
    }
    return grpc::Status::OK;
  }

  grpc::Status Get(grpc::ServerContext* context, const api::GetRequest* req,
                   api::Reply* reply) override {
    core::Command c;
    c.op = core::OpKind::kRead;
    return Handle(context, req->client_id(), req->seq(), req->key(), req->ByteSizeLong(), c, reply);
  }
  grpc::Status Put(grpc::ServerContext* context, const api::PutRequest* req,
                   api::Reply* reply) override {
    core::Command c;
    c.op = core::OpKind::kWrite;
    c.value = req->value();
    return Handle(context, req->client_id(), req->seq(), req->key(), req->ByteSizeLong(), c, reply);
  }
  grpc::Status Cas(grpc::ServerContext* context, const api::CasRequest* req,
                   api::Reply* reply) override {
    core::Command c;
    c.op = core::OpKind::kCas;
    c.from = req->expected();
    c.to = req->new_value();
    return Handle(context, req->client_id(), req->seq(), req->key(), req->ByteSizeLong(), c, reply);
  }

  grpc::Status Members(grpc::ServerContext*, const api::MembersRequest*,
                       api::MembersReply* reply) override {
    std::lock_guard lock(mu);
    for (const auto& [list, out] :
         {std::pair{&published_members.voters, reply->mutable_voters()},
          std::pair{&published_members.learners, reply->mutable_learners()}}) {
      for (const core::Member& m : *list) {
        auto* x = out->Add();
        x->set_node(m.id.value);
        x->set_incarnation(m.incarnation);
      }
    }
    reply->set_node(options.id);
    reply->set_slot(published_members_slot);
    reply->set_incarnation(incarnation);
    return grpc::Status::OK;
  }
  grpc::Status ChangeMembers(grpc::ServerContext* context, const api::ChangeMembersRequest* req,
                             api::Reply* reply) override {
    const std::string& kind = req->kind();
    if (kind != "learner" && kind != "promote" && kind != "remove" && kind != "pin") {
      return Refuse(grpc::StatusCode::INVALID_ARGUMENT,
                    "kind must be learner, promote, remove or pin, got '" + kind + "'");
    }
    if (req->node() < 0 || static_cast<size_t>(req->node()) >= options.peers.size()) {
      return Refuse(grpc::StatusCode::INVALID_ARGUMENT,
                    "node " + std::to_string(req->node()) + " is not one of the " +
                        std::to_string(options.peers.size()) + " configured peers");
    }
    core::Command c;
    c.op = core::OpKind::kConfig;
    c.value = req->node();
    c.from = req->incarnation();
    return Handle(context, req->client_id(), req->seq(), kind, req->ByteSizeLong(), c, reply);
  }

  grpc::Status Send(grpc::ServerContext*, grpc::ServerReader<pb::PeerBatch>* reader,
                    pb::SendAck*) override {
    pb::PeerBatch batch;
    int cluster_size = static_cast<int>(options.peers.size());
    while (reader->Read(&batch)) {
      if (batch.cluster_id() != options.cluster_id) {
        return Refuse(grpc::StatusCode::FAILED_PRECONDITION,
                      "peer batch from cluster '" + batch.cluster_id() + "', this is '" +
                          options.cluster_id + "'");
      }
      for (const auto& m : batch.messages()) {
        auto decoded = DecodeMessage(m, cluster_size);
        if (!decoded.ok()) {
          return Refuse(
              grpc::StatusCode::INVALID_ARGUMENT,
              "from node " + std::to_string(batch.from()) + ": " + decoded.status().message());
        }
        if (decoded->to.value != options.id) continue;
        if (!Push(Input{std::move(decoded).value(), {}, nullptr})) break;  // overloaded: drop
      }
    }
    return grpc::Status::OK;
  }

  // --- the event loop -------------------------------------------------------------

  // Logs every membership the node applies and publishes it for Members.
  void ObserveMembers() {
    const core::Membership& now = core->members();
    {
      std::lock_guard lock(mu);
      published_members_slot = core->applied().value;
      if (now == published_members) return;
      published_members = now;
    }
    log.Info("membership: " + core::ToString(now) + " (applied through slot " +
             std::to_string(published_members_slot) + ")");
  }

  void ObserveRole() {
    core::Role role = core->role();
    if (role != last_role || (role == core::Role::kLeader && core->ballot() != last_ballot)) {
      if (role == core::Role::kLeader) {
        // Whose promises elected it: a quorum without this node's own promise
        // is the case promise-geq needs (target/sim/README.md).
        std::string voters;
        bool own = false;
        for (core::NodeId n : core->phase1_quorum()) {
          voters += (voters.empty() ? "n" : ", n") + std::to_string(n.value);
          own = own || n.value == options.id;
        }
        const core::Core::Takeover& t = core->last_takeover();
        std::string takeover;
        if (t.adopted + t.noops > 0) {
          takeover = "; re-proposes " + std::to_string(t.adopted) + " slot(s), fills " +
                     std::to_string(t.noops) + " with no-ops";
          if (t.noops_over_own > 0) {
            takeover += " (" + std::to_string(t.noops_over_own) + " over a value it had accepted)";
          }
        }
        log.Info("became leader with ballot " + core::ToString(core->ballot()) +
                 " (promises from " + voters + (own ? "" : "; not its own") + ")" + takeover);
      } else if (last_role == core::Role::kLeader) {
        std::string why = core->promised() > last_ballot
                              ? "saw the higher ballot " + core::ToString(core->promised())
                              : "no quorum heard within the election timeout (check-quorum)";
        log.Info("stepped down from ballot " + core::ToString(last_ballot) + ": " + why + "; now " +
                 RoleText(role));
      } else if (role == core::Role::kCandidate) {
        log.Info("election: candidate with ballot " + core::ToString(core->ballot()));
      }
      last_role = role;
      last_ballot = core->ballot();
    }
  }

  // --- the driver's environment (loop thread) -------------------------------

  void Info(const std::string& text) override { log.Info(text); }
  void Warn(const std::string& text) override { log.Warn(text); }
  void Error(const std::string& text) override { log.Error(text); }

  void Send(const core::Message& m) override {
    if (std::holds_alternative<core::InstallSnapshot>(m.body)) {
      int64_t slot = std::get<core::InstallSnapshot>(m.body).snapshot.slot.value;
      snapshot_log.Note("sent snapshot (slot " + std::to_string(slot) + ") to lagging n" +
                        std::to_string(m.to.value));
    }
    if (m.to.value == options.id) {
      // The core addresses its own acceptor like any other (after this
      // round's records are synced): delivered at the start of the next round.
      self_inbox.push_back(m);
      return;
    }
    size_t to = static_cast<size_t>(m.to.value);
    CHAOS_CHECK_MSG(to < senders.size() && senders[to], "message to node %d", m.to.value);
    pb::PeerMessage out;
    EncodeMessage(m, &out);
    senders[to]->Enqueue(std::move(out));
  }

  void Deliver(const core::Reply& r) override {
    auto it = waiting.find({r.client_id, r.seq});
    if (it == waiting.end()) return;  // answered elsewhere or its client gave up
    if (r.status == core::ReplyStatus::kNotLeader) NoteRefusal();
    for (auto& w : it->second) w->Complete(r);
    waiting.erase(it);
  }

  void NoteRefusal() {
    ++refused_not_leader;
    int64_t now = SteadyNowNs();
    if (now - last_refusal_log_ns >= 1'000'000'000) {
      core::NodeId hint = core->leader_hint();
      log.Info("refused " + std::to_string(refused_not_leader) +
               " client request(s): not the leader (leader hint: " +
               (hint.valid() ? "n" + std::to_string(hint.value) : std::string("unknown")) + ")");
      refused_not_leader = 0;
      last_refusal_log_ns = now;
    }
  }

  void ExpireWaiters() {
    int64_t now = SteadyNowNs();
    for (auto it = waiting.begin(); it != waiting.end();) {
      auto& list = it->second;
      std::erase_if(list,
                    [&](const std::shared_ptr<Waiter>& w) { return w->deadline_steady_ns < now; });
      it = list.empty() ? waiting.erase(it) : std::next(it);
    }
  }

  void Feed(Input& input) {
    if (input.message) {
      if (std::holds_alternative<core::InstallSnapshot>(input.message->body)) {
        int64_t slot = std::get<core::InstallSnapshot>(input.message->body).snapshot.slot.value;
        catchup_log.Note("catching up: received snapshot at slot " + std::to_string(slot) +
                         " from n" + std::to_string(input.message->from.value) +
                         " (applied: " + std::to_string(core->applied().value) + ")");
      }
      driver->Step(*input.message);
      return;
    }
    waiting[{input.command.client_id, input.command.seq}].push_back(input.waiter);
    driver->Propose(input.command);
  }

  // The core's lease time from the wall clock; logs how the wall clock moved
  // (the clock nemesis's skew, as this node sees it).
  int64_t LeaseNowNs() override {
    int64_t wall_ns = WallNowNs();
    int64_t steady_ns = SteadyNowNs();
    int64_t stepped_back_ns = 0;
    int64_t lease_ns = lease_clock.Now(wall_ns, steady_ns, &stepped_back_ns);
    if (stepped_back_ns >= 1'000'000) {
      log.Warn("clock: wall clock stepped back " + std::to_string(stepped_back_ns / 1'000'000) +
               " ms; lease time kept going on the steady clock");
    }
    std::string moved = clock_watch.Observe(wall_ns, steady_ns);
    if (!moved.empty()) log.Info(moved);
    return lease_ns;
  }

  // A failed sync or WAL append: after a failed fsync the page cache may
  // have dropped the data (fsyncgate); the only safe move is to stop and
  // recover from the disk.
  void StopOnStorageError(const Status& s) {
    if (s.ok()) return;
    log.Error("stopping: " + s.ToString());
    std::fflush(nullptr);
    std::_Exit(70);
  }

  void Loop() {
    const int64_t tick_ns = options.tick_ms * 1'000'000;
    int64_t next_tick = SteadyNowNs() + tick_ns;
    int64_t last_expire = SteadyNowNs();
    last_stats_ns = last_expire;
    core::Slot last_chosen = core->chosen_prefix();
    std::deque<Input> batch;
    while (true) {
      {
        std::unique_lock lock(mu);
        int64_t wait = std::max<int64_t>(0, next_tick - SteadyNowNs());
        if (!self_inbox.empty()) wait = 0;
        cv.wait_for(lock, std::chrono::nanoseconds(wait),
                    [&] { return stopping || !inputs.empty(); });
        if (stopping) break;
        size_t n = std::min(inputs.size(), kInputsPerRoundMax);
        for (size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(inputs.front()));
          inputs.pop_front();
        }
      }
      std::deque<core::Message> own;
      own.swap(self_inbox);
      for (const auto& m : own) driver->Step(m);
      for (auto& input : batch) Feed(input);
      batch.clear();
      int64_t now = SteadyNowNs();
      for (int i = 0; i < kTicksPerRoundMax && now >= next_tick; ++i) {
        driver->Tick();
        next_tick += tick_ns;
      }
      if (now >= next_tick) next_tick = now + tick_ns;  // stalled: skip the missed ticks
      // Every input of this round folds into one Ready: one fsync for all of them.
      ++rounds;
      StopOnStorageError(driver->Process());
      if (!core->fatal().empty()) {
        log.Error("stopping: replica diverged: " + core->fatal());
        std::fflush(nullptr);
        std::_Exit(71);
      }
      ObserveRole();
      ObserveMembers();
      if (core->chosen_prefix().value > last_chosen.value + 1000 && !core->is_leader()) {
        log.Info("caught up from slot " + std::to_string(last_chosen.value) + " to " +
                 std::to_string(core->chosen_prefix().value));
        last_chosen = core->chosen_prefix();
      }
      if (now - last_stats_ns >= 10'000'000'000) {
        const driver::Driver::Stats& stats = driver->stats();
        if (stats.replies + stats.records > 0) {
          log.Info("stats (last 10 s): " + std::to_string(rounds) + " rounds, " +
                   std::to_string(stats.syncs) + " fsyncs, " + std::to_string(stats.records) +
                   " records, " + std::to_string(stats.messages) + " messages, " +
                   std::to_string(stats.replies) + " client replies; role " +
                   RoleText(core->role()) + ", chosen prefix " +
                   std::to_string(core->chosen_prefix().value));
        }
        driver->ResetStats();
        rounds = 0;
        last_stats_ns = now;
      }
      if (now - last_expire > 100'000'000) {
        ExpireWaiters();
        last_expire = now;
        last_chosen = core->chosen_prefix();
      }
    }
  }

  // Answers every client still waiting: the outcome of its command is unknown.
  void AbandonWaiters() {
    core::Reply unknown;
    unknown.status = core::ReplyStatus::kUnknown;
    for (auto& [key, list] : waiting) {
      for (auto& w : list) w->Complete(unknown);
    }
    waiting.clear();
    std::lock_guard lock(mu);
    for (auto& input : inputs) {
      if (input.waiter) input.waiter->Complete(unknown);
    }
    inputs.clear();
  }

  Status Run() {
    Loop();
    log.Info("stopping on request");
    AbandonWaiters();
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    senders.clear();
    StopOnStorageError(driver->Sync());
    driver.reset();
    log.Info("stopped cleanly");
    return Status::Ok();
  }
};

Node::Node(NodeOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}
Node::~Node() = default;
Status Node::Start() { return impl_->Start(); }
Status Node::Run() { return impl_->Run(); }
void Node::RequestStop() {
  std::lock_guard lock(impl_->mu);
  impl_->stopping = true;
  impl_->cv.notify_all();
}

}  // namespace chaos::server
