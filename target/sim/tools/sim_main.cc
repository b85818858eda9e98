// chaos_sim_run: `chaos sim` without the rest of the CLI, for the heavy
// ctest runs (so they do not depend on every other folder of the CLI).
// Usage: chaos_sim_run SEED RUNS NODES all|none [BUG|-] [first] [verbose]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "target/sim/sim.h"

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr,
                 "usage: chaos_sim_run SEED RUNS NODES all|none [BUG|-] [first] [verbose]\n");
    return 3;
  }
  chaos::sim::SimOptions base;
  base.nodes = std::atoi(argv[3]);
  base.faults = std::strcmp(argv[4], "all") == 0;
  if (argc > 5 && std::strcmp(argv[5], "-") != 0) base.bug = argv[5];
  if (!chaos::sim::ParseBug(base.bug).ok()) {
    std::fprintf(stderr, "chaos: unknown bug %s\n", base.bug.c_str());
    return 3;
  }
  bool first = false, verbose = false;
  for (int i = 6; i < argc; ++i) {
    first |= std::strcmp(argv[i], "first") == 0;
    verbose |= std::strcmp(argv[i], "verbose") == 0;
  }
  chaos::sim::SeedsSummary s = chaos::sim::RunSeeds(base, std::strtoull(argv[1], nullptr, 10),
                                                    std::atoll(argv[2]), first, verbose, stdout);
  return s.failed > 0 ? 1 : 0;
}
