// The clock nemesis (clock.h): libfaketime control files on the nodes.
#include "nemesis/clock.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>

#include "adapters/faketime.h"
#include "nemesis/common.h"
#include "nemesis/plan.h"

namespace chaos::nemesis {
namespace {

using control::Command;

constexpr const char* kStrobePidFile = "/run/chaos/clock-strobe.pid";
constexpr const char* kStrobeLog = "/run/chaos/clock-strobe.log";
// libfaketime re-reads its file at most once a second (FAKETIME_CACHE_DURATION):
// the rate "x1" must be read before the "+0" that follows it.
constexpr const char* kRateSettleSeconds = "1.5";
constexpr int kCommandTimeoutMs = 20'000;

int64_t Draw(std::mt19937_64& rng, const std::vector<int64_t>& choices) {
  return choices[rng() % choices.size()];
}

// What a node's clock is set to, as recorded in the ops.
struct NodeClock {
  int64_t offset_ms = 0;
  double rate = 1;
  int64_t strobe_delta_ms = 0;  // 0: no strobe running
  int64_t strobe_period_ms = 0;

  Json ToJson() const {
    Json j = {{"offset_ms", offset_ms}, {"rate", rate}};
    if (strobe_delta_ms != 0) {
      j["strobe"] = {{"delta_ms", strobe_delta_ms}, {"period_ms", strobe_period_ms}};
    }
    return j;
  }
};

// A sh loop on the node, bounded by its count; writes its pid for Reset.
Command StrobeLoop(const ClockPlan& plan) {
  int64_t flips = std::max<int64_t>(1, plan.duration_ms / (2 * plan.period_ms));
  char period[32];
  std::snprintf(period, sizeof period, "%.3f", static_cast<double>(plan.period_ms) / 1000);
  std::string file = adapters::kFaketimeFile;
  std::string tmp = file + ".strobe";
  auto write = [&](const std::string& text) {
    return "printf '%s\\n' '" + text + "' >" + tmp + " && mv -f " + tmp + " " + file;
  };
  // Every word below is a number or a fixed path: nothing from a user.
  std::string script = "echo $$ >" + std::string(kStrobePidFile) + "; i=0; while [ $i -lt " +
                       std::to_string(flips) + " ]; do " + write(FaketimeOffset(plan.delta_ms)) +
                       "; sleep " + period + "; " + write("+0") + "; sleep " + period +
                       "; i=$((i+1)); done; rm -f " + kStrobePidFile;
  return Command("sh").Args({"-c", script});
}

// Ends a strobe loop, if one runs; the sleep lets an mv it had started land
// before the caller writes the file.
Command StopStrobe() {
  std::string pid = kStrobePidFile;
  return Command("sh").Args({"-c", "if [ -f " + pid + " ]; then kill \"$(cat " + pid +
                                       ")\" 2>/dev/null; rm -f " + pid + "; sleep 0.1; fi"});
}

class ClockNemesis : public Nemesis {
 public:
  explicit ClockNemesis(NemesisContext context)
      : context_(std::move(context)), rng_(context_.seed ^ 0xc10c) {
    for (const auto& n : context_.inventory.nodes) clocks_[n.name] = NodeClock{};
  }

  std::string name() const override { return "clock"; }
  std::vector<std::string> modes() const override { return {"bump", "strobe", "drift", "reset"}; }

  Result<Json> Start(const Json& spec) override {
    CHAOS_ASSIGN_OR_RETURN(ClockPlan plan, PlanClock(spec, rng_));
    std::string target_mode;
    CHAOS_ASSIGN_OR_RETURN(auto targets, TargetsOf(spec, "targets", context_, rng_, &target_mode));
    Status s = OnNodes(context_.inventory, targets,
                       [&](const control::NodeInfo& n) { return Apply(n, plan); });
    Json description = {{"mode", plan.mode}, {"targets", target_mode}, {"nodes", targets}};
    if (plan.mode == "bump" || plan.mode == "strobe") description["delta_ms"] = plan.delta_ms;
    if (plan.mode == "strobe") {
      description["period_ms"] = plan.period_ms;
      description["duration_ms"] = plan.duration_ms;
    }
    if (plan.mode == "drift") description["rate"] = plan.rate;
    description["clocks"] = ClocksJson();
    CHAOS_RETURN_IF_ERROR(s);
    return description;
  }

  Result<Json> Stop() override {
    CHAOS_RETURN_IF_ERROR(ResetAll(/*known=*/true));
    return Json{{"nodes", NodeNames(context_.inventory)}, {"clocks", ClocksJson()}};
  }

  Status Heal() override { return ResetAll(/*known=*/false); }

 private:
  control::Session* Session(const control::NodeInfo& n) { return context_.nodes->Get(n.name); }

  Status Apply(const control::NodeInfo& n, const ClockPlan& plan) {
    NodeClock was = Get(n.name);
    if (plan.mode == "reset") return Reset(n, was.rate != 1 || was.strobe_delta_ms != 0);
    // Each fault starts from the true time (Stop resets between faults).
    CHAOS_RETURN_IF_ERROR(Reset(n, was.rate != 1 || was.strobe_delta_ms != 0));
    NodeClock now;
    Command cmd = adapters::WriteFaketime(FaketimeOffset(0));
    // A bump or a rate is read by the system within a second: the start
    // completes when it is in force, so that what the schedule does next
    // (cut off the node whose clock runs slow) meets the skewed clock.
    if (plan.mode == "bump") {
      cmd = adapters::WriteFaketime(FaketimeOffset(plan.delta_ms))
                .Then(Command("sleep").Arg(kRateSettleSeconds));
      now.offset_ms = plan.delta_ms;
    } else if (plan.mode == "drift") {
      cmd = adapters::WriteFaketime(FaketimeRate(plan.rate))
                .Then(Command("sleep").Arg(kRateSettleSeconds));
      now.rate = plan.rate;
    } else {  // strobe
      cmd = Command("mkdir")
                .Args({"-p", adapters::kFaketimeDir})
                .Then(StrobeLoop(plan).Daemon(kStrobeLog));
      now.strobe_delta_ms = plan.delta_ms;
      now.strobe_period_ms = plan.period_ms;
    }
    // Record before running: if the command fails halfway, Stop still resets.
    Set(n.name, now);
    return Session(n)->Check(cmd, kCommandTimeoutMs).status();
  }

  // Back to the true time. `had_rate`: a rate may be in force, which takes
  // "+0 x1", a pause for the system to read it, then "+0".
  Status Reset(const control::NodeInfo& n, bool had_rate) {
    Command cmd = StopStrobe();
    if (had_rate) {
      cmd.Then(adapters::WriteFaketime(FaketimeRate(1)))
          .Then(Command("sleep").Arg(kRateSettleSeconds));
    }
    cmd.Then(adapters::WriteFaketime(FaketimeOffset(0)));
    CHAOS_RETURN_IF_ERROR(Session(n)->Check(cmd, kCommandTimeoutMs).status());
    Set(n.name, NodeClock{});
    return Status::Ok();
  }

  // `known`: we know which nodes have a rate set; otherwise (a heal after a
  // crash or an abort) assume every node may have one.
  Status ResetAll(bool known) {
    return OnNodes(context_.inventory, NodeNames(context_.inventory),
                   [&](const control::NodeInfo& n) {
                     NodeClock c = Get(n.name);
                     return Reset(n, !known || c.rate != 1 || c.strobe_delta_ms != 0);
                   });
  }

  NodeClock Get(const std::string& node) {
    std::lock_guard<std::mutex> lock(mu_);
    return clocks_[node];
  }
  void Set(const std::string& node, const NodeClock& c) {
    std::lock_guard<std::mutex> lock(mu_);
    clocks_[node] = c;
  }
  Json ClocksJson() {
    std::lock_guard<std::mutex> lock(mu_);
    Json j = Json::object();
    for (const auto& [node, c] : clocks_) j[node] = c.ToJson();
    return j;
  }

  NemesisContext context_;
  std::mt19937_64 rng_;
  std::mutex mu_;  // clocks_ is written from OnNodes' threads
  std::map<std::string, NodeClock> clocks_;
};

}  // namespace

Result<ClockPlan> PlanClock(const Json& spec, std::mt19937_64& rng) {
  ClockPlan plan;
  plan.mode = ModeOf(spec, {"bump", "strobe", "drift", "reset"}, rng);
  int64_t sign = (rng() % 2 == 0) ? 1 : -1;
  if (plan.mode == "bump") {
    plan.delta_ms = IntField(spec, "delta_ms", sign * Draw(rng, {250, 1000, 4000, 16000}));
  } else if (plan.mode == "strobe") {
    plan.delta_ms = IntField(spec, "delta_ms", sign * Draw(rng, {250, 1000, 4000}));
    // Not faster than libfaketime re-reads its file (once a second).
    plan.period_ms = IntField(spec, "period_ms", Draw(rng, {1000, 1500, 2000}));
    plan.duration_ms = IntField(spec, "duration_ms", 60'000);
    if (plan.period_ms < 100 || plan.duration_ms < plan.period_ms) {
      return InvalidArgument("clock strobe needs period_ms >= 100 and duration_ms >= period_ms");
    }
  } else if (plan.mode == "drift") {
    plan.rate = rng() % 3 == 0 ? 1.45 : 0.55;
    if (spec.is_object() && spec.contains("rate") && spec["rate"].is_number()) {
      plan.rate = spec["rate"].get<double>();
    }
    if (!(plan.rate > 0 && plan.rate <= 10)) {
      return InvalidArgument("clock drift rate must be in (0, 10]");
    }
  } else if (plan.mode != "reset") {
    return InvalidArgument("unknown clock mode '" + plan.mode + "' (bump, strobe, drift, reset)");
  }
  if (std::llabs(plan.delta_ms) > 86'400'000) {
    return InvalidArgument("clock delta_ms must be within a day");
  }
  return plan;
}

std::string FaketimeOffset(int64_t offset_ms) {
  if (offset_ms == 0) return "+0";
  int64_t abs_ms = std::llabs(offset_ms);
  char text[48];
  std::snprintf(text, sizeof text, "%c%lld.%03lld", offset_ms < 0 ? '-' : '+',
                static_cast<long long>(abs_ms / 1000), static_cast<long long>(abs_ms % 1000));
  return text;
}

std::string FaketimeRate(double rate) {
  char text[48];
  std::snprintf(text, sizeof text, "+0 x%g", rate);
  return text;
}

std::unique_ptr<Nemesis> MakeClockNemesis(NemesisContext context) {
  return std::make_unique<ClockNemesis>(std::move(context));
}

}  // namespace chaos::nemesis
