// Helpers for the transactional checker's tests: transactions written as EDN
// text ("[[:append :x 1] [:r :y [1 2]]]") added to a history.
#pragma once

#include <string>

#include "history/codec.h"
#include "history/op.h"

namespace chaos::checker::txn::testing {

inline nlohmann::json Edn(const std::string& text) {
  auto v = history::ParseEdnValue(text);
  if (!v.ok()) {
    std::fprintf(stderr, "bad EDN in a test: %s\n", text.c_str());
    std::abort();
  }
  return *v;
}

// The invocation's micro-ops: reads carry nil.
inline nlohmann::json Invocation(nlohmann::json mops) {
  for (auto& m : mops) {
    if (history::NameOf(m[0]) == "r") m[2] = nullptr;
  }
  return mops;
}

inline void Push(history::History& h, int64_t process, history::OpType type, nlohmann::json value) {
  history::Op op;
  op.index = static_cast<int64_t>(h.size());
  op.time_ns = op.index;
  op.process = history::Process::Number(process);
  op.type = type;
  op.f = "txn";
  op.value = std::move(value);
  h.push_back(std::move(op));
}

inline void Invoke(history::History& h, int64_t process, const std::string& mops) {
  Push(h, process, history::OpType::kInvoke, Invocation(Edn(mops)));
}
inline void Complete(history::History& h, int64_t process, history::OpType type,
                     const std::string& mops) {
  Push(h, process, type, Edn(mops));
}
// An invocation and its ok completion in turn.
inline void Ok(history::History& h, int64_t process, const std::string& mops) {
  Invoke(h, process, mops);
  Complete(h, process, history::OpType::kOk, mops);
}

}  // namespace chaos::checker::txn::testing
