// Simulate: a deterministic, single-threaded runner for generators, with a
// virtual clock and simulated clients. It is how generators are tested without
// a cluster, and a reference for what the real runner must do (see "Waking"
// and "Processes" in generator.h).
//
// Workers: client threads 0..concurrency-1 (thread t starts as process t) and,
// if `nemesis`, one nemesis worker (thread -1, process "nemesis"). A worker
// asks the generator; an op is invoked at the virtual now and completes after
// a latency drawn uniformly from [latency_ns_min, latency_ns_max]. Each client
// completion is info with probability crash_rate (the thread then continues
// as process p + concurrency), else fail with probability fail_rate, else ok.
// Nemesis ops always complete ok (Jepsen records them as info pairs; the
// runner decides that, not the generator).
//
// The simulated store gives ok completions a truthful value: `model` is
//   "echo"     completion value = invocation value;
//   "register" read/write/cas on one register per key (keyed: value [k, v]);
//   "set"      add v, read -> sorted array of elements;
//   "counter"  add n, read -> sum.
// Ops take effect at their completion time (an info op takes effect with
// probability 1/2), so every simulated history of register/set/counter is
// valid for its checker.
//
// Events are ordered by (time, completions before asks, worker order): the
// same generator, options and seed give the identical history.
//
// Stops asking when a worker would ask at or after duration_ns, after ops_max
// invocations, or when the generator is Done; ops in flight still complete.
// A stall (every worker waits with NotYet{kNever} and nothing is in flight,
// before duration_ns) is reported as FailedPrecondition.
//
// Thread safety: one call is self-contained; the generator is used by it only.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "generator/generator.h"
#include "history/op.h"

namespace chaos::generator {

struct SimOptions {
  int concurrency = 5;
  bool nemesis = false;                // also run a nemesis worker (thread -1)
  int64_t latency_ns_min = 1'000'000;  // 1 ms
  int64_t latency_ns_max = 10'000'000;
  double fail_rate = 0;
  double crash_rate = 0;
  uint64_t seed = 0;
  int64_t duration_ns = 10'000'000'000;  // 10 s of virtual time
  int64_t ops_max = 1'000'000;           // invocations
  std::string model = "echo";            // "echo" | "register" | "set" | "counter"
  bool keyed = false;                    // values are [key, v]; one store per key
};

Result<history::History> Simulate(Generator& gen, const SimOptions& options);

}  // namespace chaos::generator
