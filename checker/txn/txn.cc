#include "checker/txn/txn.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "checker/txn/build.h"
#include "checker/txn/graph.h"
#include "history/codec.h"

namespace chaos::checker::txn {

using Json = nlohmann::json;

namespace {

const std::vector<std::string> kAlwaysForbidden = {"duplicate-elements", "garbage-read",
                                                   "incompatible-order", "internal"};

struct KeyValue {
  int32_t key;
  int64_t value;
  bool operator==(const KeyValue&) const = default;
};
struct KeyValueHash {
  size_t operator()(const KeyValue& kv) const {
    uint64_t h = static_cast<uint64_t>(kv.value) * 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>(h ^ (static_cast<uint64_t>(kv.key) * 0xC2B2AE3D27D4EB4Full) ^
                               (h >> 29));
  }
};

// Who wrote a (key, value), where in its txn, and whether a later write of
// the same txn to the same key overwrote it.
struct Writer {
  int32_t txn = -1;
  uint32_t mop = 0;
  bool intermediate = false;
};

// A read that edges and explanations refer to.
struct ReadRef {
  int32_t txn;
  uint32_t mop;
};

class Analysis {
 public:
  Analysis(const Transactions& t, const TxnOptions& options) : t_(t), options_(options) {}
  TxnResult Run();

 private:
  bool Committed(int32_t txn) const {
    return txn >= 0 && t_.txns[static_cast<size_t>(txn)].status != TxnStatus::kFail;
  }
  const Writer* WriterOf(int32_t key, int64_t value) const {
    auto it = writers_.find({key, value});
    return it == writers_.end() ? nullptr : &it->second;
  }
  int32_t CommittedWriter(int32_t key, int64_t value) const {
    const Writer* w = WriterOf(key, value);
    return w != nullptr && Committed(w->txn) ? w->txn : -1;
  }
  Status IndexWriters();
  void CheckInternal();
  void CheckListReads();
  void ListEdges();
  void RegisterEdges();
  void OrderEdges();
  void FindCycles();
  void ClassifyComponent(const std::vector<int32_t>& nodes, Scope scope, uint8_t order);
  bool ReportCycle(const std::string& base, const std::vector<int64_t>& edges, bool exhaustive);
  void AddAnomaly(const std::string& type, Json anomaly);

  // Text.
  std::string Label(int32_t txn) const;
  std::string TxnText(int32_t txn) const;
  std::string MopText(const Mop& m) const;
  std::string KeyText(int32_t key) const {
    return history::EdnOf(t_.key_names[static_cast<size_t>(key)]);
  }
  std::string ListText(const Mop& m) const;
  std::string Why(const Edge& e, const std::map<int32_t, std::string>& names) const;

  const Transactions& t_;
  const TxnOptions& options_;
  TxnResult result_;
  std::unordered_map<KeyValue, Writer, KeyValueHash> writers_;
  std::vector<ReadRef> longest_;                 // per list key: the longest read
  std::vector<std::vector<ReadRef>> key_reads_;  // per key: ok reads (external for registers)
  std::vector<uint8_t> prefix_ok_;               // per list read in key_reads_ order: a prefix
  std::vector<Edge> edges_;
  std::unique_ptr<Graph> graph_;
  std::unique_ptr<Walker> walker_;
  std::vector<int32_t> sub_of_;  // components inside one component; -1 outside
  std::set<std::vector<int32_t>> cycles_seen_;
  std::map<std::string, int64_t> counts_;
  bool not_exhaustive_ = false;
  int64_t steps_ = 0;
  // Register keys: version v1 < v2 (v1 nil = kNil) from a txn that read v1 and then wrote v2.
  std::unordered_map<KeyValue, std::vector<int64_t>, KeyValueHash> successors_;
  std::unordered_map<KeyValue, ReadRef, KeyValueHash> successor_why_;  // (k, v2) -> the txn
  std::vector<std::vector<int64_t>> first_versions_;  // per register key: no non-nil predecessor
};

std::string Analysis::Label(int32_t txn) const {
  const Txn& t = t_.txns[static_cast<size_t>(txn)];
  return "op " + std::to_string(t.complete_index >= 0 ? t.complete_index : t.invoke_index);
}

std::string Analysis::ListText(const Mop& m) const {
  std::string out = "[";
  for (uint32_t i = 0; i < m.list_len; ++i) {
    if (i > 0) out += ' ';
    out += std::to_string(t_.list(m)[i]);
  }
  return out + "]";
}

std::string Analysis::MopText(const Mop& m) const {
  const std::string k = KeyText(m.key);
  switch (m.kind) {
    case MopKind::kAppend:
      return "[:append " + k + " " + std::to_string(m.value) + "]";
    case MopKind::kWrite:
      return "[:w " + k + " " + std::to_string(m.value) + "]";
    case MopKind::kRead:
      break;
  }
  if (m.nil) return "[:r " + k + " nil]";
  if (t_.key_kinds[static_cast<size_t>(m.key)] == KeyKind::kList) {
    return "[:r " + k + " " + ListText(m) + "]";
  }
  return "[:r " + k + " " + std::to_string(m.value) + "]";
}

std::string Analysis::TxnText(int32_t txn) const {
  const Txn& t = t_.txns[static_cast<size_t>(txn)];
  std::string out = "{:index " +
                    std::to_string(t.complete_index >= 0 ? t.complete_index : t.invoke_index) +
                    ", :process " + std::to_string(t.process) + ", :type " +
                    (t.status == TxnStatus::kOk     ? ":ok"
                     : t.status == TxnStatus::kFail ? ":fail"
                                                    : ":info") +
                    ", :value [";
  for (uint32_t i = 0; i < t.mop_count; ++i) {
    if (i > 0) out += ' ';
    out += MopText(t_.mop(t, i));
  }
  return out + "]}";
}

void Analysis::AddAnomaly(const std::string& type, Json anomaly) {
  int64_t& n = counts_[type];
  ++n;
  Json& list = result_.anomalies[type];
  if (list.is_null()) list = Json::array();
  if (static_cast<int64_t>(list.size()) < std::max(options_.cycles_reported_max, 1)) {
    list.push_back(std::move(anomaly));
  }
}

Status Analysis::IndexWriters() {
  writers_.reserve(t_.mops.size());
  for (size_t id = 0; id < t_.txns.size(); ++id) {
    const Txn& t = t_.txns[id];
    for (uint32_t i = 0; i < t.mop_count; ++i) {
      const Mop& m = t_.mop(t, i);
      if (m.kind == MopKind::kRead) continue;
      bool intermediate = false;
      for (uint32_t j = i + 1; j < t.mop_count; ++j) {
        const Mop& later = t_.mop(t, j);
        if (later.kind != MopKind::kRead && later.key == m.key) intermediate = true;
      }
      auto [it, inserted] =
          writers_.try_emplace({m.key, m.value}, Writer{static_cast<int32_t>(id), i, intermediate});
      if (!inserted) {
        return InvalidArgument("values written to a key must be unique: " + MopText(m) +
                               " appears in " + Label(it->second.txn) + " and " +
                               Label(static_cast<int32_t>(id)));
      }
    }
  }
  return Status::Ok();
}

// A read must agree with the txn's own earlier reads and writes of its key.
void Analysis::CheckInternal() {
  struct State {
    bool known = false;             // the whole value is known
    std::vector<int64_t> list;      // list keys: the known value
    std::vector<int64_t> appended;  // list keys: own appends since
    bool nil = true;                // register keys
    int64_t value = 0;
  };
  std::map<int32_t, State> state;
  for (size_t id = 0; id < t_.txns.size(); ++id) {
    const Txn& t = t_.txns[id];
    if (t.status != TxnStatus::kOk) continue;
    state.clear();
    for (uint32_t i = 0; i < t.mop_count; ++i) {
      const Mop& m = t_.mop(t, i);
      State& s = state[m.key];
      const bool is_list = t_.key_kinds[static_cast<size_t>(m.key)] == KeyKind::kList;
      if (m.kind == MopKind::kAppend) {
        s.appended.push_back(m.value);
        continue;
      }
      if (m.kind == MopKind::kWrite) {
        s.known = true;
        s.nil = false;
        s.value = m.value;
        continue;
      }
      bool ok = true;
      std::string expected;
      if (is_list) {
        const int64_t* r = t_.list(m);
        const size_t n = m.list_len;
        if (s.known) {
          std::vector<int64_t> want = s.list;
          want.insert(want.end(), s.appended.begin(), s.appended.end());
          ok = want.size() == n && std::equal(want.begin(), want.end(), r);
          expected = "[";
          for (size_t j = 0; j < want.size(); ++j) {
            expected += (j > 0 ? " " : "") + std::to_string(want[j]);
          }
          expected += "]";
        } else {
          const size_t a = s.appended.size();
          ok = n >= a && std::equal(s.appended.begin(), s.appended.end(), r + (n - a));
          expected = "a list ending with [";
          for (size_t j = 0; j < a; ++j) {
            expected += (j > 0 ? " " : "") + std::to_string(s.appended[j]);
          }
          expected += "]";
        }
        s.known = true;
        s.list.assign(r, r + n);
        s.appended.clear();
      } else {
        if (s.known) {
          ok = s.nil == m.nil && (m.nil || s.value == m.value);
          expected = s.nil ? "nil" : std::to_string(s.value);
        }
        s.known = true;
        s.nil = m.nil;
        s.value = m.value;
      }
      if (ok) continue;
      const int32_t txn = static_cast<int32_t>(id);
      AddAnomaly(
          "internal",
          {{"op", TxnText(txn)},
           {"mop", MopText(m)},
           {"expected", expected},
           {"explanation", Label(txn) + " read " + MopText(m) + " but its own earlier " +
                               "reads and writes of key " + KeyText(m.key) + " say " + expected}});
    }
  }
}

// Reads of list keys: duplicates, garbage, aborted and intermediate reads, and
// the version order (the longest read, which every other read must prefix).
void Analysis::CheckListReads() {
  const size_t keys = t_.key_names.size();
  longest_.assign(keys, ReadRef{-1, 0});
  key_reads_.assign(keys, {});
  std::vector<int64_t> sorted;
  for (size_t id = 0; id < t_.txns.size(); ++id) {
    const Txn& t = t_.txns[id];
    const int32_t txn = static_cast<int32_t>(id);
    if (t.status != TxnStatus::kOk) continue;
    for (uint32_t i = 0; i < t.mop_count; ++i) {
      const Mop& m = t_.mop(t, i);
      if (m.kind != MopKind::kRead || t_.key_kinds[static_cast<size_t>(m.key)] != KeyKind::kList) {
        continue;
      }
      key_reads_[static_cast<size_t>(m.key)].push_back({txn, i});
      ReadRef& longest = longest_[static_cast<size_t>(m.key)];
      if (longest.txn < 0 ||
          t_.mop(t_.txns[static_cast<size_t>(longest.txn)], longest.mop).list_len < m.list_len) {
        longest = {txn, i};
      }
      const int64_t* r = t_.list(m);
      sorted.assign(r, r + m.list_len);
      std::sort(sorted.begin(), sorted.end());
      auto dup = std::adjacent_find(sorted.begin(), sorted.end());
      if (dup != sorted.end()) {
        AddAnomaly(
            "duplicate-elements",
            {{"op", TxnText(txn)},
             {"mop", MopText(m)},
             {"element", *dup},
             {"explanation", Label(txn) + " read key " + KeyText(m.key) + " = " + ListText(m) +
                                 ", which holds " + std::to_string(*dup) + " more than once"}});
      }
      for (uint32_t j = 0; j < m.list_len; ++j) {
        const Writer* w = WriterOf(m.key, r[j]);
        if (w == nullptr) {
          AddAnomaly("garbage-read",
                     {{"op", TxnText(txn)},
                      {"mop", MopText(m)},
                      {"element", r[j]},
                      {"explanation", Label(txn) + " read " + std::to_string(r[j]) + " in key " +
                                          KeyText(m.key) + ", which no transaction appended"}});
        } else if (!Committed(w->txn)) {
          AddAnomaly("G1a", {{"op", TxnText(txn)},
                             {"mop", MopText(m)},
                             {"element", r[j]},
                             {"writer", TxnText(w->txn)},
                             {"explanation", Label(txn) + " read key " + KeyText(m.key) + " = " +
                                                 ListText(m) + ", with " + std::to_string(r[j]) +
                                                 ", appended by " + Label(w->txn) +
                                                 ", which aborted (an aborted read)"}});
        }
      }
      if (m.list_len > 0) {
        const Writer* w = WriterOf(m.key, r[m.list_len - 1]);
        if (w != nullptr && w->txn != txn && w->intermediate && Committed(w->txn)) {
          AddAnomaly("G1b", {{"op", TxnText(txn)},
                             {"mop", MopText(m)},
                             {"writer", TxnText(w->txn)},
                             {"explanation",
                              Label(txn) + " read key " + KeyText(m.key) + " = " + ListText(m) +
                                  ", ending with " + std::to_string(r[m.list_len - 1]) + ", but " +
                                  Label(w->txn) + " appended to that key again afterwards (an " +
                                  "intermediate read)"}});
        }
      }
    }
  }
  for (size_t k = 0; k < keys; ++k) {
    if (longest_[k].txn < 0) continue;
    const Mop& lm = t_.mop(t_.txns[static_cast<size_t>(longest_[k].txn)], longest_[k].mop);
    const int64_t* l = t_.list(lm);
    for (const ReadRef& ref : key_reads_[k]) {
      const Mop& m = t_.mop(t_.txns[static_cast<size_t>(ref.txn)], ref.mop);
      const bool prefix = std::equal(t_.list(m), t_.list(m) + m.list_len, l);
      prefix_ok_.push_back(prefix ? 1 : 0);
      if (prefix) continue;
      AddAnomaly(
          "incompatible-order",
          {{"key", t_.key_names[k]},
           {"ops", {TxnText(ref.txn), TxnText(longest_[k].txn)}},
           {"explanation", Label(ref.txn) + " read key " + KeyText(static_cast<int32_t>(k)) +
                               " = " + ListText(m) + " and " + Label(longest_[k].txn) + " read " +
                               ListText(lm) + ": neither is a prefix of the other"}});
    }
  }
}

void Analysis::ListEdges() {
  size_t read_no = 0;
  for (size_t k = 0; k < key_reads_.size(); ++k) {
    if (longest_.empty() || longest_[k].txn < 0) continue;
    const int32_t key = static_cast<int32_t>(k);
    const Mop& lm = t_.mop(t_.txns[static_cast<size_t>(longest_[k].txn)], longest_[k].mop);
    const int64_t* l = t_.list(lm);
    for (uint32_t i = 0; i + 1 < lm.list_len; ++i) {
      const int32_t a = CommittedWriter(key, l[i]), b = CommittedWriter(key, l[i + 1]);
      if (a >= 0 && b >= 0) edges_.push_back({a, b, key, kWw});
    }
    for (const ReadRef& ref : key_reads_[k]) {
      const bool prefix = prefix_ok_[read_no++] != 0;
      const Mop& m = t_.mop(t_.txns[static_cast<size_t>(ref.txn)], ref.mop);
      const int64_t* r = t_.list(m);
      for (uint32_t j = m.list_len; j-- > 0;) {
        const Writer* w = WriterOf(key, r[j]);
        if (w != nullptr && w->txn == ref.txn) continue;
        if (w != nullptr && Committed(w->txn)) edges_.push_back({w->txn, ref.txn, key, kWr});
        break;
      }
      if (prefix && m.list_len < lm.list_len) {
        const int32_t next = CommittedWriter(key, l[m.list_len]);
        if (next >= 0) edges_.push_back({ref.txn, next, key, kRw});
      }
    }
  }
}

constexpr int64_t kNil = INT64_MIN;

// Register keys: nil precedes every version; a txn that read v1 and then wrote
// v2 orders v1 < v2 (and its later writes after its earlier ones).
void Analysis::RegisterEdges() {
  const size_t keys = t_.key_names.size();
  key_reads_.resize(keys);
  first_versions_.assign(keys, {});
  std::unordered_set<KeyValue, KeyValueHash> has_predecessor;
  std::map<int32_t, std::pair<bool, int64_t>> last;  // key -> (seen, version) in this txn
  for (size_t id = 0; id < t_.txns.size(); ++id) {
    const Txn& t = t_.txns[id];
    const int32_t txn = static_cast<int32_t>(id);
    last.clear();
    for (uint32_t i = 0; i < t.mop_count; ++i) {
      const Mop& m = t_.mop(t, i);
      if (t_.key_kinds[static_cast<size_t>(m.key)] != KeyKind::kRegister) continue;
      auto it = last.find(m.key);
      if (m.kind == MopKind::kRead) {
        if (t.status != TxnStatus::kOk) continue;
        if (it == last.end()) {  // an external read
          key_reads_[static_cast<size_t>(m.key)].push_back({txn, i});
          last[m.key] = {true, m.nil ? kNil : m.value};
          if (!m.nil) {
            const Writer* w = WriterOf(m.key, m.value);
            if (w == nullptr) {
              AddAnomaly(
                  "garbage-read",
                  {{"op", TxnText(txn)},
                   {"mop", MopText(m)},
                   {"explanation", Label(txn) + " read key " + KeyText(m.key) + " = " +
                                       std::to_string(m.value) + ", which no transaction wrote"}});
            } else if (!Committed(w->txn)) {
              AddAnomaly("G1a", {{"op", TxnText(txn)},
                                 {"mop", MopText(m)},
                                 {"writer", TxnText(w->txn)},
                                 {"explanation", Label(txn) + " read key " + KeyText(m.key) +
                                                     " = " + std::to_string(m.value) +
                                                     ", written by " + Label(w->txn) +
                                                     ", which aborted (an aborted read)"}});
            } else if (w->txn != txn && w->intermediate) {
              AddAnomaly("G1b",
                         {{"op", TxnText(txn)},
                          {"mop", MopText(m)},
                          {"writer", TxnText(w->txn)},
                          {"explanation", Label(txn) + " read key " + KeyText(m.key) + " = " +
                                              std::to_string(m.value) + ", but " + Label(w->txn) +
                                              " wrote that key again afterwards (an "
                                              "intermediate read)"}});
            } else if (w->txn != txn) {
              edges_.push_back({w->txn, txn, m.key, kWr});
            }
          }
        }
        continue;
      }
      if (t.status == TxnStatus::kFail) continue;
      if (it != last.end() && it->second.first) {
        const int64_t before = it->second.second;
        successors_[{m.key, before}].push_back(m.value);
        successor_why_[{m.key, m.value}] = {txn, i};
        if (before != kNil) has_predecessor.insert({m.key, m.value});
      }
      last[m.key] = {true, m.value};
    }
  }
  for (const auto& [kv, w] : writers_) {
    if (t_.key_kinds[static_cast<size_t>(kv.key)] != KeyKind::kRegister || !Committed(w.txn)) {
      continue;
    }
    if (has_predecessor.count(kv) == 0)
      first_versions_[static_cast<size_t>(kv.key)].push_back(kv.value);
    auto s = successors_.find(kv);
    if (s == successors_.end()) continue;
    for (int64_t next : s->second) {
      const int32_t b = CommittedWriter(kv.key, next);
      if (b >= 0) edges_.push_back({w.txn, b, kv.key, kWw});
    }
  }
  for (auto& firsts : first_versions_) std::sort(firsts.begin(), firsts.end());
  for (size_t k = 0; k < keys; ++k) {
    if (t_.key_kinds[k] != KeyKind::kRegister) continue;
    const int32_t key = static_cast<int32_t>(k);
    for (const ReadRef& ref : key_reads_[k]) {
      const Mop& m = t_.mop(t_.txns[static_cast<size_t>(ref.txn)], ref.mop);
      if (m.nil) {
        for (int64_t v : first_versions_[k]) {
          const int32_t b = CommittedWriter(key, v);
          if (b >= 0 && b != ref.txn) edges_.push_back({ref.txn, b, key, kRw});
        }
        continue;
      }
      auto s = successors_.find({key, m.value});
      if (s == successors_.end()) continue;
      for (int64_t next : s->second) {
        const int32_t b = CommittedWriter(key, next);
        if (b >= 0 && b != ref.txn) edges_.push_back({ref.txn, b, key, kRw});
      }
    }
  }
}

// The process order (each process's txns in turn) and the real-time order:
// a frontier holds the completed txns no later completed txn follows; a txn
// invoked now follows each of them, and once it completes it replaces them.
void Analysis::OrderEdges() {
  const Consistency c = options_.consistency;
  const bool process =
      c == Consistency::kStrongSessionSerializable || c == Consistency::kStrictSerializable;
  const bool realtime = c == Consistency::kStrictSerializable;
  if (process) {
    std::unordered_map<int64_t, int32_t> last;
    for (size_t id = 0; id < t_.txns.size(); ++id) {
      const Txn& t = t_.txns[id];
      if (t.status == TxnStatus::kFail) continue;
      auto [it, inserted] = last.try_emplace(t.process, static_cast<int32_t>(id));
      if (!inserted) {
        edges_.push_back({it->second, static_cast<int32_t>(id), -1, kProcess});
        it->second = static_cast<int32_t>(id);
      }
    }
  }
  if (!realtime) return;
  std::vector<int32_t> frontier;
  std::unordered_map<int32_t, std::vector<int32_t>> before;  // open txn -> frontier at invoke
  for (int32_t event : t_.events) {
    if (event > 0) {
      before[event - 1] = frontier;
      continue;
    }
    const int32_t id = -event - 1;
    auto it = before.find(id);
    const TxnStatus status = t_.txns[static_cast<size_t>(id)].status;
    if (status != TxnStatus::kFail) {
      for (int32_t p : it->second) edges_.push_back({p, id, -1, kRealtime});
    }
    if (status == TxnStatus::kOk) {
      std::erase_if(frontier, [&](int32_t f) {
        return std::find(it->second.begin(), it->second.end(), f) != it->second.end();
      });
      frontier.push_back(id);
    }
    before.erase(it);
  }
  for (const auto& [id, preds] : before) {  // never completed: may have happened after
    for (int32_t p : preds) edges_.push_back({p, id, -1, kRealtime});
  }
}

std::string Analysis::Why(const Edge& e, const std::map<int32_t, std::string>& names) const {
  const std::string& a = names.at(e.from);
  const std::string& b = names.at(e.to);
  const Txn& ta = t_.txns[static_cast<size_t>(e.from)];
  const Txn& tb = t_.txns[static_cast<size_t>(e.to)];
  if (e.type == kProcess) {
    return "process " + std::to_string(ta.process) + " ran " + a + " before " + b;
  }
  if (e.type == kRealtime) {
    return a + " completed (op " + std::to_string(ta.complete_index) + ") before " + b +
           " was invoked (op " + std::to_string(tb.invoke_index) + ")";
  }
  const std::string k = KeyText(e.key);
  const bool is_list = t_.key_kinds[static_cast<size_t>(e.key)] == KeyKind::kList;
  auto find_mop = [&](const Txn& t, auto pred) -> const Mop* {
    for (uint32_t i = 0; i < t.mop_count; ++i) {
      const Mop& m = t_.mop(t, i);
      if (m.key == e.key && pred(m)) return &m;
    }
    return nullptr;
  };
  if (is_list) {
    const ReadRef& lr = longest_[static_cast<size_t>(e.key)];
    const Mop& lm = t_.mop(t_.txns[static_cast<size_t>(lr.txn)], lr.mop);
    const int64_t* l = t_.list(lm);
    if (e.type == kWw) {
      for (uint32_t i = 0; i + 1 < lm.list_len; ++i) {
        if (CommittedWriter(e.key, l[i]) == e.from && CommittedWriter(e.key, l[i + 1]) == e.to) {
          return b + " appended " + std::to_string(l[i + 1]) + " to key " + k + " right after " +
                 a + " appended " + std::to_string(l[i]);
        }
      }
    }
    if (e.type == kWr) {
      for (uint32_t i = 0; i < tb.mop_count; ++i) {
        const Mop& m = t_.mop(tb, i);
        if (m.key != e.key || m.kind != MopKind::kRead) continue;
        for (uint32_t j = m.list_len; j-- > 0;) {
          if (CommittedWriter(e.key, t_.list(m)[j]) == e.from) {
            return b + " read key " + k + " = " + ListText(m) + ", which holds " +
                   std::to_string(t_.list(m)[j]) + ", appended by " + a;
          }
        }
      }
    }
    if (e.type == kRw) {
      const Mop* m = find_mop(ta, [&](const Mop& x) {
        return x.kind == MopKind::kRead && x.list_len < lm.list_len &&
               CommittedWriter(e.key, l[x.list_len]) == e.to;
      });
      if (m != nullptr) {
        return a + " read key " + k + " = " + ListText(*m) + ", which did not yet hold " +
               std::to_string(l[m->list_len]) + ", the next element, appended by " + b;
      }
    }
    return a + " precedes " + b + " on key " + k;
  }
  if (e.type == kWr) {
    const Mop* m = find_mop(tb, [](const Mop& x) { return x.kind == MopKind::kRead; });
    return b + " read key " + k + " = " + (m != nullptr ? std::to_string(m->value) : "?") +
           ", written by " + a;
  }
  const Mop* w = find_mop(tb, [](const Mop& x) { return x.kind == MopKind::kWrite; });
  if (e.type == kWw && w != nullptr) {
    return b + " read key " + k + " as written by " + a + " and then wrote " +
           std::to_string(w->value);
  }
  const Mop* r = find_mop(ta, [](const Mop& x) { return x.kind == MopKind::kRead; });
  return a + " read key " + k + " = " +
         (r == nullptr ? std::string("?")
          : r->nil     ? "nil"
                       : std::to_string(r->value)) +
         ", a version that " + b + "'s write" +
         (w != nullptr ? " of " + std::to_string(w->value) : "") + " came after";
}

bool Analysis::ReportCycle(const std::string& base, const std::vector<int64_t>& path,
                           bool exhaustive) {
  std::vector<int32_t> nodes;
  uint8_t types = 0;
  for (int64_t id : path) {
    nodes.push_back(graph_->edge(id).from);
    types |= graph_->edge(id).type;
  }
  std::vector<int32_t> key = nodes;
  std::sort(key.begin(), key.end());
  if (!cycles_seen_.insert(key).second) return false;
  const std::string name = base + ((types & kRealtime) != 0  ? "-realtime"
                                   : (types & kProcess) != 0 ? "-process"
                                                             : "");
  std::map<int32_t, std::string> names;
  Json cycle = Json::array();
  for (size_t i = 0; i < nodes.size(); ++i) {
    names[nodes[i]] = "T" + std::to_string(i + 1);
    cycle.push_back({{"name", names[nodes[i]]}, {"op", TxnText(nodes[i])}});
  }
  Json steps = Json::array();
  std::string drawn = names[nodes[0]];
  std::string text;
  for (int64_t id : path) {
    const Edge& e = graph_->edge(id);
    std::string why = Why(e, names);
    steps.push_back({{"from", names[e.from]},
                     {"to", names[e.to]},
                     {"type", EdgeTypeName(e.type)},
                     {"key", e.key >= 0 ? t_.key_names[static_cast<size_t>(e.key)] : Json()},
                     {"why", why}});
    drawn += std::string(" -") + EdgeTypeName(e.type) + "-> " + names[e.to];
    text += names[e.from] + " < " + names[e.to] + " because " + why + " (" + EdgeTypeName(e.type) +
            "). ";
  }
  std::string chain;
  for (const int32_t n : nodes) chain += names[n] + " < ";
  text += "So " + chain + names[nodes[0]] + ": a contradiction.";
  Json anomaly = {{"cycle", std::move(cycle)},
                  {"steps", std::move(steps)},
                  {"drawn", drawn},
                  {"explanation", text}};
  if (!exhaustive) anomaly["exhaustive"] = false;
  AddAnomaly(name, std::move(anomaly));
  return true;
}

// The weakest cycle class in one component: G0, then G1c, then G-single, then
// G2-item. Each step's search finds a cycle only if the earlier ones found
// none, so the cycle found has exactly the class named.
void Analysis::ClassifyComponent(const std::vector<int32_t>& nodes, Scope scope, uint8_t order) {
  std::vector<int32_t>& sub_of = sub_of_;
  auto shortest_cycle = [&](uint8_t mask) -> std::optional<std::vector<int64_t>> {
    auto subs = walker_->Components(nodes, mask, scope, &sub_of);
    std::optional<std::vector<int64_t>> best;
    if (!subs.empty()) {
      const Scope inner{&sub_of, 0};
      int64_t unlimited = 0;
      const size_t tries = std::min<size_t>(subs[0].size(), 16);
      for (size_t i = 0; i < tries; ++i) {
        auto c = walker_->ShortestPath(subs[0][i], subs[0][i], mask, inner, &unlimited, INT64_MAX);
        if (c && (!best || c->size() < best->size())) best = std::move(c);
      }
    }
    for (const auto& s : subs) {
      for (int32_t n : s) sub_of[static_cast<size_t>(n)] = -1;
    }
    return best;
  };
  if (auto c = shortest_cycle(kWw | order)) {
    ReportCycle("G0", *c, true);
    return;
  }
  if (auto c = shortest_cycle(kWw | kWr | order)) {
    ReportCycle("G1c", *c, true);
    return;
  }
  bool exhaustive = true;
  std::optional<std::vector<int64_t>> single;
  for (int32_t u : nodes) {
    for (int64_t id = graph_->begin(u); id < graph_->end(u) && exhaustive; ++id) {
      const Edge& e = graph_->edge(id);
      if (e.type != kRw || !scope.Has(e.to)) continue;
      auto path = walker_->ShortestPath(e.to, u, kWw | kWr | order, scope, &steps_,
                                        options_.search_steps_max);
      if (steps_ >= options_.search_steps_max) exhaustive = false;
      if (path && (!single || path->size() + 1 < single->size())) {
        single = std::vector<int64_t>{id};
        single->insert(single->end(), path->begin(), path->end());
      }
      if (single && single->size() <= 2) break;
    }
    if (!exhaustive || (single && single->size() <= 2)) break;
  }
  if (single) {
    ReportCycle("G-single", *single, true);
    return;
  }
  if (!exhaustive) not_exhaustive_ = true;
  if (auto c = shortest_cycle(kDataEdges | order)) ReportCycle("G2-item", *c, exhaustive);
}

void Analysis::FindCycles() {
  const Consistency c = options_.consistency;
  const uint8_t order = c == Consistency::kStrictSerializable          ? (kProcess | kRealtime)
                        : c == Consistency::kStrongSessionSerializable ? kProcess
                                                                       : 0;
  std::vector<int32_t> component_of(static_cast<size_t>(graph_->nodes()), -1);
  auto data = walker_->Components(kDataEdges, &component_of);
  result_.stats.components += static_cast<int64_t>(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    ClassifyComponent(data[i], Scope{&component_of, static_cast<int32_t>(i)}, 0);
  }
  if (order == 0) return;
  // With the orders added: only components that hold no data cycle, so every
  // cycle found needs an order edge.
  std::vector<uint8_t> in_data_cycle(static_cast<size_t>(graph_->nodes()), 0);
  for (const auto& comp : data) {
    for (int32_t n : comp) in_data_cycle[static_cast<size_t>(n)] = 1;
  }
  std::vector<int32_t> ordered_of(static_cast<size_t>(graph_->nodes()), -1);
  auto ordered = walker_->Components(kDataEdges | order, &ordered_of);
  for (size_t i = 0; i < ordered.size(); ++i) {
    bool skip = false;
    for (int32_t n : ordered[i]) skip = skip || in_data_cycle[static_cast<size_t>(n)] != 0;
    if (skip) continue;
    ++result_.stats.components;
    ClassifyComponent(ordered[i], Scope{&ordered_of, static_cast<int32_t>(i)}, order);
  }
}

TxnResult Analysis::Run() {
  result_.consistency = options_.consistency;
  result_.stats = t_.stats;
  Status s = IndexWriters();
  if (!s.ok()) {
    result_.input_error = true;
    result_.cause = s.message();
    return std::move(result_);
  }
  CheckInternal();
  CheckListReads();
  ListEdges();
  RegisterEdges();
  OrderEdges();
  graph_ = std::make_unique<Graph>(static_cast<int32_t>(t_.txns.size()), std::move(edges_));
  result_.stats.edges = graph_->edges();
  walker_ = std::make_unique<Walker>(*graph_);
  sub_of_.assign(static_cast<size_t>(graph_->nodes()), -1);
  FindCycles();
  result_.stats.search_steps = steps_;
  for (const auto& [type, n] : counts_) {
    result_.anomaly_types.push_back(type);
    result_.anomalies[type + "-count"] = n;
  }
  const std::vector<std::string> forbidden = ForbiddenAnomalies(options_.consistency);
  for (const std::string& type : result_.anomaly_types) {
    if (std::find(forbidden.begin(), forbidden.end(), type) != forbidden.end()) {
      result_.forbidden.push_back(type);
    }
  }
  const bool single_forbidden =
      std::find(forbidden.begin(), forbidden.end(), "G-single") != forbidden.end();
  const bool g2_forbidden =
      std::find(forbidden.begin(), forbidden.end(), "G2-item") != forbidden.end();
  if (!result_.forbidden.empty()) {
    result_.verdict = Verdict::kInvalid;
  } else if (not_exhaustive_ && single_forbidden && !g2_forbidden) {
    result_.verdict = Verdict::kUnknown;
    result_.cause =
        "search-steps: the G-single search stopped after " + std::to_string(steps_) + " steps";
  } else {
    result_.verdict = Verdict::kValid;
  }
  return std::move(result_);
}

}  // namespace

bool ParseConsistency(const std::string& name, Consistency* out) {
  static const std::map<std::string, Consistency> kNames = {
      {"read-committed", Consistency::kReadCommitted},
      {"snapshot-isolation", Consistency::kSnapshotIsolation},
      {"serializable", Consistency::kSerializable},
      {"strong-session-serializable", Consistency::kStrongSessionSerializable},
      {"strict-serializable", Consistency::kStrictSerializable}};
  auto it = kNames.find(name);
  if (it == kNames.end()) return false;
  *out = it->second;
  return true;
}

const char* ConsistencyName(Consistency c) {
  switch (c) {
    case Consistency::kReadCommitted:
      return "read-committed";
    case Consistency::kSnapshotIsolation:
      return "snapshot-isolation";
    case Consistency::kSerializable:
      return "serializable";
    case Consistency::kStrongSessionSerializable:
      return "strong-session-serializable";
    case Consistency::kStrictSerializable:
      return "strict-serializable";
  }
  return "?";
}

const std::vector<std::string>& ConsistencyNames() {
  static const std::vector<std::string> kNames = {"read-committed", "snapshot-isolation",
                                                  "serializable", "strong-session-serializable",
                                                  "strict-serializable"};
  return kNames;
}

std::vector<std::string> ForbiddenAnomalies(Consistency c) {
  std::vector<std::string> out = kAlwaysForbidden;
  for (const char* a : {"G0", "G1a", "G1b", "G1c"}) out.push_back(a);
  if (c != Consistency::kReadCommitted) out.push_back("G-single");
  if (c == Consistency::kReadCommitted || c == Consistency::kSnapshotIsolation) return out;
  out.push_back("G2-item");
  std::vector<std::string> suffixes = {"-process"};
  if (c == Consistency::kStrictSerializable) suffixes.push_back("-realtime");
  if (c != Consistency::kSerializable) {
    for (const std::string& s : suffixes) {
      for (const char* a : {"G0", "G1c", "G-single", "G2-item"}) out.push_back(a + s);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

// Feeds ops from `next` (which yields nullopt at the end) and checks them.
template <typename NextOp>
TxnResult CheckOps(NextOp next, const TxnOptions& options) {
  auto start = std::chrono::steady_clock::now();
  auto input_error = [&](const Status& s) {
    TxnResult r;
    r.consistency = options.consistency;
    r.input_error = true;
    r.cause = s.message();
    return r;
  };
  TransactionBuilder builder(options.workload);
  while (true) {
    Result<std::optional<history::Op>> op = next();
    if (!op.ok()) return input_error(op.status());
    if (!op->has_value()) break;
    Status s = builder.Add(**op);
    if (!s.ok()) return input_error(s);
  }
  auto t = builder.Finish();
  if (!t.ok()) return input_error(t.status());
  TxnResult r = Analysis(*t, options).Run();
  r.stats.ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace

TxnResult CheckTxnStream(history::HistoryReader& reader, const TxnOptions& options) {
  return CheckOps([&] { return reader.Next(); }, options);
}

TxnResult CheckTxn(const history::History& history, const TxnOptions& options) {
  size_t at = 0;
  return CheckOps(
      [&]() -> Result<std::optional<history::Op>> {
        if (at == history.size()) return std::optional<history::Op>();
        return std::optional<history::Op>(history[at++]);
      },
      options);
}

Json TxnResult::ToJson() const {
  Json j = {{"valid", VerdictJson(verdict)},
            {"checker", "txn"},
            {"consistency", ConsistencyName(consistency)},
            {"anomaly_types", anomaly_types},
            {"forbidden", forbidden},
            {"anomalies", anomalies},
            {"stats",
             {{"txns", stats.txns},
              {"committed", stats.committed},
              {"aborted", stats.aborted},
              {"indeterminate", stats.indeterminate},
              {"ignored_ops", stats.ignored_ops},
              {"edges", stats.edges},
              {"components", stats.components},
              {"search_steps", stats.search_steps},
              {"ms", stats.ms}}}};
  if (!cause.empty()) j["cause"] = cause;
  return j;
}

std::string TxnResult::Explain() const {
  std::string out = std::string(ConsistencyName(consistency)) + ": " + VerdictName(verdict);
  if (!cause.empty()) out += " (" + cause + ")";
  out += "\n";
  for (const std::string& type : anomaly_types) {
    const bool bad = std::find(forbidden.begin(), forbidden.end(), type) != forbidden.end();
    out += type + ": " + std::to_string(anomalies.value(type + "-count", int64_t{0})) + " found" +
           (bad ? "" : " (allowed by this model)") + "\n";
    for (const Json& a : anomalies.at(type)) {
      if (a.contains("drawn")) {
        out += "  " + a["drawn"].get<std::string>() + "\n";
        for (const Json& c : a["cycle"]) {
          out += "    " + c["name"].get<std::string>() + " = " + c["op"].get<std::string>() + "\n";
        }
      }
      out += "    " + a["explanation"].get<std::string>() + "\n";
    }
  }
  return out;
}

}  // namespace chaos::checker::txn
