// Nemeses: fault injectors. Each starts and stops one kind of fault on the
// nodes of a test, over SSH (control/) and through the adapter's lifecycle.
//
//   partition  iptables DROP rules in a chain of our own (CHAOS) on each node,
//              per peer address; stop flushes that chain only
//   kill       SIGKILL of the system's daemon (adapter Kill); stop restarts it
//   pause      SIGSTOP (adapter Pause); stop sends SIGCONT
//   lose-unsynced, corrupt, slow-disk: faults of durable state and disks (disk.h)
//   clock      libfaketime offsets and rates on chosen nodes (clock.h)
//   packet     delay, jitter, loss, duplication, reordering, rate toward the
//              peers (packet.h)
//   membership voters removed and added through the system's own membership
//              change (adapter Members, ChangeMembers; membership.h)
//
// Start takes a spec ({"mode": "halves"} ...; a missing mode picks one at
// random from the seeded generator) and returns a description of what it did
// ({"mode", "nodes" affected, "groups" for partitions}), recorded as the value
// of the nemesis op. Heal undoes everything this kind of fault may have left
// on any node, including leftovers of a crashed earlier run; it is called at
// the end of every test, on abort, and before a test starts.
//
// Thread safety: a Nemesis is driven by the runner's one nemesis worker; Heal
// may also be called from the runner's abort path after that worker stopped.
#pragma once

#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "base/status.h"
#include "control/inventory.h"
#include "control/ssh.h"
#include "history/op.h"
#include "nemesis/plan.h"
#include "nemesis/progress.h"

namespace chaos::nemesis {

using history::Json;

struct NemesisContext {
  control::Inventory inventory;
  control::Nodes* nodes = nullptr;
  adapters::Adapter* adapter = nullptr;
  uint64_t seed = 0;
  std::string build_dir;  // where build/ artifacts are (chaos-nfq for packet)
  // The clients' acknowledged writes, as the runner records them; null when
  // nobody records (a nemesis then cannot wake on progress).
  ProgressWatch* progress = nullptr;
};

class Nemesis {
 public:
  virtual ~Nemesis() = default;
  virtual std::string name() const = 0;  // "partition", "kill", "pause", ...
  virtual std::vector<std::string> modes() const = 0;
  virtual Result<Json> Start(const Json& spec) = 0;
  virtual Result<Json> Stop() = 0;
  virtual Status Heal() = 0;
};

// Every nemesis name chaos knows, and the adapter fault each one needs.
const std::vector<std::string>& NemesisNames();

// Builds the named nemeses ("partition,kill" split by the caller). Refuses
// an unknown name, or a fault the adapter does not support, with a message
// saying which and why (the adapter's UnsupportedReason), before anything
// runs. A fault the adapter interface names (clock, lose-unsynced, ...) is
// refused for lack of adapter support first, even where this build has no
// such nemesis yet.
Result<std::vector<std::unique_ptr<Nemesis>>> MakeNemeses(const std::vector<std::string>& names,
                                                          const NemesisContext& context);

}  // namespace chaos::nemesis
