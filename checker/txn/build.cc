#include "checker/txn/build.h"

#include "history/codec.h"

namespace chaos::checker::txn {

using Json = nlohmann::json;

namespace {
std::string At(int64_t index) { return "op " + std::to_string(index) + ": "; }
}  // namespace

Result<int32_t> TransactionBuilder::KeyId(const Json& key, int64_t index) {
  const int32_t next = static_cast<int32_t>(out_.key_names.size());
  int32_t id = next;
  if (key.is_number_integer()) {
    id = int_keys_.try_emplace(key.get<int64_t>(), next).first->second;
  } else if (key.is_string() || key.is_number() || key.is_boolean()) {
    std::string name = key.is_string() ? "s" + std::string(history::NameOf(key)) : "j" + key.dump();
    id = other_keys_.try_emplace(std::move(name), next).first->second;
  } else {
    return InvalidArgument(At(index) + "a key must be a number or a string, not " +
                           history::EdnOf(key));
  }
  if (id == next) {
    out_.key_names.push_back(key);
    out_.key_kinds.push_back(KeyKind::kUnknown);
  }
  return id;
}

Status TransactionBuilder::SetKind(int32_t key, KeyKind kind, int64_t index) {
  KeyKind& k = out_.key_kinds[static_cast<size_t>(key)];
  if (k == KeyKind::kUnknown) k = kind;
  if (k == kind) return Status::Ok();
  return InvalidArgument(At(index) + "key " +
                         history::EdnOf(out_.key_names[static_cast<size_t>(key)]) +
                         " is used both as a list (append) and as a register (w)");
}

Status TransactionBuilder::ParseMops(const Json& value, bool completed_ok, int64_t index) {
  if (!value.is_array()) {
    return InvalidArgument(At(index) + "a txn's value must be a list of micro-ops, not " +
                           history::EdnOf(value));
  }
  for (const Json& m : value) {
    if (!m.is_array() || m.size() != 3) {
      return InvalidArgument(At(index) + "a micro-op must be [f k v], not " + history::EdnOf(m));
    }
    const std::string_view f = history::NameOf(m[0]);
    Mop mop;
    auto key = KeyId(m[1], index);
    if (!key.ok()) return key.status();
    mop.key = *key;
    const Json& v = m[2];
    if (f == "append" || f == "w") {
      mop.kind = f == "append" ? MopKind::kAppend : MopKind::kWrite;
      if (workload_ == (f == "append" ? Workload::kRwRegister : Workload::kListAppend)) {
        return InvalidArgument(At(index) + "micro-op " + history::EdnOf(m) +
                               " does not belong to this workload");
      }
      if (!v.is_number_integer()) {
        return InvalidArgument(At(index) + "the value of " + history::EdnOf(m) +
                               " must be an integer");
      }
      mop.value = v.get<int64_t>();
      mop.nil = false;
      Status s = SetKind(mop.key, f == "append" ? KeyKind::kList : KeyKind::kRegister, index);
      if (!s.ok()) return s;
    } else if (f == "r") {
      mop.kind = MopKind::kRead;
      // Only an ok completion's reads were observed.
      if (completed_ok && !v.is_null()) {
        if (v.is_array()) {
          if (workload_ == Workload::kRwRegister) {
            return InvalidArgument(At(index) + "a list read " + history::EdnOf(m) +
                                   " in an rw-register history");
          }
          Status s = SetKind(mop.key, KeyKind::kList, index);
          if (!s.ok()) return s;
          mop.nil = false;
          mop.list_begin = static_cast<uint32_t>(out_.elements.size());
          mop.list_len = static_cast<uint32_t>(v.size());
          for (const Json& e : v) {
            if (!e.is_number_integer()) {
              return InvalidArgument(At(index) + "list elements must be integers in " +
                                     history::EdnOf(m));
            }
            out_.elements.push_back(e.get<int64_t>());
          }
        } else if (v.is_number_integer()) {
          if (workload_ == Workload::kListAppend) {
            return InvalidArgument(At(index) + "a register read " + history::EdnOf(m) +
                                   " in a list-append history");
          }
          Status s = SetKind(mop.key, KeyKind::kRegister, index);
          if (!s.ok()) return s;
          mop.nil = false;
          mop.value = v.get<int64_t>();
        } else {
          return InvalidArgument(
              At(index) + "a read must return nil, a list or an integer: " + history::EdnOf(m));
        }
      }
    } else {
      return InvalidArgument(At(index) + "unknown micro-op " + history::EdnOf(m) +
                             " (append, r or w)");
    }
    out_.mops.push_back(mop);
  }
  return Status::Ok();
}

Status TransactionBuilder::Add(const history::Op& op) {
  if (!op.is_client()) return Status::Ok();
  if (history::NameOf(Json(op.f)) != "txn") {
    ++out_.stats.ignored_ops;
    return Status::Ok();
  }
  const int64_t process = op.process.id;
  if (op.is_invoke()) {
    if (open_.count(process) != 0) {
      return InvalidArgument(At(op.index) + "process " + std::to_string(process) +
                             " invokes while its previous txn is still open");
    }
    const int32_t id = static_cast<int32_t>(out_.txns.size());
    Txn t;
    t.invoke_index = op.index;
    t.process = process;
    out_.txns.push_back(t);
    out_.events.push_back(id + 1);
    open_.emplace(process, Open{id, op.value});
    ++out_.stats.txns;
    return Status::Ok();
  }
  auto it = open_.find(process);
  if (it == open_.end()) {
    return InvalidArgument(At(op.index) + "a completion of process " + std::to_string(process) +
                           " with no open invocation");
  }
  Txn& t = out_.txns[static_cast<size_t>(it->second.txn)];
  t.complete_index = op.index;
  t.status = op.is_ok() ? TxnStatus::kOk : op.is_fail() ? TxnStatus::kFail : TxnStatus::kInfo;
  t.mop_begin = static_cast<uint32_t>(out_.mops.size());
  const Json& value = op.is_ok() || !op.value.is_null() ? op.value : it->second.value;
  Status s = ParseMops(value, op.is_ok(), op.index);
  if (!s.ok()) return s;
  t.mop_count = static_cast<uint32_t>(out_.mops.size()) - t.mop_begin;
  out_.events.push_back(-(it->second.txn + 1));
  open_.erase(it);
  return Status::Ok();
}

Result<Transactions> TransactionBuilder::Finish() {
  for (auto& [process, open] : open_) {
    Txn& t = out_.txns[static_cast<size_t>(open.txn)];
    t.status = TxnStatus::kInfo;
    t.mop_begin = static_cast<uint32_t>(out_.mops.size());
    Status s = ParseMops(open.value, false, t.invoke_index);
    if (!s.ok()) return s;
    t.mop_count = static_cast<uint32_t>(out_.mops.size()) - t.mop_begin;
  }
  open_.clear();
  for (const Txn& t : out_.txns) {
    if (t.status == TxnStatus::kOk) ++out_.stats.committed;
    if (t.status == TxnStatus::kFail) ++out_.stats.aborted;
    if (t.status == TxnStatus::kInfo) ++out_.stats.indeterminate;
  }
  return std::move(out_);
}

}  // namespace chaos::checker::txn
