// The transactional checker's internal form of a history: transactions of
// compact micro-ops over interned keys, read one op at a time (so a history
// streamed from a file is never held whole as JSON).
//
// Thread safety: one thread.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "checker/txn/txn.h"
#include "history/op.h"

namespace chaos::checker::txn {

enum class MopKind : uint8_t { kAppend, kRead, kWrite };
enum class TxnStatus : uint8_t { kPending, kOk, kFail, kInfo };
enum class KeyKind : uint8_t { kUnknown, kList, kRegister };

struct Mop {
  MopKind kind = MopKind::kRead;
  bool nil = true;  // a read of nil (list keys: the empty list)
  int32_t key = 0;
  int64_t value = 0;        // append/write value; a register read's value
  uint32_t list_begin = 0;  // a list read's elements in Transactions::elements
  uint32_t list_len = 0;
};

struct Txn {
  int64_t invoke_index = -1;    // the op indexes of invocation and completion
  int64_t complete_index = -1;  // -1 when never completed
  int64_t process = 0;
  TxnStatus status = TxnStatus::kPending;
  uint32_t mop_begin = 0;
  uint32_t mop_count = 0;
};

struct Transactions {
  std::vector<Txn> txns;
  std::vector<Mop> mops;
  std::vector<int64_t> elements;  // list reads' contents
  std::vector<nlohmann::json> key_names;
  std::vector<KeyKind> key_kinds;
  // Invocations (+id+1) and completions (-(id+1)) of txns in history order.
  std::vector<int32_t> events;
  TxnStats stats;

  const Mop& mop(const Txn& t, uint32_t i) const { return mops[t.mop_begin + i]; }
  const int64_t* list(const Mop& m) const { return elements.data() + m.list_begin; }
};

// Reads ops one by one into Transactions.
class TransactionBuilder {
 public:
  explicit TransactionBuilder(Workload workload) : workload_(workload) {}
  // `where` names the op in errors ("op 12").
  Status Add(const history::Op& op);
  // Txns never completed keep their invocation's micro-ops.
  Result<Transactions> Finish();

 private:
  Status ParseMops(const nlohmann::json& value, bool completed_ok, int64_t index);
  Result<int32_t> KeyId(const nlohmann::json& key, int64_t index);
  Status SetKind(int32_t key, KeyKind kind, int64_t index);

  struct Open {
    int32_t txn;
    nlohmann::json value;  // the invocation's micro-ops
  };
  Workload workload_;
  Transactions out_;
  std::map<int64_t, Open> open_;  // process -> open invocation
  std::unordered_map<int64_t, int32_t> int_keys_;
  std::unordered_map<std::string, int32_t> other_keys_;
};

}  // namespace chaos::checker::txn
