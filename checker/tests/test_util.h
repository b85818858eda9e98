// Helpers shared by the checker's tests: building histories in code and
// finding the Knossos corpus.
#pragma once

#include <cstdlib>
#include <fstream>
#include <functional>
#include <regex>
#include <string>

#include "checker/checker.h"
#include "history/op.h"

namespace chaos::checker::testing {

// The Knossos corpus in the repository: $CHAOS_SOURCE_DIR/tests/data/knossos
// (ctest sets CHAOS_SOURCE_DIR; without it, relative to the working directory).
// A missing corpus fails the corpus test, which opens EXPECTED.md.
inline std::string KnossosDir() {
  const char* src = std::getenv("CHAOS_SOURCE_DIR");
  return std::string(src != nullptr ? src : ".") + "/tests/data/knossos";
}

// The options a corpus file needs: its model (by folder) and initial value.
inline LinearizableOptions KnossosOptionsFor(const std::string& file) {
  LinearizableOptions o;
  o.time_limit_s = 120;
  o.memory_limit_bytes = 2LL << 30;
  o.shrink = false;
  if (file.rfind("multi-register/", 0) == 0) {
    o.model = "multi-register";
    o.initial = {{"x", 0}, {"y", 0}};
  } else if (file.rfind("mutex/", 0) == 0) {
    o.model = "mutex";
  } else {
    o.model = "cas-register";
    o.initial = 0;
  }
  return o;
}

// Calls `each(file, linearizable)` for every history EXPECTED.md lists;
// returns how many (-1 when EXPECTED.md cannot be read).
inline int ForEachKnossosHistory(
    const std::function<void(const std::string& file, bool linearizable)>& each) {
  std::ifstream expected(KnossosDir() + "/EXPECTED.md");
  if (!expected.good()) return -1;
  std::regex row(R"(^\| (\S+\.edn) \| (linearizable|not linearizable) \|$)");
  std::string line;
  int files = 0;
  while (std::getline(expected, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, row)) continue;
    ++files;
    each(m[1], m[2] == "linearizable");
  }
  return files;
}

inline history::Op MakeOp(int64_t process, history::OpType type, std::string f,
                          nlohmann::json value) {
  history::Op op;
  op.process = history::Process::Number(process);
  op.type = type;
  op.f = std::move(f);
  op.value = std::move(value);
  return op;
}

// Appends an op and gives it index = position.
inline void Add(history::History& h, int64_t process, history::OpType type, std::string f,
                nlohmann::json value) {
  history::Op op = MakeOp(process, type, std::move(f), std::move(value));
  op.index = static_cast<int64_t>(h.size());
  h.push_back(std::move(op));
}

}  // namespace chaos::checker::testing
