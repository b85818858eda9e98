// Proves the membership nemesis plans what its modes say, never shrinks
// below kVotersMin voters, and that its restore plan brings any membership
// back to every node a voter, one change at a time; and that a restore after a
// wipe waits for the wiped node to answer before it judges the membership.
#include "nemesis/membership.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace chaos::nemesis {
namespace {

using adapters::MemberChange;
using adapters::Membership;

const std::vector<std::string> kNodes = {"n1", "n2", "n3", "n4", "n5"};

std::vector<std::string> Described(const MembershipPlan& plan) {
  std::vector<std::string> out;
  for (const auto& s : plan.steps) out.push_back(Describe(s));
  return out;
}

bool Has(const std::vector<std::string>& list, const std::string& x) {
  return std::find(list.begin(), list.end(), x) != list.end();
}

// What the system does with one step: the membership after it.
Membership Applied(Membership m, const MembershipStep& step) {
  auto erase = [&](std::vector<std::string>& list) {
    list.erase(std::remove(list.begin(), list.end(), step.node), list.end());
  };
  switch (step.change) {
    case MemberChange::kLearner:
      m.learners.push_back(step.node);
      break;
    case MemberChange::kPromote:
      erase(m.learners);
      m.voters.push_back(step.node);
      break;
    case MemberChange::kRemove:
      erase(m.voters);
      erase(m.learners);
      erase(m.stale);
      break;
  }
  return m;
}

TEST(PlanMembership, RemoveTakesAVoterAndRemoveLeaderTheLeader) {
  std::mt19937_64 rng(1);
  Membership all{kNodes, {}, {}};
  for (int i = 0; i < 50; ++i) {
    auto p = PlanMembership("remove", kNodes, all, "n2", rng);
    ASSERT_TRUE(p.ok()) << p.status().message();
    EXPECT_EQ(p->mode, "remove");
    ASSERT_EQ(p->steps.size(), 1u);
    EXPECT_EQ(p->steps[0].change, MemberChange::kRemove);
    EXPECT_TRUE(Has(kNodes, p->node));
  }
  auto leader = PlanMembership("remove-leader", kNodes, all, "n4", rng);
  ASSERT_TRUE(leader.ok());
  EXPECT_EQ(leader->mode, "remove-leader");
  EXPECT_EQ(Described(*leader), std::vector<std::string>{"remove n4"});
  // No leader known: any voter.
  auto unknown = PlanMembership("remove-leader", kNodes, all, "", rng);
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->mode, "remove");
}

TEST(PlanMembership, NeverBelowThreeVotersAddsInstead) {
  std::mt19937_64 rng(2);
  Membership three{{"n1", "n2", "n3"}, {"n5"}, {}};
  for (const char* mode : {"remove", "remove-leader"}) {
    auto p = PlanMembership(mode, kNodes, three, "n1", rng);
    ASSERT_TRUE(p.ok()) << p.status().message();
    EXPECT_EQ(p->mode, "add") << mode;
    EXPECT_TRUE(p->node == "n4" || p->node == "n5") << p->node;
  }
  // Three nodes, all voting: nothing can be done.
  Membership small{{"n1", "n2", "n3"}, {}, {}};
  auto none = PlanMembership("remove", {"n1", "n2", "n3"}, small, "n1", rng);
  EXPECT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition);
}

// Proves: no voter leaves when the rest would lack a majority of running
// daemons (a kill stopped some): a down voter leaves instead, and with
// nobody able to leave nothing is done.
TEST(PlanMembership, NeverRemovesAVoterTheRunningMajorityNeeds) {
  std::mt19937_64 rng(4);
  Membership all{kNodes, {}, {}};
  for (int i = 0; i < 50; ++i) {
    auto p = PlanMembership("remove", kNodes, all, "n1", rng, {"n4", "n5"});
    ASSERT_TRUE(p.ok()) << p.status().message();
    EXPECT_TRUE(p->node == "n4" || p->node == "n5") << p->node;
  }
  auto leader = PlanMembership("remove-leader", kNodes, all, "n1", rng, {"n4", "n5"});
  ASSERT_TRUE(leader.ok());
  EXPECT_EQ(leader->mode, "remove");
  EXPECT_NE(leader->node, "n1");
  // Three of five down: no voter can leave, and every node votes already.
  for (const char* mode : {"remove", "remove-leader", "add"}) {
    auto none = PlanMembership(mode, kNodes, all, "n1", rng, {"n3", "n4", "n5"});
    EXPECT_FALSE(none.ok()) << mode;
    EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition) << mode;
  }
}

TEST(PlanMembership, AddJoinsAnOutsiderAsLearnerThenPromotes) {
  std::mt19937_64 rng(3);
  auto p = PlanMembership("add", kNodes, Membership{{"n1", "n2", "n3", "n4"}, {}, {}}, "n1", rng);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Described(*p), (std::vector<std::string>{"learner n5", "promote n5"}));
  // A learner already there is only promoted; a stale member is removed first.
  p = PlanMembership("add", kNodes, Membership{{"n1", "n2", "n3", "n4"}, {"n5"}, {}}, "n1", rng);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Described(*p), std::vector<std::string>{"promote n5"});
  p = PlanMembership("add", kNodes, Membership{{"n1", "n2", "n3", "n4"}, {}, {"n5"}}, "n1", rng);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Described(*p), (std::vector<std::string>{"remove n5", "learner n5", "promote n5"}));
}

TEST(PlanMembership, AddWithEveryNodeVotingCyclesANonLeader) {
  std::mt19937_64 rng(4);
  for (int i = 0; i < 50; ++i) {
    auto p = PlanMembership("add", kNodes, Membership{kNodes, {}, {}}, "n3", rng);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->mode, "add");
    EXPECT_NE(p->node, "n3");
    EXPECT_EQ(Described(*p), (std::vector<std::string>{"remove " + p->node, "learner " + p->node,
                                                       "promote " + p->node}));
  }
}

TEST(PlanMembership, RefusesAnUnknownMode) {
  std::mt19937_64 rng(5);
  auto p = PlanMembership("grow", kNodes, Membership{kNodes, {}, {}}, "", rng);
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
}

TEST(StepDone, ReadsTheMembership) {
  Membership m{{"n1", "n2", "n3"}, {"n4"}, {"n5"}};
  EXPECT_TRUE(StepDone({MemberChange::kLearner, "n4"}, m));
  EXPECT_FALSE(StepDone({MemberChange::kLearner, "n5"}, m));  // stale: not at its disk
  EXPECT_FALSE(StepDone({MemberChange::kPromote, "n4"}, m));
  EXPECT_TRUE(StepDone({MemberChange::kPromote, "n1"}, m));
  EXPECT_FALSE(StepDone({MemberChange::kRemove, "n5"}, m));
  EXPECT_TRUE(StepDone({MemberChange::kRemove, "n6"}, m));
}

// Proves the restore plan ends with every node a voter from any membership,
// in at most three steps per node, stale members removed before anything
// is added, and a node added as learner only while no learner waits.
TEST(NextRestoreStep, EveryNodeAVoterAgain) {
  std::mt19937_64 rng(6);
  for (int round = 0; round < 500; ++round) {
    Membership m;
    for (const auto& n : kNodes) {
      switch (rng() % 4) {
        case 0:
          m.voters.push_back(n);
          break;
        case 1:
          m.learners.push_back(n);
          break;
        case 2:
          m.stale.push_back(n);
          break;
        default:
          break;
      }
    }
    bool added = false;
    size_t steps = 0;
    while (auto step = NextRestoreStep(kNodes, m)) {
      ASSERT_LE(++steps, 3 * kNodes.size());
      if (step->change == MemberChange::kRemove) {
        ASSERT_FALSE(added) << "a removal after an addition";
        ASSERT_TRUE(Has(m.stale, step->node));
      } else {
        // One learner at a time: a node joins only when none is waiting.
        if (step->change == MemberChange::kLearner) {
          ASSERT_TRUE(m.learners.empty());
        }
        added = true;
      }
      m = Applied(m, *step);
      EXPECT_TRUE(StepDone(*step, m));
    }
    std::sort(m.voters.begin(), m.voters.end());
    EXPECT_EQ(m.voters, kNodes);
    EXPECT_TRUE(m.learners.empty());
    EXPECT_TRUE(m.stale.empty());
  }
  EXPECT_FALSE(NextRestoreStep(kNodes, Membership{kNodes, {}, {}}).has_value());
}

// A register-like system in which `wiped` was just started on an empty disk:
// it answers only from the `silent_reads`-th Members() on, and from then on
// the membership shows it stale until it is removed and added again.
class WipedNodeAdapter : public adapters::Adapter {
 public:
  WipedNodeAdapter(std::string wiped, int silent_reads)
      : wiped_(std::move(wiped)), silent_reads_(silent_reads) {}

  std::string name() const override { return "wiped-node"; }
  std::set<std::string> SupportedFaults() const override { return {"membership"}; }
  Status Setup(const control::NodeInfo&) override { return Status::Ok(); }
  Status Start(const control::NodeInfo&) override { return Status::Ok(); }
  Status Kill(const control::NodeInfo&) override { return Status::Ok(); }
  Status Pause(const control::NodeInfo&) override { return Status::Ok(); }
  Status Resume(const control::NodeInfo&) override { return Status::Ok(); }
  Result<bool> IsRunning(const control::NodeInfo&) override { return true; }
  Status Teardown(const control::NodeInfo&) override { return Status::Ok(); }
  std::vector<std::string> LogFiles(const control::NodeInfo&) const override { return {}; }
  Result<std::unique_ptr<adapters::Client>> OpenClient(const control::NodeInfo&, int64_t) override {
    return FailedPrecondition("no clients");
  }

  Result<Membership> Members() override {
    Membership m = m_;
    if (reads_++ < silent_reads_) {
      m.unanswered.push_back(wiped_);  // its pinned entry still looks like a voter
    } else if (!readded_) {
      m.voters.erase(std::remove(m.voters.begin(), m.voters.end(), wiped_), m.voters.end());
      m.stale.push_back(wiped_);
    }
    return m;
  }

  Status ChangeMembers(MemberChange change, const std::string& node) override {
    auto erase = [&](std::vector<std::string>& list) {
      list.erase(std::remove(list.begin(), list.end(), node), list.end());
    };
    erase(m_.voters);
    erase(m_.learners);
    if (change == MemberChange::kRemove && node == wiped_) readded_ = true;
    if (change == MemberChange::kLearner) m_.learners.push_back(node);
    if (change == MemberChange::kPromote) m_.voters.push_back(node);
    return Status::Ok();
  }

 private:
  std::string wiped_;
  int silent_reads_;
  int reads_ = 0;
  bool readded_ = false;
  Membership m_{kNodes, {}, {}};
};

NemesisContext ContextOf(adapters::Adapter* adapter) {
  NemesisContext context;
  for (const auto& n : kNodes)
    context.inventory.nodes.push_back(control::NodeInfo{n, n, {}, {}, {}});
  context.adapter = adapter;
  return context;
}

TEST(RestoreVotersTest, WaitsForAWipedNodeToAnswerBeforeJudging) {
  WipedNodeAdapter adapter("n3", 3);
  auto steps = RestoreVoters(ContextOf(&adapter), 5000, {"n3"});
  ASSERT_TRUE(steps.ok()) << steps.status().ToString();
  EXPECT_EQ(*steps, Json({"remove n3", "learner n3", "promote n3"}));
}

TEST(RestoreVotersTest, WithoutTheWipedListASilentNodeLooksLikeAVoter) {
  // What the corrupt nemesis did before it passed the nodes it wiped: the
  // first view counts n3 a voter, and nothing is restored.
  WipedNodeAdapter adapter("n3", 3);
  auto steps = RestoreVoters(ContextOf(&adapter), 5000);
  ASSERT_TRUE(steps.ok()) << steps.status().ToString();
  EXPECT_EQ(*steps, Json::array());
}

TEST(RestoreVotersTest, AWipedNodeThatNeverAnswersIsAnError) {
  WipedNodeAdapter adapter("n3", 1'000'000);
  auto steps = RestoreVoters(ContextOf(&adapter), 300, {"n3"});
  ASSERT_FALSE(steps.ok());
  EXPECT_NE(steps.status().message().find("wiped node n3 did not answer"), std::string::npos);
}

}  // namespace
}  // namespace chaos::nemesis
