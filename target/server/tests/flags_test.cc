#include <gtest/gtest.h>

#include "target/server/node.h"

namespace chaos::server {
namespace {

// Proves --peers accepts both forms and rejects duplicates, gaps and non-addresses.
TEST(Flags, ParsePeers) {
  auto plain = ParsePeers("a:1,b:2,c:3");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, (std::vector<std::string>{"a:1", "b:2", "c:3"}));
  auto ids = ParsePeers("2=c:3,0=a:1,1=b:2");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{"a:1", "b:2", "c:3"}));
  EXPECT_FALSE(ParsePeers("").ok());
  EXPECT_FALSE(ParsePeers("a:1,nocolon").ok());
  EXPECT_FALSE(ParsePeers("0=a:1,0=b:2").ok());
  EXPECT_FALSE(ParsePeers("0=a:1,5=b:2").ok());
  EXPECT_FALSE(ParsePeers("x=a:1").ok());
}

// Proves every documented --read-mode and --bug name is accepted and unknown ones are refused.
TEST(Flags, ReadModesAndBugs) {
  EXPECT_EQ(*ParseReadMode("log"), core::ReadMode::kLog);
  EXPECT_EQ(*ParseReadMode("read-index"), core::ReadMode::kReadIndex);
  EXPECT_EQ(*ParseReadMode("lease"), core::ReadMode::kLease);
  EXPECT_FALSE(ParseReadMode("fast").ok());
  core::Bugs bugs;
  for (const char* name : {"no-fsync", "promise-geq", "skip-phase1-on-retry", "forget-promise",
                           "majority-off-by-one", "count-duplicate-acks", "stale-lease-read"}) {
    EXPECT_TRUE(EnableBug(name, &bugs).ok()) << name;
  }
  EXPECT_TRUE(bugs.no_fsync && bugs.promise_geq && bugs.skip_phase1_on_retry &&
              bugs.forget_promise && bugs.majority_off_by_one && bugs.count_duplicate_acks &&
              bugs.stale_lease_read);
  EXPECT_FALSE(EnableBug("typo", &bugs).ok());
}

}  // namespace
}  // namespace chaos::server
