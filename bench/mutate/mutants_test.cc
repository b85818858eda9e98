// Tests of the mutant generator: sites are found where a person could slip,
// never inside comments or literals, listings round-trip, and a seed gives
// the same order everywhere.
#include "bench/mutate/mutants.h"

#include <gtest/gtest.h>

#include <set>

namespace chaos::mutate {
namespace {

const char* kSource =
    "// a < b in a comment\n"
    "int Core::Quorum(int n) {\n"
    "  const char* s = \"x < y\";\n"
    "  if (n > 2 && ok_) {\n"
    "    count_ = n / 2 + 1;\n"
    "  }\n"
    "  std::vector<int> v;\n"
    "  Send(from, to);\n"
    "  return std::max(n, 1);\n"
    "}\n";

std::set<std::string> Ops(const std::vector<Mutant>& ms) {
  std::set<std::string> ops;
  for (const auto& m : ms) ops.insert(m.op + " " + m.original + " -> " + m.replacement);
  return ops;
}

// Every operator of the list appears where it should, and nothing comes
// from the comment, the string literal or the template brackets.
TEST(MutantsTest, FindsSitesOutsideCommentsAndLiterals) {
  auto ms = FindMutants("core.cc", kSource);
  auto ops = Ops(ms);
  EXPECT_TRUE(ops.count("ror > -> >="));
  EXPECT_TRUE(ops.count("lcr && -> ||"));
  EXPECT_TRUE(ops.count("aor + -> -"));
  EXPECT_TRUE(ops.count("const+1 2 -> 3"));
  EXPECT_TRUE(ops.count("const-1 1 -> 0"));
  EXPECT_TRUE(ops.count("negate-if (n > 2 && ok_) -> (!(n > 2 && ok_))"));
  EXPECT_TRUE(ops.count("swap-args (from, to) -> (to, from)"));
  EXPECT_TRUE(ops.count("minmax std::max( -> std::min("));
  EXPECT_TRUE(ops.count("delete-statement count_ = n / 2 + 1; -> "));
  EXPECT_TRUE(ops.count("delete-statement Send(from, to); -> "));
  for (const auto& m : ms) {
    EXPECT_NE(m.line, 1) << "mutant in the comment: " << m.ToListing();
    EXPECT_NE(m.line, 3) << "mutant in the string literal: " << m.ToListing();
    EXPECT_NE(m.line, 7) << "mutant in a declaration or template: " << m.ToListing();
    EXPECT_EQ(m.function, "Core::Quorum") << m.ToListing();
  }
}

// Apply changes exactly the listed text and refuses a listing that does
// not match the file.
TEST(MutantsTest, ApplyChangesOnePlaceAndChecksTheOriginal) {
  auto ms = FindMutants("core.cc", kSource);
  for (const auto& m : ms) {
    std::string out;
    ASSERT_TRUE(Apply(m, kSource, &out)) << m.ToListing();
    EXPECT_NE(out, kSource) << m.ToListing();
    Mutant row;
    ASSERT_TRUE(Mutant::FromListing(m.ToListing(), &row)) << m.ToListing();
    EXPECT_EQ(row.ToListing(), m.ToListing());
  }
  Mutant wrong = ms.front();
  wrong.original = "nothing like this";
  std::string out;
  EXPECT_FALSE(Apply(wrong, kSource, &out));
}

// The same seed gives the same order; another seed another one.
TEST(MutantsTest, ShuffleIsReproducible) {
  auto a = FindMutants("core.cc", kSource);
  auto b = a, c = a;
  Shuffle(&a, 7);
  Shuffle(&b, 7);
  Shuffle(&c, 8);
  std::vector<std::string> la, lb, lc;
  for (size_t i = 0; i < a.size(); ++i) {
    la.push_back(a[i].ToListing());
    lb.push_back(b[i].ToListing());
    lc.push_back(c[i].ToListing());
  }
  EXPECT_EQ(la, lb);
  EXPECT_NE(la, lc);
}

}  // namespace
}  // namespace chaos::mutate
