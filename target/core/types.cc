#include "target/core/types.h"

#include <type_traits>

namespace chaos::core {

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
