// Proves: the fast reader of plain op lines gives exactly the op (JSON types
// included) that nlohmann's parser and OpFromJson give, on plain lines, on
// lines it must leave to the general parser, and on seeded random mutations of
// both; and it takes the lines chaos itself writes.
#include "history/plain_jsonl.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "history/codec.h"

namespace chaos::history {
namespace {

// Equal values of equal JSON types, all the way down (nlohmann's == holds
// 1u equal to 1).
bool SameJson(const Json& a, const Json& b) {
  if (a.type() != b.type() || a.size() != b.size()) return false;
  if (a.is_array()) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (!SameJson(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    for (auto it = a.begin(), jt = b.begin(); it != a.end(); ++it, ++jt) {
      if (it.key() != jt.key() || !SameJson(it.value(), jt.value())) return false;
    }
    return true;
  }
  return a == b;
}

bool SameOp(const Op& a, const Op& b) {
  return a.index == b.index && a.time_ns == b.time_ns && a.process == b.process &&
         a.type == b.type && a.f == b.f && a.node == b.node && SameJson(a.value, b.value) &&
         SameJson(a.error, b.error) && SameJson(a.extra, b.extra);
}

// The op the general parser gives, or nullopt where it gives an error.
std::optional<Op> GeneralOp(const std::string& line) {
  Json j = Json::parse(line, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  auto op = OpFromJson(j, "x");
  if (!op.ok()) return std::nullopt;
  return *op;
}

// Where the fast reader takes `line`, the general parser agrees exactly.
// True when it took it.
bool ExpectAgrees(const std::string& line) {
  std::optional<Op> plain = internal::ParsePlainOpLine(line);
  if (!plain) return false;
  std::optional<Op> general = GeneralOp(line);
  EXPECT_TRUE(general.has_value()) << "taken, but the general parser refuses: " << line;
  if (!general) return true;
  EXPECT_TRUE(SameOp(*plain, *general))
      << line << "\nplain:   " << OpToJsonLine(*plain) << "\ngeneral: " << OpToJsonLine(*general);
  return true;
}

const std::vector<std::string> kPlain = {
    R"({"index":0,"time":498,"process":0,"type":"invoke","f":"read","value":[0,null]})",
    R"({"index":3,"time":535,"process":2,"type":"ok","f":"cas","value":[0,[3,4]]})",
    R"({"process":"nemesis","type":"info","f":"start","value":{"n1":["n2","n3"],"n1":true}})",
    R"( { "type" : "fail" , "process" : -7 , "f" : ":write" , "value" : [ -0 , false ] } )",
    R"({"process":1,"type":":ok","f":"read","value":"x","node":"n1","error":[":timeout",1]})",
    R"({"process":1,"type":"ok","f":"read","value":{},"node":7,"error":null,"time":-5})",
    R"({"process":1,"type":"ok","f":"read","value":[[[]],{}],"node":null})",
    "{\"process\":999999999999999999,\"type\":\"ok\",\"f\":\"\",\"value\":\"~\x7f\"}",
};

const std::vector<std::string> kGeneral = {
    R"({"process":1,"type":"ok","f":"read","value":1.5})",
    R"({"process":1,"type":"ok","f":"read","value":1e3})",
    R"({"process":1,"type":"ok","f":"read","value":9999999999999999999})",
    R"({"process":1,"type":"ok","f":"read","value":"a\"b"})",
    R"({"process":1,"type":"ok","f":"read","value":"é"})",
    R"({"process":1,"type":"ok","f":"read","value":01})",
    R"({"process":1,"type":"ok","f":"read","latency":3})",
    R"({"process":1,"type":"ok","f":"read",":value":3})",
    R"({"process":1,"type":"ok","type":"fail","f":"read"})",
    R"({"process":1,"type":"done","f":"read"})",
    R"({"process":1.0,"type":"ok"})",
    R"({"process":"","type":"ok"})",
    R"({"type":"ok"})",
    R"({})",
    R"([1,2])",
    R"({"process":1,"type":"ok"} x)",
    R"({"process":1,"type":"ok",})",
    R"({"process":1,"type":"ok","value":nul})",
    R"({"process":1,"type":"ok","value":[1,]})",
    R"({"process":1,"type":"ok","value":-})",
    R"({"process":1,"type":"ok","time":"5"})",
    "{\"process\":1,\"type\":\"ok\",\"value\":\"tab\there\"}",
    "\xef\xbb\xbf{\"process\":1,\"type\":\"ok\"}",
};

TEST(PlainJsonl, TakesPlainLinesAndAgreesWithTheGeneralParser) {
  for (const std::string& line : kPlain) EXPECT_TRUE(ExpectAgrees(line)) << line;
  for (const std::string& line : kGeneral) {
    EXPECT_FALSE(internal::ParsePlainOpLine(line).has_value()) << line;
  }
}

TEST(PlainJsonl, TakesWhatTheWriterWrites) {
  Op op;
  op.index = 12;
  op.time_ns = 123456789;
  op.process = Process::Number(3);
  op.type = OpType::kOk;
  op.f = "cas";
  op.value = Json::parse(R"([":k", [1, -2], null, true, {"a": [false]}])");
  op.node = "n2";
  op.error = ":timeout";
  const std::string line = OpToJsonLine(op);
  std::optional<Op> back = internal::ParsePlainOpLine(line);
  ASSERT_TRUE(back.has_value()) << line;
  EXPECT_TRUE(ExpectAgrees(line));
  EXPECT_EQ(*back, op);
}

// A random JSON value as text: integers of up to 20 digits, short strings,
// literals, arrays and objects.
std::string RandomValue(std::mt19937_64& rng, int depth) {
  switch (rng() % (depth < 3 ? 6 : 4)) {
    case 0: {
      std::string digits = rng() % 4 == 0 ? "-" : "";
      const size_t n = 1 + rng() % 20;
      for (size_t i = 0; i < n; ++i) digits += static_cast<char>('0' + rng() % 10);
      return digits;
    }
    case 1:
      return "\"" + std::string(rng() % 4, static_cast<char>('a' + rng() % 26)) + "\"";
    case 2:
      return rng() % 2 == 0 ? "null" : "true";
    case 3:
      return "false";
    case 4: {
      std::string out = "[";
      for (size_t i = 0, n = rng() % 4; i < n; ++i) {
        out += (i > 0 ? "," : "") + RandomValue(rng, depth + 1);
      }
      return out + "]";
    }
    default: {
      std::string out = "{";
      for (size_t i = 0, n = rng() % 4; i < n; ++i) {
        out += (i > 0 ? ",\"" : "\"") + std::string(1, static_cast<char>('a' + rng() % 3)) +
               "\":" + RandomValue(rng, depth + 1);
      }
      return out + "}";
    }
  }
}

// An op line of random fields (some optional, some repeated) and values.
std::string RandomLine(std::mt19937_64& rng) {
  static const char* kKeys[] = {"index", "time", "process", "type", "f",
                                "value", "node", "error",   "x",    ":f"};
  std::string line = R"({"process":)" + RandomValue(rng, 2) + R"(,"type":"ok")";
  for (size_t i = 0, n = rng() % 6; i < n; ++i) {
    line += ",\"" + std::string(kKeys[rng() % std::size(kKeys)]) + "\":" + RandomValue(rng, 0);
  }
  return line + "}";
}

// Random lines, and random bytes changed, dropped or doubled in them and in
// the lines above: the fast reader either leaves a line or agrees with the
// general parser.
TEST(PlainJsonl, RandomAndMutatedLinesAgreeWithTheGeneralParser) {
  const uint64_t seed = 22;
  std::mt19937_64 rng(seed);
  const std::string alphabet = "{}[]\":,-0123456789 .eEnulltruefalse\\ab:\t\x80";
  std::vector<std::string> lines = kPlain;
  lines.insert(lines.end(), kGeneral.begin(), kGeneral.end());
  int taken = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string line = round % 2 == 0 ? RandomLine(rng) : lines[rng() % lines.size()];
    const int edits = static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !line.empty(); ++e) {
      const size_t at = rng() % line.size();
      switch (rng() % 3) {
        case 0:
          line[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          line.erase(at, 1);
          break;
        default:
          line.insert(at, 1, line[at]);
      }
    }
    SCOPED_TRACE("seed " + std::to_string(seed) + " round " + std::to_string(round));
    taken += ExpectAgrees(line) ? 1 : 0;
  }
  // Enough mutants stay plain for the comparison to mean something.
  EXPECT_GT(taken, 1000);
}

}  // namespace
}  // namespace chaos::history
