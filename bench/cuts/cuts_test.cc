// Proves the per-cut figures on a hand-built history: one stalled-leader cut
// of n1, a write served by n2, reads at n1 before and after it, on the
// written key and on another.
#include "bench/cuts/cuts.h"

#include <gtest/gtest.h>

#include "history/codec.h"

namespace chaos::bench {
namespace {

history::History Parse(const std::string& text) {
  auto reader = history::JsonlReaderFromString(text, "test");
  auto h = history::ReadAll(*reader);
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return h.ok() ? *h : history::History{};
}

// Times in ms since the test start.
std::string Line(int ms, const std::string& rest) {
  return R"({"time":)" + std::to_string(int64_t{ms} * 1'000'000) + "," + rest + "}\n";
}

TEST(CutsTest, FindsTheFirstWriteElsewhereAndTheReadsAfterIt) {
  std::string text =
      Line(
          1000,
          R"("process":"nemesis","type":"info","f":"start-partition",)"
          R"("value":{"mode":"leader","period":"stalled-leader","stall_ms":5000,"wake":"progress"})") +
      Line(1010, R"("process":0,"type":"invoke","f":"read","value":[1,null],"node":"n1")") +
      Line(1012,
           R"("process":0,"type":"ok","f":"read","value":[1,3],"node":"n1","served_by":"n1")") +
      Line(1100, R"("process":1,"type":"invoke","f":"write","value":[1,4],"node":"n2")") +
      Line(1150, R"("process":"nemesis","type":"info","f":"start-partition",)"
                 R"("value":{"groups":[["n1"],["n2","n3"]],"stalled_ms":140})") +
      Line(1500,
           R"("process":1,"type":"ok","f":"write","value":[1,4],"node":"n2","served_by":"n2")") +
      // Invoked before the write was acknowledged: cannot be stale.
      Line(1400, R"("process":2,"type":"invoke","f":"read","value":[1,null],"node":"n1")") +
      Line(1510,
           R"("process":2,"type":"ok","f":"read","value":[1,3],"node":"n1","served_by":"n1")") +
      Line(1520, R"("process":0,"type":"invoke","f":"read","value":[1,null],"node":"n1")") +
      Line(1525,
           R"("process":0,"type":"ok","f":"read","value":[1,3],"node":"n1","served_by":"n1")") +
      Line(1530, R"("process":0,"type":"invoke","f":"read","value":[2,null],"node":"n1")") +
      Line(1540,
           R"("process":0,"type":"ok","f":"read","value":[2,7],"node":"n1","served_by":"n1")") +
      Line(2000, R"("process":"nemesis","type":"info","f":"stop-partition","value":null)") +
      Line(2100, R"("process":"nemesis","type":"info","f":"stop-partition","value":{})") +
      // After the heal: not this cut's.
      Line(2200, R"("process":0,"type":"invoke","f":"read","value":[1,null],"node":"n1")") +
      Line(2210,
           R"("process":0,"type":"ok","f":"read","value":[1,4],"node":"n1","served_by":"n1")");
  std::vector<Cut> cuts = StalledLeaderCuts(Parse(text));
  ASSERT_EQ(cuts.size(), 1u);
  const Cut& c = cuts[0];
  EXPECT_EQ(c.old_leader, "n1");
  EXPECT_EQ(c.stall, "progress");
  EXPECT_EQ(c.applied_ms, 150);
  EXPECT_EQ(c.stalled_ms, 140);
  EXPECT_EQ(c.first_write_ms, 500);
  EXPECT_EQ(c.old_last_ok_ms, 540);
  EXPECT_EQ(c.reads_after_write, 2);
  EXPECT_EQ(c.reads_on_written_key, 1);
  std::string text_out = FormatCuts(cuts);
  EXPECT_NE(text_out.find("cuts 1, with a write elsewhere 1 (median 500 ms), with old-leader "
                          "reads after it 1"),
            std::string::npos)
      << text_out;
}

TEST(CutsTest, IgnoresOtherPeriodsAndCutsOfMoreThanOneNode) {
  std::string text = Line(100, R"("process":"nemesis","type":"info","f":"start-partition",)"
                               R"("value":{"mode":"leader","period":"mix"})") +
                     Line(150, R"("process":"nemesis","type":"info","f":"start-partition",)"
                               R"("value":{"groups":[["n1"],["n2","n3"]]})") +
                     Line(200, R"("process":"nemesis","type":"info","f":"start-partition",)"
                               R"("value":{"mode":"random-halves","period":"stalled-leader"})") +
                     Line(250, R"("process":"nemesis","type":"info","f":"start-partition",)"
                               R"("value":{"groups":[["n1","n2"],["n3","n4"]]})");
  EXPECT_TRUE(StalledLeaderCuts(Parse(text)).empty());
}

}  // namespace
}  // namespace chaos::bench
