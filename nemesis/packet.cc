// The packet nemesis (packet.h): netem where the kernel has it, otherwise
// iptables statistic, our NFQUEUE program and htb, toward peers only.
#include "nemesis/packet.h"

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>

#include "nemesis/common.h"
#include "nemesis/plan.h"

namespace chaos::nemesis {
namespace {

using control::Command;

constexpr const char* kChain = "CHAOS-PACKET";
constexpr const char* kQdiscHandle = "c4a5:";  // our root qdisc, recognized on heal
constexpr const char* kNfqBinary = "/opt/chaos/chaos-nfq";
constexpr const char* kNfqLog = "/run/chaos/chaos-nfq.log";
constexpr const char* kQueueNumber = "7";
constexpr const char* kCopyMark = "0xc4a05";  // chaos-nfq's duplicates; the chain lets them pass
constexpr int kCommandTimeoutMs = 30'000;

std::string Percent(double p) {
  char text[32];
  std::snprintf(text, sizeof text, "%g%%", p * 100);
  return text;
}

std::string Number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

double DoubleField(const Json& spec, const char* name, double fallback) {
  if (spec.is_object() && spec.contains(name) && spec[name].is_number()) {
    return spec[name].get<double>();
  }
  return fallback;
}

template <typename T>
T Draw(std::mt19937_64& rng, const std::vector<T>& choices) {
  return choices[rng() % choices.size()];
}

Command Tc(std::vector<std::string> args) { return Command("tc").Args(args); }
Command Ipt(std::vector<std::string> args) {
  Command c("iptables");
  c.Arg("-w");
  c.Args(args);
  return c;
}

// Removes every trace of this nemesis from a node (idempotent). Fixed text only.
Command HealCommand() {
  std::string script = std::string("iptables -w -F ") + kChain +
                       " 2>/dev/null; "
                       "pkill -x chaos-nfq; i=0; while pgrep -x chaos-nfq >/dev/null && "
                       "[ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done; "
                       "pkill -KILL -x chaos-nfq; "
                       "for d in /sys/class/net/*; do d=${d##*/}; "
                       "if tc qdisc show dev \"$d\" 2>/dev/null | grep -q 'htb " +
                       kQdiscHandle +
                       " root'; then tc qdisc del dev \"$d\" root || exit 1; fi; "
                       "done; true";
  return Command("sh").Args({"-c", script});
}

class PacketNemesis : public Nemesis {
 public:
  explicit PacketNemesis(NemesisContext context)
      : context_(std::move(context)), rng_(context_.seed ^ 0x9ac7e7), nfq_seed_(context_.seed) {}

  std::string name() const override { return "packet"; }
  std::vector<std::string> modes() const override {
    return {"delay", "loss", "duplicate", "reorder", "rate", "all"};
  }

  Result<Json> Start(const Json& spec) override {
    CHAOS_ASSIGN_OR_RETURN(PacketPlan plan, PlanPacket(spec, rng_));
    std::string target_mode;
    CHAOS_ASSIGN_OR_RETURN(auto targets, TargetsOf(spec, "targets", context_, rng_, &target_mode));
    std::map<std::string, std::string> methods;
    std::mutex methods_mu;
    CHAOS_RETURN_IF_ERROR(OnNodes(context_.inventory, targets, [&](const control::NodeInfo& n) {
      CHAOS_ASSIGN_OR_RETURN(std::string method, Apply(n, plan));
      std::lock_guard<std::mutex> lock(methods_mu);
      methods[n.name] = method;
      return Status::Ok();
    }));
    return Json{{"mode", plan.mode},     {"targets", target_mode}, {"nodes", targets},
                {"plan", plan.ToJson()}, {"methods", methods},     {"toward", "every other node"}};
  }

  Result<Json> Stop() override {
    CHAOS_RETURN_IF_ERROR(Heal());
    return Json{{"nodes", NodeNames(context_.inventory)}};
  }

  Status Heal() override {
    return OnNodes(context_.inventory, NodeNames(context_.inventory),
                   [&](const control::NodeInfo& n) {
                     return Session(n)->Check(HealCommand(), kCommandTimeoutMs).status();
                   });
  }

 private:
  control::Session* Session(const control::NodeInfo& n) { return context_.nodes->Get(n.name); }

  std::vector<std::string> PeerAddresses(const control::NodeInfo& n) const {
    std::vector<std::string> out;
    for (const auto& peer : context_.inventory.nodes) {
      if (peer.name != n.name) out.push_back(peer.address);
    }
    return out;
  }

  // The interface that carries traffic to `address` (ip route get).
  Result<std::string> DeviceToward(const control::NodeInfo& n, const std::string& address) {
    CHAOS_ASSIGN_OR_RETURN(std::string route,
                           Session(n)->Check(Command("ip").Args({"-o", "route", "get", address})));
    size_t at = route.find(" dev ");
    if (at == std::string::npos) {
      return Internal(n.name + ": no device in `ip route get " + address + "`: " + route);
    }
    size_t begin = at + 5;
    size_t end = route.find_first_of(" \n", begin);
    return route.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  }

  // Whether the node's kernel has netem: tried in a throwaway network
  // namespace, so nothing of the node's own network changes. Asked once.
  Result<bool> HasNetem(const control::NodeInfo& n) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = netem_.find(n.name);
      if (it != netem_.end()) return it->second;
    }
    CHAOS_ASSIGN_OR_RETURN(
        auto r, Session(n)->Run(Command("unshare").Args(
                    {"-n", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"})));
    std::lock_guard<std::mutex> lock(mu_);
    netem_[n.name] = r.exit_status == 0;
    return r.exit_status == 0;
  }

  // An htb root whose default class is unlimited and whose class 2 (the
  // peers' traffic) is limited to rate_kbit (or unlimited), with `leaf`.
  void AddHtb(Command& cmd, const std::string& device, const PacketPlan& plan,
              const std::vector<std::string>& peers, const std::vector<std::string>& leaf) {
    std::string root = kQdiscHandle;
    std::string rate = plan.rate_kbit > 0 ? std::to_string(plan.rate_kbit) + "kbit" : "10gbit";
    cmd.Then(Tc({"qdisc", "add", "dev", device, "root", "handle", root, "htb", "default", "1"}));
    cmd.Then(Tc({"class", "add", "dev", device, "parent", root, "classid", root + "1", "htb",
                 "rate", "10gbit"}));
    cmd.Then(Tc({"class", "add", "dev", device, "parent", root, "classid", root + "2", "htb",
                 "rate", rate, "ceil", rate}));
    if (!leaf.empty()) {
      std::vector<std::string> args = {"qdisc",  "add",      "dev",    device,
                                       "parent", root + "2", "handle", "c4a6:"};
      args.insert(args.end(), leaf.begin(), leaf.end());
      cmd.Then(Tc(args));
    }
    for (const auto& p : peers) {
      cmd.Then(Tc({"filter", "add", "dev", device, "parent", root, "protocol", "ip", "prio", "1",
                   "u32", "match", "ip", "dst", p + "/32", "flowid", root + "2"}));
    }
  }

  Status StartQueueProgram(const control::NodeInfo& n, const PacketPlan& plan) {
    std::string local = context_.build_dir + "/nemesis/nfq/chaos-nfq";
    if (!std::filesystem::exists(local)) {
      return NotFound("packet nemesis: " + local + " is missing (build it with ./chaos)");
    }
    CHAOS_RETURN_IF_ERROR(
        Session(n)->Check(Command("mkdir").Args({"-p", "/opt/chaos", "/run/chaos"})).status());
    CHAOS_RETURN_IF_ERROR(Session(n)->Upload(local, kNfqBinary, 0755));
    Command daemon(kNfqBinary);
    daemon.Args({"--queue", kQueueNumber, "--delay-ms", std::to_string(plan.delay_ms),
                 "--jitter-ms", std::to_string(plan.jitter_ms), "--duplicate",
                 Number(plan.duplicate), "--reorder", Number(plan.reorder), "--mark", kCopyMark,
                 "--seed", std::to_string(nfq_seed_++)});
    CHAOS_RETURN_IF_ERROR(Session(n)->Check(daemon.Daemon(kNfqLog), kCommandTimeoutMs).status());
    // It binds its queue at once or exits saying why.
    auto alive = Session(n)->Run(
        Command("sleep").Arg("0.3").Then(Command("pgrep").Args({"-x", "chaos-nfq"})));
    if (alive.ok() && alive->exit_status == 0) return Status::Ok();
    auto log = Session(n)->Run(Command("cat").Arg(kNfqLog));
    return Internal(n.name + ": chaos-nfq did not start: " + (log.ok() ? log->out : ""));
  }

  // Returns the method used: "netem" or "iptables+nfqueue+htb".
  Result<std::string> Apply(const control::NodeInfo& n, const PacketPlan& plan) {
    std::vector<std::string> peers = PeerAddresses(n);
    if (peers.empty()) return std::string("none (no peers)");
    CHAOS_ASSIGN_OR_RETURN(std::string device, DeviceToward(n, peers[0]));
    CHAOS_ASSIGN_OR_RETURN(bool netem, HasNetem(n));
    // Each fault starts from a clean node (Stop heals between faults).
    Command cmd = HealCommand();
    if (netem) {
      AddHtb(cmd, device, plan, peers, NetemArgs(plan));
      CHAOS_RETURN_IF_ERROR(Session(n)->Check(cmd, kCommandTimeoutMs).status());
      return std::string("netem");
    }
    CHAOS_RETURN_IF_ERROR(Session(n)->Check(cmd, kCommandTimeoutMs).status());
    if (plan.NeedsQueue()) CHAOS_RETURN_IF_ERROR(StartQueueProgram(n, plan));
    cmd = Ipt({"-N", kChain}).StderrTo("/dev/null").Or(Command("true"));
    cmd.Then(Ipt({"-C", "OUTPUT", "-j", kChain})
                 .StderrTo("/dev/null")
                 .Or(Ipt({"-I", "OUTPUT", "-j", kChain})));
    cmd.Then(Ipt({"-F", kChain}));
    cmd.Then(Ipt({"-A", kChain, "-m", "mark", "--mark", kCopyMark, "-j", "RETURN"}));
    for (const auto& p : peers) {
      if (plan.loss > 0) {
        cmd.Then(Ipt({"-A", kChain, "-d", p, "-m", "statistic", "--mode", "random", "--probability",
                      Number(plan.loss), "-j", "DROP"}));
      }
      if (plan.NeedsQueue()) {
        cmd.Then(Ipt({"-A", kChain, "-d", p, "-j", "NFQUEUE", "--queue-num", kQueueNumber,
                      "--queue-bypass"}));
      }
    }
    if (plan.rate_kbit > 0) AddHtb(cmd, device, plan, peers, {});
    CHAOS_RETURN_IF_ERROR(Session(n)->Check(cmd, kCommandTimeoutMs).status());
    return std::string("iptables+nfqueue+htb");
  }

  NemesisContext context_;
  std::mt19937_64 rng_;
  std::atomic<uint64_t> nfq_seed_;  // chaos-nfq's seed: from the test's, distinct per start
  std::mutex mu_;
  std::map<std::string, bool> netem_;  // guarded by mu_
};

}  // namespace

Json PacketPlan::ToJson() const {
  return Json{{"delay_ms", delay_ms},   {"jitter_ms", jitter_ms}, {"loss", loss},
              {"duplicate", duplicate}, {"reorder", reorder},     {"rate_kbit", rate_kbit}};
}

Result<PacketPlan> PlanPacket(const Json& spec, std::mt19937_64& rng) {
  PacketPlan p;
  p.mode = ModeOf(spec, {"delay", "loss", "duplicate", "reorder", "rate", "all"}, rng);
  if (p.mode == "delay") {
    p.delay_ms = Draw<int64_t>(rng, {50, 100, 200});
    p.jitter_ms = p.delay_ms / 10;
  } else if (p.mode == "loss") {
    p.loss = Draw<double>(rng, {0.05, 0.1, 0.2});
  } else if (p.mode == "duplicate") {
    p.duplicate = Draw<double>(rng, {0.05, 0.2});
  } else if (p.mode == "reorder") {
    p.reorder = Draw<double>(rng, {0.2, 0.5});
    p.delay_ms = Draw<int64_t>(rng, {20, 50});  // what the reordered packets overtake
  } else if (p.mode == "rate") {
    p.rate_kbit = Draw<int64_t>(rng, {256, 1024, 8192});
  } else if (p.mode == "all") {
    p.delay_ms = 50;
    p.jitter_ms = 10;
    p.loss = 0.05;
    p.duplicate = 0.05;
    p.reorder = 0.1;
    p.rate_kbit = 8192;
  } else {
    return InvalidArgument("unknown packet mode '" + p.mode +
                           "' (delay, loss, duplicate, reorder, rate, all)");
  }
  p.delay_ms = IntField(spec, "delay_ms", p.delay_ms);
  p.jitter_ms = IntField(spec, "jitter_ms", p.jitter_ms);
  p.loss = DoubleField(spec, "loss", p.loss);
  p.duplicate = DoubleField(spec, "duplicate", p.duplicate);
  p.reorder = DoubleField(spec, "reorder", p.reorder);
  p.rate_kbit = IntField(spec, "rate_kbit", p.rate_kbit);
  if (p.delay_ms < 0 || p.delay_ms > 60'000 || p.jitter_ms < 0 || p.jitter_ms > p.delay_ms) {
    return InvalidArgument("packet delay_ms must be in [0, 60000] and jitter_ms in [0, delay_ms]");
  }
  for (double v : {p.loss, p.duplicate, p.reorder}) {
    if (!(v >= 0 && v <= 1)) {
      return InvalidArgument("packet loss, duplicate and reorder must be in [0, 1]");
    }
  }
  if (p.rate_kbit < 0) return InvalidArgument("packet rate_kbit must be >= 0");
  if (p.reorder > 0 && p.delay_ms == 0) {
    return InvalidArgument("packet reorder needs delay_ms > 0 (the packets it overtakes)");
  }
  return p;
}

std::vector<std::string> NetemArgs(const PacketPlan& plan) {
  std::vector<std::string> args = {"netem"};
  if (plan.delay_ms > 0) {
    args.insert(args.end(), {"delay", std::to_string(plan.delay_ms) + "ms"});
    if (plan.jitter_ms > 0) args.push_back(std::to_string(plan.jitter_ms) + "ms");
  }
  if (plan.loss > 0) args.insert(args.end(), {"loss", Percent(plan.loss)});
  if (plan.duplicate > 0) args.insert(args.end(), {"duplicate", Percent(plan.duplicate)});
  if (plan.reorder > 0) args.insert(args.end(), {"reorder", Percent(plan.reorder)});
  return args;
}

std::unique_ptr<Nemesis> MakePacketNemesis(NemesisContext context) {
  return std::make_unique<PacketNemesis>(std::move(context));
}

}  // namespace chaos::nemesis
