// The etcd adapter: see etcd_adapter.h.
#include "adapters/etcd_adapter.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <sstream>

#include "adapters/etcd/rpc.grpc.pb.h"
#include "adapters/membership_views.h"
#include "adapters/node_process.h"
#include "adapters/register_workloads.h"
#include "control/on_nodes.h"

namespace chaos::adapters {
namespace {

constexpr const char* kProcessName = "etcd";  // its comm, for pgrep/pkill -x
constexpr const char* kDataDir = "/var/lib/chaos-etcd";
constexpr const char* kLogFile = "/var/log/chaos/etcd.log";
constexpr const char* kStdoutFile = "/var/log/chaos/etcd.stdout";
constexpr int kClientPort = 2379;
constexpr int kPeerPort = 2380;
// The deadline of one member's Status and MemberList together (Leader,
// Members), and of one membership change (etcd answers once it applied it).
constexpr int64_t kMembersTimeoutMs = 400;
constexpr int64_t kChangeTimeoutMs = 3000;

using control::Command;
using history::Json;
using history::Op;
using history::OpType;

// Where the controller reaches a node's etcd client port: the published
// endpoint in the docker cluster, else the node's own address.
std::string ClientEndpoint(const control::NodeInfo& node) {
  auto it = node.ports.find(kClientPort);
  if (it != node.ports.end()) return it->second.ToString();
  return node.address + ":" + std::to_string(kClientPort);
}

std::shared_ptr<grpc::Channel> OpenChannel(const std::string& endpoint) {
  grpc::ChannelArguments args;
  // A channel of its own per client (not gRPC's shared subchannel pool): a
  // fresh process after an info op gets a fresh connection, as in Jepsen.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // Reconnect quickly to a restarted member (gRPC's default minimum is 20 s).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  // No retries: an op is sent at most once, so its outcome is what we saw.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  return grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
}

// Errors that say the member refused the request before doing anything.
bool DefiniteRefusal(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:  // "etcdserver: too many requests"
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::UNIMPLEMENTED:
    case grpc::StatusCode::FAILED_PRECONDITION:
      return true;
    default:
      return false;
  }
}

class EtcdClient : public Client {
 public:
  EtcdClient(std::string endpoint, bool serializable, int64_t timeout_ms, bool registers)
      : registers_(registers),
        endpoint_(std::move(endpoint)),
        channel_(OpenChannel(endpoint_)),
        kv_(etcdserverpb::KV::NewStub(channel_)),
        serializable_(serializable),
        timeout_ms_(timeout_ms) {}

  Op Invoke(const Op& invoke) override {
    if (invoke.f == "txn") return Txn(invoke);
    const Json& v = invoke.value;
    if (!v.is_array() || v.size() != 2 || !v[0].is_number_integer()) {
      return Done(invoke, OpType::kFail, v, "etcd ops take [key, value]");
    }
    std::string key = std::to_string(v[0].get<int64_t>());
    if (invoke.f == "read") return Read(invoke, key);
    if (invoke.f == "write" && v[1].is_number_integer()) return Write(invoke, key);
    if (invoke.f == "cas" && v[1].is_array() && v[1].size() == 2 && v[1][0].is_number_integer() &&
        v[1][1].is_number_integer()) {
      return Cas(invoke, key);
    }
    return Done(invoke, OpType::kFail, v, "unsupported etcd op " + history::Describe(invoke));
  }

 private:
  static Op Done(const Op& invoke, OpType type, Json value, std::string error = "") {
    Op done = invoke;
    done.type = type;
    done.value = std::move(value);
    if (!error.empty()) done.error = std::move(error);
    return done;
  }

  std::chrono::system_clock::time_point Deadline() const {
    return std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms_);
  }

  // Connects (bounded by the op's deadline) so that a member we cannot reach
  // is known not to have received the op. False: not connected, nothing sent.
  // A READY channel costs one state read (no connection attempt, no wait
  // on a state change); only a channel that is not READY waits.
  bool Connected(std::chrono::system_clock::time_point deadline) {
    if (channel_->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY) return true;
    return channel_->WaitForConnected(deadline);
  }

  std::string Why(const grpc::Status& status) const {
    return endpoint_ + ": " + status.error_message();
  }

  Op Read(const Op& invoke, const std::string& key) {
    auto deadline = Deadline();
    grpc::ClientContext context;
    context.set_deadline(deadline);
    etcdserverpb::RangeRequest request;
    request.set_key(key);
    request.set_serializable(serializable_);
    etcdserverpb::RangeResponse reply;
    grpc::Status status = kv_->Range(&context, request, &reply);
    if (!status.ok()) return Done(invoke, OpType::kFail, invoke.value, Why(status));
    if (reply.kvs_size() == 0)
      return Done(invoke, OpType::kOk, Json::array({invoke.value[0], nullptr}));
    const std::string& text = reply.kvs(0).value();
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return Done(invoke, OpType::kFail, invoke.value, "key " + key + " holds a non-integer value");
    }
    return Done(invoke, OpType::kOk, Json::array({invoke.value[0], value}));
  }

  // Sends a write or cas: `call(context, reply)` issues the RPC, `succeeded`
  // reads the reply. Not connected within the deadline: fail, never sent.
  // Refused outright: fail. Any other error after sending: info.
  template <typename Reply, typename Call, typename Succeeded>
  Op Send(const Op& invoke, Call call, Succeeded succeeded) {
    auto deadline = Deadline();
    if (!Connected(deadline)) {
      return Done(invoke, OpType::kFail, invoke.value, endpoint_ + ": not connected; not sent");
    }
    grpc::ClientContext context;
    context.set_deadline(deadline);
    Reply reply;
    grpc::Status status = call(&context, &reply);
    if (!status.ok()) {
      // A learner refuses every write before doing anything ("etcdserver:
      // rpc not supported for learner", with code Unavailable).
      bool refused = DefiniteRefusal(status.error_code()) ||
                     status.error_message().find("not supported for learner") != std::string::npos;
      OpType type = refused ? OpType::kFail : OpType::kInfo;
      return Done(invoke, type, invoke.value, Why(status));
    }
    if (!succeeded(reply)) return Done(invoke, OpType::kFail, invoke.value, "compare failed");
    return Done(invoke, OpType::kOk, invoke.value);
  }

  Op Write(const Op& invoke, const std::string& key) {
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value(std::to_string(invoke.value[1].get<int64_t>()));
    return Send<etcdserverpb::PutResponse>(
        invoke,
        [&](grpc::ClientContext* context, etcdserverpb::PutResponse* reply) {
          return kv_->Put(context, request, reply);
        },
        [](const etcdserverpb::PutResponse&) { return true; });
  }

  Op Cas(const Op& invoke, const std::string& key) {
    etcdserverpb::TxnRequest request;
    etcdserverpb::Compare* compare = request.add_compare();
    compare->set_result(etcdserverpb::Compare::EQUAL);
    compare->set_target(etcdserverpb::Compare::VALUE);
    compare->set_key(key);
    compare->set_value(std::to_string(invoke.value[1][0].get<int64_t>()));
    etcdserverpb::PutRequest* put = request.add_success()->mutable_request_put();
    put->set_key(key);
    put->set_value(std::to_string(invoke.value[1][1].get<int64_t>()));
    return Send<etcdserverpb::TxnResponse>(
        invoke,
        [&](grpc::ClientContext* context, etcdserverpb::TxnResponse* reply) {
          return kv_->Txn(context, request, reply);
        },
        [](const etcdserverpb::TxnResponse& reply) { return reply.succeeded(); });
  }

  // A list-append or rw-register txn ([[":append" k v] [":r" k nil] [":w" k v] ...]):
  // one etcd Txn reads every key it touches at one revision; the micro-ops run
  // on that snapshot here; if it writes, a second Txn commits the new values
  // only if every touched key's mod revision is still what was read (0 for a
  // key that did not exist), else the txn fails having written nothing. A
  // list is stored as its elements separated by spaces.
  Op Txn(const Op& invoke) {
    const Json& mops = invoke.value;
    std::map<std::string, std::pair<std::string, int64_t>> seen;  // key -> (value, mod revision)
    bool writes = false;
    if (!mops.is_array()) return Done(invoke, OpType::kFail, mops, "a txn is a list of micro-ops");
    for (const Json& m : mops) {
      if (!m.is_array() || m.size() != 3 || !m[1].is_number_integer() ||
          (history::NameOf(m[0]) != "r" && !m[2].is_number_integer())) {
        return Done(invoke, OpType::kFail, mops, "bad micro-op " + m.dump());
      }
      seen.emplace(std::to_string(m[1].get<int64_t>()), std::make_pair(std::string(), 0));
      writes = writes || history::NameOf(m[0]) != "r";
    }
    etcdserverpb::TxnRequest snapshot;
    for (const auto& [key, unused] : seen) {
      etcdserverpb::RangeRequest* range = snapshot.add_success()->mutable_request_range();
      range->set_key(key);
      range->set_serializable(serializable_);
    }
    auto deadline = Deadline();
    grpc::ClientContext read_context;
    read_context.set_deadline(deadline);
    etcdserverpb::TxnResponse read;
    grpc::Status status = kv_->Txn(&read_context, snapshot, &read);
    if (!status.ok()) return Done(invoke, OpType::kFail, mops, Why(status));
    for (const auto& response : read.responses()) {
      for (const auto& kv : response.response_range().kvs()) {
        seen[kv.key()] = {kv.value(), kv.mod_revision()};
      }
    }
    // Run the micro-ops on the snapshot.
    std::map<std::string, std::string> state;
    for (const auto& [key, value] : seen) state[key] = value.first;
    Json out = Json::array();
    for (const Json& m : mops) {
      const std::string key = std::to_string(m[1].get<int64_t>());
      const std::string_view f = history::NameOf(m[0]);
      std::string& value = state[key];
      if (f == "append") {
        value += (value.empty() ? "" : " ") + std::to_string(m[2].get<int64_t>());
        out.push_back(m);
      } else if (f == "w") {
        value = std::to_string(m[2].get<int64_t>());
        out.push_back(m);
      } else {
        Json got;
        std::istringstream in(value);
        int64_t x = 0;
        if (registers_ && !value.empty()) {
          in >> x;
          got = x;
        } else {
          got = Json::array();
          while (in >> x) got.push_back(x);
        }
        out.push_back(Json::array({m[0], m[1], got}));
      }
    }
    if (!writes) return Done(invoke, OpType::kOk, std::move(out));
    etcdserverpb::TxnRequest commit;
    for (const auto& [key, value] : seen) {
      etcdserverpb::Compare* compare = commit.add_compare();
      compare->set_result(etcdserverpb::Compare::EQUAL);
      compare->set_target(etcdserverpb::Compare::MOD);
      compare->set_key(key);
      compare->set_mod_revision(value.second);
      if (state[key] == value.first) continue;
      etcdserverpb::PutRequest* put = commit.add_success()->mutable_request_put();
      put->set_key(key);
      put->set_value(state[key]);
    }
    Op done = Send<etcdserverpb::TxnResponse>(
        invoke,
        [&](grpc::ClientContext* context, etcdserverpb::TxnResponse* reply) {
          return kv_->Txn(context, commit, reply);
        },
        [](const etcdserverpb::TxnResponse& reply) { return reply.succeeded(); });
    if (done.is_ok()) done.value = std::move(out);
    return done;
  }

  bool registers_;  // rw-register: a key holds one integer, else a list
  std::string endpoint_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  bool serializable_;
  int64_t timeout_ms_;
};

// What one member answered: its own member id, the leader it follows, its
// term and applied index, whether it is a learner, and the membership it
// applied; and the connection that answered, for a change sent to it.
struct EtcdView {
  uint64_t self = 0;
  uint64_t leader = 0;
  uint64_t term = 0;
  uint64_t applied = 0;
  bool learner = false;
  google::protobuf::RepeatedPtrField<etcdserverpb::Member> members;
  std::shared_ptr<etcdserverpb::Cluster::Stub> cluster;
};

// A failed call of etcd's Cluster service, as ChangeMembers reports it
// (adapter.h). etcd refuses these before proposing anything, with
// FailedPrecondition or NotFound: a learner that has not caught up with the
// leader ("can only promote a learner member which is in sync with leader"),
// too many learners, a peer URL already taken, not enough started members
// for a safe removal, no such member; and, with code Unavailable, "unhealthy
// cluster" (a member not connected to every voter refuses to add one).
// Anything else (a timeout, no leader, a
// lost connection) may have happened.
Status ChangeError(const grpc::Status& status, const std::string& what) {
  switch (status.error_code()) {
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return FailedPrecondition("etcd refused " + what + ": " + status.error_message());
    case grpc::StatusCode::UNAVAILABLE:
      // --strict-reconfig-check: the member asked is not connected to
      // every voter (checked before proposing; code Unavailable).
      if (status.error_message().find("unhealthy cluster") != std::string::npos) {
        return FailedPrecondition("etcd refused " + what + ": " + status.error_message());
      }
      [[fallthrough]];
    default:
      return Unavailable("etcd: " + what +
                         " may or may not have happened: " + status.error_message());
  }
}

class EtcdAdapter : public ProcessAdapter {
 public:
  EtcdAdapter(AdapterContext context, bool serializable)
      : ProcessAdapter(std::move(context), kProcessName), serializable_(serializable) {
    // Unique per test: members of an earlier cluster (same addresses) that
    // somehow survived cannot join this one.
    std::random_device random;
    token_ = "chaos-" + std::to_string(random()) + std::to_string(random());
    for (const auto& node : context_.inventory.nodes) {
      states_[node.name] = std::make_unique<NodeState>();
    }
  }

  std::string name() const override { return "etcd"; }

  std::set<std::string> SupportedFaults() const override {
    return {"partition", "kill", "pause", "membership"};
  }

  std::string UnsupportedReason(const std::string& fault) const override {
    if (fault == "clock") {
      return "etcd is a Go program: it reads the time through the vDSO, which libfaketime "
             "cannot intercept, so its clock cannot be skewed";
    }
    if (fault == "lose-unsynced" || fault == "corrupt" || fault == "slow-disk") {
      return "the etcd adapter does not mount its data dir on the lazy filesystem or list its "
             "data files";
    }
    return "";
  }

  Status Setup(const control::NodeInfo& node) override {
    control::Session* s = Session(node);
    auto which = s->Run(Command("etcd").Arg("--version"), 10'000);
    if (!which.ok()) return which.status();
    if (which->exit_status != 0) {
      return NotFound(node.name + ": etcd is not installed (the node image carries etcd-server)");
    }
    CHAOS_RETURN_IF_ERROR(Kill(node));
    CHAOS_RETURN_IF_ERROR(
        s->Check(Command("rm")
                     .Args({"-rf", kDataDir})
                     .Then(Command("mkdir").Args({"-p", kDataDir, "/var/log/chaos"}))
                     .Then(Command("truncate").Args({"-s", "0", kLogFile, kStdoutFile})))
            .status());
    // Every test starts as one new cluster of every node.
    NodeState& state = State(node);
    std::lock_guard lock(state.mu);
    std::string cluster;
    for (const auto& n : context_.inventory.nodes) {
      cluster += (cluster.empty() ? "" : ",") + n.name + "=" + PeerUrl(n);
    }
    state.initial_cluster = cluster;
    state.cluster_state = "new";
    state.member = true;
    return Status::Ok();
  }

  // Starts the node's etcd with the flags of how it last joined; a node
  // removed from the membership is not started (ok): its data dir is that
  // of a member etcd no longer has.
  Status Start(const control::NodeInfo& node) override {
    NodeState& state = State(node);
    std::lock_guard lock(state.mu);
    return StartLocked(node, state);
  }

  std::vector<std::string> LogFiles(const control::NodeInfo&) const override {
    return {kLogFile, kStdoutFile};
  }

  std::string DataDir(const control::NodeInfo&) const override { return kDataDir; }

  // The leader named by the member with the highest term that names one.
  Result<std::optional<std::string>> Leader() override {
    auto views = Views();
    const EtcdView* best = nullptr;
    for (const auto& v : views) {
      if (v.ok() && v->leader != 0 && (best == nullptr || v->term > best->term)) best = &*v;
    }
    if (best == nullptr) return std::optional<std::string>();
    for (const auto& m : best->members) {
      std::string node = NodeOf(m);
      if (m.id() == best->leader && !node.empty()) return std::optional<std::string>(node);
    }
    return std::optional<std::string>();
  }

  // Every member is asked at once (kMembersTimeoutMs each); the membership
  // applied by the one with the highest applied index is the membership. A
  // member this adapter did not start as such (its add's outcome was
  // unknown, or it was removed) is stale: removed and added again by the
  // nemesis, which starts it on a wiped data dir.
  Result<Membership> Members() override {
    auto views = Views();
    CHAOS_ASSIGN_OR_RETURN(size_t freshest, FreshestView(views, Applied, "etcd"));
    Membership m;
    for (const auto& member : views[freshest]->members) {
      std::string node = NodeOf(member);
      if (node.empty()) continue;
      if (!states_.at(node)->member) {
        m.stale.push_back(node);
      } else {
        (member.islearner() ? m.learners : m.voters).push_back(node);
      }
    }
    return m;
  }

  // One attempt, sent to the leader (or, with none known or the leader the
  // node changed, to the voter that applied the most), within
  // kChangeTimeoutMs.
  Status ChangeMembers(MemberChange change, const std::string& node) override {
    std::lock_guard lock(members_mu_);
    const control::NodeInfo* info = context_.inventory.Find(node);
    if (info == nullptr) return InvalidArgument("node " + node + " is not in the inventory");
    std::string what = std::string(MemberChangeName(change)) + " " + node;
    auto views = Views();
    CHAOS_ASSIGN_OR_RETURN(size_t freshest, FreshestView(views, Applied, "etcd"));
    const EtcdView& view = *views[freshest];
    const etcdserverpb::Member* member = nullptr;
    for (const auto& m : view.members) {
      if (NodeOf(m) == node) member = &m;
    }
    CHAOS_ASSIGN_OR_RETURN(size_t to, Via(views, view.leader, node, what));
    etcdserverpb::Cluster::Stub* via = views[to]->cluster.get();
    switch (change) {
      case MemberChange::kRemove:
        return Remove(*info, member, via, what);
      case MemberChange::kPromote:
        return Promote(*info, member, via, what);
      case MemberChange::kLearner:
        return Join(*info, member, view.members, via, what);
    }
    return InvalidArgument("unknown membership change");
  }

  std::set<std::string> Workloads() const override {
    return {"register", "set", "counter", "list-append", "rw-register"};
  }

  Result<std::unique_ptr<Client>> OpenClient(const control::NodeInfo& node, int64_t) override {
    // Set and counter ops become register ops (register_workloads.h);
    // list-append and rw-register transactions become etcd Txns.
    return ForWorkload(
        std::make_unique<EtcdClient>(ClientEndpoint(node), serializable_, context_.op_timeout_ms,
                                     context_.workload == "rw-register"),
        context_.workload, workload_state_);
  }

 private:
  // How a node's etcd starts. A node joins the cluster once per life of
  // its data dir: at Setup with every node ("new"), or as a learner with
  // the membership that MemberAdd returned ("existing", on a wiped data
  // dir); a restart after a kill reuses those flags, which etcd ignores
  // once the data dir holds a member. A removed node is not a member: it
  // is not started until it joins again.
  struct NodeState {
    std::mutex mu;  // held across a start, and across a join (kill, wipe, add, start)
    std::atomic<bool> member{true};  // written under mu, read by Members without it
    std::string initial_cluster;     // guarded by mu
    std::string cluster_state = "new";
  };

  static std::string PeerUrl(const control::NodeInfo& node) {
    return "http://" + node.address + ":" + std::to_string(kPeerPort);
  }

  static uint64_t Applied(const EtcdView& view) { return view.applied; }

  NodeState& State(const control::NodeInfo& node) { return *states_.at(node.name); }

  Status StartLocked(const control::NodeInfo& node, const NodeState& state) {
    if (!state.member) return Status::Ok();
    std::string client_url = "http://" + node.address + ":" + std::to_string(kClientPort);
    Command cmd("etcd");
    cmd.Args({"--name", node.name, "--data-dir", kDataDir, "--listen-peer-urls", PeerUrl(node),
              "--initial-advertise-peer-urls", PeerUrl(node), "--listen-client-urls",
              client_url + ",http://127.0.0.1:" + std::to_string(kClientPort),
              "--advertise-client-urls", client_url, "--initial-cluster", state.initial_cluster,
              "--initial-cluster-state", state.cluster_state, "--initial-cluster-token", token_,
              // zap appends to its log file, so a member restarted after a
              // kill keeps the log of its earlier life (and Daemon appends
              // to the stdout file).
              "--logger", "zap", "--log-outputs", kLogFile});
    cmd.Daemon(kStdoutFile);
    return Session(node)->Check(cmd, 10'000).status();
  }

  // The test node whose peer URL `member` has; "" if none.
  std::string NodeOf(const etcdserverpb::Member& member) const {
    for (const auto& url : member.peerurls()) {
      for (const auto& n : context_.inventory.nodes) {
        if (PeerUrl(n) == url) return n.name;
      }
    }
    return "";
  }

  // Status, then MemberList, of every node at once, each within
  // kMembersTimeoutMs, each over a connection of its own. Not one kept
  // across calls: after a kill of every member, channels kept from before
  // failed to connect ("tcp handshaker shutdown") for the whole 30 s of a
  // heal while the restarted members served fresh connections.
  std::vector<Result<EtcdView>> Views() {
    return control::AtOnce(context_.inventory.nodes.size(), [&](size_t i) -> Result<EtcdView> {
      const control::NodeInfo& info = context_.inventory.nodes[i];
      const std::string& node = info.name;
      auto channel = OpenChannel(ClientEndpoint(info));
      auto maintenance = etcdserverpb::Maintenance::NewStub(channel);
      std::shared_ptr<etcdserverpb::Cluster::Stub> cluster =
          etcdserverpb::Cluster::NewStub(channel);
      auto deadline =
          std::chrono::system_clock::now() + std::chrono::milliseconds(kMembersTimeoutMs);
      grpc::ClientContext status_context;
      status_context.set_deadline(deadline);
      etcdserverpb::StatusResponse status;
      grpc::Status s = maintenance->Status(&status_context, {}, &status);
      if (!s.ok()) return Unavailable(node + ": Status: " + s.error_message());
      grpc::ClientContext list_context;
      list_context.set_deadline(deadline);
      etcdserverpb::MemberListResponse list;
      s = cluster->MemberList(&list_context, {}, &list);
      if (!s.ok()) return Unavailable(node + ": MemberList: " + s.error_message());
      EtcdView view;
      view.self = status.header().member_id();
      view.leader = status.leader();
      view.term = status.raftterm();
      view.applied = status.raftappliedindex();
      view.learner = status.islearner();
      view.members = std::move(*list.mutable_members());
      view.cluster = std::move(cluster);
      return view;
    });
  }

  // The node to send a change of `avoid` to: the member whose id is
  // `leader`, else the voter that applied the most; never `avoid` itself (a
  // leader asked to remove itself may stop before it answers).
  Result<size_t> Via(const std::vector<Result<EtcdView>>& views, uint64_t leader,
                     const std::string& avoid, const std::string& what) const {
    size_t best = views.size();
    for (size_t i = 0; i < views.size(); ++i) {
      const auto& v = views[i];
      if (!v.ok() || v->learner || context_.inventory.nodes[i].name == avoid) continue;
      if (leader != 0 && v->self == leader) return i;
      if (best == views.size() || v->applied > views[best]->applied) best = i;
    }
    if (best == views.size()) {
      return Unavailable("etcd: no voter other than " + avoid + " answered, to " + what);
    }
    return best;
  }

  // One call of etcd's Cluster service, `call(context, reply)`, within
  // kChangeTimeoutMs; the reply into `*reply`.
  template <typename Reply, typename Call>
  static grpc::Status Change(Reply* reply, Call call) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(kChangeTimeoutMs));
    return call(&context, reply);
  }
  template <typename Reply, typename Call>
  static grpc::Status Change(Call call) {
    Reply reply;
    return Change(&reply, call);
  }

  // MemberRemove; once made, the node is no member: its etcd (which stops
  // itself once it learns of the removal) is killed and not started again.
  Status Remove(const control::NodeInfo& node, const etcdserverpb::Member* member,
                etcdserverpb::Cluster::Stub* via, const std::string& what) {
    if (member == nullptr) return Status::Ok();
    etcdserverpb::MemberRemoveRequest request;
    request.set_id(member->id());
    grpc::Status s = Change<etcdserverpb::MemberRemoveResponse>(
        [&](auto* context, auto* reply) { return via->MemberRemove(context, request, reply); });
    if (!s.ok()) return ChangeError(s, what);
    NodeState& state = State(node);
    std::lock_guard lock(state.mu);
    state.member = false;
    // The change is made whatever the kill's outcome: a member left running
    // stops itself once a peer tells it it was removed.
    (void)Kill(node);
    return Status::Ok();
  }

  // MemberPromote. etcd refuses a learner that has not caught up with the
  // leader; if its etcd is not running (it could not reach a peer to join
  // and exited), it is started again, and the refusal stands.
  Status Promote(const control::NodeInfo& node, const etcdserverpb::Member* member,
                 etcdserverpb::Cluster::Stub* via, const std::string& what) {
    if (member == nullptr) {
      return FailedPrecondition("etcd: cannot " + what + ": not a member (add it as learner)");
    }
    if (!member->islearner()) return Status::Ok();
    etcdserverpb::MemberPromoteRequest request;
    request.set_id(member->id());
    grpc::Status s = Change<etcdserverpb::MemberPromoteResponse>(
        [&](auto* context, auto* reply) { return via->MemberPromote(context, request, reply); });
    if (s.ok()) return Status::Ok();
    Status refused = ChangeError(s, what);
    if (refused.code() != StatusCode::kFailedPrecondition) return refused;
    auto running = IsRunning(node);
    if (!running.ok() || *running) return refused;
    Status started = Start(node);
    return FailedPrecondition(refused.message() + "; its etcd was not running: " +
                              (started.ok() ? "started it" : started.message()));
  }

  // The node joins as a learner, as etcd requires of a new member: its etcd
  // stopped and its data dir wiped (what a removed member left there is
  // unusable), MemberAdd(peer URL, learner), then etcd started with
  // --initial-cluster-state existing and --initial-cluster the membership
  // MemberAdd returned (itself included). A learner that is a member
  // already but that this adapter did not start (an add whose outcome was
  // unknown) is started so, without a second add.
  Status Join(const control::NodeInfo& node, const etcdserverpb::Member* member,
              const google::protobuf::RepeatedPtrField<etcdserverpb::Member>& current,
              etcdserverpb::Cluster::Stub* via, const std::string& what) {
    NodeState& state = State(node);
    if (member != nullptr && state.member) return Status::Ok();
    if (member != nullptr && !member->islearner()) {
      return FailedPrecondition("etcd: cannot " + what +
                                ": a voter this adapter did not start "
                                "(remove it first)");
    }
    std::lock_guard lock(state.mu);
    state.member = false;  // from here no start with the old flags
    CHAOS_RETURN_IF_ERROR(Kill(node).WithContext("etcd: " + what));
    CHAOS_RETURN_IF_ERROR(
        Session(node)
            ->Check(
                Command("rm").Args({"-rf", kDataDir}).Then(Command("mkdir").Args({"-p", kDataDir})))
            .status()
            .WithContext("etcd: " + what + ": wiping the data dir"));
    google::protobuf::RepeatedPtrField<etcdserverpb::Member> members = current;
    if (member == nullptr) {
      etcdserverpb::MemberAddRequest request;
      request.add_peerurls(PeerUrl(node));
      request.set_islearner(true);
      etcdserverpb::MemberAddResponse reply;
      grpc::Status s = Change(
          &reply, [&](auto* context, auto* out) { return via->MemberAdd(context, request, out); });
      if (!s.ok()) return ChangeError(s, what);
      members = reply.members();
    }
    std::string cluster;
    for (const auto& m : members) {
      std::string name = NodeOf(m);
      if (name.empty()) name = m.name().empty() ? "member-" + std::to_string(m.id()) : m.name();
      for (const auto& url : m.peerurls())
        cluster += (cluster.empty() ? "" : ",") + name + "=" + url;
    }
    state.initial_cluster = cluster;
    state.cluster_state = "existing";
    state.member = true;
    Status started = StartLocked(node, state);
    if (!started.ok()) {
      return Unavailable("etcd: " + node.name +
                         " was added as learner but its etcd did not start: " + started.message());
    }
    return Status::Ok();
  }

  bool serializable_;
  std::string token_;
  std::map<std::string, std::unique_ptr<NodeState>> states_;  // by node name; fixed at construction
  std::mutex members_mu_;                                     // one membership change at a time
  std::shared_ptr<RegisterWorkloadState> workload_state_ =
      std::make_shared<RegisterWorkloadState>();
};

}  // namespace

Result<std::unique_ptr<Adapter>> MakeEtcdAdapter(AdapterContext context) {
  std::string read = "linearizable";
  if (auto it = context.options.find("etcd-read"); it != context.options.end()) read = it->second;
  if (read != "linearizable" && read != "serializable") {
    return InvalidArgument("--etcd-read must be linearizable or serializable, got '" + read + "'");
  }
  return std::unique_ptr<Adapter>(
      std::make_unique<EtcdAdapter>(std::move(context), read == "serializable"));
}

}  // namespace chaos::adapters
