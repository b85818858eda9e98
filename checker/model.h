// Models: pure sequential state machines the linearizability search runs.
//
// A history's values are JSON; before a search they are interned into small
// integers (ValueTable), and each op becomes a Call whose input and output are
// those integers. A model state is a short vector of integers (State) with
// hashing and equality, so the search can memoise (linearized set, state).
//
// Step(state, call) answers whether the call can take effect in `state` with
// the output it observed, and the next state. A call whose outcome is unknown
// (an info op, or an invocation never completed) has `known_output == false`:
// its reads observed nothing and constrain nothing.
//
// Thread safety: a Model and a ValueTable are immutable once built and may be
// used by many searches at once.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "checker/checker.h"

namespace chaos::checker {

using Json = nlohmann::json;

// Interned values: 0 is nil; every other distinct value gets its own id.
// Keyword strings compare by name (":x" equals "x").
class ValueTable {
 public:
  static constexpr int64_t kNil = 0;
  ValueTable() { values_.push_back(nullptr); }
  int64_t Intern(const Json& value);
  const Json& ValueOf(int64_t id) const { return values_.at(static_cast<size_t>(id)); }
  size_t size() const { return values_.size(); }

 private:
  std::unordered_map<std::string, int64_t> ids_;
  std::vector<Json> values_;
};

// A model state: a short vector of value ids whose meaning is the model's.
using State = std::vector<int64_t>;

struct StateHash {
  size_t operator()(const State& s) const {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ s.size();
    for (int64_t v : s) {
      h ^= static_cast<uint64_t>(v) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
      h *= 0xff51afd7ed558ccdull;
    }
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

// A fact about a model state, for the shrinker's writer rule: register
// `place` (a key id for multi-register, 0 for one register; the element for
// set and queues) holds, or contains, value `value`.
struct Fact {
  int64_t place = 0;
  int64_t value = 0;
  bool operator==(const Fact&) const = default;
  bool operator<(const Fact& o) const {
    return place != o.place ? place < o.place : value < o.value;
  }
};

// The functions models understand.
enum class Fn : uint8_t {
  kRead,
  kWrite,
  kCas,
  kCasFailed,  // --failed-cas mismatch: a failed cas saw a value other than `a`
  kTxn,
  kAcquire,
  kRelease,
  kAdd,
  kEnqueue,
  kDequeue,
};

// One operation: an invocation and its completion, encoded for a model.
struct Call {
  Fn fn = Fn::kRead;
  bool known_output = true;      // false for info ops and invocations never completed
  int64_t a = ValueTable::kNil;  // read/write value, cas from, element
  int64_t b = ValueTable::kNil;  // cas to
  // A set read's elements (sorted), or a txn's micro-ops as triples
  // (0 = read / 1 = write, key id, value id).
  std::vector<int64_t> args;
  // Where the op sits in the history given (positions, not Op::index).
  int64_t invoke_pos = -1;
  int64_t complete_pos = -1;  // -1: no completion (info or never completed)
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string name() const = 0;
  virtual State Initial() const = 0;
  // True if `call` can take effect in `state` (with its observed output);
  // `next` receives the state after it.
  virtual bool Step(const State& state, const Call& call, State* next) const = 0;
  // Encodes op f/value into call->fn/a/b/args. `value` is the completion's
  // value for ok ops and the invocation's for others. InvalidArgument when the
  // model has no such f or the value has the wrong shape.
  virtual Status Encode(std::string_view f, const Json& value, ValueTable& values,
                        Call* call) const = 0;
  // The state as JSON for people (register value, set elements, ...).
  virtual Json StateToJson(const State& state, const ValueTable& values) const = 0;
  // True if a call with unknown output changes nothing and can be dropped.
  virtual bool IsPureRead(const Call& call) const { return call.fn == Fn::kRead; }
  // What a call observed in the state it took effect in (a read's value, a
  // cas's `from`, a dequeued element) and what it left there (a write's
  // value, a cas's `to`, an added element). The shrinker keeps, for every
  // observed fact, an op that wrote it, unless the initial state holds it.
  // Models with nothing to observe (mutex) leave both empty.
  virtual void Facts(const Call& call, std::vector<Fact>* observed,
                     std::vector<Fact>* written) const {
    (void)call, (void)observed, (void)written;
  }
  virtual bool InitiallyHolds(const Fact& fact) const {
    (void)fact;
    return false;
  }
};

struct ModelOptions {
  std::string name;
  Json initial;
  NilRead nil_read = NilRead::kUnknown;
};

// The model named by `options.name` (without the keyed wrapper: keys are split
// before the search). Interns the initial value into `values`.
Result<std::unique_ptr<Model>> MakeModel(const ModelOptions& options, ValueTable& values);

}  // namespace chaos::checker
