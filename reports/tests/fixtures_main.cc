// reports_fixtures STORE [LINES]: writes the stored runs the browser test
// opens (invalid, valid and unknown Knossos histories, and a generated run of
// LINES history lines, 1,000,000 by default), their reports and the index.
// The unknown run is a generated one checked with a 1 µs limit: our search
// finishes every Knossos history (memstress3-12 included) before its first
// deadline check, so a 1 ms limit does not make those unknown. The large
// run gets 5 s of checking: its report, not its verdict, is under test.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "reports/report.h"
#include "reports/tests/fixture.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: reports_fixtures STORE [LINES]\n");
    return 3;
  }
  namespace t = chaos::reports::testing;
  const std::string store = argv[1];
  const long long lines = argc > 2 ? std::atoll(argv[2]) : 1000000;
  const std::string k = t::KnossosDir();
  struct Run {
    std::string dir;
    chaos::Status status;
  };
  Run runs[] = {
      {store + "/knossos-bad-analysis/20261128T213000",
       t::MakeKnossosRun(k + "/cas-register/bad/bad-analysis.edn",
                         store + "/knossos-bad-analysis/20261128T213000", "knossos-bad-analysis",
                         30)},
      {store + "/knossos-memstress3-0/20261128T213100",
       t::MakeKnossosRun(k + "/cas-register/good/memstress3-0.edn",
                         store + "/knossos-memstress3-0/20261128T213100", "knossos-memstress3-0",
                         30)},
      {store + "/register-unknown/20261128T213200",
       t::MakeGeneratedRun(store + "/register-unknown/20261128T213200", 20000, 5, 1e-6, false)},
      {store + "/register-partition/20261128T213300",
       t::MakeGeneratedRun(store + "/register-partition/20261128T213300", lines, 42,
                           lines > 100000 ? 5 : 60, false)},
  };
  for (const Run& r : runs) {
    if (!r.status.ok()) {
      std::fprintf(stderr, "reports_fixtures: %s\n", r.status.ToString().c_str());
      return 3;
    }
    chaos::Status s = chaos::reports::WriteReport(r.dir);
    if (!s.ok()) {
      std::fprintf(stderr, "reports_fixtures: %s\n", s.ToString().c_str());
      return 3;
    }
    std::printf("%s/report.html\n", r.dir.c_str());
  }
  chaos::Status s = chaos::reports::WriteIndex(store);
  if (!s.ok()) {
    std::fprintf(stderr, "reports_fixtures: %s\n", s.ToString().c_str());
    return 3;
  }
  return 0;
}
