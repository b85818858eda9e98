// Reports rendered from stored runs: verdicts, counts, counterexamples, faults,
// missing files, escaping and the index.
#include "reports/report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "history/codec.h"
#include "reports/run_data.h"
#include "reports/tests/fixture.h"

namespace chaos::reports {
namespace {
namespace fs = std::filesystem;
namespace t = testing;
using nlohmann::json;

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path TempStore(const std::string& name) {
  fs::path p =
      fs::temp_directory_path() / ("chaos-reports-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// Client ops as pairs, counted independently of the report's code.
int64_t ClientOps(const history::History& h) {
  int64_t n = 0;
  for (const auto& op : h) n += op.is_client() && op.is_invoke();
  return n;
}

std::string Attr(const std::string& html, const std::string& id_regex, const std::string& attr) {
  std::smatch m;
  std::regex re("id=\"" + id_regex + "\"[^>]*" + attr + "=\"([^\"]*)\"");
  return std::regex_search(html, m, re) ? m[1].str() : "";
}

// Proves: the invalid Knossos history's report says INVALID and draws the
// failing op 14 with the ops the search placed (11 among them) and why.
TEST(ReportTest, InvalidKnossosHistoryShowsCounterexample) {
  fs::path store = TempStore("invalid");
  fs::path run = store / "bad" / "20261128T213000";
  ASSERT_TRUE(t::MakeKnossosRun(t::KnossosDir() + "/cas-register/bad/bad-analysis.edn",
                                run.string(), "bad", 30)
                  .ok());
  ASSERT_TRUE(WriteReport(run.string()).ok());
  std::string html = Read(run / "report.html");
  EXPECT_NE(html.find("data-verdict=\"invalid\">INVALID<"), std::string::npos);
  EXPECT_NE(html.find("<section id=\"counterexample\" data-op=\"14\""), std::string::npos);
  std::string indices = Attr(html, "counterexample", "data-op-indices");
  std::istringstream in(indices);
  std::set<int> got;
  for (int i; in >> i;) got.insert(i);
  EXPECT_TRUE(got.count(14)) << indices;
  EXPECT_TRUE(got.count(11)) << indices;  // the last op linearized (Knossos: index 11)
  EXPECT_TRUE(got.count(15)) << indices;  // the concurrent read of 3
  EXPECT_NE(html.find("read 2, but the register holds"), std::string::npos);
  EXPECT_NE(html.find("id=\"cx-shrunk\""), std::string::npos);
  // The story of the shrunk history: write 2, write 4, then the stale read of 2.
  EXPECT_NE(html.find("id=\"cx-story\""), std::string::npos);
  EXPECT_NE(html.find("cannot be linearized: stale: 2 was overwritten by op 4"), std::string::npos);
  auto h = history::ReadHistory((run / "history.jsonl").string());
  ASSERT_TRUE(h.ok());
  EXPECT_NE(html.find("id=\"op-total\">" + std::to_string(ClientOps(*h)) + "<"), std::string::npos);
  for (const char* f : {"history.jsonl", "history.edn", "results.json", "chaos.log"}) {
    EXPECT_NE(html.find(std::string("href=\"") + f + "\""), std::string::npos) << f;
  }
  // Self-contained: nothing is fetched from anywhere.
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
}

// Proves: a linearizable history gives VALID, its counts, and no counterexample.
TEST(ReportTest, ValidKnossosHistory) {
  fs::path store = TempStore("valid");
  fs::path run = store / "good" / "20261128T213100";
  ASSERT_TRUE(t::MakeKnossosRun(t::KnossosDir() + "/cas-register/good/memstress3-0.edn",
                                run.string(), "good", 60)
                  .ok());
  auto html = RenderReport(run.string());
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  EXPECT_NE(html->find("data-verdict=\"valid\">VALID<"), std::string::npos);
  EXPECT_EQ(html->find("id=\"counterexample\""), std::string::npos);
  auto h = history::ReadHistory((run / "history.jsonl").string());
  ASSERT_TRUE(h.ok());
  EXPECT_NE(html->find("id=\"op-total\">" + std::to_string(ClientOps(*h)) + "<"),
            std::string::npos);
}

// Proves: a check that ran out of time gives UNKNOWN with the cause shown.
// (Our search finishes every Knossos history within its first deadline check,
// 4,096 steps, so the unknown run is a generated one with a 1 us limit.)
TEST(ReportTest, UnknownWithCause) {
  fs::path store = TempStore("unknown");
  fs::path run = store / "slow" / "20261128T213200";
  ASSERT_TRUE(t::MakeGeneratedRun(run.string(), 20000, 5, 1e-6, false).ok());
  auto html = RenderReport(run.string());
  ASSERT_TRUE(html.ok());
  EXPECT_NE(html->find("data-verdict=\"unknown\">UNKNOWN<"), std::string::npos);
  EXPECT_NE(html->find("id=\"cause\">linearizable: time-limit"), std::string::npos);
}

// Proves: fault windows run from start-X invocations to stop-X completions,
// labelled with the mode and groups the start's completion recorded; ops carry
// their nodes, and the charts are drawn.
TEST(ReportTest, GeneratedRunShowsFaultsAndCharts) {
  fs::path store = TempStore("generated");
  fs::path run = store / "register-partition" / "20261128T213300";
  ASSERT_TRUE(t::MakeGeneratedRun(run.string(), 30000, 7, 60, true).ok());
  auto data = LoadRun(run.string());
  ASSERT_TRUE(data.ok());
  ASSERT_GE(data->faults.size(), 2u);
  EXPECT_EQ(data->faults[0].kind, "partition");
  EXPECT_NEAR(data->faults[0].start_ms, 10000, 1);
  EXPECT_NEAR(data->faults[0].end_ms - data->faults[0].start_ms, 5001, 1);
  EXPECT_TRUE(data->faults[0].label.starts_with("partition halves n")) << data->faults[0].label;
  EXPECT_NE(data->faults[0].label.find(" | n"), std::string::npos) << data->faults[0].label;
  EXPECT_EQ(data->node_names.size(), 5u);
  auto html = RenderReport(run.string());
  ASSERT_TRUE(html.ok());
  EXPECT_NE(html->find("data-verdict=\"valid\""), std::string::npos);
  EXPECT_NE(html->find(data->faults[0].label), std::string::npos);
  EXPECT_NE(html->find("id=\"throughput\""), std::string::npos);
  EXPECT_NE(html->find("id=\"latency\""), std::string::npos);
  EXPECT_NE(html->find("href=\"nodes/n3/chaos-register.log\""), std::string::npos);
  EXPECT_NE(html->find("chaos run --nemesis partition --seed 7"), std::string::npos);
  EXPECT_NE(html->find("<td class=\"n\" id=\"op-total\">15000<"), std::string::npos);
}

// Proves: each nemesis invocation is paired with the completion that follows
// it, so a window's label names what was done (mode, groups or nodes, the
// leader, stalls, delays, membership steps), a failed start says why, a start
// whose completion never came keeps its spec's mode, and a stop that wiped,
// re-added or restored nodes says so.
TEST(ReportTest, FaultWindowsNameWhatWasDone) {
  history::History h;
  auto nemesis = [&](int64_t ms, const std::string& f, json value, json error = nullptr) {
    history::Op op;
    op.index = static_cast<int64_t>(h.size());
    op.time_ns = ms * 1'000'000;
    op.process = history::Process::Nemesis();
    op.type = history::OpType::kInfo;
    op.f = f;
    op.value = std::move(value);
    op.error = std::move(error);
    h.push_back(std::move(op));
  };
  nemesis(0, "start-partition", json::object());
  nemesis(60, "start-partition",
          {{"mode", "stale-leader"},
           {"nodes", {"n1", "n2", "n3", "n4", "n5"}},
           {"groups", {{"n1", "n2"}, {"n3", "n4", "n5"}}},
           {"leader", "n1"},
           {"stalled_ms", 1002}});
  nemesis(5000, "start-kill", {{"mode", "majority"}});
  nemesis(5010, "start-kill", {{"mode", "majority"}, {"nodes", {"n2", "n4", "n5"}}});
  nemesis(10000, "stop-partition", nullptr);
  nemesis(10080, "stop-partition", {{"nodes", {"n1", "n2", "n3", "n4", "n5"}}});
  nemesis(10100, "stop-kill", nullptr);
  nemesis(10200, "stop-kill", {{"nodes", {"n2", "n4", "n5"}}});
  nemesis(11000, "start-pause", {{"mode", "one"}});
  nemesis(11010, "start-pause", {{"mode", "one"}}, "n3: cannot connect");
  nemesis(12000, "start-clock", {{"mode", "bump"}});
  nemesis(13000, "start-membership", {{"mode", "remove-leader"}});
  nemesis(13400, "start-membership",
          {{"mode", "remove-leader"},
           {"node", "n3"},
           {"steps", {"remove n3"}},
           {"voters_before", {"n1", "n2", "n3", "n4", "n5"}},
           {"voters_after", {"n1", "n2", "n4", "n5"}}});
  nemesis(18000, "stop-membership", nullptr);
  nemesis(
      21000, "stop-membership",
      {{"steps", {"learner n3", "promote n3"}}, {"voters_after", {"n1", "n2", "n3", "n4", "n5"}}});
  nemesis(22000, "start-corrupt", json::object());
  nemesis(22100, "start-corrupt", {{"mode", "bitflip"}, {"targets", "one"}, {"nodes", {"n2"}}});
  nemesis(26000, "stop-corrupt", nullptr);
  nemesis(30000, "stop-corrupt",
          {{"nodes", {"n2"}},
           {"wiped", {"n2"}},
           {"readded", {"remove n2", "learner n2", "promote n2"}}});
  RunData d;
  d.history = h;
  AnalyzeHistory(&d);
  ASSERT_EQ(d.faults.size(), 6u);
  EXPECT_EQ(d.faults[0].label,
            "partition stale-leader n1 n2 | n3 n4 n5, leader n1, stalled_ms 1002");
  EXPECT_NEAR(d.faults[0].start_ms, 0, 0.01);
  EXPECT_NEAR(d.faults[0].end_ms, 10080, 0.01);
  EXPECT_EQ(d.faults[1].label, "kill majority n2 n4 n5");
  EXPECT_NEAR(d.faults[1].end_ms, 10200, 0.01);
  EXPECT_FALSE(d.faults[1].open);
  EXPECT_EQ(d.faults[2].label, "pause one failed: n3: cannot connect");
  EXPECT_EQ(d.faults[3].label, "clock bump");
  EXPECT_TRUE(d.faults[3].open);
  EXPECT_EQ(d.faults[4].label,
            "membership remove-leader n3: remove n3; voters n1 n2 n4 n5; stop: learner n3, "
            "promote n3; voters n1 n2 n3 n4 n5");
  EXPECT_NEAR(d.faults[4].end_ms, 21000, 0.01);
  EXPECT_EQ(d.faults[5].label,
            "corrupt bitflip n2; stop: wiped n2, re-added: remove n2, learner n2, promote n2");
}

// Proves: a run that died early (only a history, or nothing) still renders,
// and a folder that does not exist is an error.
TEST(ReportTest, MissingFiles) {
  fs::path store = TempStore("missing");
  fs::path run = store / "early" / "20261128T000000";
  fs::create_directories(run);
  auto empty = RenderReport(run.string());
  ASSERT_TRUE(empty.ok());
  EXPECT_NE(empty->find("UNKNOWN"), std::string::npos);
  EXPECT_NE(empty->find("no results.json"), std::string::npos);
  history::History h = t::GenerateRegisterHistory(100, 3);
  ASSERT_TRUE(history::WriteHistory((run / "history.jsonl").string(), h).ok());
  { std::ofstream(run / "results.json") << "{not json"; }
  auto partial = RenderReport(run.string());
  ASSERT_TRUE(partial.ok());
  EXPECT_NE(partial->find("results.json: "), std::string::npos);
  EXPECT_NE(partial->find("id=\"op-total\">50<"), std::string::npos);
  EXPECT_FALSE(RenderReport((store / "nope").string()).ok());
}

// Proves: text from the run's files cannot inject markup or script.
TEST(ReportTest, EscapesRunText) {
  fs::path store = TempStore("escape");
  fs::path run = store / "x" / "20261128T000000";
  fs::create_directories(run);
  std::ofstream(run / "test.json") << R"({"name": "<script>alert(1)</script>", "adapter": "a&b"})";
  history::History h = t::GenerateRegisterHistory(10, 1);
  h[0].value = "</script><b>x</b>";
  ASSERT_TRUE(history::WriteHistory((run / "history.jsonl").string(), h).ok());
  auto html = RenderReport(run.string());
  ASSERT_TRUE(html.ok());
  EXPECT_EQ(html->find("<script>alert(1)"), std::string::npos);
  EXPECT_NE(html->find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(html->find("</script><b>x"), std::string::npos);
  EXPECT_EQ(EscapeHtml("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

// Proves: the index lists every run newest first with its verdict and op count,
// and the summary pages above them.
TEST(ReportTest, IndexNewestFirst) {
  fs::path store = TempStore("index");
  ASSERT_TRUE(t::MakeKnossosRun(t::KnossosDir() + "/cas-register/bad/bad-analysis.edn",
                                (store / "bad" / "20261128T213000").string(), "bad", 30)
                  .ok());
  ASSERT_TRUE(
      t::MakeGeneratedRun((store / "gen" / "20261128T220000").string(), 400, 1, 60, false).ok());
  fs::create_directories(store / "gen" / "20261127T000000");  // not a run: no files
  fs::create_directory_symlink(store / "gen" / "20261128T220000", store / "latest");
  // Summary pages (chaos test-all, bench/mutate) are listed above the runs.
  for (const char* page : {"test-all/20261128T210000", "mutate/20261128T230000"}) {
    fs::create_directories(store / page);
    std::ofstream(store / page / "summary.html") << "<html></html>";
  }
  ASSERT_TRUE(WriteIndex(store.string()).ok());
  std::string html = Read(store / "index.html");
  size_t gen = html.find("href=\"gen/20261128T220000/");
  size_t bad = html.find("href=\"bad/20261128T213000/");
  ASSERT_NE(gen, std::string::npos);
  ASSERT_NE(bad, std::string::npos);
  EXPECT_LT(gen, bad);
  EXPECT_NE(html.find("2 runs: 1 valid, 1 invalid, 0 unknown"), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"invalid\">"), std::string::npos);
  EXPECT_NE(html.find(">400<"), std::string::npos);
  EXPECT_EQ(html.find("20261127T000000"), std::string::npos);
  size_t mutate = html.find("href=\"mutate/20261128T230000/summary.html\"");
  size_t matrix = html.find("href=\"test-all/20261128T210000/summary.html\"");
  ASSERT_NE(mutate, std::string::npos) << html;
  ASSERT_NE(matrix, std::string::npos);
  EXPECT_LT(mutate, matrix);
  EXPECT_LT(matrix, gen);
}

}  // namespace
}  // namespace chaos::reports
