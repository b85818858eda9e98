// Generators: seeded, composable schedules of operations with explicit time.
//
// A generator is a value the runner asks, for one worker at a time, "what
// should this process do now?". Time is never read from a clock: it comes in
// the Context (`now_ns`, the runner's monotonic time since test start), so a
// test can drive a generator with a simulated clock (see simulate.h) and the
// same seed and config reproduce the same schedule. Randomness comes only from
// the seeds given to the constructors below.
//
// The answer to Next is one of:
//   - an Op to invoke (type kInvoke, f and value set; the runner fills index,
//     time, process and node);
//   - NotYet{t}: nothing for this worker now; ask again at (or after) time t,
//     or earlier when something changed (see "Waking" below). t is always
//     > ctx.now_ns; t == kNever means "only when something changes";
//   - Done: this generator will never produce another op, for any worker.
//     Done is global and final: once any worker is told Done, every later
//     Next answers Done. A combinator whose answer depends on the worker (e.g.
//     EachProcess, Route) answers NotYet to a worker whose part is finished
//     while another worker's part is not.
//
// Completions: every completion (ok, fail or info) of an op a generator
// produced is fed back to it with Update, in the order the runner records
// them, with a Context whose `thread` and `process` are those of the worker
// that invoked the op. A worker has at most one op in flight, so combinators
// route a completion to the child that produced it by `ctx.thread`.
//
// Waking (what the runner must do): after every Update, and after every Next
// that answered an Op or Done, wake all workers that are waiting on NotYet;
// each re-asks then, or at its retry_at_ns, whichever comes first. Asking
// early is always allowed; a generator answers NotYet again if it has nothing.
//
// Processes (Jepsen's rule): process p is served by thread p % concurrency.
// After an `info` completion the runner gives that thread a new process
// (p + concurrency); the process that crashed never asks again. The nemesis
// worker asks with thread -1 and process Process::Nemesis().
//
// A whole test, as the runner may compose it:
//   Phases({TimeLimit(60s, Route(workload.clients, nemesis_schedule)),
//           Route(nullptr, heal_once),            // barrier: every client op done
//           Route(Defer([&] { return workload.final_reads(*workload.keys); }), nullptr)})
// where nemesis_schedule = Cycle([]{ return Sequence({Once(start), Sleep(10s),
//                                                     Once(stop), Sleep(10s)}); }).
//
// Thread safety: none. A generator (and every generator inside it) is used by
// the runner under one mutex; Next and Update are never called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"
#include "history/op.h"

namespace chaos::generator {

// NotYet{kNever}: ask again only after something changed (an Update, or another
// worker was given an op or Done).
inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

struct Context {
  int64_t now_ns = 0;        // time since test start (the runner's clock; tests simulate it)
  history::Process process;  // the asking logical process (a number, or Process::Nemesis())
  int thread = 0;       // the worker slot asking: 0..concurrency-1 for clients, -1 for the nemesis
  int concurrency = 1;  // number of client worker slots
};

struct NotYet {
  int64_t retry_at_ns;  // ask again at (or after) this time, or after any Update; > now_ns
};
struct Done {};

// An Op to invoke: type kInvoke, f and value set; the runner fills index, time, process, node.
using Answer = std::variant<history::Op, NotYet, Done>;

class Generator {
 public:
  virtual ~Generator() = default;
  virtual Answer Next(const Context& ctx) = 0;
  // Every completion (ok/fail/info) of an op this generator produced is fed back, in order.
  virtual void Update(const history::Op& completion, const Context& ctx) {
    (void)completion;
    (void)ctx;
  }
};
using GeneratorPtr = std::unique_ptr<Generator>;

// Helpers to build invocations and read answers.
history::Op Invoke(std::string f, history::Json value);
inline bool IsOp(const Answer& a) { return std::holds_alternative<history::Op>(a); }
inline bool IsNotYet(const Answer& a) { return std::holds_alternative<NotYet>(a); }
inline bool IsDone(const Answer& a) { return std::holds_alternative<Done>(a); }

// ---- Sources ----

// One op, to the first worker that asks; then Done.
GeneratorPtr Once(history::Op op);
// `make(rng)` for every ask, forever. The rng is seeded with `seed`.
GeneratorPtr Repeat(std::function<history::Op(std::mt19937_64&)> make, uint64_t seed);
// Emits nothing for `duration_ns` from its first Next, then Done.
GeneratorPtr Sleep(int64_t duration_ns);

// ---- Combinators ----

// A random child (uniform, seeded) answers each ask; a child that answers Done
// is dropped and another is drawn; Done when all are. A child's NotYet is
// passed on as it is (the next ask draws again), as in Jepsen's mix.
GeneratorPtr Mix(std::vector<GeneratorPtr> gens, uint64_t seed);
// The first `n` ops of g, then Done (n >= 0).
GeneratorPtr Limit(int64_t n, GeneratorPtr g);
// Ops of g until `duration_ns` after its first Next, then Done. Ops already
// invoked still get their Updates.
GeneratorPtr TimeLimit(int64_t duration_ns, GeneratorPtr g);
// Poisson arrivals for the whole generator (all workers together): the gaps
// between successive ops are exponential with mean `mean_interval_ns` (the
// first op is due at the first ask). The
// schedule is kept in absolute time from the first Next, so when workers fall
// behind they catch up (as fast as they can) and the long-run rate holds.
GeneratorPtr Stagger(int64_t mean_interval_ns, GeneratorPtr g, uint64_t seed);
// Fixed spacing, all workers together: op i is due at (first ask) + i *
// interval_ns; like Stagger, workers that fall behind catch up.
GeneratorPtr Delay(int64_t interval_ns, GeneratorPtr g);
// Runs each phase to Done, in order, with a barrier between them: phase i+1 is
// first asked only when every op of phases 0..i has completed. Done after the
// last phase is Done (its ops may still be in flight).
GeneratorPtr Phases(std::vector<GeneratorPtr> phases);
// Like Phases without the barrier: the next starts as soon as one is Done.
GeneratorPtr Sequence(std::vector<GeneratorPtr> gens);
// A fresh `factory()` each time the current one is Done, forever. Done only if
// a fresh generator is Done on its first ask (it would never produce an op).
GeneratorPtr Cycle(std::function<GeneratorPtr()> factory);
// An independent `factory()` per thread (client threads and the nemesis
// thread, created on first ask). Done when every client thread's copy (and
// the nemesis copy, if it ever asked) is Done.
GeneratorPtr EachProcess(std::function<GeneratorPtr()> factory);
// Jepsen's on-processes: client threads ask `clients`, the nemesis asks
// `nemesis`; either may be null (nothing for that side). Done when both are.
GeneratorPtr Route(GeneratorPtr clients, GeneratorPtr nemesis);
// Builds its generator with `factory()` on the first ask and then is that
// generator. For generators that depend on what happened before them, e.g.
// final reads of the keys a keyed workload handed out during the main phase.
GeneratorPtr Defer(std::function<GeneratorPtr()> factory);
// Ops of g until one of them completes ok; then Done (no new op is emitted
// after the first ok Update). Also Done when g is.
GeneratorPtr UntilOk(GeneratorPtr g);
// Keyed concurrency groups (Jepsen's independent/concurrent-generator).
// Client threads are split into groups of `processes_per_key` consecutive
// threads (threads [g*n, (g+1)*n); the last group is smaller when concurrency
// is not a multiple of n). Each group works on one key at a time with
// Limit(k, per_key(key)), where k is drawn (seeded) from
// [ops_per_key_max - ops_per_key_max/4, ops_per_key_max] so groups do not
// switch keys in lockstep; when that is Done the group takes a fresh key
// (0, 1, 2, ... in hand-out order). Op values are wrapped as [key, v];
// completions are unwrapped before they reach per_key's generator. Every key
// handed out is appended to `*keys_out` if given. Done only if a fresh key's
// generator is Done on its first ask. Only client threads may ask (the
// nemesis asking is a programmer error: wrap in Route).
GeneratorPtr KeyedGroups(int processes_per_key, int64_t ops_per_key_max,
                         std::function<GeneratorPtr(int64_t key)> per_key, uint64_t seed,
                         std::shared_ptr<std::vector<int64_t>> keys_out = nullptr);

// ---- Workloads ----

// What a workload runs. The checker it gets follows from its name, where the
// run is checked (harness/analyze.cc), so a stored run needs no generator.
struct Workload {
  std::string name;      // "register" | "set" | "counter" | "list-append" | "rw-register"
  GeneratorPtr clients;  // the main phase (unbounded in time; the runner wraps TimeLimit)
  // Final reads after healing, given the keys used (pass *keys for keyed
  // workloads, anything for unkeyed ones). Each read repeats until it is ok.
  std::function<GeneratorPtr(const std::vector<int64_t>& keys)> final_reads;
  bool keyed = false;
  // For keyed workloads: the keys `clients` has handed out so far, in order
  // (grows as the test runs; read it under the generator's mutex). Null when
  // not keyed.
  std::shared_ptr<std::vector<int64_t>> keys;
};

struct WorkloadOptions {
  uint64_t seed = 0;
  int concurrency = 10;
  int processes_per_key = 5;  // clamped to [1, concurrency]
  int64_t ops_per_key_max = 200;
  // register: values drawn from 0..*value_max (Knossos's cas-register), or,
  // when empty (the default), unique written values with cas expecting the
  // last value seen: no stale read can pass for a later write of its value;
  // each key's op mix is then drawn from its seed (half uniform, half with
  // reads 60-90 % of its ops; workloads.cc).
  std::optional<int64_t> value_max = std::nullopt;
  double rate_per_s = 0;  // 0 = as fast as clients go; else Stagger over the whole workload
  // list-append and rw-register (Elle's generator parameters):
  int txn_key_count = 10;  // keys active at once
  int txn_length_min = 1;  // micro-ops per txn
  int txn_length_max = 4;
  int64_t txn_max_writes_per_key = 32;  // then the key is retired for a fresh one
};

// register: keyed cas-register; ops read [k, null], write [k, v], cas [k, [from, to]].
// set: add v (unique integers 0, 1, ...), final read (value null; ok value the elements).
// counter: add 1..3 and read (value null; ok value the count), mixed 3:1.
// list-append / rw-register: f txn, value [[":append" k v] [":r" k nil] ...]
//   (rw-register: [":w" k v]); keys are integers that rotate; final reads read
//   every key used, 16 per txn. Checked by the transactional checker.
// InvalidArgument for unknown names or options out of range.
Result<Workload> MakeWorkload(std::string_view name, const WorkloadOptions& options);

}  // namespace chaos::generator
