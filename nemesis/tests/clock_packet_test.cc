// Proves the clock and packet nemeses plan what their specs say, draw
// missing values within the documented ranges, refuse bad values, and write
// libfaketime's and netem's syntax exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "nemesis/clock.h"
#include "nemesis/packet.h"

namespace chaos::nemesis {
namespace {

TEST(FaketimeText, OffsetsAreSignedSecondsWithMilliseconds) {
  EXPECT_EQ(FaketimeOffset(0), "+0");
  EXPECT_EQ(FaketimeOffset(1250), "+1.250");
  EXPECT_EQ(FaketimeOffset(-500), "-0.500");
  EXPECT_EQ(FaketimeOffset(-16000), "-16.000");
  EXPECT_EQ(FaketimeOffset(7), "+0.007");
  EXPECT_EQ(FaketimeRate(0.55), "+0 x0.55");
  EXPECT_EQ(FaketimeRate(1), "+0 x1");
}

TEST(PlanClock, SpecValuesWin) {
  std::mt19937_64 rng(1);
  auto p = PlanClock({{"mode", "bump"}, {"delta_ms", -3000}}, rng);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->mode, "bump");
  EXPECT_EQ(p->delta_ms, -3000);
  auto d = PlanClock({{"mode", "drift"}, {"rate", 0.6}}, rng);
  ASSERT_TRUE(d.ok());
  EXPECT_DOUBLE_EQ(d->rate, 0.6);
  auto s = PlanClock(
      {{"mode", "strobe"}, {"delta_ms", 200}, {"period_ms", 1000}, {"duration_ms", 5000}}, rng);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->period_ms, 1000);
  EXPECT_EQ(s->duration_ms, 5000);
}

TEST(PlanClock, DrawnValuesStayInRangeAndCoverEveryMode) {
  std::mt19937_64 rng(42);
  std::set<std::string> modes;
  int slow = 0, fast = 0;
  for (int i = 0; i < 400; ++i) {
    auto p = PlanClock(history::Json::object(), rng);
    ASSERT_TRUE(p.ok());
    modes.insert(p->mode);
    if (p->mode == "bump") {
      EXPECT_GE(std::llabs(p->delta_ms), 250);
      EXPECT_LE(std::llabs(p->delta_ms), 16000);
    } else if (p->mode == "strobe") {
      EXPECT_GE(p->period_ms, 1000);  // libfaketime re-reads once a second
      EXPECT_GE(p->duration_ms, p->period_ms);
    } else if (p->mode == "drift") {
      // Inside the register's default lease drift bound (0.45).
      EXPECT_LE(std::fabs(p->rate - 1), 0.45 + 1e-9);
      (p->rate < 1 ? slow : fast)++;
    }
  }
  EXPECT_EQ(modes, (std::set<std::string>{"bump", "strobe", "drift", "reset"}));
  EXPECT_GT(slow, fast);  // slow clocks are what stretch a lease
}

TEST(PlanClock, RefusesBadValues) {
  std::mt19937_64 rng(1);
  EXPECT_FALSE(PlanClock({{"mode", "warp"}}, rng).ok());
  EXPECT_FALSE(PlanClock({{"mode", "drift"}, {"rate", 0}}, rng).ok());
  EXPECT_FALSE(PlanClock({{"mode", "strobe"}, {"period_ms", 10}}, rng).ok());
  EXPECT_FALSE(PlanClock({{"mode", "bump"}, {"delta_ms", 100'000'000}}, rng).ok());
}

TEST(PlanPacket, ModesSetTheirFaultsAndSpecOverrides) {
  std::mt19937_64 rng(7);
  auto d = PlanPacket({{"mode", "delay"}, {"delay_ms", 120}, {"jitter_ms", 5}}, rng);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->delay_ms, 120);
  EXPECT_EQ(d->jitter_ms, 5);
  EXPECT_EQ(d->loss, 0);
  EXPECT_TRUE(d->NeedsQueue());
  auto l = PlanPacket({{"mode", "loss"}}, rng);
  ASSERT_TRUE(l.ok());
  EXPECT_GT(l->loss, 0);
  EXPECT_FALSE(l->NeedsQueue());  // iptables statistic alone
  auto r = PlanPacket({{"mode", "reorder"}}, rng);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->reorder, 0);
  EXPECT_GT(r->delay_ms, 0);
  auto rate = PlanPacket({{"mode", "rate"}}, rng);
  ASSERT_TRUE(rate.ok());
  EXPECT_GT(rate->rate_kbit, 0);
  EXPECT_FALSE(rate->NeedsQueue());
}

TEST(PlanPacket, RefusesBadValues) {
  std::mt19937_64 rng(1);
  EXPECT_FALSE(PlanPacket({{"mode", "teleport"}}, rng).ok());
  EXPECT_FALSE(PlanPacket({{"mode", "loss"}, {"loss", 1.5}}, rng).ok());
  EXPECT_FALSE(PlanPacket({{"mode", "delay"}, {"delay_ms", 10}, {"jitter_ms", 20}}, rng).ok());
  EXPECT_FALSE(PlanPacket({{"mode", "reorder"}, {"delay_ms", 0}}, rng).ok());
}

TEST(NetemArgs, MatchTcSyntax) {
  PacketPlan p;
  p.delay_ms = 100;
  p.jitter_ms = 10;
  p.loss = 0.05;
  p.duplicate = 0.2;
  p.reorder = 0.25;
  EXPECT_EQ(NetemArgs(p), (std::vector<std::string>{"netem", "delay", "100ms", "10ms", "loss", "5%",
                                                    "duplicate", "20%", "reorder", "25%"}));
}

}  // namespace
}  // namespace chaos::nemesis
