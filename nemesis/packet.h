// The packet nemesis: delay with jitter, loss, duplication, reordering and a
// rate limit on the traffic a node sends toward its peers (the other nodes'
// addresses on the cluster network). Traffic to anything else — the
// controller's SSH and client connections, which come from the host — is
// never touched.
//
//   delay      hold packets delay_ms +- jitter_ms
//   loss       drop a fraction `loss` at random
//   duplicate  send a fraction `duplicate` twice
//   reorder    send a fraction `reorder` at once, the rest after delay_ms
//   rate       at most rate_kbit toward the peers
//   all        all of the above at once, milder
//
// How, on each target node (probed at run time, once per node):
//   netem in the kernel: an htb root qdisc (handle c4a5:) whose class 1 (the
//     default) is unlimited and class 2 has a netem leaf with the plan (and the
//     rate), u32 filters sending packets to the peers' addresses to class 2;
//   no netem (these machines): loss by `iptables -m statistic --mode random`
//     DROP, delay/jitter/duplicate/reorder by our NFQUEUE program chaos-nfq
//     (uploaded from the build; rules `-j NFQUEUE --queue-bypass`, so traffic
//     flows if it dies), all in a chain of our own, CHAOS-PACKET, hooked into
//     OUTPUT and matching only the peers' addresses; rate by the same htb
//     root with class 2 limited.
// Stop and Heal flush CHAOS-PACKET, stop chaos-nfq and delete our root qdisc
// (recognized by its handle) on every node.
//
// Thread safety: as every Nemesis (nemesis.h).
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "base/status.h"
#include "history/op.h"
#include "nemesis/nemesis.h"

namespace chaos::nemesis {

// One packet fault, decided before anything runs (pure, unit-tested).
struct PacketPlan {
  std::string mode;  // delay, loss, duplicate, reorder, rate, all
  int64_t delay_ms = 0;
  int64_t jitter_ms = 0;
  double loss = 0;  // probabilities in [0, 1]
  double duplicate = 0;
  double reorder = 0;
  int64_t rate_kbit = 0;  // 0: no limit

  // Whether chaos-nfq is needed when the kernel has no netem.
  bool NeedsQueue() const { return delay_ms > 0 || duplicate > 0 || reorder > 0; }
  history::Json ToJson() const;
};

// Fills the plan from `spec` ({"mode", "delay_ms", "jitter_ms", "loss",
// "duplicate", "reorder", "rate_kbit"}), drawing what is missing from `rng`.
// InvalidArgument for an unknown mode or a value out of range.
Result<PacketPlan> PlanPacket(const history::Json& spec, std::mt19937_64& rng);

// The netem arguments for a plan ("delay 100ms 10ms loss 5% ..."), for the
// kernels that have it.
std::vector<std::string> NetemArgs(const PacketPlan& plan);

std::unique_ptr<Nemesis> MakePacketNemesis(NemesisContext context);

}  // namespace chaos::nemesis
