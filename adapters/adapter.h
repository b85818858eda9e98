// Adapters: what Jepsen calls db + client, for one system under test.
//
// An Adapter runs the system's lifecycle on nodes over SSH (control/) —
// setup, start, kill, pause, resume, teardown, log files — and opens Clients
// that turn invoke ops into completions. Abilities beyond the lifecycle are
// declared in SupportedFaults(): a nemesis that needs one the adapter lacks is
// refused before the test starts (see nemesis/).
//
// Client outcomes are data, exactly as in Jepsen: ok (it happened), fail (it
// certainly did not happen), info (unknown: a timeout or a connection lost
// after sending, or anything unexpected).
//
// Thread safety: an Adapter's lifecycle methods may be called from several
// threads for different nodes at once. A Client is used by one worker thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "control/inventory.h"
#include "control/ssh.h"
#include "history/op.h"

namespace chaos::adapters {

// What every adapter is given: the nodes and how to reach them.
struct AdapterContext {
  control::Inventory inventory;
  control::Nodes* nodes = nullptr;    // one SSH session per node; owned by the runner
  std::string source_dir;             // the repository (for binaries built here)
  std::string build_dir;              // where build/ artifacts are
  std::vector<std::string> bugs;      // --bug switches (register only)
  std::string read_mode = "log";      // register: log | read-index | lease
  std::string workload = "register";  // register | set | counter
  int64_t op_timeout_ms = 1000;       // a client op past this is info
  // The faults in force for this test (the nemesis names). Start must honour
  // them: "clock" -> start the system under libfaketime with the node's
  // control file (nemesis/clock); "lose-unsynced" -> the data directory is on
  // the lazy filesystem (lazyfs/); "slow-disk" -> every directory of
  // SlowDiskDirs is on one. An adapter only sees faults it declared in
  // SupportedFaults().
  std::set<std::string> faults;
  // Adapter-specific options (--etcd-read, a declarative adapter's file...).
  std::map<std::string, std::string> options;
};

// The system's membership as the adapter sees it (the "membership" fault):
// node names, each in at most one of voters, learners and stale. `stale` members are in the
// membership but stand for a disk the node no longer has (the register: a
// member pinned at another incarnation than its data directory's), so they
// count in no quorum until removed and added again.
struct Membership {
  std::vector<std::string> voters;
  std::vector<std::string> learners;
  std::vector<std::string> stale;
  // Members (in one of the lists above) whose own node did not answer:
  // down, or just started; whether it forgot its state cannot be told yet.
  std::vector<std::string> unanswered = {};
};

// A membership change, one at a time: a non-member joins as a learner (it
// receives everything and counts in no quorum), a learner is promoted to
// voter once it has caught up, a member (the leader too) is removed.
enum class MemberChange { kLearner, kPromote, kRemove };
const char* MemberChangeName(MemberChange change);  // "learner", "promote", "remove"

class Client {
 public:
  virtual ~Client() = default;
  // `invoke` is an invoke op (f, value). Returns its completion: type ok,
  // fail or info, with the value observed and an error when not ok. Must
  // return within the adapter's op timeout plus a small margin.
  virtual history::Op Invoke(const history::Op& invoke) = 0;
};

class Adapter {
 public:
  virtual ~Adapter() = default;
  virtual std::string name() const = 0;
  // False for a system that lives in the controller (the memory adapter):
  // the runner then opens no SSH session and downloads no logs.
  virtual bool UsesNodes() const { return true; }
  // The workloads (generator/) its clients can carry: "register", "set",
  // "counter". Another is refused before the test starts (MakeAdapter).
  virtual std::set<std::string> Workloads() const { return {"register"}; }
  // Faults this adapter can support: "partition", "kill", "pause", "clock",
  // "lose-unsynced", "packet", "corrupt", "slow-disk", "membership" (then it
  // implements Members and ChangeMembers).
  virtual std::set<std::string> SupportedFaults() const = 0;
  // Why `fault` is not supported, for the message that refuses it (e.g.
  // "etcd is a Go program ..."); empty when the adapter gives no reason.
  virtual std::string UnsupportedReason(const std::string& /*fault*/) const { return ""; }
  // Prepares a node (install, wipe data); runs once per test before Start.
  virtual Status Setup(const control::NodeInfo& node) = 0;
  virtual Status Start(const control::NodeInfo& node) = 0;
  // SIGKILL of the system's daemon; ok if it was not running.
  virtual Status Kill(const control::NodeInfo& node) = 0;
  virtual Status Pause(const control::NodeInfo& node) = 0;
  virtual Status Resume(const control::NodeInfo& node) = 0;
  virtual Result<bool> IsRunning(const control::NodeInfo& node) = 0;
  // Stops the system and leaves the node as Setup found it (logs are kept).
  virtual Status Teardown(const control::NodeInfo& node) = 0;
  virtual std::vector<std::string> LogFiles(const control::NodeInfo& node) const = 0;
  // Text that the system writes to its logs (LogFiles) only when it has
  // caught a safety violation itself: a replica that found two values chosen
  // for one slot, a failed consistency check. A run whose downloaded logs
  // contain one is invalid (checker "logs"), as in Jepsen's log-file-pattern
  // checker. Empty: the logs are not checked.
  virtual std::vector<std::string> FatalLogPatterns() const { return {}; }
  // The current leader's node name, if the system has one and knows it.
  virtual Result<std::optional<std::string>> Leader() { return std::optional<std::string>(); }
  // The membership, asked of the nodes within a bounded time (a few hundred
  // ms per node at most); FailedPrecondition for an adapter without "membership".
  virtual Result<Membership> Members() {
    return FailedPrecondition("the " + name() + " adapter cannot read the membership");
  }
  // Asks for one change of `node`'s membership, once, within a bounded time
  // (following the system's leader). Ok: the change was made. Another status
  // says why not, and whether it may still be made (Unavailable: the outcome
  // is unknown; FailedPrecondition: refused, e.g. another change in flight or
  // a learner that has not caught up). The caller retries, re-reading Members.
  virtual Status ChangeMembers(MemberChange /*change*/, const std::string& /*node*/) {
    return FailedPrecondition("the " + name() + " adapter cannot change the membership");
  }
  // A client bound to `node` (its first contact) for logical process `process`.
  virtual Result<std::unique_ptr<Client>> OpenClient(const control::NodeInfo& node,
                                                     int64_t process) = 0;
  // The system's data directory on a node: the lazy filesystem is mounted
  // over it ("lose-unsynced"). Empty if the adapter has none.
  virtual std::string DataDir(const control::NodeInfo& /*node*/) const { return ""; }
  // The directories the "slow-disk" nemesis slows, each on its own lazy file
  // system: the data directory and whatever else the system writes to
  // synchronously (a log it flushes line by line waits on the disk too).
  virtual std::vector<std::string> SlowDiskDirs(const control::NodeInfo& node) const {
    std::string dir = DataDir(node);
    return dir.empty() ? std::vector<std::string>() : std::vector<std::string>{dir};
  }
  // The data files the "corrupt" nemesis may truncate or bit-flip while the
  // system is down (absolute paths on the node, found by listing DataDir).
  virtual Result<std::vector<std::string>> DataFiles(const control::NodeInfo& /*node*/) {
    return std::vector<std::string>();
  }
};

// The adapter called `name`: "register", "etcd", or the path of a
// declarative adapter file (a name ending in .json, or containing a '/';
// adapters/declarative_adapter.h). Unknown names are refused with the list,
// and so is a context.workload the adapter does not carry (Workloads()).
Result<std::unique_ptr<Adapter>> MakeAdapter(const std::string& name, AdapterContext context);

// Checks what MakeAdapter would refuse — the name, a declarative file, the
// adapter options — without nodes, so a command can say so before it
// touches a cluster or the store.
Status CheckAdapter(const std::string& name, const std::map<std::string, std::string>& options,
                    const std::string& workload = "register");

}  // namespace chaos::adapters
