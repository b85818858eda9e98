// Tests of the simulator itself: determinism, that short correct runs pass,
// and that the checking machinery and the scripted scenarios catch
// deliberately broken builds.
#include "target/sim/sim.h"

#include <gtest/gtest.h>

#include <vector>

// Under AddressSanitizer a simulated run is about twenty times slower, and
// promise-geq's first failing seed at 5 nodes is 116 (target/sim/README.md):
// there its scenario is left to the release build, which runs this test and
// ctest sim_bug_promise-geq.
#if defined(__SANITIZE_ADDRESS__)
#define CHAOS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHAOS_SANITIZED 1
#endif
#endif

namespace chaos::sim {
namespace {

// Proves one seed replays exactly: the same trace hash and the same history twice.
TEST(SimTest, SameSeedSameTrace) {
  SimOptions o;
  o.seed = 7;
  SimResult a = RunSimulation(o);
  SimResult b = RunSimulation(o);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.history, b.history);
  EXPECT_GT(a.events, 1000);
  o.seed = 8;
  EXPECT_NE(RunSimulation(o).trace_hash, a.trace_hash);
}

// Proves short runs of the correct build with all faults on pass every check (3 and 5 nodes).
TEST(SimTest, CorrectBuildPassesWithFaults) {
  for (int nodes : {3, 5}) {
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      SimOptions o;
      o.seed = seed;
      o.nodes = nodes;
      SimResult r = RunSimulation(o);
      EXPECT_TRUE(r.ok) << ReplayCommand(o) << ": " << r.failure;
      EXPECT_GT(r.ops_ok, 50) << ReplayCommand(o);
    }
  }
}

// Proves the simulator runs the server's driver through what it must
// survive: crashes recover from the MemEnv disk, snapshot files are written,
// and the power goes out during syncs that messages went out ahead of.
TEST(SimTest, DriverRecoversSnapshotsAndLosesPowerDuringSyncs) {
  SimResult total;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    SimOptions o;
    o.seed = seed;
    SimResult r = RunSimulation(o);
    EXPECT_TRUE(r.ok) << ReplayCommand(o) << ": " << r.failure;
    EXPECT_GT(r.syncs, 100) << ReplayCommand(o);
    EXPECT_GT(r.snapshot_files, 0) << ReplayCommand(o);
    total.recoveries += r.recoveries;
    total.power_losses_in_sync += r.power_losses_in_sync;
  }
  EXPECT_GT(total.recoveries, 4);
  EXPECT_GT(total.power_losses_in_sync, 0);
}

// Proves the slow-disk windows keep the correct build safe, replay exactly,
// change the schedule they are added to, and leave the seeds without them
// as they were (their draws come from a stream of their own).
TEST(SimTest, SlowDisksReplayAndKeepTheCorrectBuildSafe) {
  for (int nodes : {3, 5}) {
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      SimOptions o;
      o.seed = seed;
      o.nodes = nodes;
      o.slow_disk = true;
      SimResult r = RunSimulation(o);
      EXPECT_TRUE(r.ok) << ReplayCommand(o) << ": " << r.failure;
      EXPECT_GT(r.ops_ok, 50) << ReplayCommand(o);
      EXPECT_EQ(RunSimulation(o).trace_hash, r.trace_hash) << ReplayCommand(o);
      EXPECT_NE(ReplayCommand(o).find("--slow-disk"), std::string::npos);
      o.slow_disk = false;
      EXPECT_NE(RunSimulation(o).trace_hash, r.trace_hash) << ReplayCommand(o);
    }
  }
}

// Proves that without faults at least 99% of client operations complete.
TEST(SimTest, NoFaultsNearlyAllOpsComplete) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    SimOptions o;
    o.seed = seed;
    o.faults = false;
    SimResult r = RunSimulation(o);
    EXPECT_TRUE(r.ok) << r.failure;
    EXPECT_GE(static_cast<double>(r.ops_ok + r.ops_fail),
              0.99 * static_cast<double>(r.ops_invoked));
  }
}

// Proves the canary machinery: a quorum of n/2 is caught and the replay command is printed.
TEST(SimTest, MajorityOffByOneIsCaught) {
  SimOptions o;
  o.bug = "majority-off-by-one";
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  SeedsSummary s = RunSeeds(o, 1, 20, /*stop_at_first=*/true, /*verbose=*/false, out);
  EXPECT_GE(s.failed, 1);
  std::rewind(out);
  char buf[4096] = {};
  size_t n = std::fread(buf, 1, sizeof buf - 1, out);
  std::fclose(out);
  std::string text(buf, n);
  EXPECT_NE(text.find("replay: chaos sim --seed"), std::string::npos) << text;
  EXPECT_NE(text.find("--bug majority-off-by-one"), std::string::npos) << text;
}

// Proves the scripted scenarios catch the two promise bugs within a few
// hundred seeds: forget-promise through stale-leader, promise-geq through
// minority-swap (first failing seeds 1 and 116 with 5 nodes, 2026-12-05,
// with the driver on MemEnv and the membership schedule).
TEST(SimTest, ScenariosCatchPromiseBugs) {
  std::vector<const char*> bugs = {"forget-promise"};
#ifndef CHAOS_SANITIZED
  bugs.push_back("promise-geq");
#endif
  for (const char* bug : bugs) {
    SimOptions o;
    o.bug = bug;
    o.nodes = 5;
    std::FILE* out = std::tmpfile();
    ASSERT_NE(out, nullptr);
    SeedsSummary s = RunSeeds(o, 1, 200, /*stop_at_first=*/true, /*verbose=*/false, out);
    std::fclose(out);
    EXPECT_EQ(s.failed, 1) << bug;
  }
}

// Proves unknown bug names are refused as input errors.
TEST(SimTest, UnknownBugIsRefused) {
  EXPECT_FALSE(ParseBug("no-such-bug").ok());
  for (const char* const* b = BugNames(); *b; ++b) EXPECT_TRUE(ParseBug(*b).ok()) << *b;
}

}  // namespace
}  // namespace chaos::sim
