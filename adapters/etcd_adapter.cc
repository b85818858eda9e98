// The etcd adapter: see etcd_adapter.h.
#include "adapters/etcd_adapter.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <map>
#include <random>
#include <sstream>

#include "adapters/etcd/rpc.grpc.pb.h"
#include "adapters/node_process.h"
#include "adapters/register_workloads.h"

namespace chaos::adapters {
namespace {

constexpr const char* kProcessName = "etcd";  // its comm, for pgrep/pkill -x
constexpr const char* kDataDir = "/var/lib/chaos-etcd";
constexpr const char* kLogFile = "/var/log/chaos/etcd.log";
constexpr const char* kStdoutFile = "/var/log/chaos/etcd.stdout";
constexpr int kClientPort = 2379;
constexpr int kPeerPort = 2380;

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
      OpType type = DefiniteRefusal(status.error_code()) ? OpType::kFail : OpType::kInfo;
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

class EtcdAdapter : public ProcessAdapter {
 public:
  EtcdAdapter(AdapterContext context, bool serializable)
      : ProcessAdapter(std::move(context), kProcessName), serializable_(serializable) {
    // Unique per test: members of an earlier cluster (same addresses) that
    // somehow survived cannot join this one.
    std::random_device random;
    token_ = "chaos-" + std::to_string(random()) + std::to_string(random());
  }

  std::string name() const override { return "etcd"; }

  std::set<std::string> SupportedFaults() const override { return {"partition", "kill", "pause"}; }

  std::string UnsupportedReason(const std::string& fault) const override {
    if (fault == "clock") {
      return "etcd is a Go program: it reads the time through the vDSO, which libfaketime "
             "cannot intercept, so its clock cannot be skewed";
    }
    if (fault == "lose-unsynced" || fault == "corrupt" || fault == "slow-disk") {
      return "the etcd adapter does not mount its data dir on the lazy filesystem or list its "
             "data files";
    }
    if (fault == "membership") {
      return "the etcd adapter does not drive etcd's member API (add as learner, promote, "
             "remove) yet";
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
    return Status::Ok();
  }

  Status Start(const control::NodeInfo& node) override {
    std::string cluster;
    for (const auto& n : context_.inventory.nodes) {
      if (!cluster.empty()) cluster += ",";
      cluster += n.name + "=" + PeerUrl(n);
    }
    std::string client_url = "http://" + node.address + ":" + std::to_string(kClientPort);
    // On a restart after kill the data dir exists and etcd ignores the
    // initial-cluster flags: the member rejoins with what it stored.
    Command cmd("etcd");
    cmd.Args({"--name", node.name, "--data-dir", kDataDir, "--listen-peer-urls", PeerUrl(node),
              "--initial-advertise-peer-urls", PeerUrl(node), "--listen-client-urls",
              client_url + ",http://127.0.0.1:" + std::to_string(kClientPort),
              "--advertise-client-urls", client_url, "--initial-cluster", cluster,
              "--initial-cluster-state", "new", "--initial-cluster-token", token_,
              // zap appends to its log file, so a member restarted after a
              // kill keeps the log of its earlier life (and Daemon appends
              // to the stdout file).
              "--logger", "zap", "--log-outputs", kLogFile});
    cmd.Daemon(kStdoutFile);
    return Session(node)->Check(cmd, 10'000).status();
  }

  std::vector<std::string> LogFiles(const control::NodeInfo&) const override {
    return {kLogFile, kStdoutFile};
  }

  std::string DataDir(const control::NodeInfo&) const override { return kDataDir; }

  Result<std::optional<std::string>> Leader() override {
    // Each member names the leader's member id; the member whose own id
    // (its reply header's member_id) is that id is the leader.
    std::map<uint64_t, std::string> name_of;
    uint64_t leader = 0;
    for (const auto& node : context_.inventory.nodes) {
      auto stub = etcdserverpb::Maintenance::NewStub(OpenChannel(ClientEndpoint(node)));
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
      etcdserverpb::StatusResponse reply;
      if (!stub->Status(&context, etcdserverpb::StatusRequest(), &reply).ok()) continue;
      name_of[reply.header().member_id()] = node.name;
      if (reply.leader() != 0) leader = reply.leader();
      if (leader != 0 && name_of.contains(leader))
        return std::optional<std::string>(name_of[leader]);
    }
    return std::optional<std::string>();
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
  static std::string PeerUrl(const control::NodeInfo& node) {
    return "http://" + node.address + ":" + std::to_string(kPeerPort);
  }

  bool serializable_;
  std::string token_;
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
