// The fault schedules of chaos run: --nemesis a,b,c and the default, swarm
// testing over periods (swarm.h).
#include "generator/swarm.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "history/nemesis_op.h"

namespace chaos::generator {
namespace {

using history::Json;

constexpr int64_t kMs = 1'000'000;

int64_t Uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

bool Coin(std::mt19937_64& rng) { return rng() % 2 == 0; }

// Log-uniform in [lo_ms, hi_ms]: sub-second and tens of seconds alike.
int64_t LogUniformMs(std::mt19937_64& rng, double lo_ms, double hi_ms) {
  double x = std::uniform_real_distribution<double>(std::log(lo_ms), std::log(hi_ms))(rng);
  return static_cast<int64_t>(std::exp(x));
}

template <typename T>
const T& Pick(std::mt19937_64& rng, const std::vector<T>& items) {
  return items[rng() % items.size()];
}

bool Has(const std::set<std::string>& faults, std::initializer_list<const char*> names) {
  return std::all_of(names.begin(), names.end(), [&](const char* n) { return faults.contains(n); });
}

// The start op of `f`, its spec completed by its each_start; `period`, if
// set, names the swarm period it belongs to (for the report and the log).
history::Op StartOp(const FaultStart& f, std::mt19937_64& rng, const char* period) {
  Json spec = f.spec;
  if (f.each_start) f.each_start(rng, spec);
  if (period != nullptr) spec["period"] = period;
  return Invoke(history::NemesisStartF(f.nemesis), spec);
}

void DrawMix(std::mt19937_64& rng, const std::set<std::string>& faults, SwarmPeriod& p) {
  std::vector<std::string> all(faults.begin(), faults.end());
  for (const auto& name : all) {
    if (Coin(rng)) p.faults.push_back({name, Json::object()});
  }
  if (p.faults.empty()) p.faults.push_back({Pick(rng, all), Json::object()});
  std::shuffle(p.faults.begin(), p.faults.end(), rng);
  // A nemesis whose stop changes the membership needs a whole cluster to do
  // it: corrupt re-adds the nodes it had to wipe, membership makes every node
  // a voter again. A re-add tried while a partition of the same composition
  // was on could not be made, and two wiped nodes stayed out of every quorum
  // for the rest of the run (2026-12-07). They go last, corrupt after
  // membership: the last fault of a composition stops after every other
  // one has (ComposeFaults).
  auto rank = [](const FaultStart& f) {
    return f.nemesis == "corrupt" ? 2 : f.nemesis == "membership" ? 1 : 0;
  };
  std::stable_sort(p.faults.begin(), p.faults.end(),
                   [&](const FaultStart& a, const FaultStart& b) { return rank(a) < rank(b); });
  p.interval_ns = LogUniformMs(rng, 300, 10'000) * kMs;
}

void DrawScenario(std::mt19937_64& rng, const std::set<std::string>& faults, SwarmPeriod& p) {
  if (p.kind == "stale-leader") {
    p.faults.push_back(
        {"partition", {{"mode", "stale-leader"}, {"stall_ms", Uniform(rng, 300, 2000)}}});
    p.interval_ns = Uniform(rng, 1000, 2500) * kMs;
  } else if (p.kind == "minority-swap") {
    // Over TCP a partition delays messages rather than losing them: most
    // swaps restart the nodes cut off, which loses what their streams held.
    // Which nodes restart and whether the disk is slow are drawn at each
    // swap, not once a period: a period has two or three swaps, and one
    // draw for all of them left whole runs without the variants that
    // restart the nodes cut off or slow the old leader's disk (2026-12-06,
    // bench/RESULTS.md).
    std::vector<std::string> restarts = {"none"};
    if (faults.contains("kill")) restarts = {"none", "minority", "others", "others", "others"};
    bool slow_disk = faults.contains("slow-disk");
    p.faults.push_back({"partition",
                        {{"mode", "minority-swap"}, {"swap_ms", Uniform(rng, 600, 2000)}},
                        [restarts, slow_disk](std::mt19937_64& r, Json& spec) {
                          spec["restart"] = Pick(r, restarts);
                          if (slow_disk && r() % 4 != 0) spec["slow_ms"] = Uniform(r, 20, 100);
                        }});
    p.interval_ns = Uniform(rng, 800, 2000) * kMs;
  } else if (p.kind == "stalled-leader") {
    // A leader whose clock runs slow is the case a lease must allow for:
    // every cut comes with one when the clock can be set, on the leader
    // alone (libfaketime also stretches a node's timed waits, so slow clocks
    // on the followers would slow their elections as much as the leader's
    // lease). Setting it takes seconds (clock.cc), so each cut is costly.
    if (faults.contains("clock")) {
      double rate = std::uniform_real_distribution<double>(0.4, 0.47)(rng);
      p.faults.push_back({"clock", {{"mode", "drift"}, {"rate", rate}, {"targets", "leader"}}});
    }
    // Drawn at each cut. An eighth of the time no stall: the leader is cut
    // off while it runs on. An eighth, a stall from a fifth of a second to
    // seconds (a pause, a GC). Three times in four a stall that ends 0-50
    // ms after what can be seen from outside says the others took over: the
    // adapter names a new leader, or a write invoked after the stall is
    // acknowledged. That is the moment an old leader's lease matters,
    // whatever the system's election timeout, and the only one of the
    // three that gave the old leader a read to serve after its successor
    // wrote (26 cuts, 2026-12-07, bench/RESULTS.md); plain cuts and pauses
    // of drawn length also come in mix and slow-network periods.
    p.faults.push_back({"partition", {{"mode", "leader"}}, [](std::mt19937_64& r, Json& spec) {
                          switch (r() % 8) {
                            case 0:
                              break;
                            case 1:
                              spec["stall_ms"] = LogUniformMs(r, 200, 2500);
                              break;
                            default:
                              spec["stall_ms"] = 5000;
                              spec["wake"] = Coin(r) ? "successor" : "progress";
                              spec["wake_delay_ms"] = Uniform(r, 0, 50);
                              break;
                          }
                        }});
    p.interval_ns = LogUniformMs(rng, 500, 3000) * kMs;
  } else if (p.kind == "crash") {
    // Three crashes in four, when the disk can lose unsynced data, come
    // after its cache held back its writes for 0.2-2 s (log-uniform), as a
    // volatile write cache or Jepsen's LazyFS, which writes back only when
    // full, would: a crash then loses everything written unsynced in that
    // time, not only the last second chaos-lazyfs had not yet written back.
    // Drawn at each crash, with its targets.
    const bool lose = faults.contains("lose-unsynced");
    p.faults.push_back(
        {lose ? "lose-unsynced" : "kill", Json::object(),
         [lose, mode = DrawMode({"majority", "all"})](std::mt19937_64& r, Json& spec) {
           mode(r, spec);
           if (lose && r() % 4 != 0) spec["hold_ms"] = LogUniformMs(r, 200, 2000);
         }});
    p.interval_ns = Uniform(rng, 1000, 3000) * kMs;
  } else if (p.kind == "slow-network") {
    p.faults.push_back({"packet",
                        {{"mode", "delay"},
                         {"delay_ms", Uniform(rng, 20, 80)},
                         {"jitter_ms", Uniform(rng, 0, 20)},
                         {"targets", "all"}}});
    p.faults.push_back(
        {"partition",
         {{"mode", Pick<std::string>(rng, {"random-halves", "random-halves", "majorities-ring",
                                           "bridge", "isolate-one"})}}});
    p.interval_ns = Uniform(rng, 2000, 5000) * kMs;
  }
}

// Runs fresh `cycle()` generators one after another for about `period_ns`
// from its first ask, so a period lasts about as long as it was drawn to
// however long each start takes on the nodes, and every fault a cycle
// started is stopped before the period ends. Between cycles it runs another
// only when that, taking as long as the last one took, would end nearer the
// period's end than stopping now: ending at the first cycle past the end
// let each period overrun by up to a whole cycle, seconds where starts
// restart nodes or set clocks, so fewer periods fit in a run (2026-12-06,
// bench/RESULTS.md).
class PeriodGen final : public Generator {
 public:
  PeriodGen(int64_t period_ns, std::function<GeneratorPtr()> cycle)
      : period_ns_(period_ns), cycle_(std::move(cycle)) {}
  Answer Next(const Context& ctx) override {
    if (start_ns_ < 0) start_ns_ = ctx.now_ns;
    // The current cycle, or the next when it is done; a cycle that is done
    // as soon as it starts ends the period (bounded: two tries).
    for (int tries = 0; tries < 2; ++tries) {
      if (current_ == nullptr) {
        if (!AnotherCycle(ctx.now_ns)) return Done{};
        StartCycle(ctx.now_ns);
      }
      Answer a = current_->Next(ctx);
      if (!IsDone(a)) return a;
      current_.reset();
    }
    return Done{};
  }
  // The nemesis worker has one op in flight: its completion goes to the
  // cycle that produced it, still the current one.
  void Update(const history::Op& completion, const Context& ctx) override {
    if (current_ != nullptr) current_->Update(completion, ctx);
  }

 private:
  bool AnotherCycle(int64_t now_ns) const {
    int64_t elapsed = now_ns - start_ns_;
    if (cycle_start_ns_ < 0) return elapsed < period_ns_;  // the first cycle
    int64_t last = now_ns - cycle_start_ns_;
    return elapsed + last / 2 < period_ns_;
  }
  void StartCycle(int64_t now_ns) {
    cycle_start_ns_ = now_ns;
    current_ = cycle_();
  }

  int64_t period_ns_;
  std::function<GeneratorPtr()> cycle_;
  int64_t start_ns_ = -1;
  int64_t cycle_start_ns_ = -1;  // when the current (or last) cycle began
  GeneratorPtr current_;
};

}  // namespace

std::function<void(std::mt19937_64&, Json&)> DrawMode(std::vector<std::string> modes) {
  if (modes.empty()) return nullptr;  // the nemesis picks one from its own generator
  return [modes = std::move(modes)](std::mt19937_64& rng, Json& spec) {
    spec["mode"] = Pick(rng, modes);
  };
}

std::vector<std::string> SwarmKinds(const std::set<std::string>& faults) {
  std::vector<std::string> kinds;
  if (!faults.empty()) kinds.push_back("mix");
  if (Has(faults, {"partition", "pause", "kill"})) kinds.push_back("stale-leader");
  if (Has(faults, {"partition"})) kinds.push_back("minority-swap");
  if (Has(faults, {"partition", "pause"})) kinds.push_back("stalled-leader");
  if (Has(faults, {"lose-unsynced"}) || Has(faults, {"kill"})) kinds.push_back("crash");
  if (Has(faults, {"packet", "partition"})) kinds.push_back("slow-network");
  return kinds;
}

SwarmPeriod DrawSwarmPeriod(std::mt19937_64& rng, const std::set<std::string>& faults,
                            const std::string& kind) {
  SwarmPeriod p;
  p.kind = kind;
  if (p.kind == "mix") {
    DrawMix(rng, faults, p);
  } else {
    DrawScenario(rng, faults, p);
  }
  // About 10 s a period with its quiet: a two-minute run deals nearly the
  // whole deck of eleven.
  p.period_ns = Uniform(rng, 5'000, 12'000) * kMs;
  p.quiet_ns = Uniform(rng, 0, 2000) * kMs;
  // A period ends only between compositions, so one composition must fit
  // in it: n faults take (n + 3) / 2 intervals (ComposeFaults). Without
  // this a mix of six faults on a 10 s interval held one period for 45 s.
  int64_t fit_ns = 2 * p.period_ns / static_cast<int64_t>(p.faults.size() + 3);
  p.interval_ns = std::min(p.interval_ns, fit_ns);
  return p;
}

GeneratorPtr ComposeFaults(size_t count, int64_t interval_ns,
                           std::function<history::Op(size_t)> start,
                           std::function<history::Op(size_t)> stop) {
  std::vector<GeneratorPtr> steps;
  steps.push_back(Sleep(interval_ns));
  if (count == 1) {
    steps.push_back(Once(start(0)));
    steps.push_back(Sleep(interval_ns));
    steps.push_back(Once(stop(0)));
    return Sequence(std::move(steps));
  }
  // At k half-intervals: stop fault k-2, start fault k.
  for (size_t k = 0; k <= count + 1; ++k) {
    if (k >= 2) steps.push_back(Once(stop(k - 2)));
    if (k < count) steps.push_back(Once(start(k)));
    if (k <= count) steps.push_back(Sleep(interval_ns / 2));
  }
  return Sequence(std::move(steps));
}

GeneratorPtr FixedSchedule(uint64_t seed, std::vector<FaultStart> faults, int64_t interval_ns) {
  if (faults.empty()) return Sleep(0);
  auto rng = std::make_shared<std::mt19937_64>(seed ^ 0x6e656d657369ULL);
  auto all = std::make_shared<std::vector<FaultStart>>(std::move(faults));
  auto start = [all, rng](size_t i) { return StartOp((*all)[i], *rng, nullptr); };
  auto stop = [all](size_t i) { return Invoke(history::NemesisStopF((*all)[i].nemesis), nullptr); };
  return Cycle([all, start, stop, interval_ns] {
    return ComposeFaults(all->size(), interval_ns, start, stop);
  });
}

GeneratorPtr SwarmSchedule(uint64_t seed, std::set<std::string> faults) {
  if (faults.empty()) return Sleep(0);
  auto rng = std::make_shared<std::mt19937_64>(seed ^ 0x737761726dULL);
  auto allowed = std::make_shared<std::set<std::string>>(std::move(faults));
  // Kinds are dealt from a shuffled deck: every kind, in random order, before
  // any deck comes again, so a run of a few minutes meets each of them.
  auto deck = std::make_shared<std::vector<std::string>>();
  return Cycle([rng, allowed, deck] {
    if (deck->empty()) {
      // The leader scenarios and crashes twice, the stalled leader three
      // times: each needs several repetitions to hit, and a stalled-leader
      // period holds about one cut (its slow clock takes seconds to set and
      // to put back).
      for (const auto& kind : SwarmKinds(*allowed)) {
        int copies = kind == "stalled-leader"                                               ? 3
                     : kind == "stale-leader" || kind == "minority-swap" || kind == "crash" ? 2
                                                                                            : 1;
        deck->insert(deck->end(), copies, kind);
      }
      std::shuffle(deck->begin(), deck->end(), *rng);
    }
    std::string kind = deck->back();
    deck->pop_back();
    auto period = std::make_shared<SwarmPeriod>(DrawSwarmPeriod(*rng, *allowed, kind));
    auto start = [period, rng](size_t i) {
      return StartOp(period->faults[i], *rng, period->kind.c_str());
    };
    auto stop = [period](size_t i) {
      return Invoke(history::NemesisStopF(period->faults[i].nemesis), nullptr);
    };
    std::vector<GeneratorPtr> steps;
    steps.push_back(std::make_unique<PeriodGen>(period->period_ns, [period, start, stop] {
      return ComposeFaults(period->faults.size(), period->interval_ns, start, stop);
    }));
    steps.push_back(Sleep(period->quiet_ns));
    return Sequence(std::move(steps));
  });
}

}  // namespace chaos::generator
