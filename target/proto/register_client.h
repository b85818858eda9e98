// RegisterClient: a client of the register cluster for the toolkit's adapter
// and the benchmark. It talks to one node at a time, follows NOT_LEADER
// redirects to the leader, and maps every reply to an outcome as history data:
//   kOk       the operation happened (value: read/written value, or absent);
//   kFail     it certainly did not happen (cas mismatch, value = current value;
//             or no node accepted the request as leader and none may apply it);
//   kUnknown  it may or may not have happened (deadline passed, connection lost
//             after sending, or an unexpected error): Jepsen's `info`.
// Each operation uses the next sequence number of this client id; retries of
// one operation (redirects) reuse it, so the cluster applies it at most once.
//
// Thread safety: one operation at a time per RegisterClient (a client id is one
// logical process); use one RegisterClient per concurrent worker.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace chaos::server {

enum class Outcome { kOk, kFail, kUnknown };
const char* OutcomeName(Outcome outcome);

struct OpResult {
  Outcome outcome = Outcome::kUnknown;
  std::optional<int64_t> value;  // nullopt: the key is absent
  std::string node;              // address of the node that answered last
  std::string leader;            // the leader the last NOT_LEADER reply named, "" if none
  std::string error;             // why, for kFail / kUnknown
};

struct RegisterClientOptions {
  std::vector<std::string> addresses;  // every node, "host:port"; the first is tried first
  int64_t client_id = 1;               // > 0, unique per logical process
  int64_t timeout_ms = 1000;           // deadline of one operation, redirects included
  // The address to use for node id i (the server's --id), when it differs
  // from the address the cluster knows it by: a redirect to leader i goes to
  // address_by_id[i] (e.g. a port published on 127.0.0.1) rather than to the
  // cluster-network address in the reply. Empty: follow the reply's address.
  std::vector<std::string> address_by_id;
  // The deadline of one attempt at one node, within the operation's: a node
  // that is stopped or cut off takes this much of the operation, not all of
  // it, and the rest goes to the other nodes. 0: a third of timeout_ms.
  int64_t attempt_timeout_ms = 0;
  // Every operation starts at addresses[0], the node the client is bound
  // to, as a Jepsen client talks to its own node, and follows redirects from
  // there; otherwise it starts at the last leader that answered.
  bool home_first = false;
  int redirects_max = 8;  // NOT_LEADER redirects to a named leader per operation; while no
                          // leader is known the client retries until the deadline
};

// One node's view of the membership (the Members call).
struct MembersView {
  struct Member {
    int node = 0;
    int64_t incarnation = 0;  // 0: not pinned yet
  };
  std::vector<Member> voters;
  std::vector<Member> learners;
  int node = -1;            // the node that answered
  int64_t slot = 0;         // the last slot it applied
  int64_t incarnation = 0;  // the answering node's own incarnation
};

class RegisterClient {
 public:
  static Result<std::unique_ptr<RegisterClient>> Create(RegisterClientOptions options);
  ~RegisterClient();

  OpResult Get(const std::string& key);
  OpResult Put(const std::string& key, int64_t value);
  OpResult Cas(const std::string& key, int64_t expected, int64_t new_value);
  // One membership change (kind learner, promote, remove or pin; see
  // register.proto), sent to the leader like a write: kFail when refused.
  OpResult ChangeMembers(const std::string& kind, int node, int64_t incarnation);
  // The membership as the first node that answers within the deadline sees
  // it, asking the addresses in order (no redirects: any node answers).
  // Unavailable when none does.
  Result<MembersView> Members();

  int64_t client_id() const;
  int64_t last_seq() const;

 private:
  struct Impl;
  explicit RegisterClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chaos::server
