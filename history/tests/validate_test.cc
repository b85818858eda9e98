// Proves validation names the op and the problem for every shape error, and
// tolerates what real Jepsen histories contain (nemesis info pairs, time skew).
#include "history/validate.h"

#include <gtest/gtest.h>

namespace chaos::history {
namespace {

Op MakeOp(int64_t index, int64_t process, OpType type, int64_t time = kAbsent) {
  Op op;
  op.index = index;
  op.time_ns = time;
  op.process = Process::Number(process);
  op.type = type;
  op.f = "read";
  return op;
}

TEST(ValidateTest, WellFormedHistoryAndStats) {
  History h = {MakeOp(0, 0, OpType::kInvoke, 10), MakeOp(1, 1, OpType::kInvoke, 5),
               MakeOp(2, 0, OpType::kOk, 20), MakeOp(3, 1, OpType::kInfo, 30),
               MakeOp(4, 2, OpType::kInvoke, 40)};
  Op nemesis;
  nemesis.process = Process::Nemesis();
  nemesis.type = OpType::kInfo;
  nemesis.f = "start";
  h.push_back(nemesis);
  h.push_back(nemesis);
  auto s = Validate(h, "h");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->ops, 7);
  EXPECT_EQ(s->crashed.size(), 2u);  // 1 ended with info, 2 never completed
  EXPECT_EQ(s->time_backwards, 1);
  EXPECT_EQ(s->min_time_ns, 5);
  EXPECT_EQ(s->max_time_ns, 40);
  EXPECT_EQ(s->by_f_and_type["read"]["invoke"], 3);
}

TEST(ValidateTest, ShapeErrorsNameTheOp) {
  auto e1 = Validate({MakeOp(0, 0, OpType::kOk)}, "h");
  ASSERT_FALSE(e1.ok());
  EXPECT_EQ(e1.status().message(), "h op 0: process 0 completes (ok) with no open invocation");
  auto e2 = Validate({MakeOp(0, 0, OpType::kInvoke), MakeOp(1, 0, OpType::kInvoke)}, "h");
  ASSERT_FALSE(e2.ok());
  EXPECT_EQ(e2.status().message(), "h op 1: process 0 invokes while its op 0 is still open");
  auto e3 = Validate(
      {MakeOp(0, 0, OpType::kInvoke), MakeOp(1, 0, OpType::kInfo), MakeOp(2, 0, OpType::kInvoke)},
      "h");
  ASSERT_FALSE(e3.ok());
  EXPECT_NE(e3.status().message().find("after it crashed"), std::string::npos);
}

}  // namespace
}  // namespace chaos::history
