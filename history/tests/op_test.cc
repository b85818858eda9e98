// Proves the Op vocabulary's small helpers: type names, keyword names, descriptions.
#include "history/op.h"

#include <gtest/gtest.h>

#include "history/codec.h"

namespace chaos::history {
namespace {

TEST(OpTest, TypeNamesRoundTrip) {
  for (OpType t : {OpType::kInvoke, OpType::kOk, OpType::kFail, OpType::kInfo}) {
    EXPECT_EQ(ParseOpType(OpTypeName(t)), t);
    EXPECT_EQ(ParseOpType(std::string(":") + OpTypeName(t)), t);
  }
  EXPECT_FALSE(ParseOpType("done").has_value());
  EXPECT_FALSE(ParseOpType("").has_value());
}

TEST(OpTest, NameOfStripsKeywordColon) {
  EXPECT_EQ(NameOf(Json(":read")), "read");
  EXPECT_EQ(NameOf(Json("read")), "read");
  EXPECT_EQ(NameOf(Json(":")), ":");
  EXPECT_EQ(NameOf(Json(3)), "");
  EXPECT_TRUE(IsKeyword(Json(":x")));
  EXPECT_FALSE(IsKeyword(Json("x")));
}

TEST(OpTest, DescribeIsCompact) {
  Op op;
  op.index = 12;
  op.process = Process::Number(3);
  op.type = OpType::kOk;
  op.f = "cas";
  op.value = Json::array({1, 2});
  EXPECT_EQ(Describe(op), "12 p3 ok cas [1 2]");
  op.process = Process::Nemesis();
  op.type = OpType::kInfo;
  op.f = "start";
  op.value = nullptr;
  op.error = ":timeout";
  EXPECT_EQ(Describe(op), "12 nemesis info start nil error=:timeout");
}

}  // namespace
}  // namespace chaos::history
