// Helpers shared by the checker's tests: building histories in code and
// finding the Knossos corpus.
#pragma once

#include <cstdlib>
#include <string>

#include "history/op.h"

namespace chaos::checker::testing {

// The Knossos corpus: $CHAOS_SOURCE_DIR/../shared/data/knossos, else /work/shared/data/knossos.
inline std::string KnossosDir() {
  const char* src = std::getenv("CHAOS_SOURCE_DIR");
  if (src != nullptr) {
    std::string dir = std::string(src) + "/../shared/data/knossos";
    if (std::FILE* f = std::fopen((dir + "/EXPECTED.md").c_str(), "r")) {
      std::fclose(f);
      return dir;
    }
  }
  return "/work/shared/data/knossos";
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
