#include "checker/model.h"

#include <algorithm>

#include "history/op.h"

namespace chaos::checker {

int64_t ValueTable::Intern(const Json& value) {
  if (value.is_null()) return kNil;
  // Keyword strings and plain strings with the same name are one value.
  std::string key = value.is_string() ? "s" + std::string(history::NameOf(value)) : value.dump();
  auto [it, inserted] = ids_.emplace(std::move(key), static_cast<int64_t>(values_.size()));
  if (inserted) values_.push_back(value);
  return it->second;
}

namespace {

bool IsF(std::string_view f, std::string_view name) { return f == name; }

// Shared by register, cas-register: state is [value].
class RegisterModel : public Model {
 public:
  RegisterModel(bool cas, int64_t initial, NilRead nil_read)
      : cas_(cas), initial_(initial), nil_read_(nil_read) {}
  std::string name() const override { return cas_ ? "cas-register" : "register"; }
  State Initial() const override { return {initial_}; }

  bool Step(const State& s, const Call& c, State* next) const override {
    switch (c.fn) {
      case Fn::kRead:
        if (!c.known_output) break;
        if (c.a == ValueTable::kNil && nil_read_ == NilRead::kUnknown) break;
        if (s[0] != c.a) return false;
        break;
      case Fn::kWrite:
        next->assign(1, c.a);
        return true;
      case Fn::kCas:
        if (s[0] != c.a) return false;
        next->assign(1, c.b);
        return true;
      case Fn::kCasFailed:
        if (s[0] == c.a) return false;
        break;
      default:
        return false;
    }
    *next = s;
    return true;
  }

  Status Encode(std::string_view f, const Json& value, ValueTable& values,
                Call* call) const override {
    if (IsF(f, "read")) {
      call->fn = Fn::kRead;
      call->a = values.Intern(value);
    } else if (IsF(f, "write")) {
      call->fn = Fn::kWrite;
      call->a = values.Intern(value);
    } else if (cas_ && IsF(f, "cas")) {
      if (!value.is_array() || value.size() != 2) {
        return InvalidArgument("a cas's value must be [from to], got " + value.dump());
      }
      call->fn = Fn::kCas;
      call->a = values.Intern(value[0]);
      call->b = values.Intern(value[1]);
    } else {
      return InvalidArgument("model " + name() + " has no f " + std::string(f));
    }
    return Status::Ok();
  }

  Json StateToJson(const State& s, const ValueTable& values) const override {
    return values.ValueOf(s[0]);
  }

  void Facts(const Call& c, std::vector<Fact>* observed,
             std::vector<Fact>* written) const override {
    if (c.fn == Fn::kRead && c.known_output &&
        !(c.a == ValueTable::kNil && nil_read_ == NilRead::kUnknown)) {
      observed->push_back({0, c.a});
    } else if (c.fn == Fn::kWrite) {
      written->push_back({0, c.a});
    } else if (c.fn == Fn::kCas) {
      observed->push_back({0, c.a});
      written->push_back({0, c.b});
    }
  }
  bool InitiallyHolds(const Fact& f) const override { return f.value == initial_; }

 private:
  bool cas_;
  int64_t initial_;
  NilRead nil_read_;
};

// State: sorted pairs (key, value), flattened; a missing key holds nil.
class MultiRegisterModel : public Model {
 public:
  MultiRegisterModel(State initial, NilRead nil_read)
      : initial_(std::move(initial)), nil_read_(nil_read) {}
  std::string name() const override { return "multi-register"; }
  State Initial() const override { return initial_; }

  static int64_t Get(const State& s, int64_t key) {
    for (size_t i = 0; i + 1 < s.size(); i += 2) {
      if (s[i] == key) return s[i + 1];
    }
    return ValueTable::kNil;
  }
  static void Put(State* s, int64_t key, int64_t value) {
    size_t i = 0;
    while (i < s->size() && (*s)[i] < key) i += 2;
    if (i < s->size() && (*s)[i] == key) {
      if (value == ValueTable::kNil) {
        s->erase(s->begin() + static_cast<ptrdiff_t>(i),
                 s->begin() + static_cast<ptrdiff_t>(i + 2));
      } else {
        (*s)[i + 1] = value;
      }
    } else if (value != ValueTable::kNil) {
      s->insert(s->begin() + static_cast<ptrdiff_t>(i), {key, value});
    }
  }

  bool Step(const State& s, const Call& c, State* next) const override {
    if (c.fn != Fn::kTxn) return false;
    *next = s;
    for (size_t i = 0; i + 3 <= c.args.size(); i += 3) {
      int64_t kind = c.args[i], key = c.args[i + 1], value = c.args[i + 2];
      if (kind == 1) {
        Put(next, key, value);
      } else {
        if (!c.known_output) continue;
        if (value == ValueTable::kNil && nil_read_ == NilRead::kUnknown) continue;
        if (Get(*next, key) != value) return false;
      }
    }
    return true;
  }

  bool IsPureRead(const Call& c) const override {
    if (c.fn != Fn::kTxn) return false;
    for (size_t i = 0; i + 3 <= c.args.size(); i += 3) {
      if (c.args[i] == 1) return false;
    }
    return true;
  }

  // A txn's reads of keys it wrote itself earlier observe nothing outside it;
  // only the last write to a key is left in the state.
  void Facts(const Call& c, std::vector<Fact>* observed,
             std::vector<Fact>* written) const override {
    if (c.fn != Fn::kTxn) return;
    std::vector<Fact> own;
    for (size_t i = 0; i + 3 <= c.args.size(); i += 3) {
      const int64_t kind = c.args[i], key = c.args[i + 1], value = c.args[i + 2];
      auto mine =
          std::find_if(own.begin(), own.end(), [&](const Fact& f) { return f.place == key; });
      if (kind == 1) {
        if (mine != own.end()) {
          mine->value = value;
        } else {
          own.push_back({key, value});
        }
      } else if (mine == own.end() && c.known_output &&
                 !(value == ValueTable::kNil && nil_read_ == NilRead::kUnknown)) {
        observed->push_back({key, value});
      }
    }
    written->insert(written->end(), own.begin(), own.end());
  }
  bool InitiallyHolds(const Fact& f) const override { return Get(initial_, f.place) == f.value; }

  Status Encode(std::string_view f, const Json& value, ValueTable& values,
                Call* call) const override {
    if (!IsF(f, "txn")) return InvalidArgument("model multi-register has no f " + std::string(f));
    if (!value.is_array()) return InvalidArgument("a txn's value must be a list of micro-ops");
    call->fn = Fn::kTxn;
    call->args.clear();
    for (const Json& mop : value) {
      if (!mop.is_array() || mop.size() != 3 || !mop[0].is_string()) {
        return InvalidArgument("a txn micro-op must be [:read|:write k v], got " + mop.dump());
      }
      std::string_view kind = history::NameOf(mop[0]);
      if (kind != "read" && kind != "write") {
        return InvalidArgument("a txn micro-op must be :read or :write, got " + mop.dump());
      }
      call->args.push_back(kind == "write" ? 1 : 0);
      call->args.push_back(values.Intern(mop[1]));
      call->args.push_back(values.Intern(mop[2]));
    }
    return Status::Ok();
  }

  Json StateToJson(const State& s, const ValueTable& values) const override {
    Json out = Json::object();
    for (size_t i = 0; i + 1 < s.size(); i += 2) {
      const Json& k = values.ValueOf(s[i]);
      out[k.is_string() ? std::string(history::NameOf(k)) : k.dump()] = values.ValueOf(s[i + 1]);
    }
    return out;
  }

 private:
  State initial_;
  NilRead nil_read_;
};

// State: [0] free or [1] held.
class MutexModel : public Model {
 public:
  std::string name() const override { return "mutex"; }
  State Initial() const override { return {0}; }
  bool Step(const State& s, const Call& c, State* next) const override {
    if (c.fn == Fn::kAcquire && s[0] == 0) {
      next->assign(1, 1);
      return true;
    }
    if (c.fn == Fn::kRelease && s[0] == 1) {
      next->assign(1, 0);
      return true;
    }
    return false;
  }
  bool IsPureRead(const Call&) const override { return false; }
  Status Encode(std::string_view f, const Json&, ValueTable&, Call* call) const override {
    if (IsF(f, "acquire")) {
      call->fn = Fn::kAcquire;
    } else if (IsF(f, "release")) {
      call->fn = Fn::kRelease;
    } else {
      return InvalidArgument("model mutex has no f " + std::string(f));
    }
    return Status::Ok();
  }
  Json StateToJson(const State& s, const ValueTable&) const override {
    return s[0] ? "held" : "free";
  }
};

// State: sorted distinct elements.
class SetModel : public Model {
 public:
  SetModel(State initial, NilRead nil_read) : initial_(std::move(initial)), nil_read_(nil_read) {}
  std::string name() const override { return "set"; }
  State Initial() const override { return initial_; }
  bool Step(const State& s, const Call& c, State* next) const override {
    if (c.fn == Fn::kAdd) {
      *next = s;
      auto it = std::lower_bound(next->begin(), next->end(), c.a);
      if (it == next->end() || *it != c.a) next->insert(it, c.a);
      return true;
    }
    if (c.fn == Fn::kRead) {
      if (c.known_output && !(c.a == ValueTable::kNil && nil_read_ == NilRead::kUnknown)) {
        if (s != c.args) return false;
      }
      *next = s;
      return true;
    }
    return false;
  }
  Status Encode(std::string_view f, const Json& value, ValueTable& values,
                Call* call) const override {
    if (IsF(f, "add")) {
      call->fn = Fn::kAdd;
      call->a = values.Intern(value);
    } else if (IsF(f, "read")) {
      call->fn = Fn::kRead;
      call->args.clear();
      if (value.is_null()) {
        call->a = ValueTable::kNil;
        return Status::Ok();
      }
      if (!value.is_array()) return InvalidArgument("a set read's value must be a collection");
      call->a = 1;  // not nil: the read saw this collection
      for (const Json& e : value) call->args.push_back(values.Intern(e));
      std::sort(call->args.begin(), call->args.end());
      call->args.erase(std::unique(call->args.begin(), call->args.end()), call->args.end());
    } else {
      return InvalidArgument("model set has no f " + std::string(f));
    }
    return Status::Ok();
  }
  Json StateToJson(const State& s, const ValueTable& values) const override {
    Json out = Json::array();
    for (int64_t v : s) out.push_back(values.ValueOf(v));
    return out;
  }
  // Each element a read saw was added by someone (place = the element).
  void Facts(const Call& c, std::vector<Fact>* observed,
             std::vector<Fact>* written) const override {
    if (c.fn == Fn::kAdd) written->push_back({c.a, 1});
    if (c.fn == Fn::kRead && c.known_output && c.a != ValueTable::kNil) {
      for (int64_t e : c.args) observed->push_back({e, 1});
    }
  }
  bool InitiallyHolds(const Fact& f) const override {
    return std::binary_search(initial_.begin(), initial_.end(), f.place);
  }

 private:
  State initial_;
  NilRead nil_read_;
};

// State: elements in queue order (fifo) or sorted as a multiset (unordered).
class QueueModel : public Model {
 public:
  explicit QueueModel(bool fifo) : fifo_(fifo) {}
  std::string name() const override { return fifo_ ? "fifo-queue" : "unordered-queue"; }
  State Initial() const override { return {}; }
  bool Step(const State& s, const Call& c, State* next) const override {
    if (c.fn == Fn::kEnqueue) {
      *next = s;
      if (fifo_) {
        next->push_back(c.a);
      } else {
        next->insert(std::upper_bound(next->begin(), next->end(), c.a), c.a);
      }
      return true;
    }
    if (c.fn != Fn::kDequeue) return false;
    if (!c.known_output || c.a == ValueTable::kNil) {
      // An unknown dequeue takes the head (fifo). A fifo dequeue that saw nil
      // saw an empty queue; as in Knossos, an unordered dequeue never sees nil.
      if (c.known_output) {
        if (!fifo_) return false;
        if (!s.empty()) return false;
        *next = s;
        return true;
      }
      if (s.empty()) return false;
      next->assign(s.begin() + 1, s.end());
      return true;
    }
    if (fifo_) {
      if (s.empty() || s.front() != c.a) return false;
      next->assign(s.begin() + 1, s.end());
      return true;
    }
    auto it = std::lower_bound(s.begin(), s.end(), c.a);
    if (it == s.end() || *it != c.a) return false;
    next->assign(s.begin(), it);
    next->insert(next->end(), it + 1, s.end());
    return true;
  }
  // An unordered dequeue with unknown output is dropped: since no unordered
  // op observes emptiness, removing an element never lets a later op take
  // effect that could not otherwise.
  bool IsPureRead(const Call& c) const override {
    return !fifo_ && c.fn == Fn::kDequeue && !c.known_output;
  }
  Status Encode(std::string_view f, const Json& value, ValueTable& values,
                Call* call) const override {
    if (IsF(f, "enqueue")) {
      call->fn = Fn::kEnqueue;
    } else if (IsF(f, "dequeue")) {
      call->fn = Fn::kDequeue;
    } else {
      return InvalidArgument("model " + name() + " has no f " + std::string(f));
    }
    call->a = values.Intern(value);
    return Status::Ok();
  }
  Json StateToJson(const State& s, const ValueTable& values) const override {
    Json out = Json::array();
    for (int64_t v : s) out.push_back(values.ValueOf(v));
    return out;
  }
  // A dequeued element was enqueued by someone (place = the element).
  void Facts(const Call& c, std::vector<Fact>* observed,
             std::vector<Fact>* written) const override {
    if (c.fn == Fn::kEnqueue) written->push_back({c.a, 1});
    if (c.fn == Fn::kDequeue && c.known_output && c.a != ValueTable::kNil) {
      observed->push_back({c.a, 1});
    }
  }

 private:
  bool fifo_;
};

}  // namespace

Result<std::unique_ptr<Model>> MakeModel(const ModelOptions& options, ValueTable& values) {
  const std::string& m = options.name;
  if (m == "register" || m == "cas-register") {
    return std::unique_ptr<Model>(
        new RegisterModel(m == "cas-register", values.Intern(options.initial), options.nil_read));
  }
  if (m == "multi-register") {
    State initial;
    if (!options.initial.is_null()) {
      if (!options.initial.is_object()) {
        return InvalidArgument("multi-register's initial value must be a map {k: v}");
      }
      for (const auto& [k, v] : options.initial.items()) {
        MultiRegisterModel::Put(&initial, values.Intern(Json(k)), values.Intern(v));
      }
    }
    return std::unique_ptr<Model>(new MultiRegisterModel(std::move(initial), options.nil_read));
  }
  if (m == "mutex") return std::unique_ptr<Model>(new MutexModel());
  if (m == "set") {
    State initial;
    if (!options.initial.is_null()) {
      if (!options.initial.is_array()) return InvalidArgument("set's initial value must be a list");
      for (const Json& e : options.initial) initial.push_back(values.Intern(e));
      std::sort(initial.begin(), initial.end());
      initial.erase(std::unique(initial.begin(), initial.end()), initial.end());
    }
    return std::unique_ptr<Model>(new SetModel(std::move(initial), options.nil_read));
  }
  if (m == "fifo-queue") return std::unique_ptr<Model>(new QueueModel(true));
  if (m == "unordered-queue") return std::unique_ptr<Model>(new QueueModel(false));
  return InvalidArgument("unknown model '" + m +
                         "' (register, cas-register, multi-register, mutex, set, fifo-queue, "
                         "unordered-queue)");
}

}  // namespace chaos::checker
