// Helpers shared by the generator tests: run a generator in the simulator and
// look at the resulting history.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "generator/generator.h"
#include "generator/simulate.h"
#include "history/validate.h"

namespace chaos::generator::test_util {

inline history::Op Op(const std::string& f, history::Json value = nullptr) {
  return Invoke(f, std::move(value));
}

// Repeat of a constant op.
inline GeneratorPtr Forever(const std::string& f, history::Json value = nullptr) {
  return Repeat([f, value](std::mt19937_64&) { return Invoke(f, value); }, 0);
}

// Simulates and checks that the result is a well-formed history.
inline history::History SimRun(Generator& gen, const SimOptions& options) {
  Result<history::History> h = Simulate(gen, options);
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  if (!h.ok()) return {};
  Result<history::HistoryStats> stats = history::Validate(*h, "simulated");
  EXPECT_TRUE(stats.ok()) << stats.status().ToString();
  return std::move(h).value();
}

inline std::vector<history::Op> Invocations(const history::History& h) {
  std::vector<history::Op> out;
  for (const history::Op& op : h) {
    if (op.is_invoke()) out.push_back(op);
  }
  return out;
}

inline int64_t Count(const history::History& h, history::OpType type, const std::string& f = "") {
  int64_t n = 0;
  for (const history::Op& op : h) n += op.type == type && (f.empty() || op.f == f);
  return n;
}

}  // namespace chaos::generator::test_util
