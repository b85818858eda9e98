#include "target/core/types.h"

#include <algorithm>
#include <type_traits>

namespace chaos::core {

const BugSwitch* FindBug(std::string_view name) {
  for (const BugSwitch& b : kBugSwitches) {
    if (name == b.name) return &b;
  }
  return nullptr;
}

const Member* Membership::Find(NodeId id) const {
  for (const auto* list : {&voters, &learners}) {
    for (const Member& m : *list) {
      if (m.id == id) return &m;
    }
  }
  return nullptr;
}

bool Membership::IsVoter(NodeId id) const {
  return std::any_of(voters.begin(), voters.end(), [id](const Member& m) { return m.id == id; });
}

bool Membership::Counts(NodeId id, int64_t incarnation) const {
  for (const Member& m : voters) {
    if (m.id == id) return m.incarnation == 0 || m.incarnation == incarnation;
  }
  return false;
}

namespace {

void InsertSorted(std::vector<Member>* list, Member m) {
  auto at = std::lower_bound(list->begin(), list->end(), m,
                             [](const Member& a, const Member& b) { return a.id < b.id; });
  list->insert(at, m);
}

bool Erase(std::vector<Member>* list, NodeId id, Member* erased) {
  for (auto it = list->begin(); it != list->end(); ++it) {
    if (it->id == id) {
      *erased = *it;
      list->erase(it);
      return true;
    }
  }
  return false;
}

}  // namespace

std::string ApplyMemberChange(const Command& change, Membership* members) {
  NodeId id{static_cast<int32_t>(change.value)};
  if (!id.valid() || change.value != id.value) return "bad node id " + std::to_string(change.value);
  const Member* found = members->Find(id);
  std::string who = "node " + std::to_string(id.value);
  if (change.key == "learner") {
    if (found != nullptr) return who + " is already a member";
    InsertSorted(&members->learners, Member{id, change.from});
  } else if (change.key == "promote") {
    Member m;
    if (!Erase(&members->learners, id, &m)) return who + " is not a learner";
    InsertSorted(&members->voters, m);
  } else if (change.key == "remove") {
    if (found == nullptr) return who + " is not a member";
    if (members->voters.size() == 1 && members->IsVoter(id)) return who + " is the last voter";
    Member m;
    if (!Erase(&members->voters, id, &m)) Erase(&members->learners, id, &m);
  } else if (change.key == "pin") {
    if (found == nullptr) return who + " is not a member";
    if (found->incarnation != 0) return who + " is pinned already";
    if (change.from <= 0) return "bad incarnation " + std::to_string(change.from);
    for (auto* list : {&members->voters, &members->learners}) {
      for (Member& m : *list) {
        if (m.id == id) m.incarnation = change.from;
      }
    }
  } else {
    return "unknown membership change '" + change.key + "'";
  }
  return "";
}

std::string ToString(const Membership& members) {
  std::string out;
  auto list = [&out](const std::vector<Member>& ms) {
    for (const Member& m : ms) {
      if (out.back() != '[') out += ' ';
      out += std::to_string(m.id.value);
      if (m.incarnation != 0) out += "@" + std::to_string(m.incarnation);
    }
  };
  out = "voters=[";
  list(members.voters);
  out += "] learners=[";
  list(members.learners);
  out += "]";
  return out;
}

void PersistentState::Apply(const Record& record) {
  std::visit(
      [this](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, PromiseRecord>) {
          promised = r.ballot;
        } else if constexpr (std::is_same_v<T, AcceptRecord>) {
          if (r.slot > snapshot.slot) {
            LogEntry& e = log[r.slot];
            e.accepted_ballot = r.ballot;
            e.accepted = r.batch;
          }
        } else if constexpr (std::is_same_v<T, ChosenRecord>) {
          if (r.slot > snapshot.slot) {
            LogEntry& e = log[r.slot];
            e.chosen = true;
            e.chosen_batch = r.batch;
          }
        } else {
          if (r.snapshot.slot > snapshot.slot) {
            snapshot = r.snapshot;
            log.erase(log.begin(), log.upper_bound(snapshot.slot));
          }
        }
      },
      record);
}

const char* MessageName(const MessageBody& body) {
  static const char* kNames[] = {"PreVote", "PreVoteReply",   "Prepare",   "Promise",
                                 "Accept",  "Accepted",       "Heartbeat", "HeartbeatReply",
                                 "Learn",   "InstallSnapshot"};
  return kNames[body.index()];
}

std::string ToString(Ballot b) {
  return std::to_string(b.round) + "." + std::to_string(b.node.value);
}

}  // namespace chaos::core
