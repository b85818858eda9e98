// lose-unsynced, corrupt and slow-disk (disk.h).
#include "nemesis/disk.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "adapters/lazyfs_node.h"
#include "control/command.h"
#include "nemesis/common.h"
#include "nemesis/membership.h"

namespace chaos::nemesis {
namespace {

using control::Command;

// How long a restarted system gets to refuse its data before it counts as up.
constexpr int kStartGraceMs = 2000;
// How long re-adding the nodes the corrupt nemesis wiped may take (a learner
// catching up included); past it the op records why it could not.
constexpr int64_t kReaddTimeoutMs = 15'000;

std::string DataDirOf(adapters::Adapter* adapter, const control::Inventory& inventory) {
  return inventory.nodes.empty() ? "" : adapter->DataDir(inventory.nodes.front());
}

// Starts the system on `node` unless it is running.
Status EnsureStarted(adapters::Adapter* adapter, const control::NodeInfo& node) {
  CHAOS_ASSIGN_OR_RETURN(bool running, adapter->IsRunning(node));
  if (running) return Status::Ok();
  return adapter->Start(node);
}

// Waits (at most 5 s) until the system's process is gone after a kill.
Status WaitUntilDown(adapters::Adapter* adapter, const control::NodeInfo& node) {
  for (int i = 0; i < 50; ++i) {
    CHAOS_ASSIGN_OR_RETURN(bool running, adapter->IsRunning(node));
    if (!running) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Timeout(node.name + ": the system still runs 5 s after it was killed");
}

class LoseUnsyncedNemesis : public Nemesis {
 public:
  explicit LoseUnsyncedNemesis(NemesisContext context)
      : context_(std::move(context)), rng_(context_.seed ^ 0x105e) {}

  std::string name() const override { return "lose-unsynced"; }
  std::vector<std::string> modes() const override { return TargetModes(); }

  Result<Json> Start(const Json& spec) override {
    std::string dir = DataDirOf(context_.adapter, context_.inventory);
    if (dir.empty()) {
      return FailedPrecondition("the " + context_.adapter->name() +
                                " adapter has no data directory for lose-unsynced");
    }
    std::string mode;
    CHAOS_ASSIGN_OR_RETURN(auto targets, TargetsOf(spec, "mode", context_, rng_, &mode));
    std::string nonce = std::to_string(rng_());
    // "hold_ms": the disk's cache stops writing back on every target this
    // long before the power goes, so the crash loses what was written in
    // that time (at least), not only what the last writeback left.
    const int64_t hold_ms = IntField(spec, "hold_ms", 0);
    if (hold_ms < 0 || hold_ms > 60'000) {
      return InvalidArgument("lose-unsynced hold_ms " + std::to_string(hold_ms) +
                             " is outside 0-60000");
    }
    if (hold_ms > 0) {
      CHAOS_RETURN_IF_ERROR(OnNodes(context_.inventory, targets, [&](const control::NodeInfo& n) {
        return adapters::LazyfsHold(context_.nodes->Get(n.name), dir);
      }));
      std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
    }
    std::mutex mu;
    Json dropped = Json::object();
    Status s = OnNodes(context_.inventory, targets, [&](const control::NodeInfo& n) -> Status {
      {
        std::lock_guard<std::mutex> lock(mu);
        affected_.insert(n.name);
      }
      // The power goes: no background writeback from here on, however long
      // the kill and the wait take (over SSH, under load, longer than the
      // writeback age: the drop then found almost nothing to lose). With
      // hold_ms it is held already.
      if (hold_ms == 0) {
        CHAOS_RETURN_IF_ERROR(adapters::LazyfsHold(context_.nodes->Get(n.name), dir));
      }
      CHAOS_RETURN_IF_ERROR(context_.adapter->Kill(n));
      // Every write of the killed process must have reached the file system
      // (or been abandoned) before the drop, or it would outlive the crash.
      CHAOS_RETURN_IF_ERROR(WaitUntilDown(context_.adapter, n));
      CHAOS_ASSIGN_OR_RETURN(Json reply,
                             adapters::LazyfsCrash(context_.nodes->Get(n.name), dir, nonce));
      reply.erase("command");
      std::lock_guard<std::mutex> lock(mu);
      dropped[n.name] = std::move(reply);
      return Status::Ok();
    });
    CHAOS_RETURN_IF_ERROR(s);
    Json result = {{"mode", mode}, {"nodes", targets}, {"dropped", dropped}};
    if (hold_ms > 0) result["hold_ms"] = hold_ms;
    return result;
  }

  Result<Json> Stop() override {
    std::vector<std::string> targets(affected_.begin(), affected_.end());
    CHAOS_RETURN_IF_ERROR(OnNodes(context_.inventory, targets, [&](const control::NodeInfo& n) {
      return EnsureStarted(context_.adapter, n);
    }));
    affected_.clear();
    return Json{{"nodes", targets}};
  }

  Status Heal() override {
    CHAOS_RETURN_IF_ERROR(
        OnNodes(context_.inventory, NodeNames(context_.inventory),
                [&](const control::NodeInfo& n) { return EnsureStarted(context_.adapter, n); }));
    affected_.clear();
    return Status::Ok();
  }

 private:
  NemesisContext context_;
  std::mt19937_64 rng_;
  std::set<std::string> affected_;
};

class CorruptNemesis : public Nemesis {
 public:
  explicit CorruptNemesis(NemesisContext context)
      : context_(std::move(context)), rng_(context_.seed ^ 0xc0bb) {}

  std::string name() const override { return "corrupt"; }
  std::vector<std::string> modes() const override { return {"bitflip", "truncate"}; }

  Result<Json> Start(const Json& spec) override {
    std::string mode = ModeOf(spec, modes(), rng_);
    if (mode != "bitflip" && mode != "truncate") {
      return InvalidArgument("unknown corrupt mode '" + mode + "' (bitflip, truncate)");
    }
    std::string who = spec.is_object() && spec.contains("targets") && spec["targets"].is_string()
                          ? spec["targets"].get<std::string>()
                          : (rng_() % 2 ? "minority" : "one");
    if (who != "one" && who != "minority") {
      return InvalidArgument("corrupt targets '" + who + "': one or minority");
    }
    CHAOS_ASSIGN_OR_RETURN(auto targets, ChooseTargets(who, NodeNames(context_.inventory), rng_));
    // Random draws happen here, in node order, so the seed decides them all.
    std::map<std::string, std::array<uint64_t, 3>> draws;
    for (const auto& t : targets) draws[t] = {rng_(), rng_(), rng_()};
    std::mutex mu;
    Json corrupted = Json::object();
    Status s = OnNodes(context_.inventory, targets, [&](const control::NodeInfo& n) -> Status {
      {
        std::lock_guard<std::mutex> lock(mu);
        affected_.insert(n.name);
      }
      CHAOS_RETURN_IF_ERROR(context_.adapter->Kill(n));
      CHAOS_RETURN_IF_ERROR(WaitUntilDown(context_.adapter, n));
      CHAOS_ASSIGN_OR_RETURN(Json what, Corrupt(n, mode, draws.at(n.name)));
      std::lock_guard<std::mutex> lock(mu);
      corrupted[n.name] = std::move(what);
      return Status::Ok();
    });
    CHAOS_RETURN_IF_ERROR(s);
    return Json{{"mode", mode}, {"targets", who}, {"nodes", targets}, {"corrupted", corrupted}};
  }

  Result<Json> Stop() override {
    std::vector<std::string> targets(affected_.begin(), affected_.end());
    CHAOS_ASSIGN_OR_RETURN(Json wiped, Restart(targets));
    affected_.clear();
    Json description = {{"nodes", targets}, {"wiped", wiped}};
    // A node started on an empty disk may by the system's own rule refuse
    // to vote until it is added again (the register's amnesia rule): an
    // operator who replaced a disk re-adds the node, and so does this, where
    // the adapter can change the membership. Otherwise every later fault of
    // the run meets a cluster with fewer voters than it started with.
    if (!wiped.empty() && context_.adapter->SupportedFaults().contains("membership")) {
      auto readded =
          RestoreVoters(context_, kReaddTimeoutMs, wiped.get<std::vector<std::string>>());
      if (readded.ok()) {
        description["readded"] = *readded;
      } else {
        description["readd_error"] = readded.status().message();
      }
    }
    return description;
  }

  Status Heal() override {
    auto r = Restart(NodeNames(context_.inventory));
    affected_.clear();
    return r.status();
  }

 private:
  // Damages one data file of `n` (the system is down). Returns what it did.
  Result<Json> Corrupt(const control::NodeInfo& n, const std::string& mode,
                       const std::array<uint64_t, 3>& draw) {
    control::Session* session = context_.nodes->Get(n.name);
    CHAOS_ASSIGN_OR_RETURN(auto files, context_.adapter->DataFiles(n));
    if (files.empty()) return Json{{"file", nullptr}, {"why", "no data files yet"}};
    // The file holding a random byte of the node's data: big files (the
    // log) are hit more often than small ones (an identity file).
    Command stat("stat");
    stat.Args({"-c", "%s"}).Args(files);
    CHAOS_ASSIGN_OR_RETURN(std::string sizes_text, session->Check(stat));
    std::vector<uint64_t> sizes;
    uint64_t total = 0;
    for (size_t at = 0; at < sizes_text.size();) {
      size_t end = sizes_text.find('\n', at);
      if (end == std::string::npos) end = sizes_text.size();
      sizes.push_back(std::strtoull(sizes_text.c_str() + at, nullptr, 10));
      total += sizes.back();
      at = end + 1;
    }
    if (sizes.size() != files.size() || total == 0) {
      return Json{{"file", nullptr}, {"why", "data files are empty"}};
    }
    uint64_t pick = draw[0] % total;
    size_t i = 0;
    while (pick >= sizes[i]) pick -= sizes[i++];
    std::string file = files[i];
    uint64_t size = sizes[i];
    if (mode == "truncate") {
      uint64_t cut = 1 + draw[1] % std::min<uint64_t>(size, 256);
      CHAOS_RETURN_IF_ERROR(
          session->Check(Command("truncate").Args({"-s", std::to_string(size - cut), file}))
              .status());
      return Json{{"file", file}, {"size", size}, {"cut_bytes", cut}};
    }
    uint64_t offset = draw[1] % size;
    int bit = static_cast<int>(draw[2] % 8);
    CHAOS_ASSIGN_OR_RETURN(std::string byte_text,
                           session->Check(Command("od").Args(
                               {"-An", "-tu1", "-j", std::to_string(offset), "-N1", file})));
    int before = std::atoi(byte_text.c_str());
    int after = before ^ (1 << bit);
    char octal[8];
    std::snprintf(octal, sizeof octal, "\\%03o", after);
    Command write("printf");
    write.Arg(octal).Pipe(
        Command("dd").Args({"of=" + file, "bs=1", "seek=" + std::to_string(offset), "count=1",
                            "conv=notrunc", "status=none"}));
    CHAOS_RETURN_IF_ERROR(session->Check(write).status());
    return Json{
        {"file", file}, {"offset", offset}, {"bit", bit}, {"before", before}, {"after", after}};
  }

  // Starts the system where it is down; where it then refuses to start (it
  // found the damage), wipes its data directory and starts it empty.
  // Returns the wiped nodes.
  Result<Json> Restart(const std::vector<std::string>& names) {
    std::string dir = DataDirOf(context_.adapter, context_.inventory);
    std::mutex mu;
    Json wiped = Json::array();
    Status s = OnNodes(context_.inventory, names, [&](const control::NodeInfo& n) -> Status {
      CHAOS_ASSIGN_OR_RETURN(bool running, context_.adapter->IsRunning(n));
      if (running) return Status::Ok();
      CHAOS_RETURN_IF_ERROR(context_.adapter->Start(n));
      std::this_thread::sleep_for(std::chrono::milliseconds(kStartGraceMs));
      CHAOS_ASSIGN_OR_RETURN(running, context_.adapter->IsRunning(n));
      if (running || dir.empty()) return Status::Ok();
      CHAOS_RETURN_IF_ERROR(context_.nodes->Get(n.name)
                                ->Check(Command("find").Args({dir, "-mindepth", "1", "-delete"}))
                                .status());
      {
        std::lock_guard<std::mutex> lock(mu);
        wiped.push_back(n.name);
      }
      return context_.adapter->Start(n);
    });
    CHAOS_RETURN_IF_ERROR(s);
    return wiped;
  }

  NemesisContext context_;
  std::mt19937_64 rng_;
  std::set<std::string> affected_;
};

class SlowDiskNemesis : public Nemesis {
 public:
  explicit SlowDiskNemesis(NemesisContext context)
      : context_(std::move(context)), rng_(context_.seed ^ 0x510d) {}

  std::string name() const override { return "slow-disk"; }
  std::vector<std::string> modes() const override { return TargetModes(); }

  Result<Json> Start(const Json& spec) override {
    static constexpr int64_t kDelaysMs[] = {10, 50, 200};
    int64_t drawn = kDelaysMs[rng_() % std::size(kDelaysMs)];
    int64_t delay_ms = IntField(spec, "delay_ms", drawn);
    if (delay_ms <= 0 || delay_ms > 10'000) {
      return InvalidArgument("slow-disk delay_ms " + std::to_string(delay_ms) +
                             ": between 1 and 10000");
    }
    std::string mode;
    CHAOS_ASSIGN_OR_RETURN(auto targets, TargetsOf(spec, "mode", context_, rng_, &mode));
    affected_.insert(targets.begin(), targets.end());
    CHAOS_RETURN_IF_ERROR(SlowDisks(context_, targets, delay_ms));
    return Json{{"mode", mode}, {"nodes", targets}, {"delay_ms", delay_ms}};
  }

  Result<Json> Stop() override {
    std::vector<std::string> targets(affected_.begin(), affected_.end());
    CHAOS_RETURN_IF_ERROR(SlowDisks(context_, targets, 0));
    affected_.clear();
    return Json{{"nodes", targets}};
  }

  Status Heal() override {
    CHAOS_RETURN_IF_ERROR(SlowDisks(context_, NodeNames(context_.inventory), 0));
    affected_.clear();
    return Status::Ok();
  }

 private:
  NemesisContext context_;
  std::mt19937_64 rng_;
  std::set<std::string> affected_;
};

}  // namespace

Status SlowDisks(const NemesisContext& context, const std::vector<std::string>& nodes,
                 int64_t delay_ms) {
  return OnNodes(context.inventory, nodes, [&](const control::NodeInfo& n) -> Status {
    std::vector<std::string> dirs = context.adapter->SlowDiskDirs(n);
    if (dirs.empty()) {
      return FailedPrecondition("the " + context.adapter->name() +
                                " adapter has no directory for slow-disk");
    }
    for (const auto& dir : dirs) {
      CHAOS_RETURN_IF_ERROR(adapters::LazyfsControl(context.nodes->Get(n.name), dir,
                                                    "slow " + std::to_string(delay_ms))
                                .status());
    }
    return Status::Ok();
  });
}

std::unique_ptr<Nemesis> MakeSlowDiskNemesis(const NemesisContext& context) {
  return std::make_unique<SlowDiskNemesis>(context);
}

std::unique_ptr<Nemesis> MakeLoseUnsyncedNemesis(const NemesisContext& context) {
  return std::make_unique<LoseUnsyncedNemesis>(context);
}

std::unique_ptr<Nemesis> MakeCorruptNemesis(const NemesisContext& context) {
  return std::make_unique<CorruptNemesis>(context);
}

}  // namespace chaos::nemesis
