// The clock nemesis: skews the wall clock of the system on chosen nodes
// through libfaketime (adapters/faketime.h: the adapter starts the system
// under it when "clock" is among the test's faults).
//
//   bump    jump by +-delta_ms (250 ms to 16 s, either sign) on the targets
//   strobe  flip between +delta_ms and the true time every period_ms, for
//           duration_ms at most (a bounded loop on the node; stop ends it)
//   drift   run at `rate` of real speed (x0.55 or x1.45, slow twice as often:
//           a slow leader clock is what stretches a lease)
//   reset   the targets back to the true time
//
// Targets: spec "targets" (one, minority, majority, all, leader), else drawn
// from the seed. Every start and stop returns every node's clock
// ({"clocks": {"n1": {"offset_ms": 0, "rate": 1}, ...}}), so the history
// shows the skew in force. Stop and Heal put every node back to the true time
// (a rate needs two writes a second apart: see adapters/faketime.h).
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

// One clock fault, decided before anything runs (pure, unit-tested).
struct ClockPlan {
  std::string mode;         // bump, strobe, drift, reset
  int64_t delta_ms = 0;     // bump, strobe
  int64_t period_ms = 0;    // strobe
  int64_t duration_ms = 0;  // strobe
  double rate = 1;          // drift
};

// Fills the plan from `spec` ({"mode", "delta_ms", "period_ms", "duration_ms",
// "rate"}), drawing what is missing from `rng`. InvalidArgument for an
// unknown mode or a value out of range (|delta| over a day, a period under
// 100 ms, a rate outside (0, 10]).
Result<ClockPlan> PlanClock(const history::Json& spec, std::mt19937_64& rng);

// libfaketime's control-file text for an offset: +1.250, -0.500, +0.
std::string FaketimeOffset(int64_t offset_ms);
// ... and for a rate from now on: "+0 x0.55".
std::string FaketimeRate(double rate);

std::unique_ptr<Nemesis> MakeClockNemesis(NemesisContext context);

}  // namespace chaos::nemesis
