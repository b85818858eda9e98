// The membership nemesis (membership.h).
#include "nemesis/membership.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "nemesis/common.h"

namespace chaos::nemesis {
namespace {

using adapters::MemberChange;
using adapters::Membership;
using Clock = std::chrono::steady_clock;

// The time one step of a start may take (a learner catching up included),
// and the time Stop and Heal may take to restore every voter. Stop runs on
// the nemesis worker, so while it waits no other fault stops: a kill that
// leaves the shrunk membership without a majority of live voters is undone
// only after it (seen on the docker cluster: a remove-leader, then a minority
// killed, held a 20 s Stop to its end). It gives up early and leaves the
// rest to the next Stop or to Heal, which runs after every fault stopped.
constexpr int64_t kStepTimeoutMs = 10'000;
constexpr int64_t kStopTimeoutMs = 5'000;
constexpr int64_t kHealTimeoutMs = 30'000;
// Between tries of a step, and the most restore steps (each node needs at
// most three: remove when stale, learner, promote).
constexpr int64_t kRetryPauseMs = 100;
constexpr size_t kRestoreStepsPerNodeMax = 3;

bool Contains(const std::vector<std::string>& list, const std::string& x) {
  return std::find(list.begin(), list.end(), x) != list.end();
}

bool IsMember(const Membership& m, const std::string& node) {
  return Contains(m.voters, node) || Contains(m.learners, node) || Contains(m.stale, node);
}

std::string Pick(const std::vector<std::string>& from, std::mt19937_64& rng) {
  return from[rng() % from.size()];
}

// The voters that may leave: those whose leaving keeps a majority of the
// remaining voters running (none is `down`).
std::vector<std::string> Removable(const std::vector<std::string>& voters,
                                   const std::set<std::string>& down) {
  size_t running = 0;
  for (const auto& v : voters) running += down.contains(v) ? 0 : 1;
  std::vector<std::string> removable;
  for (const auto& v : voters) {
    size_t rest_running = running - (down.contains(v) ? 0 : 1);
    if (2 * rest_running > voters.size() - 1) removable.push_back(v);
  }
  return removable;
}

// The steps that bring `node` from outside (or a learner, or stale) to voter.
std::vector<MembershipStep> StepsToVoter(const Membership& m, const std::string& node) {
  std::vector<MembershipStep> steps;
  if (Contains(m.stale, node)) steps.push_back({MemberChange::kRemove, node});
  if (!Contains(m.learners, node)) steps.push_back({MemberChange::kLearner, node});
  steps.push_back({MemberChange::kPromote, node});
  return steps;
}

// Members, retried until it answers or `deadline` passes.
Result<Membership> ReadMembers(adapters::Adapter* adapter, Clock::time_point deadline) {
  while (true) {
    auto m = adapter->Members();
    if (m.ok() || Clock::now() >= deadline) return m;
    std::this_thread::sleep_for(std::chrono::milliseconds(kRetryPauseMs));
  }
}

// Asks for `step` until the membership shows it made or `deadline` passes;
// the adapter's last answer is the error then.
Status Apply(adapters::Adapter* adapter, const MembershipStep& step, Clock::time_point deadline) {
  while (true) {
    Status s = adapter->ChangeMembers(step.change, step.node);
    if (s.ok()) return s;
    auto m = adapter->Members();
    if (m.ok() && StepDone(step, *m)) return Status::Ok();
    if (Clock::now() >= deadline) {
      return s.WithContext("membership: " + Describe(step) + " not made in time");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kRetryPauseMs));
  }
}

}  // namespace

Result<Json> RestoreVoters(const NemesisContext& context, int64_t timeout_ms,
                           const std::vector<std::string>& wiped) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<std::string> nodes = NodeNames(context.inventory);
  Json steps = Json::array();
  size_t taken = 0;
  while (true) {
    CHAOS_ASSIGN_OR_RETURN(Membership m, ReadMembers(context.adapter, deadline));
    auto silent = std::find_if(wiped.begin(), wiped.end(),
                               [&](const std::string& n) { return Contains(m.unanswered, n); });
    if (silent != wiped.end()) {
      if (Clock::now() >= deadline) {
        return Unavailable("membership: wiped node " + *silent + " did not answer in time");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(kRetryPauseMs));
      continue;
    }
    std::optional<MembershipStep> step = NextRestoreStep(nodes, m);
    if (!step) return steps;
    if (taken++ == kRestoreStepsPerNodeMax * nodes.size()) {
      return Internal("membership: restoring every voter took more than " +
                      std::to_string(kRestoreStepsPerNodeMax * nodes.size()) + " steps");
    }
    CHAOS_RETURN_IF_ERROR(Apply(context.adapter, *step, deadline));
    steps.push_back(Describe(*step));
  }
}

namespace {

// The nodes whose daemon is not running, or whose state could not be read.
std::set<std::string> DownNodes(const NemesisContext& context) {
  const auto& nodes = context.inventory.nodes;
  std::vector<bool> running = control::AtOnce(nodes.size(), [&](size_t i) {
    auto r = context.adapter->IsRunning(nodes[i]);
    return r.ok() && *r;
  });
  std::set<std::string> down;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!running[i]) down.insert(nodes[i].name);
  }
  return down;
}

class MembershipNemesis : public Nemesis {
 public:
  explicit MembershipNemesis(NemesisContext context)
      : context_(std::move(context)), rng_(context_.seed ^ 0x3e3b) {}

  std::string name() const override { return "membership"; }
  std::vector<std::string> modes() const override { return {"remove", "remove-leader", "add"}; }

  Result<Json> Start(const Json& spec) override {
    std::string asked = ModeOf(spec, modes(), rng_);
    touched_ = true;
    auto deadline = Clock::now() + std::chrono::milliseconds(kStepTimeoutMs);
    CHAOS_ASSIGN_OR_RETURN(Membership before, ReadMembers(context_.adapter, deadline));
    std::string leader = asked == "remove-leader" ? Leader(context_.adapter) : "";
    CHAOS_ASSIGN_OR_RETURN(MembershipPlan plan,
                           PlanMembership(asked, NodeNames(context_.inventory), before, leader,
                                          rng_, DownNodes(context_)));
    Json steps = Json::array();
    for (const auto& step : plan.steps) {
      CHAOS_RETURN_IF_ERROR(
          Apply(context_.adapter, step, Clock::now() + std::chrono::milliseconds(kStepTimeoutMs)));
      steps.push_back(Describe(step));
    }
    Json description = {{"mode", plan.mode},
                        {"node", plan.node},
                        {"steps", steps},
                        {"voters_before", before.voters}};
    if (plan.mode != asked) description["asked"] = asked;
    auto after =
        ReadMembers(context_.adapter, Clock::now() + std::chrono::milliseconds(kStepTimeoutMs));
    if (after.ok()) description["voters_after"] = after->voters;
    return description;
  }

  Result<Json> Stop() override {
    CHAOS_ASSIGN_OR_RETURN(Json steps, RestoreVoters(context_, kStopTimeoutMs));
    Json description = {{"steps", steps}};
    auto after =
        ReadMembers(context_.adapter, Clock::now() + std::chrono::milliseconds(kStepTimeoutMs));
    if (after.ok()) description["voters_after"] = after->voters;
    return description;
  }

  // A run in which this nemesis never started changed no membership (Setup
  // starts every test on a fresh one): nothing to ask the system.
  Status Heal() override {
    if (!touched_) return Status::Ok();
    return RestoreVoters(context_, kHealTimeoutMs).status();
  }

 private:
  NemesisContext context_;
  std::mt19937_64 rng_;
  bool touched_ = false;  // a Start has run: Heal must restore
};

}  // namespace

std::string Describe(const MembershipStep& step) {
  return std::string(adapters::MemberChangeName(step.change)) + " " + step.node;
}

bool StepDone(const MembershipStep& step, const Membership& m) {
  switch (step.change) {
    case MemberChange::kLearner:
      return IsMember(m, step.node) && !Contains(m.stale, step.node);
    case MemberChange::kPromote:
      return Contains(m.voters, step.node);
    case MemberChange::kRemove:
      return !IsMember(m, step.node);
  }
  return false;
}

std::optional<MembershipStep> NextRestoreStep(const std::vector<std::string>& nodes,
                                              const Membership& m) {
  for (const auto& n : nodes) {
    if (Contains(m.stale, n)) return MembershipStep{MemberChange::kRemove, n};
  }
  for (const auto& n : nodes) {
    if (Contains(m.learners, n)) return MembershipStep{MemberChange::kPromote, n};
  }
  for (const auto& n : nodes) {
    if (!IsMember(m, n)) return MembershipStep{MemberChange::kLearner, n};
  }
  return std::nullopt;
}

Result<MembershipPlan> PlanMembership(const std::string& mode,
                                      const std::vector<std::string>& nodes, const Membership& m,
                                      const std::string& leader, std::mt19937_64& rng,
                                      const std::set<std::string>& down) {
  if (mode != "remove" && mode != "remove-leader" && mode != "add") {
    return InvalidArgument("membership: unknown mode '" + mode +
                           "' (remove, remove-leader or add)");
  }
  std::vector<std::string> outside;
  for (const auto& n : nodes) {
    if (!Contains(m.voters, n)) outside.push_back(n);
  }
  std::vector<std::string> removable =
      m.voters.size() > kVotersMin ? Removable(m.voters, down) : std::vector<std::string>();
  bool can_remove = !removable.empty();
  std::string chosen = mode;
  if (chosen != "add" && !can_remove) chosen = "add";
  if (chosen == "remove-leader" && !Contains(removable, leader)) chosen = "remove";
  if (chosen == "add" && outside.empty() && can_remove) chosen = "replace";
  MembershipPlan plan;
  if (chosen == "remove" || chosen == "remove-leader") {
    plan.mode = chosen;
    plan.node = chosen == "remove" ? Pick(removable, rng) : leader;
    plan.steps = {{MemberChange::kRemove, plan.node}};
    return plan;
  }
  plan.mode = "add";
  if (!outside.empty()) {
    plan.node = Pick(outside, rng);
    plan.steps = StepsToVoter(m, plan.node);
    return plan;
  }
  // Every node votes: one other than the leader leaves and comes back.
  std::vector<std::string> others;
  for (const auto& v : removable) {
    if (v != leader) others.push_back(v);
  }
  if (chosen != "replace" || others.empty()) {
    return FailedPrecondition("membership: " + std::to_string(m.voters.size()) +
                              " voters and nobody outside: no voter to spare (never fewer than " +
                              std::to_string(kVotersMin) +
                              ", never one whose leaving stops a majority of the rest)");
  }
  plan.node = Pick(others, rng);
  plan.steps = {{MemberChange::kRemove, plan.node},
                {MemberChange::kLearner, plan.node},
                {MemberChange::kPromote, plan.node}};
  return plan;
}

std::unique_ptr<Nemesis> MakeMembershipNemesis(const NemesisContext& context) {
  return std::make_unique<MembershipNemesis>(context);
}

}  // namespace chaos::nemesis
