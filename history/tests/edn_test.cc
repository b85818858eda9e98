// Proves the EDN parser reads every construct Jepsen histories use, rejects
// malformed input with a positioned one-line error, and the writer round-trips.
#include <gtest/gtest.h>

#include <fstream>

#include "history/codec.h"
#include "history/tests/test_util.h"

namespace chaos::history {
namespace {

Json Parse(std::string_view text) {
  auto r = ParseEdnValue(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : Json();
}

std::string ParseError(std::string_view text) {
  auto r = ParseEdnValue(text);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.status().message();
}

TEST(EdnValueTest, Scalars) {
  EXPECT_EQ(Parse("nil"), Json(nullptr));
  EXPECT_EQ(Parse("true"), Json(true));
  EXPECT_EQ(Parse("false"), Json(false));
  EXPECT_EQ(Parse("42"), Json(42));
  EXPECT_EQ(Parse("-7"), Json(-7));
  EXPECT_EQ(Parse("+7"), Json(7));
  EXPECT_EQ(Parse("12N"), Json(12));
  EXPECT_DOUBLE_EQ(Parse("1.5").get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(Parse("-2e3").get<double>(), -2000.0);
  EXPECT_DOUBLE_EQ(Parse("1.25M").get<double>(), 1.25);
  EXPECT_DOUBLE_EQ(Parse("1/4").get<double>(), 0.25);
  EXPECT_EQ(Parse(":read"), Json(":read"));
  EXPECT_EQ(Parse(":jepsen.history/op"), Json(":jepsen.history/op"));
  EXPECT_EQ(Parse("some-symbol"), Json("some-symbol"));
  EXPECT_EQ(Parse("\"a \\\"q\\\" \\n\\t\\\\ \\u00e9\""), Json("a \"q\" \n\t\\ \xc3\xa9"));
  EXPECT_EQ(Parse("\\a"), Json("a"));
  EXPECT_EQ(Parse("\\newline"), Json("\n"));
  EXPECT_EQ(Parse("\\space"), Json(" "));
}

TEST(EdnValueTest, Collections) {
  EXPECT_EQ(Parse("[1 2, 3]"), Json::parse("[1,2,3]"));
  EXPECT_EQ(Parse("(1 (2))"), Json::parse("[1,[2]]"));
  EXPECT_EQ(Parse("#{1 2}"), Json::parse("[1,2]"));
  EXPECT_EQ(Parse("{:x 1, \"y\" [2 nil]}"), Json::parse(R"({":x":1,"y":[2,null]})"));
  EXPECT_EQ(Parse("{1 :a}"), Json::parse(R"({"1":":a"})"));
  EXPECT_EQ(Parse("[[:read :x nil] [:write :y 2]]"),
            Json::parse(R"([[":read",":x",null],[":write",":y",2]])"));
}

TEST(EdnValueTest, CommentsDiscardsAndTags) {
  EXPECT_EQ(Parse("; comment\n [1 ; two\n 3]"), Json::parse("[1,3]"));
  EXPECT_EQ(Parse("[1 #_ 2 3]"), Json::parse("[1,3]"));
  EXPECT_EQ(Parse("#inst \"2020-01-01T00:00:00Z\""), Json("2020-01-01T00:00:00Z"));
  EXPECT_EQ(Parse("#uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\""),
            Json("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"));
  EXPECT_EQ(Parse("#jepsen.history.Op{:type :ok}"), Json::parse(R"({":type":":ok"})"));
}

TEST(EdnValueTest, MalformedInputIsAPositionedError) {
  EXPECT_NE(ParseError("\"abc").find("unterminated string"), std::string::npos);
  EXPECT_NE(ParseError("[1 2").find("expected ']'"), std::string::npos);
  EXPECT_NE(ParseError("{:a}").find("key without a value"), std::string::npos);
  EXPECT_NE(ParseError("[1 2)").find("does not close"), std::string::npos);
  EXPECT_NE(ParseError("]").find("unexpected"), std::string::npos);
  EXPECT_NE(ParseError("12x").find("malformed number"), std::string::npos);
  EXPECT_NE(ParseError("\"\\q\"").find("unknown escape"), std::string::npos);
  EXPECT_NE(ParseError("#!").find("unknown dispatch"), std::string::npos);
  EXPECT_NE(ParseError("[1] 2").find("after the value"), std::string::npos);
  EXPECT_NE(ParseError("\x01").find("\\x01"), std::string::npos);
}

TEST(EdnValueTest, DeepNestingIsRefusedNotACrash) {
  std::string deep(100000, '[');
  EXPECT_NE(ParseError(deep).find("nesting deeper than 1000"), std::string::npos);
  std::string ok = std::string(900, '[') + std::string(900, ']');
  EXPECT_TRUE(ParseEdnValue(ok).ok());
}

TEST(EdnValueTest, WriterRoundTrips) {
  for (const char* text : {"nil", "[1 -2 3.5 \"s\\\"q\" :kw true false]", "{:x [1 2], \"y z\" nil}",
                           "[[:read :x nil] [:write :y 2]]", "\"::not-a-kw\""}) {
    Json v = Parse(text);
    EXPECT_EQ(Parse(EdnOf(v)), v) << text << " -> " << EdnOf(v);
  }
}

History ReadEdn(const std::string& text) {
  auto reader = EdnReaderFromString(text, "test.edn");
  auto r = ReadAll(*reader);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : History{};
}

std::string EdnHistoryError(const std::string& text) {
  auto reader = EdnReaderFromString(text, "test.edn");
  auto r = ReadAll(*reader);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.status().message();
}

TEST(EdnHistoryTest, VectorListAndBareSequence) {
  const char* ops =
      "{:process 0, :type :invoke, :f :write, :value 1}\n"
      "{:process 0, :type :ok, :f :write, :value 1}";
  for (std::string text : {std::string("[") + ops + "]", std::string("(") + ops + ")",
                           std::string(ops), std::string("; header\n") + ops + "\n"}) {
    History h = ReadEdn(text);
    ASSERT_EQ(h.size(), 2u) << text;
    EXPECT_EQ(h[0].type, OpType::kInvoke);
    EXPECT_EQ(h[1].type, OpType::kOk);
    EXPECT_EQ(h[1].f, "write");
    EXPECT_EQ(h[1].value, Json(1));
    EXPECT_EQ(h[1].index, 1);
  }
  EXPECT_TRUE(ReadEdn("").empty());
  EXPECT_TRUE(ReadEdn("[]").empty());
}

TEST(EdnHistoryTest, FieldsAndTaggedOps) {
  History h = ReadEdn(
      "[#jepsen.history.Op{:index 7, :time 99, :type :info, :process :nemesis, :f :start,"
      " :value nil, :node \"n1\", :error [:timeout 5], :extra-field #{1}}]");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].index, 7);
  EXPECT_EQ(h[0].time_ns, 99);
  EXPECT_TRUE(h[0].process.is_nemesis());
  EXPECT_EQ(h[0].node, "n1");
  EXPECT_EQ(h[0].error, Json::parse(R"([":timeout",5])"));
  EXPECT_EQ(h[0].extra, Json::parse(R"({"extra-field":[1]})"));
}

TEST(EdnHistoryTest, MalformedHistoriesNameLineAndColumn) {
  std::string e = EdnHistoryError("[{:process 0, :type :invoke}\n {:process 0 :type :bogus}]");
  EXPECT_NE(e.find("test.edn:2:2"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown op type :bogus"), std::string::npos) << e;
  e = EdnHistoryError("[{:process 0, :type :invoke, :f \"unterminated}]");
  EXPECT_NE(e.find("test.edn:1:"), std::string::npos) << e;
  EXPECT_NE(e.find("unterminated string"), std::string::npos) << e;
  EXPECT_NE(EdnHistoryError("[{:process 0, :type :ok").find("expected '}'"), std::string::npos);
  EXPECT_NE(EdnHistoryError("[{:process 0, :type :ok}").find("expected ']' closing the history"),
            std::string::npos);
  EXPECT_NE(EdnHistoryError("[{:type :ok}]").find("no :process"), std::string::npos);
  EXPECT_NE(EdnHistoryError("[1 2]").find("expected an op map"), std::string::npos);
  // Found by edn_fuzz under UBSan: a float time beyond int64 must be an error.
  EXPECT_NE(EdnHistoryError("[{:process 0, :type :ok, :time 7.6e58}]").find("bad :time"),
            std::string::npos);
  EXPECT_NE(EdnHistoryError("[{:process 0, :type :ok}] junk").find("after the history"),
            std::string::npos);
}

// Through a real file, so the streaming window refills across element
// boundaries and the element size limit applies.
TEST(EdnHistoryTest, StreamsLargeFilesAndRefusesHugeElements) {
  auto dir = testing::TempDir();
  std::string path = (dir / "big.edn").string();
  {
    std::ofstream out(path);
    out << "[";
    for (int i = 0; i < 50000; ++i) {
      out << "{:process " << i % 7 << ", :type :invoke, :f :write, :value " << i << "}\n"
          << " {:process " << i % 7 << ", :type :ok, :f :write, :value " << i << "}\n";
    }
    out << "]";
  }
  auto h = ReadHistory(path);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_EQ(h->size(), 100000u);
  EXPECT_EQ((*h)[99999].value, Json(49999));

  std::string huge = (dir / "huge.edn").string();
  {
    std::ofstream out(huge);
    out << "[{:process 0, :type :invoke, :f :write, :value \"" << std::string(100 << 20, 'x')
        << "\"}]";
  }
  auto r = ReadHistory(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("longer than 16 MiB"), std::string::npos)
      << r.status().message();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chaos::history
