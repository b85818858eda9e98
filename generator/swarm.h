// The default fault schedule of `chaos run` (`--nemesis all`, or no nemesis
// flag at all): swarm testing (Groce, Zhang, Eide, Chen and Regehr, "Swarm
// Testing", ISSTA 2012) applied to faults. Composing every fault on one fixed
// interval dilutes each of them: a stalled leader never lasts long enough
// while a disk is slow and a clock jumps. Instead the run is cut into
// periods, and each period draws, from the seed alone, one kind of period
// (dealt from a shuffled deck of every kind, stale-leader, minority-swap
// and crashes twice, stalled-leader three times, eleven periods, before
// the deck is dealt again):
//
//   mix           a random subset of the supported nemeses (each in with
//                 probability 1/2, at least one), modes drawn by the nemeses,
//                 composed on an interval drawn from 0.3 s to 10 s
//                 (log-uniform), as `--nemesis a,b,c` composes them;
//   stale-leader  partition:stale-leader, stall 0.3-2 s, every 1-2.5 s;
//   minority-swap partition:minority-swap, swap 0.6-2 s; at each swap
//                 restart none (1 in 5), minority (1 in 5) or others, and
//                 the old leader's disk slowed 20-100 ms per write 3 times
//                 in 4;
//   stalled-leader partition mode leader, drawn at each cut: an eighth of
//                 the time no stall, an eighth a stall of 0.2-2.5 s
//                 (log-uniform), three times in four a stall that ends
//                 0-50 ms after the adapter names a new leader among the
//                 others or a write invoked after it is acknowledged;
//                 always under a slow clock on the leader alone (when the
//                 adapter has the clock fault), in force before the cut
//                 (drift x0.4-x0.47: a lease that allows for a drift of
//                 0.45 on either side still ends before the followers'
//                 promise);
//   crash         lose-unsynced (else kill) of a majority or of all nodes,
//                 drawn at each crash;
//   slow-network  packet delay 20-80 ms toward every peer plus a partition;
//
// each scenario repeated on an interval of its own range (minority-swap
// 0.8-2 s, stalled-leader 0.5-3 s, crash 1-3 s, slow-network 2-5 s), for a
// period of 5 to 12 s, followed by 0-2 s without faults (about 10 s in all,
// so a two-minute run meets every kind, nearly always the whole deck). An
// interval is cut short when one composition of the period's faults would
// not fit in the period; another composition starts only when it would end
// nearer the period's end than stopping now, judged by how long the last
// one took on the nodes. A period kind is drawn only when the adapter
// supports every nemesis it needs (`faults`), so the same code serves any
// adapter; nothing here knows which mistake, if any, the system under test
// has.
//
// The schedule's ops are the runner's nemesis ops (history/nemesis_op.h):
// "start-<nemesis>" with the spec as value, "stop-<nemesis>" with null.
// Every period stops what it started before the next begins.
//
// Thread safety: none (a generator, see generator.h).
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "generator/generator.h"
#include "history/op.h"

namespace chaos::generator {

// One start of a nemesis: its name and the spec its start op carries.
struct FaultStart {
  std::string nemesis;
  history::Json spec;
  // If set, draws fields of the spec anew at each start (a mode, a
  // scenario's variants), so that one period meets several of them.
  std::function<void(std::mt19937_64&, history::Json&)> each_start = nullptr;
};

// An each_start that draws the spec's "mode" from `modes` (name:a/b).
std::function<void(std::mt19937_64&, history::Json&)> DrawMode(std::vector<std::string> modes);

// One period of the swarm schedule.
struct SwarmPeriod {
  std::string kind;                // "mix", "stale-leader", ...
  std::vector<FaultStart> faults;  // composed in this order
  int64_t interval_ns = 0;         // each fault lasts one interval
  int64_t period_ns = 0;           // the composition runs again until this has passed
  int64_t quiet_ns = 0;            // without faults after the period
};

// Draws a period of `kind` (one of SwarmKinds(faults)) from `rng`: its
// faults and their specs, interval, length and the quiet after it.
SwarmPeriod DrawSwarmPeriod(std::mt19937_64& rng, const std::set<std::string>& faults,
                            const std::string& kind);

// The composition `chaos run --nemesis a,b,c` uses: after an interval, one
// fault alone starts, lasts an interval and stops; several take turns, each
// starting half an interval after the one before and lasting one interval.
// `start(i)` builds the start op of the i-th of `count` faults (called when
// that op is due, so it may draw from a generator); `stop(i)` its stop op.
GeneratorPtr ComposeFaults(size_t count, int64_t interval_ns,
                           std::function<history::Op(size_t)> start,
                           std::function<history::Op(size_t)> stop);

// The schedule of `chaos run --nemesis a,b,c`: `faults` composed as
// ComposeFaults composes them, on `interval_ns`, again and again (the
// runner's TimeLimit ends it). A fault's each_start draws from a generator
// seeded by `seed`. Done at once when `faults` is empty.
GeneratorPtr FixedSchedule(uint64_t seed, std::vector<FaultStart> faults, int64_t interval_ns);

// The whole schedule: periods drawn from `seed` for as long as it is asked
// (the runner's TimeLimit ends it). Done at once when `faults` is empty.
GeneratorPtr SwarmSchedule(uint64_t seed, std::set<std::string> faults);

// The kinds DrawSwarmPeriod may draw for `faults`, in a fixed order.
std::vector<std::string> SwarmKinds(const std::set<std::string>& faults);

}  // namespace chaos::generator
