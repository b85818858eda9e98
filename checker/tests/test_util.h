// Helpers shared by the checker's tests: building histories in code and
// finding the Knossos corpus.
#pragma once

#include <cstdlib>
#include <string>

#include "history/op.h"

namespace chaos::checker::testing {

// The Knossos corpus in the repository: $CHAOS_SOURCE_DIR/tests/data/knossos
// (ctest sets CHAOS_SOURCE_DIR; without it, relative to the working directory).
// A missing corpus fails the corpus test, which opens EXPECTED.md.
inline std::string KnossosDir() {
  const char* src = std::getenv("CHAOS_SOURCE_DIR");
  return std::string(src != nullptr ? src : ".") + "/tests/data/knossos";
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
