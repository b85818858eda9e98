// The adapter for our own Paxos register (target/): uploads the chaos-register
// binary built on the host, starts one node per cluster node with the
// cluster's peer list, and speaks the register's gRPC client API.
#include "adapters/register_adapter.h"

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "adapters/adapter.h"
#include "adapters/faketime.h"
#include "adapters/lazyfs_node.h"
#include "adapters/membership_views.h"
#include "adapters/node_process.h"
#include "adapters/register_workloads.h"
#include "base/check.h"
#include "control/on_nodes.h"
#include "target/proto/register_client.h"

namespace chaos::adapters {
namespace {

constexpr const char* kBinary = "/opt/chaos/chaos-register";
constexpr const char* kProcessName = "chaos-register";  // its comm, for pgrep/pkill -x
constexpr const char* kDataDir = "/var/lib/chaos-register";
// The log has a directory of its own, so that the slow-disk fault can put
// it on a lazy file system: its lines are flushed one by one on the event
// loop, as the data is, and a slow disk delays both.
constexpr const char* kLogDir = "/var/log/chaos/register";
constexpr const char* kLogFile = "/var/log/chaos/register/register.log";
constexpr const char* kStdoutFile = "/var/log/chaos/register.stdout";
constexpr int kPort = 7000;
// The deadline of one leader probe (Leader()).
constexpr int64_t kProbeTimeoutMs = 100;
// The deadline of one node's answer to Members, and of one membership
// change (redirects to the leader included).
constexpr int64_t kMembersTimeoutMs = 300;
constexpr int64_t kChangeTimeoutMs = 2000;
// Client ids of the membership calls, apart from the workers' and the probes'.
constexpr int64_t kMembersClientId = 0x7ffe0000;
constexpr int64_t kChangeClientId = 0x7ffd0000;
// The lease's bound on clock rate error when --read-mode lease (adapter
// option max-clock-drift): the clock nemesis drifts at x0.55 and x1.45, inside it.
constexpr const char* kMaxClockDriftDefault = "0.45";

using control::Command;

int NodeId(const control::Inventory& inventory, const control::NodeInfo& node) {
  for (size_t i = 0; i < inventory.nodes.size(); ++i) {
    if (inventory.nodes[i].name == node.name) return static_cast<int>(i);
  }
  return -1;
}

// Maps a register reply to a completion, exactly: ok happened, fail did
// not, unknown is info.
history::Op Complete(const history::Op& invoke, const server::OpResult& r, history::Json value) {
  history::Op done = invoke;
  done.value = std::move(value);
  switch (r.outcome) {
    case server::Outcome::kOk:
      done.type = history::OpType::kOk;
      break;
    case server::Outcome::kFail:
      done.type = history::OpType::kFail;
      break;
    case server::Outcome::kUnknown:
      done.type = history::OpType::kInfo;
      break;
  }
  if (r.outcome != server::Outcome::kOk && !r.error.empty()) done.error = r.error;
  return done;
}

class RegisterClientAdapter : public Client {
 public:
  // `node_by_address`: node name by the address the client reaches it at.
  RegisterClientAdapter(std::unique_ptr<server::RegisterClient> client,
                        std::map<std::string, std::string> node_by_address)
      : client_(std::move(client)), node_by_address_(std::move(node_by_address)) {}

  history::Op Invoke(const history::Op& invoke) override {
    history::Op done = Run(invoke);
    // Which node answered (the client follows redirects away from the node it
    // is bound to): a stale read names the old leader that served it.
    if (!last_node_.empty() && done.type != history::OpType::kInfo) {
      auto it = node_by_address_.find(last_node_);
      if (it != node_by_address_.end()) {
        if (!done.extra.is_object()) done.extra = history::Json::object();
        done.extra["served_by"] = it->second;
      }
    }
    return done;
  }

 private:
  history::Op Run(const history::Op& invoke) {
    last_node_.clear();
    const history::Json& v = invoke.value;
    if (!v.is_array() || v.size() != 2 || !v[0].is_number_integer()) {
      return Refuse(invoke, "register ops take [key, value]");
    }
    std::string key = std::to_string(v[0].get<int64_t>());
    if (invoke.f == "read") {
      server::OpResult r = client_->Get(key);
      last_node_ = r.node;
      history::Json read = r.value ? history::Json(*r.value) : history::Json(nullptr);
      return Complete(invoke, r, history::Json::array({v[0], read}));
    }
    if (invoke.f == "write" && v[1].is_number_integer()) {
      server::OpResult r = client_->Put(key, v[1].get<int64_t>());
      last_node_ = r.node;
      return Complete(invoke, r, v);
    }
    if (invoke.f == "cas" && v[1].is_array() && v[1].size() == 2 && v[1][0].is_number_integer() &&
        v[1][1].is_number_integer()) {
      server::OpResult r = client_->Cas(key, v[1][0].get<int64_t>(), v[1][1].get<int64_t>());
      last_node_ = r.node;
      return Complete(invoke, r, v);
    }
    return Refuse(invoke, "unsupported register op " + history::Describe(invoke));
  }

  // The op was never sent: it certainly did not happen.
  static history::Op Refuse(const history::Op& invoke, std::string why) {
    history::Op done = invoke;
    done.type = history::OpType::kFail;
    done.error = std::move(why);
    return done;
  }

  std::unique_ptr<server::RegisterClient> client_;
  std::map<std::string, std::string> node_by_address_;
  std::string last_node_;  // address that answered the last op, "" if none
};

// Who leads, asked of every node at once. Each node has a probe client of
// its own, kept across calls (no connection set-up per question) and bound to
// that node alone (no redirects, no other node tried): the leader serves the
// probe read, a follower names the leader it follows. A node that is stopped
// or cut off costs at most kProbeTimeoutMs, and is not asked again while its
// last probe is still waiting. The answer is the node a majority names as
// soon as one does; else, once every asked node has answered, the one node
// that served the probe, or the node named most often.
class LeaderProbes {
 public:
  // clients[i] asks node names[i], whose client address is addresses[i].
  LeaderProbes(std::vector<std::unique_ptr<server::RegisterClient>> clients,
               std::vector<std::string> names, std::vector<std::string> addresses)
      : shared_(std::make_shared<Shared>()), names_(std::move(names)) {
    shared_->clients = std::move(clients);
    shared_->addresses = std::move(addresses);
    shared_->busy.assign(shared_->clients.size(), false);
  }

  // Probes still waiting hold the clients; let them finish (each is bounded
  // by its deadline) before the process may tear gRPC down.
  ~LeaderProbes() {
    std::unique_lock lock(shared_->mu);
    shared_->cv.wait(lock, [&] {
      return std::none_of(shared_->busy.begin(), shared_->busy.end(), [](bool b) { return b; });
    });
  }

  std::optional<std::string> Ask() {
    const size_t n = shared_->clients.size();
    auto round = std::make_shared<Round>();
    round->named.assign(n, -1);
    round->served.assign(n, false);
    std::unique_lock lock(shared_->mu);
    for (size_t i = 0; i < n; ++i) {
      if (shared_->busy[i]) continue;
      shared_->busy[i] = true;
      ++round->asked;
      std::thread([shared = shared_, round, i] {
        server::OpResult r = shared->clients[i]->Get("chaos-leader-probe");
        bool served = r.outcome == server::Outcome::kOk;
        const std::string& address = served ? r.node : r.leader;
        int named = -1;
        for (size_t j = 0; j < shared->addresses.size(); ++j) {
          if (!address.empty() && shared->addresses[j] == address) named = static_cast<int>(j);
        }
        std::lock_guard guard(shared->mu);
        round->named[i] = named;
        round->served[i] = served && named == static_cast<int>(i);
        ++round->answered;
        shared->busy[i] = false;
        shared->cv.notify_all();
      }).detach();
    }
    const int quorum = static_cast<int>(n / 2 + 1);
    std::vector<int> votes(n, 0);
    shared_->cv.wait(lock, [&] {
      std::fill(votes.begin(), votes.end(), 0);
      for (int named : round->named) {
        if (named >= 0) ++votes[static_cast<size_t>(named)];
      }
      return round->answered == round->asked ||
             std::any_of(votes.begin(), votes.end(), [&](int v) { return v >= quorum; });
    });
    int best = -1;
    for (size_t j = 0; j < n; ++j) {
      if (votes[j] >= quorum) best = static_cast<int>(j);
    }
    if (best < 0 && std::count(round->served.begin(), round->served.end(), true) == 1) {
      best = static_cast<int>(std::find(round->served.begin(), round->served.end(), true) -
                              round->served.begin());
    }
    for (size_t j = 0; best < 0 && j < n; ++j) {
      if (votes[j] > 0 && (best < 0 || votes[j] > votes[static_cast<size_t>(best)])) {
        best = static_cast<int>(j);
      }
    }
    if (best < 0) return std::nullopt;
    return names_[static_cast<size_t>(best)];
  }

 private:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::unique_ptr<server::RegisterClient>> clients;
    std::vector<std::string> addresses;
    std::vector<bool> busy;  // a probe of this node is waiting for its answer
  };
  // One call's answers: for each node, the node it named (-1: none or not
  // asked) and whether it served the probe itself.
  struct Round {
    std::vector<int> named;
    std::vector<bool> served;
    int asked = 0;
    int answered = 0;
  };
  std::shared_ptr<Shared> shared_;
  std::vector<std::string> names_;
};

class RegisterAdapter : public ProcessAdapter {
 public:
  explicit RegisterAdapter(AdapterContext context)
      : ProcessAdapter(std::move(context), kProcessName) {}

  std::string name() const override { return "register"; }
  std::set<std::string> Workloads() const override { return {"register", "set", "counter"}; }

  std::set<std::string> SupportedFaults() const override {
    return {"partition", "kill",    "pause",     "clock",     "lose-unsynced",
            "packet",    "corrupt", "slow-disk", "membership"};
  }

  Status Setup(const control::NodeInfo& node) override {
    // --adapter-option binary=PATH uploads another build of the server (a
    // mutant, a branch) in place of this checkout's; MakeRegisterAdapter
    // checked that it is a file.
    auto chosen = context_.options.find("binary");
    std::string binary = chosen != context_.options.end()
                             ? chosen->second
                             : context_.build_dir + "/target/server/chaos-register";
    if (chosen == context_.options.end() && !std::filesystem::exists(binary)) {
      return NotFound("register binary " + binary + " is missing (build it with ./chaos)");
    }
    control::Session* s = Session(node);
    CHAOS_RETURN_IF_ERROR(Kill(node));
    // Lazy file systems left by an earlier test go first (they hold the
    // data and log directories).
    for (const auto& dir : SlowDiskDirs(node)) CHAOS_RETURN_IF_ERROR(UnmountLazyfs(s, dir));
    CHAOS_RETURN_IF_ERROR(
        s->Check(Command("rm")
                     .Args({"-rf", kDataDir})
                     .Then(Command("mkdir").Args({"-p", "/opt/chaos", kDataDir, kLogDir})))
            .status());
    CHAOS_RETURN_IF_ERROR(
        s->Check(Command("truncate").Args({"-s", "0", kLogFile, kStdoutFile})).status());
    // A fresh test starts with the true time (a dead earlier run may have
    // left an offset); restarts within the test keep the node's skew.
    if (context_.faults.contains("clock")) {
      CHAOS_RETURN_IF_ERROR(s->Check(WriteFaketime("+0")).status());
    }
    CHAOS_RETURN_IF_ERROR(s->Upload(binary, kBinary, 0755));
    std::vector<std::string> lazy = LazyDirs(node);
    if (lazy.empty()) return Status::Ok();
    // The data directory lives on chaos-lazyfs: unsynced writes can be lost,
    // and writes and syncs can be slowed; with slow-disk the log too.
    CHAOS_RETURN_IF_ERROR(InstallLazyfs(s, context_.build_dir));
    for (const auto& dir : lazy) CHAOS_RETURN_IF_ERROR(MountLazyfs(s, dir));
    return Status::Ok();
  }

  Status Start(const control::NodeInfo& node) override {
    int id = NodeId(context_.inventory, node);
    if (id < 0) return InvalidArgument("node " + node.name + " is not in the inventory");
    std::string peers;
    for (const auto& n : context_.inventory.nodes) {
      if (!peers.empty()) peers += ",";
      peers += n.address + ":" + std::to_string(kPort);
    }
    Command cmd(kBinary);
    cmd.Args({"--id", std::to_string(id), "--peers", peers, "--listen",
              node.address + ":" + std::to_string(kPort), "--data-dir", kDataDir, "--read-mode",
              context_.read_mode, "--log-file", kLogFile});
    // Timing options (--adapter-option tick-ms=30 ...), passed through.
    for (const char* option : {"tick-ms", "election-ticks"}) {
      auto it = context_.options.find(option);
      if (it != context_.options.end()) cmd.Args({std::string("--") + option, it->second});
    }
    if (context_.read_mode == "lease") {
      auto drift = context_.options.find("max-clock-drift");
      cmd.Args({"--max-clock-drift",
                drift == context_.options.end() ? kMaxClockDriftDefault : drift->second});
    }
    for (const auto& bug : context_.bugs) cmd.Args({"--bug", bug});
    if (context_.faults.contains("clock")) cmd = UnderFaketime(std::move(cmd));
    cmd.Daemon(kStdoutFile);  // appended across restarts within a test
    return Session(node)->Check(cmd, 10'000).status();
  }

  Status Teardown(const control::NodeInfo& node) override {
    CHAOS_RETURN_IF_ERROR(ProcessAdapter::Teardown(node));
    for (const auto& dir : SlowDiskDirs(node)) {
      CHAOS_RETURN_IF_ERROR(UnmountLazyfs(Session(node), dir));
    }
    return Status::Ok();
  }

  std::vector<std::string> LogFiles(const control::NodeInfo& node) const override {
    std::vector<std::string> logs = {kLogFile, kStdoutFile};
    for (const auto& dir : LazyDirs(node)) logs.push_back(LazyfsPathsFor(dir).log);
    return logs;
  }

  // The server stops with this line when its core halts (target/server/node.cc):
  // two values chosen for one slot, or replicas whose state checksums differ.
  std::vector<std::string> FatalLogPatterns() const override {
    return {"stopping: replica diverged"};
  }

  std::string DataDir(const control::NodeInfo&) const override { return kDataDir; }
  std::vector<std::string> SlowDiskDirs(const control::NodeInfo&) const override {
    return {kDataDir, kLogDir};
  }

  // The directories on lazy file systems in this test: the slow-disk ones,
  // or the data directory alone for lose-unsynced; none otherwise.
  std::vector<std::string> LazyDirs(const control::NodeInfo& node) const {
    if (context_.faults.contains("slow-disk")) return SlowDiskDirs(node);
    if (context_.faults.contains("lose-unsynced")) return {kDataDir};
    return {};
  }

  // IDENTITY, wal/wal-*.log and snap/snapshot-*.snap (target/storage/FORMAT.md).
  Result<std::vector<std::string>> DataFiles(const control::NodeInfo& node) override {
    CHAOS_ASSIGN_OR_RETURN(
        std::string out,
        Session(node)->Check(Command("find").Args({kDataDir, "-type", "f", "-size", "+0"})));
    std::vector<std::string> files;
    size_t start = 0;
    while (start < out.size()) {
      size_t end = out.find('\n', start);
      if (end == std::string::npos) end = out.size();
      std::string path = out.substr(start, end - start);
      start = end + 1;
      std::string name = std::filesystem::path(path).filename().string();
      bool ours = name == "IDENTITY" || name.starts_with("wal-") || name.starts_with("snapshot-");
      if (!path.empty() && ours) files.push_back(path);
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  Result<std::optional<std::string>> Leader() override {
    std::lock_guard lock(probes_mu_);
    if (probes_ == nullptr) {
      const auto& nodes = context_.inventory.nodes;
      std::vector<std::unique_ptr<server::RegisterClient>> clients;
      std::vector<std::string> names;
      std::vector<std::string> addresses;
      for (size_t i = 0; i < nodes.size(); ++i) {
        server::RegisterClientOptions probe =
            ClientOptions(static_cast<int>(i), 0x7fff0000 + static_cast<int64_t>(i));
        probe.addresses.resize(1);  // this node alone
        probe.timeout_ms = std::min(kProbeTimeoutMs, probe.timeout_ms);
        probe.redirects_max = 0;
        CHAOS_ASSIGN_OR_RETURN(auto client, server::RegisterClient::Create(std::move(probe)));
        clients.push_back(std::move(client));
        names.push_back(nodes[i].name);
        addresses.push_back(nodes[i].client.ToString());
      }
      probes_ = std::make_unique<LeaderProbes>(std::move(clients), std::move(names),
                                               std::move(addresses));
    }
    return probes_->Ask();
  }

  // Every node is asked at once (kMembersTimeoutMs each); the view of the
  // one that applied the most slots is the membership, and a member pinned at
  // an incarnation other than the one its node reports is stale (wiped).
  Result<Membership> Members() override {
    std::lock_guard lock(members_mu_);
    CHAOS_RETURN_IF_ERROR(MakeMembershipClients());
    const auto& nodes = context_.inventory.nodes;
    std::vector<Result<server::MembersView>> views =
        control::AtOnce(nodes.size(), [&](size_t i) { return members_clients_[i]->Members(); });
    CHAOS_ASSIGN_OR_RETURN(
        size_t freshest,
        FreshestView(
            views, [](const server::MembersView& v) { return v.slot; }, "register"));
    const server::MembersView* best = &*views[freshest];
    Membership m;
    auto add = [&](const server::MembersView::Member& x, std::vector<std::string>& list) {
      if (x.node < 0 || static_cast<size_t>(x.node) >= nodes.size()) return;
      const auto& own = views[static_cast<size_t>(x.node)];
      const std::string& name = nodes[static_cast<size_t>(x.node)].name;
      if (!own.ok()) m.unanswered.push_back(name);
      bool wiped = x.incarnation != 0 && own.ok() && own->incarnation != x.incarnation;
      (wiped ? m.stale : list).push_back(name);
    };
    for (const auto& x : best->voters) add(x, m.voters);
    for (const auto& x : best->learners) add(x, m.learners);
    return m;
  }

  // One attempt through the change client, which follows NOT_LEADER to the
  // leader within kChangeTimeoutMs. A learner joins at the incarnation its
  // node reports, so that it counts once promoted.
  Status ChangeMembers(MemberChange change, const std::string& node) override {
    std::lock_guard lock(members_mu_);
    CHAOS_RETURN_IF_ERROR(MakeMembershipClients());
    const control::NodeInfo* info = context_.inventory.Find(node);
    int id = info == nullptr ? -1 : NodeId(context_.inventory, *info);
    if (id < 0) return InvalidArgument("node " + node + " is not in the inventory");
    int64_t incarnation = 0;
    if (change == MemberChange::kLearner) {
      auto own = members_clients_[static_cast<size_t>(id)]->Members();
      if (!own.ok()) {
        return own.status().WithContext("register: the incarnation of " + node +
                                        ", to add it as learner");
      }
      incarnation = own->incarnation;
    }
    std::string what = std::string(MemberChangeName(change)) + " " + node;
    server::OpResult r = change_client_->ChangeMembers(MemberChangeName(change), id, incarnation);
    switch (r.outcome) {
      case server::Outcome::kOk:
        return Status::Ok();
      case server::Outcome::kFail:
        return FailedPrecondition("register refused " + what + ": " + r.error +
                                  " (not applicable now, another change in flight, or a learner "
                                  "not caught up)");
      case server::Outcome::kUnknown:
        break;
    }
    return Unavailable("register: " + what + " may or may not have happened: " + r.error);
  }

  Result<std::unique_ptr<Client>> OpenClient(const control::NodeInfo& node,
                                             int64_t process) override {
    int id = NodeId(context_.inventory, node);
    if (id < 0) return InvalidArgument("node " + node.name + " is not in the inventory");
    // Where each op starts (adapter option clients): at the client's own
    // node, at the last leader, or (mixed, the default) half the clients
    // each way, so that a node cut off or stalled keeps clients of its own
    // while the others follow the leader.
    auto placement = context_.options.find("clients");
    std::string clients = placement == context_.options.end() ? "mixed" : placement->second;
    if (clients != "home" && clients != "leader" && clients != "mixed") {
      return InvalidArgument(
          "register: adapter option clients must be home, leader or mixed, got " + clients);
    }
    server::RegisterClientOptions options = ClientOptions(id, process + 1);
    options.home_first = clients == "home" || (clients == "mixed" && process % 2 == 0);
    CHAOS_ASSIGN_OR_RETURN(auto client, server::RegisterClient::Create(std::move(options)));
    std::map<std::string, std::string> node_by_address;
    for (const auto& n : context_.inventory.nodes) node_by_address[n.client.ToString()] = n.name;
    // Set and counter ops become register ops (register_workloads.h).
    return ForWorkload(
        std::make_unique<RegisterClientAdapter>(std::move(client), std::move(node_by_address)),
        context_.workload, workload_state_);
  }

 private:
  // The clients of Members (one per node, bound to it alone) and of
  // ChangeMembers (every node, following the leader), made at first use.
  Status MakeMembershipClients() {
    if (change_client_ != nullptr) return Status::Ok();
    const auto& nodes = context_.inventory.nodes;
    for (size_t i = 0; i < nodes.size(); ++i) {
      server::RegisterClientOptions one =
          ClientOptions(static_cast<int>(i), kMembersClientId + static_cast<int64_t>(i));
      one.addresses.resize(1);
      one.timeout_ms = kMembersTimeoutMs;
      CHAOS_ASSIGN_OR_RETURN(auto client, server::RegisterClient::Create(std::move(one)));
      members_clients_.push_back(std::move(client));
    }
    server::RegisterClientOptions all = ClientOptions(0, kChangeClientId);
    all.timeout_ms = kChangeTimeoutMs;
    CHAOS_ASSIGN_OR_RETURN(change_client_, server::RegisterClient::Create(std::move(all)));
    return Status::Ok();
  }

  // The options of a client whose first contact is node `first` (addresses
  // in node-id order), with the run's op timeout.
  server::RegisterClientOptions ClientOptions(int first, int64_t client_id) const {
    server::RegisterClientOptions options;
    const auto& nodes = context_.inventory.nodes;
    for (size_t i = 0; i < nodes.size(); ++i) {
      options.addresses.push_back(nodes[(first + i) % nodes.size()].client.ToString());
      // Redirects go to the leader's endpoint as the controller reaches it.
      options.address_by_id.push_back(nodes[i].client.ToString());
    }
    options.client_id = client_id;
    options.timeout_ms = context_.op_timeout_ms;
    return options;
  }

  std::mutex probes_mu_;
  std::unique_ptr<LeaderProbes> probes_;  // made at the first Leader()
  std::mutex members_mu_;                 // one membership call at a time
  std::vector<std::unique_ptr<server::RegisterClient>> members_clients_;
  std::unique_ptr<server::RegisterClient> change_client_;
  std::shared_ptr<RegisterWorkloadState> workload_state_ =
      std::make_shared<RegisterWorkloadState>();
};

}  // namespace

Result<std::unique_ptr<Adapter>> MakeRegisterAdapter(AdapterContext context) {
  if (auto binary = context.options.find("binary");
      binary != context.options.end() && !std::filesystem::is_regular_file(binary->second)) {
    return NotFound("--adapter-option binary=" + binary->second + ": no such file");
  }
  return std::unique_ptr<Adapter>(std::make_unique<RegisterAdapter>(std::move(context)));
}

}  // namespace chaos::adapters
