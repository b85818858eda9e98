// Proves the JSONL codec: field mapping, streaming, positioned errors, limits,
// and that the writer keeps every appended line on disk as it goes.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "history/codec.h"
#include "history/tests/test_util.h"

namespace chaos::history {
namespace {

std::string JsonlError(const std::string& text) {
  auto reader = JsonlReaderFromString(text, "h.jsonl");
  auto r = ReadAll(*reader);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.status().message();
}

TEST(JsonlTest, OpFieldsRoundTrip) {
  Op op;
  op.index = 4;
  op.time_ns = 123456789;
  op.process = Process::Number(2);
  op.type = OpType::kOk;
  op.f = "cas";
  op.value = Json::parse(R"([":k", [1, 2]])");
  op.node = "n3";
  op.error = ":timeout";
  op.extra = Json::parse(R"({"latency": 5})");
  std::string line = OpToJsonLine(op);
  EXPECT_EQ(line.rfind("{\"index\":4,\"time\":123456789,\"process\":2,\"type\":\"ok\"", 0), 0u)
      << line;
  auto back = OpFromJson(Json::parse(line), "x");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, op);

  op.process = Process::Nemesis();
  auto named = OpFromJson(Json::parse(OpToJsonLine(op)), "x");
  ASSERT_TRUE(named.ok());
  EXPECT_TRUE(named->process.is_nemesis());
}

TEST(JsonlTest, ReaderSkipsBlankLinesAndNumbersOps) {
  auto reader = JsonlReaderFromString(
      "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n\n"
      "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":3}",
      "h.jsonl");
  auto h = ReadAll(*reader);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[1].index, 1);
  EXPECT_EQ((*h)[1].value, Json(3));
}

TEST(JsonlTest, MalformedLinesNameFileLineAndProblem) {
  std::string e = JsonlError("{\"process\":0,\"type\":\"invoke\"}\n{\"process\":0,\"type\":");
  EXPECT_NE(e.find("h.jsonl:2:"), std::string::npos) << e;
  EXPECT_NE(e.find("malformed JSON"), std::string::npos) << e;
  EXPECT_NE(JsonlError("{\"process\":0,\"type\":\"done\"}").find("unknown op type"),
            std::string::npos);
  EXPECT_NE(JsonlError("[1,2]").find("must be a JSON object"), std::string::npos);
  EXPECT_NE(JsonlError("{\"type\":\"ok\"}").find("no process"), std::string::npos);
  EXPECT_NE(JsonlError("{\"process\":0,\"type\":\"ok\",\"value\":\"abc").find("h.jsonl:1:"),
            std::string::npos);
  EXPECT_NE(JsonlError(std::string(100000, '[')).find("nesting deeper than 1000"),
            std::string::npos);
  EXPECT_NE(JsonlError("\xff\xfe\x01garbage").find("malformed JSON"), std::string::npos);
  // A number no double holds (jsonl_fuzz, 2026-12-07): an error, not a throw.
  e = JsonlError("{\"process\":0,\"type\":\"invoke\",\"value\":4e4444444444}");
  EXPECT_NE(e.find("h.jsonl:1: malformed JSON"), std::string::npos) << e;
}

TEST(JsonlTest, HugeLineIsRefusedFromAFile) {
  auto dir = testing::TempDir();
  std::string path = (dir / "huge.jsonl").string();
  {
    std::ofstream out(path);
    out << "{\"process\":0,\"type\":\"invoke\",\"value\":\"" << std::string(100 << 20, 'x')
        << "\"}\n";
  }
  auto r = ReadHistory(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("huge.jsonl:1: line longer than 16 MiB"), std::string::npos)
      << r.status().message();
  std::filesystem::remove_all(dir);
}

TEST(JsonlTest, WriterAppendsFromManyThreadsAndEveryLineIsReadBack) {
  auto dir = testing::TempDir();
  std::string path = (dir / "history.jsonl").string();
  auto writer = JsonlWriter::Create(path);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        Op op;
        op.process = Process::Number(t);
        op.type = i % 2 == 0 ? OpType::kInvoke : OpType::kOk;
        op.f = "write";
        op.value = i / 2;
        ASSERT_TRUE((*writer)->Append(op).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  // Lines are on disk before Close: a killed controller loses nothing written.
  auto before_close = ReadHistory(path);
  ASSERT_TRUE(before_close.ok()) << before_close.status().ToString();
  EXPECT_EQ(before_close->size(), 4000u);
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_FALSE((*writer)->Append(Op{}).ok());
  std::filesystem::remove_all(dir);
}

TEST(JsonlTest, WriteHistoryPicksFormatByExtension) {
  auto dir = testing::TempDir();
  History h;
  for (int i = 0; i < 3; ++i) {
    Op op;
    op.index = i;
    op.process = Process::Number(i);
    op.type = OpType::kInvoke;
    op.f = "read";
    h.push_back(op);
  }
  for (const char* name : {"h.jsonl", "h.edn"}) {
    std::string path = (dir / name).string();
    ASSERT_TRUE(WriteHistory(path, h).ok());
    auto back = ReadHistory(path);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, h) << name;
  }
  EXPECT_FALSE(WriteHistory((dir / "h.txt").string(), h).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chaos::history
