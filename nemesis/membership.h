// The membership nemesis: changes who votes, through the system's own
// membership change (the adapter's Members and ChangeMembers, fault
// "membership"), one change at a time, among the test's nodes (a cluster with
// no spare node shrinks and grows among its own).
//
//   remove         a random voter leaves the membership (never below
//                  kVotersMin voters; with no voter to spare, `add` instead)
//   remove-leader  the current leader (the adapter's Leader) leaves it; with
//                  no leader known, `remove`
//
// As an operator would, it removes no voter whose leaving would take the
// remaining voters below a majority of running daemons (another fault, a
// kill, may have stopped some): such a removal stops the whole cluster until
// the killed nodes return, and its Stop cannot restore the membership. When
// no voter can leave, `remove` and `remove-leader` fall back to `add`.
//   add            a node outside the membership joins as learner, catches
//                  up and is promoted; with every node a voter, a voter other
//                  than the leader is removed first and then added back
//
// Each step is retried, re-reading the membership, until it shows as made or
// its time is up (a change refused while another is in flight, or a learner
// promoted before it caught up, is tried again). Start records the mode asked
// for, what it did, the node, the steps and the voters before and after.
// Stop and Heal restore the starting membership, every node a voter, from the
// membership the system reports (not from what this nemesis remembers), so
// they are safe after a crash or an abort; each is bounded in time (Stop
// 5 s, leaving what it could not do to the next Stop or to Heal, 30 s).
//
// Thread safety: as every Nemesis (nemesis.h). The plan functions are pure.
#pragma once

#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "base/status.h"
#include "nemesis/nemesis.h"

namespace chaos::nemesis {

// A membership never has fewer voters than this by the nemesis's doing.
constexpr size_t kVotersMin = 3;

struct MembershipStep {
  adapters::MemberChange change = adapters::MemberChange::kLearner;
  std::string node;
};
std::string Describe(const MembershipStep& step);  // "promote n3"

// Whether `m` shows `step` as made (learner: a member and not stale;
// promote: a voter; remove: not a member).
bool StepDone(const MembershipStep& step, const adapters::Membership& m);

// The next step that brings `m` back to every one of `nodes` a voter: a stale
// member is removed first (it counts in no quorum), then a learner is
// promoted, then a node outside the membership joins as learner; so a
// membership with at most one learner never gets a second (etcd 3.4 refuses
// one: "too many learner members in cluster"). nullopt when every node is a
// voter.
std::optional<MembershipStep> NextRestoreStep(const std::vector<std::string>& nodes,
                                              const adapters::Membership& m);

// What one start does: `mode` is what it does after the fallbacks above
// (remove, remove-leader or add), `node` the node it changes, `steps` in order.
struct MembershipPlan {
  std::string mode;
  std::string node;
  std::vector<MembershipStep> steps;
};
// Plans `mode` (remove, remove-leader, add) for `nodes` from membership `m`,
// the current `leader` ("" if unknown) and the nodes whose daemon is `down`
// (not running, or not known to run). FailedPrecondition when nothing can be
// done (no voter to spare and nobody outside); InvalidArgument for an unknown
// mode.
Result<MembershipPlan> PlanMembership(const std::string& mode,
                                      const std::vector<std::string>& nodes,
                                      const adapters::Membership& m, const std::string& leader,
                                      std::mt19937_64& rng, const std::set<std::string>& down = {});

// Makes every node of the test a voter again through the adapter (a stale
// member, one whose disk was wiped, removed and added back at its new
// disk), within `timeout_ms`; the steps taken. The membership nemesis's Stop
// and Heal, and the corrupt nemesis after it wiped a node, as an operator
// re-adds a node whose disk was replaced. The nodes in `wiped` were just
// started on an empty disk: until each answers, the membership cannot show
// it stale, so the restore waits for them first (a restore that looked
// at once found every member a voter and left two wiped nodes out of every
// quorum for the rest of the run, 2026-12-07).
Result<Json> RestoreVoters(const NemesisContext& context, int64_t timeout_ms,
                           const std::vector<std::string>& wiped = {});

std::unique_ptr<Nemesis> MakeMembershipNemesis(const NemesisContext& context);

}  // namespace chaos::nemesis
