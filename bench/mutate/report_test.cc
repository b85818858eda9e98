// Tests of the mutation page: the score is counted from the rows, text from
// the code is escaped, the cluster's runs land on their mutants, and a
// results file that does not parse is refused.
#include "bench/mutate/report.h"

#include <gtest/gtest.h>

namespace chaos::mutate {
namespace {

const char* kResults =
    "id\tfile\tline\top\toriginal\treplacement\tfunction\tcompiled\ttests\tsim3\tsim5\tverdict\t"
    "first_failure\tsim_none\n"
    "1\ttarget/core/core.cc\t10\tror\ta < b\ta <= b\tCore::Tick\tyes\tkilled\tkilled\tkilled\t"
    "killed\tFAILED seed 4\tsurvived\n"
    "2\ttarget/core/core.cc\t20\tlcr\ta || b\ta && b\tCore::Propose\tyes\tsurvived\tkilled\t"
    "survived\tkilled\t\tsurvived\n"
    "3\ttarget/core/log.cc\t30\tdelete-statement\tx_ = 1;\t\tLog::Append\tyes\tkilled\t"
    "survived\tsurvived\tsurvived\t\tsurvived\n"
    "4\ttarget/core/log.cc\t40\tconst+1\t0\t1\tLog::Trim\tno\t-\t-\t-\tuncompiled\t\t-\n";

TEST(MutationPageTest, CountsTheScoreFromTheRows) {
  auto html = RenderMutationPage(kResults, nlohmann::json(), "mutants");
  ASSERT_TRUE(html.ok()) << html.status().message();
  // 3 compile, 1 does not, tests kill 2, the simulator 2 (one of them only
  // it), either 3, one survives.
  EXPECT_NE(html->find("<td class=\"n\">3</td><td class=\"n\">1</td><td class=\"n\">2 (67 %)</td>"
                       "<td class=\"n\">2 (67 %)</td><td class=\"n\">1</td><td class=\"n\">3 (100 "
                       "%)</td><td class=\"n\">1</td><td class=\"n\">0</td>"),
            std::string::npos)
      << *html;
  EXPECT_NE(html->find("<li>Log::Append: 1</li>"), std::string::npos);
  EXPECT_NE(html->find("<code>a &lt; b</code> → <code>a &lt;= b</code>"), std::string::npos);
  EXPECT_EQ(html->find("<th>cluster</th>"), std::string::npos);  // no cluster runs given
}

TEST(MutationPageTest, PutsTheClusterRunsOnTheirMutants) {
  nlohmann::json summary = {
      {"cells",
       {{{"name", "mutant-1"},
         {"runs",
          {{{"verdict", "valid"}, {"seed", 1}, {"report", "../../mutant-1/a/report.html"}},
           {{"verdict", "invalid"},
            {"seed", 2},
            {"detection_s", 41.5},
            {"report", "../../mutant-1/b/report.html"}}}}},
        {{"name", "mutant-2"}, {"runs", {{{"verdict", "valid"}, {"seed", 1}}}}},
        {{"name", "mutant-3"}, {"runs", nlohmann::json::array()}}}}};  // never reached
  auto html = RenderMutationPage(kResults, summary, "mutants");
  ASSERT_TRUE(html.ok()) << html.status().message();
  EXPECT_NE(html->find("1 of 2 simulator-killed mutants found (1 by an invalid history, 0 by a "
                       "cluster that never served)"),
            std::string::npos)
      << *html;
  EXPECT_NE(html->find("found: <a href=\"../../mutant-1/a/report.html\">valid (seed 1)</a><br>"
                       "<a href=\"../../mutant-1/b/report.html\">invalid (seed 2, at 41 s)</a>"),
            std::string::npos)
      << *html;
  EXPECT_NE(html->find("not found: valid (seed 1)"), std::string::npos);
}

TEST(MutationPageTest, WritesTheClusterRowsAsMarkdown) {
  nlohmann::json summary = {
      {"cells",
       {{{"name", "mutant-1"}, {"runs", {{{"verdict", "invalid"}, {"seed", 1}}}}},
        {{"name", "mutant-2"},
         {"runs", {{{"verdict", "valid"}, {"seed", 1}}, {{"verdict", "unknown"}, {"seed", 2}}}}},
        {{"name", "unmutated"}, {"runs", {{{"verdict", "valid"}, {"seed", 1}}}}},
        {{"name", "mutant-3"},
         {"runs", nlohmann::json::array()},
         {"error", "the cluster did not accept a write within 60 s"}}}}};
  auto md = RenderBlackboxMarkdown(kResults, summary);
  ASSERT_TRUE(md.ok()) << md.status().message();
  EXPECT_EQ(
      *md,
      "found under the default schedule: 2 of 3 (1 by an invalid history, 1 by a cluster "
      "that never served)\n\n"
      "control, the unmutated server: valid (seed 1)\n\n"
      "| id | where | function | change | tests | runs on the cluster |\n"
      "|---|---|---|---|---|---|\n"
      "| 1 | core.cc:10 | Core::Tick | `a < b` → `a <= b` | killed | found: invalid (seed 1) |\n"
      "| 2 | core.cc:20 | Core::Propose | `a \\|\\| b` → `a && b` | survived | not found: valid "
      "(seed "
      "1), unknown (seed 2) |\n"
      "| 3 | log.cc:30 | Log::Append | `x_ = 1;` → `` | killed | found: error: the cluster did "
      "not accept a write within 60 s |\n");
}

TEST(MutationPageTest, RefusesARowWithTheWrongFields) {
  std::string bad = std::string(kResults) + "5\ttarget/core/core.cc\t50\n";
  auto html = RenderMutationPage(bad, nlohmann::json(), "mutants");
  ASSERT_FALSE(html.ok());
  EXPECT_EQ(html.status().message(), "results.tsv line 6: 3 fields, want 14");
}

}  // namespace
}  // namespace chaos::mutate
