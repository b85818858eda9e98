// Internal to checker/: how an invocation and its completion become a call of
// one key's search. CheckLinearizable (all at once) and the streaming check
// (checker/stream.cc, one op at a time) share it, so both split a history
// into the same keys and calls and name the same ops in errors.
#pragma once

#include <functional>
#include <string>

#include "checker/checker.h"
#include "checker/model.h"

namespace chaos::checker {

// The op index (Op::index, or the position when absent) at a position.
using OpIndex = std::function<int64_t(int64_t pos)>;

struct PairCall {
  Status status;       // InvalidArgument naming the op when the pair is unusable
  bool keep = false;   // false: dropped (a fail op, or a read whose outcome is unknown)
  nlohmann::json key;  // null when not keyed
  Call call;           // invoke_pos and complete_pos are the positions given
};

// `cop` null: never completed. `comp` is its position (-1 when none).
PairCall MakePairCall(const history::Op& iop, const history::Op* cop, int64_t inv, int64_t comp,
                      const OpIndex& index_of, const LinearizableOptions& options,
                      const Model& model, ValueTable& values);

// "op 12: process 3 invokes while its op 9 is still open" (open_pos given),
// or "op 12: completion by process 3 without an invocation".
std::string PairingError(const history::Op& op, int64_t index, const OpIndex& index_of,
                         const int64_t* open_pos);

// One search per key: keys that print alike as names (":x" and "x") are one.
std::string KeyId(const nlohmann::json& key);

}  // namespace chaos::checker
