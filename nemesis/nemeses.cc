// Partition, kill and pause; the list of nemeses.
#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "base/check.h"
#include "nemesis/clock.h"
#include "nemesis/common.h"
#include "nemesis/disk.h"
#include "nemesis/membership.h"
#include "nemesis/nemesis.h"
#include "nemesis/packet.h"
#include "nemesis/plan.h"

namespace chaos::nemesis {
namespace {

using control::Command;

// iptables rules in a chain of our own, CHAOS, jumped to from INPUT and OUTPUT.
// A spec with "stall_ms": N stalls the smallest side (SIGSTOP through the
// adapter, as the pause nemesis does) just after cutting it off, and lets it
// run on, still cut off, N ms after it stopped: a leader whose network fails
// and which then pauses (a GC). Each node of the side is stopped as soon as
// its own rules are in place (they alone cut it off from every peer, both
// ways), not once the cut has landed everywhere: the last node's rules
// landed 0.12-0.84 s after the cut began (median 0.21 s, 60 stalled cuts on
// a loaded machine, 2026-12-07; recorded as "cut_ms"), as long as the
// register's election timeout (0.3-0.6 s), and a leader left running cut
// off that long steps down (check-quorum) before its stall begins. Stopped
// before its own rules, it would stay stopped for as long as they took,
// time that a lease measured on a clock spent. It wakes with its timers
// where they stopped, so it does not step down (check-quorum) for another
// election timeout, while the other side has elected a leader and written.
// That is the schedule that exposes leases longer than the followers'
// promise (--bug stale-lease-read). With "wake": "successor" the side runs
// on as soon as the adapter names a leader outside it (plus
// "wake_delay_ms", default 0), stall_ms at the latest: it wakes just after
// its successor took over, when a lease it still believes in is most
// dangerous, however long the system's elections take. With "wake":
// "progress" it runs on as soon as a write invoked after it stopped has been
// acknowledged (the rest of the cluster made progress without it;
// nemesis/progress.h), plus "wake_delay_ms": the first moment a read it
// serves from what it knew can be stale. The stall (and the successor or the
// progress seen) is recorded in the op.
//
// Mode "stale-leader" (never drawn at random: it also kills and pauses) is
// the simulator's scenario of that name: the stalled, cut-off leader wakes
// among quorum - 1 freshly restarted nodes and nobody else, the new leader's
// messages cut off (forgotten promises, --bug forget-promise, let them accept
// its stale proposals).
//
// Mode "minority-swap" (by name only, like stale-leader: it is timed) is the
// simulator's scenario of that name (nemesis/plan.h, MinoritySwapPlan): the
// leader with a minority too small to choose anything, the rest split so
// that nobody can be elected; `swap_ms` later (default 1200: a few register
// election timeouts) the minority alone and each of the rest joined to the
// old leader only, so that the old leader, deposed by check-quorum without
// seeing a higher ballot, is the one to campaign again, with the ballot it
// led with if the bug lets it (--bug promise-geq).
class PartitionNemesis : public Nemesis {
 public:
  explicit PartitionNemesis(NemesisContext context)
      : context_(std::move(context)), rng_(context_.seed ^ 0x9a27) {}

  std::string name() const override { return "partition"; }
  std::vector<std::string> modes() const override {
    std::vector<std::string> modes = RandomModes();
    modes.push_back("stale-leader");
    modes.push_back("minority-swap");
    return modes;
  }

  Result<Json> Start(const Json& spec) override {
    // stale-leader also kills and pauses: only when asked for by name.
    std::string mode = ModeOf(spec, RandomModes(), rng_);
    bool aimed = mode == "leader" || mode == "stale-leader" || mode == "minority-swap";
    std::string leader = aimed ? Leader(context_.adapter) : "";
    // No leader known (an election, or the leader paused): cut off any one
    // node, as kill and pause fall back to one.
    if (aimed && leader.empty()) mode = "isolate-one";
    int64_t stall_ms = IntField(spec, "stall_ms", mode == "stale-leader" ? 1000 : 0);
    if (stall_ms < 0) return InvalidArgument("partition: stall_ms must be >= 0");
    if (mode == "stale-leader") {
      for (const char* fault : {"pause", "kill"}) {
        if (!context_.adapter->SupportedFaults().contains(fault)) {
          return InvalidArgument(std::string("partition: stale-leader needs an adapter that can ") +
                                 fault + " a node; " + context_.adapter->name() + " cannot");
        }
      }
      return StartStaleLeader(leader, stall_ms);
    }
    if (mode == "minority-swap") {
      int64_t swap_ms = IntField(spec, "swap_ms", 1200);
      if (swap_ms < 0) return InvalidArgument("partition: swap_ms must be >= 0");
      std::string restart = TextField(spec, "restart", "none");
      if (restart != "none" && restart != "minority" && restart != "others") {
        return InvalidArgument("partition: restart must be none, minority or others, got " +
                               restart);
      }
      if (restart != "none" && !context_.adapter->SupportedFaults().contains("kill")) {
        return InvalidArgument("partition: restart needs an adapter that can kill a node; " +
                               context_.adapter->name() + " cannot");
      }
      int64_t slow_ms = IntField(spec, "slow_ms", 0);
      if (slow_ms < 0 || slow_ms > 10'000) {
        return InvalidArgument("partition: slow_ms must be between 0 and 10000, got " +
                               std::to_string(slow_ms));
      }
      if (slow_ms > 0 && !context_.adapter->SupportedFaults().contains("slow-disk")) {
        return InvalidArgument("partition: slow_ms needs an adapter that can slow a disk; " +
                               context_.adapter->name() + " cannot");
      }
      return StartMinoritySwap(leader, swap_ms, restart, slow_ms);
    }
    if (stall_ms > 0 && !context_.adapter->SupportedFaults().contains("pause")) {
      return InvalidArgument("partition: stall_ms needs an adapter that can pause a node; " +
                             context_.adapter->name() + " cannot");
    }
    std::string wake = TextField(spec, "wake", "time");
    if (wake != "time" && wake != "successor" && wake != "progress") {
      return InvalidArgument("partition: wake must be time, successor or progress, got " + wake);
    }
    if (wake == "progress" && context_.progress == nullptr) {
      return InvalidArgument("partition: wake progress needs the clients' history");
    }
    int64_t wake_delay_ms = IntField(spec, "wake_delay_ms", 0);
    if (wake_delay_ms < 0) return InvalidArgument("partition: wake_delay_ms must be >= 0");
    CHAOS_ASSIGN_OR_RETURN(PartitionPlan plan,
                           PlanPartition(mode, NodeNames(context_.inventory), rng_, leader));
    std::vector<std::string> side;  // stalled
    if (stall_ms > 0 && !plan.groups.empty()) {
      side = *std::min_element(plan.groups.begin(), plan.groups.end(),
                               [](const auto& a, const auto& b) { return a.size() < b.size(); });
    }
    // Each node of the side is stopped on its own thread as soon as its own
    // rules are in place (listed first, so that Heal resumes it even if the
    // cut fails half-way); `stalled` becomes the moment the last one stopped.
    for (const auto& n : side) stalled_.insert(n);
    auto cut_began = std::chrono::steady_clock::now();
    std::mutex stalled_mu;
    auto stalled = cut_began;
    auto stall_on_landing = [&](const control::NodeInfo& n) -> Status {
      if (std::find(side.begin(), side.end(), n.name) == side.end()) return Status::Ok();
      CHAOS_RETURN_IF_ERROR(context_.adapter->Pause(n));
      std::lock_guard lock(stalled_mu);
      stalled = std::max(stalled, std::chrono::steady_clock::now());
      return Status::Ok();
    };
    CHAOS_ASSIGN_OR_RETURN(std::vector<std::string> affected, ApplyPlan(plan, stall_on_landing));
    Json description = {{"mode", mode}, {"nodes", affected}, {"groups", plan.groups}};
    if (!side.empty()) {
      description["cut_ms"] = MsSince(cut_began);  // until every node's rules were in place
      auto deadline = stalled + std::chrono::milliseconds(stall_ms);
      if (wake == "successor") {
        std::string successor = AwaitLeaderOutside(side, deadline);
        if (!successor.empty()) {
          description["successor"] = successor;
          description["successor_ms"] = MsSince(stalled);
          deadline = std::min(deadline, std::chrono::steady_clock::now() +
                                            std::chrono::milliseconds(wake_delay_ms));
        }
      } else if (wake == "progress") {
        // Stopped since `stalled`: a write invoked after that and
        // acknowledged was served by the rest of the cluster.
        if (context_.progress->AwaitAcknowledgedSince(stalled, deadline)) {
          description["progress_ms"] = MsSince(stalled);
          deadline = std::min(deadline, std::chrono::steady_clock::now() +
                                            std::chrono::milliseconds(wake_delay_ms));
        }
      }
      std::this_thread::sleep_until(deadline);
      CHAOS_RETURN_IF_ERROR(Resume(side));
      description["stalled"] = side;
      description["stalled_ms"] = MsSince(stalled);
    }
    return description;
  }

  Result<Json> Stop() override {
    CHAOS_RETURN_IF_ERROR(Heal());
    return Json{{"nodes", NodeNames(context_.inventory)}};
  }

  // Every part is tried even if one fails (a disk that cannot be made fast
  // again must not leave the network cut); the first error is returned.
  Status Heal() override {
    std::vector<std::string> stalled(stalled_.begin(), stalled_.end());
    Status resumed = Resume(stalled);
    std::vector<std::string> slowed(slowed_.begin(), slowed_.end());
    Status fast = SlowDisks(context_, slowed, 0);
    if (fast.ok()) slowed_.clear();
    Status flushed =
        OnNodes(context_.inventory, NodeNames(context_.inventory), [&](const control::NodeInfo& n) {
          // Flush our chain only; a missing chain is already healed.
          return Session(n)
              ->CheckInShell(Command("iptables")
                                 .Args({"-w", "-F", "CHAOS"})
                                 .StderrTo("/dev/null")
                                 .Or(Command("true")))
              .status();
        });
    for (const Status* s : {&resumed, &fast, &flushed}) {
      if (!s->ok()) return *s;
    }
    return Status::Ok();
  }

 private:
  control::Session* Session(const control::NodeInfo& n) { return context_.nodes->Get(n.name); }

  static std::vector<std::string> RandomModes() {
    return {"halves", "random-halves", "isolate-one", "majorities-ring", "bridge", "leader"};
  }

  // Polls the adapter until it names a leader outside `side` (the rest of
  // the cluster has elected one) or `deadline` passes; "" then.
  std::string AwaitLeaderOutside(const std::vector<std::string>& side,
                                 std::chrono::steady_clock::time_point deadline) {
    while (std::chrono::steady_clock::now() < deadline) {
      std::string leader = Leader(context_.adapter);
      if (!leader.empty() && std::find(side.begin(), side.end(), leader) == side.end()) {
        return leader;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return "";
  }

  static int64_t MsSince(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 t)
        .count();
  }

  // The simulator's stale-leader scenario (nemesis/plan.h, StaleLeaderPlan),
  // in the containers: stop the leader and cut it off; `stall_ms` later,
  // crash and restart quorum - 1 of the others, regroup the network as
  // {leader + restarted} | the rest, and let the leader run on.
  Result<Json> StartStaleLeader(const std::string& leader, int64_t stall_ms) {
    CHAOS_ASSIGN_OR_RETURN(StaleLeaderPlan plan,
                           PlanStaleLeader(NodeNames(context_.inventory), rng_, leader));
    auto began = std::chrono::steady_clock::now();
    CHAOS_RETURN_IF_ERROR(Stall({leader}));
    CHAOS_RETURN_IF_ERROR(ApplyPlan(plan.isolate).status());
    std::this_thread::sleep_until(began + std::chrono::milliseconds(stall_ms));
    CHAOS_RETURN_IF_ERROR(Restart(plan.restarted));
    CHAOS_ASSIGN_OR_RETURN(std::vector<std::string> affected, ApplyPlan(plan.swap));
    CHAOS_RETURN_IF_ERROR(Resume({leader}));
    return Json{{"mode", "stale-leader"},      {"nodes", affected},
                {"groups", plan.swap.groups},  {"leader", leader},
                {"restarted", plan.restarted}, {"stalled", {leader}},
                {"stalled_ms", MsSince(began)}};
  }

  Result<Json> StartMinoritySwap(const std::string& leader, int64_t swap_ms,
                                 const std::string& restart, int64_t slow_ms) {
    CHAOS_ASSIGN_OR_RETURN(MinoritySwapPlan plan,
                           PlanMinoritySwap(NodeNames(context_.inventory), rng_, leader));
    auto began = std::chrono::steady_clock::now();
    CHAOS_RETURN_IF_ERROR(ApplyPlan(plan.first).status());
    std::this_thread::sleep_until(began + std::chrono::milliseconds(swap_ms));
    int64_t first_ms = MsSince(began);
    std::vector<std::string> restarted;
    if (restart != "none") {
      // Over TCP a partition delays messages rather than losing them: once
      // joined, the old leader's streams would deliver its first-step
      // Accepts to the rest, and once healed its later messages to the
      // minority. Restarting those nodes while still cut off breaks the
      // streams and loses what they held, as the simulator's partitions do.
      restarted = plan.minority;
      if (restart == "others") {
        restarted.clear();
        for (const auto& n : NodeNames(context_.inventory)) {
          if (n != leader) restarted.push_back(n);
        }
      }
      CHAOS_RETURN_IF_ERROR(Restart(restarted));
    }
    if (slow_ms > 0) {
      // The old leader's disk turns slow as it is joined to the rest. A
      // register flushes a log line as it becomes a candidate, between
      // sending Prepare and taking its next input: on the slow disk the
      // others' promises arrive meanwhile and elect it before its own does
      // (the simulator's stall after phase 1).
      slowed_.insert(leader);
      CHAOS_RETURN_IF_ERROR(SlowDisks(context_, {leader}, slow_ms));
    }
    CHAOS_ASSIGN_OR_RETURN(std::vector<std::string> affected, ApplyPlan(plan.second));
    Json description = {{"mode", "minority-swap"},      {"nodes", affected},
                        {"groups", plan.second.groups}, {"leader", leader},
                        {"minority", plan.minority},    {"first_groups", plan.first.groups},
                        {"first_ms", first_ms}};
    if (!restarted.empty()) description["restarted"] = restarted;
    if (slow_ms > 0) description["slow_ms"] = slow_ms;
    return description;
  }

  // A crash and a start again, through the adapter, on every node at once.
  Status Restart(const std::vector<std::string>& nodes) {
    return OnNodes(context_.inventory, nodes, [&](const control::NodeInfo& n) -> Status {
      CHAOS_RETURN_IF_ERROR(context_.adapter->Kill(n));
      return context_.adapter->Start(n);
    });
  }

  // SIGSTOP through the adapter; Heal continues whatever is still stopped.
  Status Stall(const std::vector<std::string>& nodes) {
    for (const auto& n : nodes) stalled_.insert(n);
    return OnNodes(context_.inventory, nodes,
                   [&](const control::NodeInfo& n) { return context_.adapter->Pause(n); });
  }

  // Replaces every node's DROP rules with the plan's grudge (none for a node
  // the plan leaves whole); returns the nodes that drop something. `landed`,
  // if given, runs for each node on that node's thread once its rules are in
  // place, while the others' may still be landing.
  Result<std::vector<std::string>> ApplyPlan(
      const PartitionPlan& plan,
      const std::function<Status(const control::NodeInfo&)>& landed = nullptr) {
    std::vector<std::string> affected;
    for (const auto& [node, _] : plan.grudge) affected.push_back(node);
    CHAOS_RETURN_IF_ERROR(
        OnNodes(context_.inventory, NodeNames(context_.inventory), [&](const control::NodeInfo& n) {
          std::vector<std::string> addresses;
          auto it = plan.grudge.find(n.name);
          if (it != plan.grudge.end()) {
            for (const auto& peer : it->second) {
              addresses.push_back(context_.inventory.Find(peer)->address);
            }
          }
          CHAOS_RETURN_IF_ERROR(Apply(n, addresses));
          return landed ? landed(n) : Status::Ok();
        }));
    return affected;
  }

  Status Resume(const std::vector<std::string>& nodes) {
    CHAOS_RETURN_IF_ERROR(OnNodes(context_.inventory, nodes, [&](const control::NodeInfo& n) {
      return context_.adapter->Resume(n);
    }));
    for (const auto& n : nodes) stalled_.erase(n);
    return Status::Ok();
  }

  // The node's CHAOS chain becomes exactly `addresses`' DROP rules, in one
  // iptables-restore (one process, one atomic commit: declaring the chain
  // with --noflush empties it) through the connection's long-lived shell, so
  // that a cut lands within a round trip of when it was asked for. The chain
  // is hooked into INPUT and OUTPUT once per node.
  Status Apply(const control::NodeInfo& n, const std::vector<std::string>& addresses) {
    std::vector<std::string> lines = {"*filter", ":CHAOS - [0:0]"};
    for (const auto& a : addresses) {
      lines.push_back("-A CHAOS -s " + a + " -j DROP");
      lines.push_back("-A CHAOS -d " + a + " -j DROP");
    }
    lines.push_back("COMMIT");
    Command cmd = Command("printf").Arg("%s\\n").Args(lines).Pipe(
        Command("iptables-restore").Args({"-w", "--noflush"}));
    {
      std::lock_guard lock(hooked_mu_);
      if (!hooked_.contains(n.name)) {
        for (const char* chain : {"INPUT", "OUTPUT"}) {
          auto ipt = [&](const char* op) {
            return Command("iptables").Args({"-w", op, chain, "-j", "CHAOS"});
          };
          cmd.Then(ipt("-C").StderrTo("/dev/null").Or(ipt("-I")));
        }
      }
    }
    CHAOS_RETURN_IF_ERROR(Session(n)->CheckInShell(cmd, 20'000).status());
    std::lock_guard lock(hooked_mu_);
    hooked_.insert(n.name);
    return Status::Ok();
  }

  NemesisContext context_;
  std::mt19937_64 rng_;
  std::set<std::string> stalled_;  // paused by stall_ms and not yet resumed
  std::set<std::string> slowed_;   // disks slowed by slow_ms and not yet healthy again
  std::mutex hooked_mu_;           // Apply runs on every node at once
  std::set<std::string> hooked_;   // nodes whose INPUT and OUTPUT jump to CHAOS
};

// Kill and pause differ only in the adapter calls they make.
class ProcessNemesis : public Nemesis {
 public:
  ProcessNemesis(NemesisContext context, bool kill)
      : context_(std::move(context)), kill_(kill), rng_(context_.seed ^ (kill ? 0x4b1 : 0x9a5)) {}

  std::string name() const override { return kill_ ? "kill" : "pause"; }
  std::vector<std::string> modes() const override { return TargetModes(); }

  Result<Json> Start(const Json& spec) override {
    std::string mode;
    CHAOS_ASSIGN_OR_RETURN(auto targets, TargetsOf(spec, "mode", context_, rng_, &mode));
    Status s = OnNodes(context_.inventory, targets, [&](const control::NodeInfo& n) {
      return kill_ ? context_.adapter->Kill(n) : context_.adapter->Pause(n);
    });
    // Remember targets even on error: Stop and Heal undo what may have happened.
    for (const auto& t : targets) affected_.insert(t);
    CHAOS_RETURN_IF_ERROR(s);
    return Json{{"mode", mode}, {"nodes", targets}};
  }

  Result<Json> Stop() override {
    std::vector<std::string> targets(affected_.begin(), affected_.end());
    CHAOS_RETURN_IF_ERROR(Undo(targets));
    affected_.clear();
    return Json{{"nodes", targets}};
  }

  Status Heal() override {
    // Every node: a paused daemon is continued; a dead one is started.
    CHAOS_RETURN_IF_ERROR(Undo(NodeNames(context_.inventory)));
    affected_.clear();
    return Status::Ok();
  }

 private:
  Status Undo(const std::vector<std::string>& targets) {
    return OnNodes(context_.inventory, targets, [&](const control::NodeInfo& n) -> Status {
      if (!kill_) return context_.adapter->Resume(n);
      CHAOS_ASSIGN_OR_RETURN(bool running, context_.adapter->IsRunning(n));
      if (running) return Status::Ok();
      return context_.adapter->Start(n);
    });
  }

  NemesisContext context_;
  bool kill_;
  std::mt19937_64 rng_;
  std::set<std::string> affected_;
};

}  // namespace

std::vector<std::string> NodeNames(const control::Inventory& inventory) {
  std::vector<std::string> names;
  for (const auto& n : inventory.nodes) names.push_back(n.name);
  return names;
}

std::string Leader(adapters::Adapter* adapter) {
  auto leader = adapter->Leader();
  if (!leader.ok() || !leader->has_value()) return "";
  return **leader;
}

std::string ModeOf(const Json& spec, const std::vector<std::string>& modes, std::mt19937_64& rng) {
  if (spec.is_object() && spec.contains("mode") && spec["mode"].is_string()) {
    return spec["mode"].get<std::string>();
  }
  return modes[rng() % modes.size()];
}

const std::vector<std::string>& TargetModes() {
  static const std::vector<std::string> kModes = {"one", "minority", "majority", "all", "leader"};
  return kModes;
}

Result<std::vector<std::string>> TargetsOf(const Json& spec, const char* key,
                                           const NemesisContext& context, std::mt19937_64& rng,
                                           std::string* mode) {
  *mode = spec.is_object() && spec.contains(key) && spec[key].is_string()
              ? spec[key].get<std::string>()
              : TargetModes()[rng() % TargetModes().size()];
  std::string leader = *mode == "leader" ? Leader(context.adapter) : "";
  if (*mode == "leader" && leader.empty()) *mode = "one";  // no leader known
  return ChooseTargets(*mode, NodeNames(context.inventory), rng, leader);
}

int64_t IntField(const Json& spec, const char* name, int64_t fallback) {
  if (spec.is_object() && spec.contains(name) && spec[name].is_number_integer()) {
    return spec[name].get<int64_t>();
  }
  return fallback;
}

std::string TextField(const Json& spec, const char* name, std::string fallback) {
  if (!spec.is_object() || !spec.contains(name)) return fallback;
  const Json& v = spec[name];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

const std::vector<std::string>& NemesisNames() {
  static const std::vector<std::string> kNames = {"partition", "kill",          "pause",
                                                  "clock",     "lose-unsynced", "corrupt",
                                                  "packet",    "slow-disk",     "membership"};
  return kNames;
}

Result<std::vector<std::unique_ptr<Nemesis>>> MakeNemeses(const std::vector<std::string>& names,
                                                          const NemesisContext& context) {
  std::vector<std::unique_ptr<Nemesis>> out;
  auto supported = context.adapter->SupportedFaults();
  for (const auto& name : names) {
    // Every nemesis is a fault an adapter may declare (adapters/adapter.h):
    // refusing one the adapter lacks names the adapter's reason.
    if (std::find(NemesisNames().begin(), NemesisNames().end(), name) == NemesisNames().end()) {
      std::string known;
      for (const auto& n : NemesisNames()) known += (known.empty() ? "" : ", ") + n;
      return InvalidArgument("unknown nemesis '" + name + "' (known: " + known + ")");
    }
    if (!supported.contains(name)) {
      std::string why = context.adapter->UnsupportedReason(name);
      return InvalidArgument("the " + context.adapter->name() + " adapter does not support the " +
                             name + " nemesis" + (why.empty() ? "" : ": " + why));
    }
    if (name == "partition") {
      out.push_back(std::make_unique<PartitionNemesis>(context));
    } else if (name == "lose-unsynced") {
      out.push_back(MakeLoseUnsyncedNemesis(context));
    } else if (name == "corrupt") {
      out.push_back(MakeCorruptNemesis(context));
    } else if (name == "slow-disk") {
      out.push_back(MakeSlowDiskNemesis(context));
    } else if (name == "clock") {
      out.push_back(MakeClockNemesis(context));
    } else if (name == "packet") {
      out.push_back(MakePacketNemesis(context));
    } else if (name == "membership") {
      out.push_back(MakeMembershipNemesis(context));
    } else {
      out.push_back(std::make_unique<ProcessNemesis>(context, name == "kill"));
    }
  }
  return out;
}

}  // namespace chaos::nemesis
