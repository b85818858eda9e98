// Proves the lease time never goes back and a wall clock set back never
// stretches it (across the step it advances by real, steady time), while
// steps forward and the wall clock's rate pass through; and that ClockWatch
// reports the skew against the steady clock once per change of its size.
#include "target/server/clock.h"

#include <gtest/gtest.h>

namespace chaos::server {
namespace {

constexpr int64_t kMs = 1'000'000;

TEST(LeaseClock, FollowsTheWallClockForwardAndAtItsRate) {
  LeaseClock c;
  int64_t back = -1;
  EXPECT_EQ(c.Now(1000 * kMs, 50 * kMs, &back), 1000 * kMs);
  EXPECT_EQ(back, 0);
  EXPECT_EQ(c.Now(1010 * kMs, 60 * kMs, &back), 1010 * kMs);
  // A step forward of 5 s passes through: it only shortens leases.
  EXPECT_EQ(c.Now(6010 * kMs, 61 * kMs, &back), 6010 * kMs);
  // A slow wall clock (5 ms per 10 ms of real time) is followed as it is.
  EXPECT_EQ(c.Now(6015 * kMs, 71 * kMs, &back), 6015 * kMs);
  EXPECT_EQ(back, 0);
}

TEST(LeaseClock, AStepBackAdvancesByTheSteadyClockInsteadOfStretchingTheLease) {
  LeaseClock c;
  int64_t back = 0;
  c.Now(10'000 * kMs, 100 * kMs, &back);
  // The wall clock is set back 4 s while 30 ms of real time pass.
  EXPECT_EQ(c.Now(6'030 * kMs, 130 * kMs, &back), 10'030 * kMs);
  EXPECT_EQ(back, 3'970 * kMs);
  // From there on it follows the wall clock's rate again.
  EXPECT_EQ(c.Now(6'040 * kMs, 140 * kMs, &back), 10'040 * kMs);
  EXPECT_EQ(back, 0);
  // A step back during a long stall (SIGSTOP for 2 s) still counts the 2 s.
  EXPECT_EQ(c.Now(1'000 * kMs, 2'140 * kMs, &back), 12'040 * kMs);
}

TEST(ClockWatch, ReportsTheSkewOncePerChange) {
  ClockWatch w(250);
  EXPECT_EQ(w.Observe(1'000 * kMs, 0), "");
  EXPECT_EQ(w.Observe(1'100 * kMs, 100 * kMs), "");  // no skew
  std::string line = w.Observe(6'200 * kMs, 200 * kMs);
  EXPECT_NE(line.find("skew +5000 ms"), std::string::npos) << line;
  EXPECT_EQ(w.Observe(6'300 * kMs, 300 * kMs), "");  // unchanged
  line = w.Observe(1'400 * kMs, 400 * kMs);
  EXPECT_NE(line.find("skew +0 ms"), std::string::npos) << line;
}

}  // namespace
}  // namespace chaos::server
