// CheckLinearizable: splits a history into independent searches, runs them on
// a pool of threads, and turns a failure into a counterexample.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <new>
#include <numeric>
#include <optional>
#include <sstream>
#include <system_error>
#include <thread>

#include "base/check.h"
#include "checker/checker.h"
#include "checker/model.h"
#include "checker/pair.h"
#include "checker/search.h"
#include "checker/shrink.h"
#include "history/pairing.h"

namespace chaos::checker {

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kValid:
      return "valid";
    case Verdict::kInvalid:
      return "invalid";
    case Verdict::kUnknown:
      return "unknown";
  }
  return "unknown";
}

Verdict Merge(Verdict a, Verdict b) {
  if (a == Verdict::kInvalid || b == Verdict::kInvalid) return Verdict::kInvalid;
  if (a == Verdict::kUnknown || b == Verdict::kUnknown) return Verdict::kUnknown;
  return Verdict::kValid;
}

nlohmann::json VerdictJson(Verdict verdict) {
  if (verdict == Verdict::kValid) return true;
  if (verdict == Verdict::kInvalid) return false;
  return "unknown";
}

const std::vector<std::string>& ModelNames() {
  static const std::vector<std::string> kNames = {
      "register", "cas-register", "multi-register", "mutex",
      "set",      "fifo-queue",   "unordered-queue"};
  return kNames;
}

Status ValidateLinearizableOptions(const LinearizableOptions& options) {
  ValueTable values;
  ModelOptions mo{options.model, options.initial, options.nil_read};
  auto model = MakeModel(mo, values);
  if (!model.ok()) return model.status();
  if (!(options.time_limit_s > 0)) return InvalidArgument("time limit must be positive");
  if (options.memory_limit_bytes <= 0) return InvalidArgument("memory limit must be positive");
  if (options.threads < 0) return InvalidArgument("threads must be >= 0");
  return Status::Ok();
}

namespace {

using Clock = std::chrono::steady_clock;

// A check with at most this many calls to search is one worker's work
// (about a millisecond at a few microseconds a call): RunSearches.
constexpr int64_t kInlineCallsMax = 512;
// How much CPU time such a check spends searching on the calling thread
// before it starts the others: about what starting a thread costs on a
// loaded machine. CPU time of this thread, not wall time, so that a thread
// descheduled on a busy machine does not count as a costly search.
constexpr int64_t kInlineSearchCpuNs = 2'000'000;

// CPU time the calling thread has used, in ns.
int64_t ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string FName(const std::string& f) { return std::string(history::NameOf(nlohmann::json(f))); }

// One independent search: a key (or a component of keys) and its calls.
struct Piece {
  nlohmann::json key;  // null when not keyed
  std::vector<Call> calls;
  SearchOutcome outcome;
};

struct Prepared {
  std::vector<Piece> pieces;
  Status status;
};

nlohmann::json OpSummary(const history::History& h, int64_t pos) {
  const history::Op& op = h[static_cast<size_t>(pos)];
  nlohmann::json j;
  j["index"] = op.index != history::kAbsent ? op.index : pos;
  j["process"] =
      op.process.is_named() ? nlohmann::json(op.process.name) : nlohmann::json(op.process.id);
  j["type"] = history::OpTypeName(op.type);
  j["f"] = op.f;
  j["value"] = op.value;
  if (op.time_ns != history::kAbsent) j["time_ns"] = op.time_ns;
  return j;
}

// The op a person names for a call: its completion, or its invocation if none.
int64_t ShownPos(const Call& c) { return c.complete_pos >= 0 ? c.complete_pos : c.invoke_pos; }

int64_t IndexAt(const history::History& h, int64_t pos) {
  const history::Op& op = h[static_cast<size_t>(pos)];
  return op.index != history::kAbsent ? op.index : pos;
}

}  // namespace

std::string KeyId(const nlohmann::json& key) {
  return key.is_string() ? "s" + std::string(history::NameOf(key)) : key.dump();
}

PairCall MakePairCall(const history::Op& iop, const history::Op* cop, int64_t inv, int64_t comp,
                      const OpIndex& index_of, const LinearizableOptions& options,
                      const Model& model, ValueTable& values) {
  PairCall out;
  auto where = [&](int64_t pos) { return "op " + std::to_string(index_of(pos)); };
  const std::string f = FName(iop.f);
  Call& call = out.call;
  bool cas_mismatch = false;
  if (cop != nullptr && cop->is_fail()) {
    if (options.failed_cas != FailedCas::kMismatch || f != "cas") return out;
    cas_mismatch = true;
  }
  const bool ok = cop != nullptr && cop->is_ok();
  call.known_output = ok || cas_mismatch;
  nlohmann::json value = ok && !cop->value.is_null() ? cop->value : iop.value;
  if (options.keyed) {
    if (!value.is_array() || value.size() != 2) {
      out.status = InvalidArgument(where(ok ? comp : inv) +
                                   ": a keyed op's value must be [key value], got " + value.dump());
      return out;
    }
    out.key = value[0];
    nlohmann::json v = value[1];
    value = std::move(v);
  }
  Status s = model.Encode(f, value, values, &call);
  if (!s.ok()) {
    out.status = InvalidArgument(where(ok ? comp : inv) + ": " + s.message());
    return out;
  }
  if (cas_mismatch) call.fn = Fn::kCasFailed;
  call.invoke_pos = inv;
  call.complete_pos = call.known_output ? comp : -1;
  out.keep = call.known_output || !model.IsPureRead(call);
  return out;
}

std::string PairingError(const history::Op& op, int64_t index, const OpIndex& index_of,
                         const int64_t* open_pos) {
  if (open_pos != nullptr) {
    return "op " + std::to_string(index) + ": process " + op.process.ToString() +
           " invokes while its op " + std::to_string(index_of(*open_pos)) + " is still open";
  }
  return "op " + std::to_string(index) + ": completion by process " + op.process.ToString() +
         " without an invocation";
}

namespace {

Prepared Prepare(const history::History& h, const LinearizableOptions& options, const Model& model,
                 ValueTable& values) {
  Prepared out;
  history::Pairing<int64_t> pairing;  // the position of each open invocation
  std::map<std::string, size_t> piece_of_key;
  auto piece_for = [&](const nlohmann::json& key) -> Piece& {
    auto [it, inserted] = piece_of_key.emplace(KeyId(key), out.pieces.size());
    if (inserted) {
      out.pieces.emplace_back();
      out.pieces.back().key = key;
    }
    return out.pieces[it->second];
  };
  const OpIndex index_of = [&](int64_t pos) { return IndexAt(h, pos); };
  auto handle = [&](int64_t inv, int64_t comp) -> Status {
    PairCall pc = MakePairCall(h[static_cast<size_t>(inv)],
                               comp >= 0 ? &h[static_cast<size_t>(comp)] : nullptr, inv, comp,
                               index_of, options, model, values);
    if (!pc.status.ok()) return pc.status;
    if (pc.keep) piece_for(pc.key).calls.push_back(std::move(pc.call));
    return Status::Ok();
  };
  for (int64_t pos = 0; pos < static_cast<int64_t>(h.size()); ++pos) {
    const history::Op& op = h[static_cast<size_t>(pos)];
    if (!op.is_client()) continue;
    int64_t inv = -1;
    if (op.is_invoke()) {
      if (!pairing.Invoke(op.process, pos, &inv)) {
        out.status = InvalidArgument(PairingError(op, IndexAt(h, pos), index_of, &inv));
        return out;
      }
      continue;
    }
    if (!pairing.Complete(op.process, &inv)) {
      out.status = InvalidArgument(PairingError(op, IndexAt(h, pos), index_of, nullptr));
      return out;
    }
    out.status = handle(inv, pos);
    if (!out.status.ok()) return out;
  }
  for (const auto& [process, inv] : pairing.open()) {
    out.status = handle(inv, -1);
    if (!out.status.ok()) return out;
  }
  for (Piece& p : out.pieces) {
    std::sort(p.calls.begin(), p.calls.end(),
              [](const Call& a, const Call& b) { return a.invoke_pos < b.invoke_pos; });
  }
  return out;
}

// Splits multi-register calls into components of keys no txn connects.
std::vector<Piece> SplitComponents(Piece whole) {
  std::map<int64_t, int64_t> parent;
  auto find = [&](int64_t x) -> int64_t {
    int64_t root = x;
    while (true) {
      auto it = parent.try_emplace(root, root).first;
      if (it->second == root) break;
      root = it->second;
    }
    while (x != root) {  // path compression, iteratively: no deep recursion
      int64_t up = parent[x];
      parent[x] = root;
      x = up;
    }
    return root;
  };
  for (const Call& c : whole.calls) {
    int64_t first = -1;
    for (size_t i = 1; i < c.args.size(); i += 3) {
      int64_t r = find(c.args[i]);
      if (first < 0) {
        first = r;
      } else if (r != first) {
        parent[r] = first;
      }
    }
  }
  std::map<int64_t, size_t> index;
  std::vector<Piece> out;
  for (Call& c : whole.calls) {
    int64_t root = c.args.size() >= 3 ? find(c.args[1]) : -1;
    auto [it, inserted] = index.emplace(root, out.size());
    if (inserted) out.emplace_back();
    out[it->second].calls.push_back(std::move(c));
  }
  return out;
}

// Runs search(k) for every k in [0, count), each once, on up to `threads`
// threads (this one among them); returns how many ran. A `small` job runs on
// this thread alone, since starting and joining a thread costs more than its
// searches (and on a loaded machine the thread may wait long for a core),
// unless it has spent kInlineSearchCpuNs searching (a few costly keys):
// then the other threads start and take the searches not begun.
int RunSearches(size_t count, int threads, bool small, const std::function<void(size_t)>& search) {
  std::atomic<size_t> next{0};
  auto search_next = [&] {
    const size_t k = next.fetch_add(1);
    if (k >= count) return false;
    search(k);
    return true;
  };
  if (small) {
    const int64_t inline_until = ThreadCpuNs() + kInlineSearchCpuNs;
    while (ThreadCpuNs() < inline_until && search_next()) {
    }
  }
  std::vector<std::thread> pool;
  for (int t = 1; t < threads && next.load() < count; ++t) {
    try {
      pool.emplace_back([&] {
        while (search_next()) {
        }
      });
    } catch (const std::system_error&) {
      break;  // fewer threads than asked: the ones running take all searches
    }
  }
  while (search_next()) {
  }
  for (std::thread& t : pool) t.join();
  return 1 + static_cast<int>(pool.size());
}

int Threads(const LinearizableOptions& o, size_t pieces) {
  int t = o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
  t = std::max(1, t);
  return static_cast<int>(std::min<size_t>(static_cast<size_t>(t), std::max<size_t>(pieces, 1)));
}

// How a person reads a fact: a register's value, a key's "k=v", an element.
std::string FactText(const Model& model, const ValueTable& values, const Fact& f) {
  const std::string name = model.name();
  if (name == "register" || name == "cas-register") return values.ValueOf(f.value).dump();
  if (name == "multi-register") {
    const nlohmann::json& k = values.ValueOf(f.place);
    return (k.is_string() ? std::string(history::NameOf(k)) : k.dump()) + "=" +
           values.ValueOf(f.value).dump();
  }
  return values.ValueOf(f.place).dump();
}

// Why the failing call cannot take effect in the shrunk history: what it
// observed that no writer explains, or a value overwritten before it began
// (stale), and the states the search stood in when it had to take effect.
std::string WhyFails(const history::History& h, const Model& model, const ValueTable& values,
                     const std::vector<Call>& calls, const std::vector<int>& kept, int failing,
                     const std::vector<WriterOf>& writers, const SearchOutcome& shrunk_search) {
  const Call& bad = calls[static_cast<size_t>(failing)];
  const bool registers =
      model.name() != "set" && model.name() != "fifo-queue" && model.name() != "unordered-queue";
  std::string why;
  // The later writes to `place` (another value) that completed between `from`
  // and the failing call's invocation: the last one overwrote what was read.
  auto overwritten_after = [&](const Fact& fact, int64_t from) {
    int over = -1;
    for (int y : kept) {
      const Call& later = calls[static_cast<size_t>(y)];
      if (later.invoke_pos < from || later.complete_pos < 0 ||
          later.complete_pos > bad.invoke_pos) {
        continue;
      }
      std::vector<Fact> observed, wrote;
      model.Facts(later, &observed, &wrote);
      for (const Fact& f : wrote) {
        if (f.place == fact.place && f.value != fact.value) over = y;
      }
    }
    return over;
  };
  auto stale_text = [&](const std::string& fact, int over) {
    const Call& o = calls[static_cast<size_t>(over)];
    const history::Op& oop = h[static_cast<size_t>(o.complete_pos)];
    return "stale: " + fact + " was overwritten by op " +
           std::to_string(IndexAt(h, o.complete_pos)) + " (" + FName(oop.f) + " " +
           oop.value.dump() + ") before this op began";
  };
  for (const WriterOf& w : writers) {
    if (w.observer != failing) continue;
    const std::string fact = FactText(model, values, w.fact);
    if (w.initial) {
      // Stale only when nothing kept wrote the initial value again.
      bool rewritten = false;
      for (int x : kept) {
        std::vector<Fact> obs, wrote;
        model.Facts(calls[static_cast<size_t>(x)], &obs, &wrote);
        rewritten = rewritten || std::find(wrote.begin(), wrote.end(), w.fact) != wrote.end();
      }
      const int over = registers && !rewritten ? overwritten_after(w.fact, -1) : -1;
      if (over >= 0) {
        why = stale_text(fact + " (the initial value)", over);
        break;
      }
      continue;
    }
    if (w.writer < 0) {
      why = "nothing wrote " + fact + " before it completed";
      break;
    }
    if (!registers) continue;
    // Stale: every writer of the fact kept completed before the call began
    // and was overwritten (same place, another value) before it began too.
    std::string stale;
    bool all_overwritten = true;
    for (int x : kept) {
      std::vector<Fact> obs, wrote;
      model.Facts(calls[static_cast<size_t>(x)], &obs, &wrote);
      if (std::find(wrote.begin(), wrote.end(), w.fact) == wrote.end()) continue;
      const Call& writer = calls[static_cast<size_t>(x)];
      if (writer.complete_pos < 0 || writer.complete_pos > bad.invoke_pos) {
        all_overwritten = false;
        break;
      }
      const int over = overwritten_after(w.fact, writer.complete_pos);
      if (over < 0) {
        all_overwritten = false;
        break;
      }
      stale = stale_text(fact, over);
    }
    if (all_overwritten && !stale.empty()) {
      why = stale;
      break;
    }
  }
  std::string states;
  for (const FinalPath& p : shrunk_search.final_paths) {
    states += (states.empty() ? "" : " or ") + model.StateToJson(p.state, values).dump();
  }
  if (!states.empty()) {
    why += std::string(why.empty() ? "" : "; ") + "the state when it must take effect: " + states;
  }
  return why;
}

// The shrunk history as a story in time order (invocation order): each op
// with its interval, its outcome, which op wrote what it observed, and for
// the failing op why it cannot be linearized.
nlohmann::json Story(const history::History& h, const Model& model, const ValueTable& values,
                     const std::vector<Call>& calls, const std::vector<int>& kept, int failing,
                     const SearchLimits& limits) {
  const std::vector<WriterOf> writers = WritersIn(model, calls, kept);
  std::vector<Call> sub;
  for (int id : kept) sub.push_back(calls[static_cast<size_t>(id)]);
  const SearchOutcome shrunk_search = Search(model, sub, limits);
  nlohmann::json story = nlohmann::json::array();
  for (int id : kept) {
    const Call& c = calls[static_cast<size_t>(id)];
    const history::Op& op = h[static_cast<size_t>(ShownPos(c))];
    nlohmann::json e;
    e["index"] = IndexAt(h, ShownPos(c));
    e["invoke_index"] = IndexAt(h, c.invoke_pos);
    e["process"] =
        op.process.is_named() ? nlohmann::json(op.process.name) : nlohmann::json(op.process.id);
    e["f"] = op.f;
    e["value"] = op.value;
    e["type"] = c.complete_pos >= 0 ? history::OpTypeName(op.type) : "info";
    nlohmann::json from = nlohmann::json::array();
    for (const WriterOf& w : writers) {
      if (w.observer != id) continue;
      nlohmann::json src = {{"fact", FactText(model, values, w.fact)}};
      if (w.initial) {
        src["from"] = "initial";
      } else if (w.writer >= 0) {
        src["from"] = IndexAt(h, ShownPos(calls[static_cast<size_t>(w.writer)]));
      } else {
        src["from"] = nullptr;
      }
      from.push_back(std::move(src));
    }
    if (!from.empty()) e["observed"] = std::move(from);
    if (id == failing) {
      e["fails"] = true;
      e["why"] = WhyFails(h, model, values, calls, kept, failing, writers, shrunk_search);
    }
    story.push_back(std::move(e));
  }
  return story;
}

nlohmann::json BuildCounterexample(const history::History& h, const Piece& piece,
                                   const Model& model, const ValueTable& values,
                                   const LinearizableOptions& options, Clock::time_point deadline,
                                   std::atomic<int64_t>* bytes_used) {
  const SearchOutcome& o = piece.outcome;
  const std::vector<Call>& calls = piece.calls;
  nlohmann::json cx;
  cx["key"] = piece.key;
  CHAOS_CHECK(o.failing_call >= 0);
  const Call& bad = calls[static_cast<size_t>(o.failing_call)];
  cx["op"] = OpSummary(h, ShownPos(bad));
  cx["invocation"] = OpSummary(h, bad.invoke_pos);
  cx["linearized_prefix_length"] = o.deepest_path.size();
  // The last op with a completion in linearization order (Knossos's "last
  // linearized op"; info ops may follow it).
  int last = -1;
  for (int id : o.deepest_path) {
    if (calls[static_cast<size_t>(id)].complete_pos >= 0) last = id;
  }
  cx["last_linearized"] =
      last >= 0 ? OpSummary(h, ShownPos(calls[static_cast<size_t>(last)])) : nlohmann::json();
  nlohmann::json concurrent = nlohmann::json::array();
  for (size_t id = 0; id < calls.size() && concurrent.size() < 64; ++id) {
    if (static_cast<int>(id) == o.failing_call) continue;
    const Call& c = calls[id];
    bool overlaps =
        c.invoke_pos < bad.complete_pos && (c.complete_pos < 0 || c.complete_pos > bad.invoke_pos);
    if (overlaps) concurrent.push_back(OpSummary(h, ShownPos(c)));
  }
  cx["concurrent"] = std::move(concurrent);
  nlohmann::json paths = nlohmann::json::array();
  for (const FinalPath& p : o.final_paths) {
    nlohmann::json path = nlohmann::json::array();
    for (int id : p.tail) path.push_back(OpSummary(h, ShownPos(calls[static_cast<size_t>(id)])));
    paths.push_back({{"path", std::move(path)}, {"state", model.StateToJson(p.state, values)}});
  }
  cx["final_paths"] = std::move(paths);
  cx["initial"] = model.StateToJson(model.Initial(), values);

  if (options.shrink) {
    auto shrink_deadline = std::min(
        deadline, Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(options.shrink_time_limit_s)));
    SearchLimits limits;
    limits.deadline = shrink_deadline;
    limits.bytes_used = bytes_used;
    limits.bytes_limit = options.memory_limit_bytes;
    ShrinkResult sr = ShrinkCounterexample(model, calls, o.failing_call, limits);
    nlohmann::json shrunk = nlohmann::json::array();
    std::vector<int64_t> positions;
    for (int id : sr.calls) {
      const Call& c = calls[static_cast<size_t>(id)];
      positions.push_back(c.invoke_pos);
      if (c.complete_pos >= 0) positions.push_back(c.complete_pos);
    }
    std::sort(positions.begin(), positions.end());
    for (int64_t pos : positions) shrunk.push_back(OpSummary(h, pos));
    cx["shrunk"] = std::move(shrunk);
    cx["shrunk_ops"] = sr.calls.size();
    cx["shrunk_minimal"] = sr.minimal;
    cx["story"] = Story(h, model, values, calls, sr.calls, o.failing_call, limits);
  }
  return cx;
}

// The options checked, the model made and `h` split into pieces; else the
// cause that makes the check unknown.
struct Setup {
  std::unique_ptr<Model> model;
  Prepared prepared;
  std::string cause;         // "unusable options: ..." or "unusable input: ..."
  bool input_error = false;  // the history (not the options) is unusable
};

Setup SetUp(const history::History& h, const LinearizableOptions& options, ValueTable& values) {
  Setup out;
  Status valid_options = ValidateLinearizableOptions(options);
  if (!valid_options.ok()) {
    out.cause = "unusable options: " + valid_options.message();
    return out;
  }
  auto made = MakeModel(ModelOptions{options.model, options.initial, options.nil_read}, values);
  CHAOS_CHECK(made.ok());
  out.model = std::move(*made);
  out.prepared = Prepare(h, options, *out.model, values);
  if (!out.prepared.status.ok()) {
    out.cause = "unusable input: " + out.prepared.status.message();
    out.input_error = true;
  }
  return out;
}

// The model state a register's final state (as printed) stands for, or
// nullopt when the model cannot make it (only register models are rebuilt).
std::optional<State> RegisterState(const Model& model, ValueTable& values,
                                   const nlohmann::json& printed) {
  if (model.name() != "register" && model.name() != "cas-register") return std::nullopt;
  if (printed == model.StateToJson(model.Initial(), values)) return model.Initial();
  Call write;
  if (!model.Encode("write", printed, values, &write).ok()) return std::nullopt;
  State state;
  if (!model.Step(model.Initial(), write, &state)) return std::nullopt;
  return state;
}

// True when `piece` is the calls `checked` saw, all before its last index,
// followed only by ok pure reads that one of its final states accepts. Those
// reads are invoked after every checked call completed, so a linearization
// of the whole is one of the checked calls followed by the reads.
bool ExtendsChecked(const history::History& h, const Piece& piece, const KeyCheck& checked,
                    const Model& model, ValueTable& values) {
  if (checked.verdict != Verdict::kValid || checked.final_states.empty()) return false;
  int64_t covered = 0;
  std::vector<const Call*> later;
  for (const Call& c : piece.calls) {
    if (IndexAt(h, c.invoke_pos) > checked.last_index) {
      later.push_back(&c);
      continue;
    }
    ++covered;
    if (c.complete_pos < 0 || IndexAt(h, c.complete_pos) > checked.last_index) return false;
  }
  if (covered != checked.calls) return false;
  for (const Call* c : later) {
    if (c->complete_pos < 0 || !model.IsPureRead(*c)) return false;
  }
  for (const nlohmann::json& printed : checked.final_states) {
    std::optional<State> state = RegisterState(model, values, printed);
    if (!state) return false;
    State next;
    bool accepted = true;
    for (const Call* c : later) accepted = accepted && model.Step(*state, *c, &next);
    if (accepted) return true;
  }
  return false;
}

}  // namespace

KeyCheck CheckKeyAlone(const history::History& h, const LinearizableOptions& options) {
  const auto start = Clock::now();
  KeyCheck out;
  for (size_t pos = 0; pos < h.size(); ++pos) {
    out.last_index = std::max(out.last_index, IndexAt(h, static_cast<int64_t>(pos)));
  }
  ValueTable values;
  Setup setup = SetUp(h, options, values);
  if (!setup.cause.empty()) {
    out.cause = setup.cause;
    return out;
  }
  const Model& model = *setup.model;
  Prepared& prepared = setup.prepared;
  if (prepared.pieces.size() > 1 || options.model == "multi-register") {
    // Not one key's history: checked whole, without final states.
    CheckResult r = CheckLinearizable(h, options);
    out.verdict = r.verdict;
    out.cause = r.cause;
    out.stats = r.stats;
    return out;
  }
  if (prepared.pieces.empty()) {
    out.verdict = Verdict::kValid;
    out.final_states.push_back(model.StateToJson(model.Initial(), values));
    return out;
  }
  Piece& piece = prepared.pieces[0];
  out.key = piece.key;
  out.calls = static_cast<int64_t>(piece.calls.size());
  std::atomic<bool> own_stop{false};
  std::atomic<int64_t> bytes_used{0};
  SearchLimits limits;
  limits.deadline = start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(std::min(options.time_limit_s, 1e7)));
  limits.stop = options.stop != nullptr ? options.stop : &own_stop;
  limits.bytes_used = &bytes_used;
  limits.bytes_limit = options.memory_limit_bytes;
  const bool pending = std::any_of(piece.calls.begin(), piece.calls.end(),
                                   [](const Call& c) { return c.complete_pos < 0; });
  std::vector<State> finals;
  SearchOutcome o;
  try {
    o = Search(model, piece.calls, limits, options.canonical_pending, pending ? nullptr : &finals);
  } catch (const std::bad_alloc&) {
    o = SearchOutcome();
    o.cause = "memory-limit (allocation failed)";
  }
  out.verdict = o.verdict;
  out.cause = o.cause;
  for (const State& s : finals) out.final_states.push_back(model.StateToJson(s, values));
  out.stats.states = o.states;
  out.stats.cache_hits = o.cache_hits;
  out.stats.cache_bytes = o.cache_bytes_peak;
  out.stats.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return out;
}

CheckResult CheckLinearizable(const history::History& history, const LinearizableOptions& options,
                              const KeyChecks* checked) {
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(std::min(options.time_limit_s, 1e7)));
  CheckResult result;
  result.model = options.keyed ? options.model + " (keyed)" : options.model;
  result.ops = static_cast<int64_t>(history.size());
  auto elapsed_ms = [&] {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  };

  ValueTable values;
  Setup setup = SetUp(history, options, values);
  if (!setup.cause.empty()) {
    result.verdict = Verdict::kUnknown;
    result.cause = setup.cause;
    result.input_error = setup.input_error;
    return result;
  }
  const Model& model = *setup.model;
  Prepared& prepared = setup.prepared;
  std::vector<Piece> pieces = std::move(prepared.pieces);
  if (options.model == "multi-register" && !options.keyed && pieces.size() == 1) {
    nlohmann::json key = pieces[0].key;
    pieces = SplitComponents(std::move(pieces[0]));
    for (Piece& p : pieces) p.key = key;
  }

  // Biggest searches first, so one long key does not start last.
  std::vector<size_t> order(pieces.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return pieces[a].calls.size() > pieces[b].calls.size();
  });
  // A key the online check already found invalid is searched first, the one
  // found earliest (its last op checked earliest in the history) before the
  // others, and names the counterexample: the run's first finding. Otherwise
  // the first invalid key completed stops the rest, and the counterexample
  // could be a key whose violation showed only in its final read, minutes
  // after the one the online check reported (2026-12-08, bench/RESULTS.md).
  const Piece* found_online = nullptr;
  if (checked != nullptr && options.keyed) {
    std::vector<int64_t> found_at(pieces.size(), -1);
    for (size_t i = 0; i < pieces.size(); ++i) {
      auto it = checked->find(pieces[i].key.dump());
      if (it != checked->end() && it->second.verdict == Verdict::kInvalid) {
        found_at[i] = it->second.last_index;
      }
    }
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if ((found_at[a] >= 0) != (found_at[b] >= 0)) return found_at[a] >= 0;
      return found_at[a] >= 0 && found_at[a] < found_at[b];
    });
    if (!order.empty() && found_at[order[0]] >= 0) found_online = &pieces[order[0]];
  }
  std::atomic<bool> own_stop{false};
  std::atomic<bool>& stop = options.stop != nullptr ? *options.stop : own_stop;
  std::atomic<int64_t> bytes_used{0};
  SearchLimits limits;
  limits.deadline = deadline;
  limits.stop = &stop;
  std::vector<char> reused(pieces.size(), 0);
  if (checked != nullptr && options.keyed) {
    for (size_t i = 0; i < pieces.size(); ++i) {
      auto it = checked->find(pieces[i].key.dump());
      if (it == checked->end() || !ExtendsChecked(history, pieces[i], it->second, model, values)) {
        continue;
      }
      reused[i] = 1;
      pieces[i].outcome = SearchOutcome();
      pieces[i].outcome.verdict = Verdict::kValid;
      pieces[i].outcome.states = it->second.stats.states;
      pieces[i].outcome.cache_hits = it->second.stats.cache_hits;
    }
  }
  limits.bytes_used = &bytes_used;
  limits.bytes_limit = options.memory_limit_bytes;
  auto search = [&](size_t k) {
    Piece& p = pieces[order[k]];
    if (reused[order[k]] != 0) return;
    if (stop.load()) {
      p.outcome.verdict = Verdict::kUnknown;
      p.outcome.cause = "stopped";
      return;
    }
    if (Clock::now() > deadline) {
      p.outcome.verdict = Verdict::kUnknown;
      p.outcome.cause = "time-limit";
      return;
    }
    try {
      p.outcome = Search(model, p.calls, limits, options.canonical_pending);
    } catch (const std::bad_alloc&) {
      // The budget is checked before the cache grows, but the allocator may
      // still refuse (a limit above what the machine has): say unknown.
      p.outcome = SearchOutcome();
      p.outcome.verdict = Verdict::kUnknown;
      p.outcome.cause = "memory-limit (allocation failed)";
    }
    if (p.outcome.verdict == Verdict::kInvalid && options.stop_on_first_invalid) {
      stop.store(true);
    }
  };
  int64_t calls = 0;
  for (const Piece& p : pieces) calls += static_cast<int64_t>(p.calls.size());
  result.threads =
      RunSearches(order.size(), Threads(options, pieces.size()), calls <= kInlineCallsMax, search);

  Verdict verdict = Verdict::kValid;
  const Piece* first_invalid = nullptr;
  const Piece* costliest_unknown = nullptr;
  int64_t unknown_pieces = 0;
  if (found_online != nullptr && found_online->outcome.verdict == Verdict::kInvalid) {
    first_invalid = found_online;
  }
  for (const Piece& p : pieces) {
    verdict = Merge(verdict, p.outcome.verdict);
    result.stats.states += p.outcome.states;
    result.stats.cache_hits += p.outcome.cache_hits;
    result.stats.cache_bytes = std::max(result.stats.cache_bytes, p.outcome.cache_bytes_peak);
    if (p.outcome.verdict == Verdict::kInvalid && first_invalid == nullptr) first_invalid = &p;
    // The unknown to name is the search that spent the budget (most states),
    // not the first of those that had none left when their turn came.
    if (p.outcome.verdict == Verdict::kUnknown && p.outcome.cause != "stopped") {
      ++unknown_pieces;
      if (costliest_unknown == nullptr || p.outcome.states > costliest_unknown->outcome.states) {
        costliest_unknown = &p;
      }
    }
    if (options.keyed) {
      std::string k = p.key.dump();
      result.per_key[k] = {{"valid", VerdictJson(p.outcome.verdict)},
                           {"ops", p.calls.size()},
                           {"states", p.outcome.states}};
      if (!p.outcome.cause.empty()) result.per_key[k]["cause"] = p.outcome.cause;
    }
  }
  result.verdict = verdict;
  if (first_invalid != nullptr) {
    result.counterexample =
        BuildCounterexample(history, *first_invalid, model, values, options, deadline, &bytes_used);
    const nlohmann::json& op = result.counterexample["op"];
    result.cause = "op " + op["index"].dump() + " (process " + op["process"].dump() + " " +
                   op["type"].get<std::string>() + " " + op["f"].get<std::string>() + " " +
                   op["value"].dump() + ") cannot be linearized";
    if (options.keyed) result.cause += " (key " + first_invalid->key.dump() + ")";
  } else if (costliest_unknown != nullptr) {
    const SearchOutcome& o = costliest_unknown->outcome;
    result.cause = o.cause + ": explored " + std::to_string(o.states) + " states, linearized " +
                   std::to_string(o.max_linearized) + " of " +
                   std::to_string(costliest_unknown->calls.size()) + " ops";
    if (options.keyed) {
      result.cause += " of key " + costliest_unknown->key.dump();
      if (unknown_pieces > 1) {
        result.cause += " (" + std::to_string(unknown_pieces) + " keys unknown; per_key has each)";
      }
    }
  }
  result.stats.ms = elapsed_ms();
  return result;
}

nlohmann::json CheckResult::ToJson() const {
  nlohmann::json j;
  j["valid"] = VerdictJson(verdict);
  j["checker"] = "linearizable";
  j["model"] = model;
  j["ops"] = ops;
  if (!cause.empty()) j["cause"] = cause;
  j["per_key"] = per_key;
  j["counterexample"] = counterexample;
  j["stats"] = {{"states", stats.states},
                {"cache_hits", stats.cache_hits},
                {"cache_bytes", stats.cache_bytes},
                {"ms", stats.ms}};
  return j;
}

namespace {
std::string Line(const nlohmann::json& op) {
  if (op.is_null()) return "(none)";
  std::ostringstream s;
  s << "op " << op.value("index", nlohmann::json()).dump() << " p"
    << (op["process"].is_string() ? op["process"].get<std::string>() : op["process"].dump()) << " "
    << op.value("type", "") << " " << op.value("f", "") << " "
    << op.value("value", nlohmann::json()).dump();
  return s.str();
}
}  // namespace

std::string StoryLine(const nlohmann::json& e) {
  std::ostringstream s;
  s << "op " << e["invoke_index"].dump() << "-" << e["index"].dump() << " p"
    << (e["process"].is_string() ? e["process"].get<std::string>() : e["process"].dump()) << " "
    << e.value("f", "") << " " << e.value("value", nlohmann::json()).dump() << " "
    << e.value("type", "");
  if (e.value("type", "") == "info") s << " (may have taken effect)";
  std::string seen;
  for (const auto& o : e.value("observed", nlohmann::json::array())) {
    const nlohmann::json& from = o["from"];
    seen += (seen.empty() ? "" : ", ") + o.value("fact", "") + " from " +
            (from.is_string() ? std::string("the initial state")
             : from.is_null() ? std::string("no op before it completed")
                              : "op " + from.dump());
  }
  if (!seen.empty()) s << " (" << seen << ")";
  if (e.value("fails", false)) s << "  <- cannot be linearized: " << e.value("why", "");
  return s.str();
}

std::string CheckResult::Explain() const {
  std::ostringstream s;
  s << VerdictName(verdict);
  if (!cause.empty()) s << ": " << cause;
  s << "\n";
  if (counterexample.is_null()) return s.str();
  const nlohmann::json& cx = counterexample;
  if (!cx["key"].is_null()) s << "  key: " << cx["key"].dump() << "\n";
  s << "  cannot linearize: " << Line(cx["op"]) << " (invoked at " << Line(cx["invocation"])
    << ")\n";
  s << "  last linearized:  " << Line(cx["last_linearized"]) << " after "
    << cx["linearized_prefix_length"].dump() << " ops\n";
  s << "  concurrent with it:\n";
  for (const auto& op : cx["concurrent"]) s << "    " << Line(op) << "\n";
  s << "  final paths (last ops linearized -> state; none accepts the op):\n";
  for (const auto& p : cx["final_paths"]) {
    s << "    ";
    for (const auto& op : p["path"]) s << "[" << Line(op) << "] ";
    s << "-> " << p["state"].dump() << "\n";
  }
  if (cx.contains("shrunk")) {
    s << "  shrunk to " << cx["shrunk_ops"].dump() << " ops"
      << (cx["shrunk_minimal"].get<bool>() ? " (no op can be removed)"
                                           : " (shrinking stopped early)")
      << "; what happened, in time order, from initial state " << cx["initial"].dump() << ":\n";
    for (const auto& e : cx.value("story", nlohmann::json::array())) {
      s << "    " << StoryLine(e) << "\n";
    }
  }
  return s.str();
}

}  // namespace chaos::checker
