// The set and counter workloads over keyed registers: see register_workloads.h.
#include "adapters/register_workloads.h"

#include <utility>

namespace chaos::adapters {
namespace {

using history::Json;
using history::Op;
using history::OpType;

Op Completed(const Op& invoke, OpType type, Json value, Json error = nullptr) {
  Op done = invoke;
  done.type = type;
  done.value = std::move(value);
  done.error = std::move(error);
  return done;
}

// Why an inner op did not succeed, for the outer op's error.
Json Why(const Op& inner, const std::string& what) {
  std::string text = inner.error.is_string() ? inner.error.get<std::string>() : inner.error.dump();
  return what + ": " + (inner.error.is_null() ? std::string(OpTypeName(inner.type)) : text);
}

// The register ops the wrapper sends.
class Registers {
 public:
  explicit Registers(Client* inner) : inner_(inner) {}
  Op Read(int64_t key) { return Send("read", Json::array({key, nullptr})); }
  Op Write(int64_t key, int64_t value) { return Send("write", Json::array({key, value})); }
  Op Cas(int64_t key, int64_t from, int64_t to) {
    return Send("cas", Json::array({key, Json::array({from, to})}));
  }
  // The value an ok read saw: nullopt for an absent key.
  static std::optional<int64_t> ValueOf(const Op& read) {
    if (read.value.is_array() && read.value.size() == 2 && read.value[1].is_number_integer()) {
      return read.value[1].get<int64_t>();
    }
    return std::nullopt;
  }

 private:
  Op Send(const std::string& f, Json value) {
    Op op;
    op.type = OpType::kInvoke;
    op.f = f;
    op.value = std::move(value);
    return inner_->Invoke(op);
  }
  Client* inner_;
};

class CounterClient : public Client {
 public:
  CounterClient(std::unique_ptr<Client> inner, std::shared_ptr<RegisterWorkloadState> state)
      : inner_(std::move(inner)), registers_(inner_.get()), state_(std::move(state)) {}

  Op Invoke(const Op& invoke) override {
    if (invoke.value.is_array()) return inner_->Invoke(invoke);  // a register op
    auto key = Key();
    if (!key.ok()) return Completed(invoke, OpType::kFail, invoke.value, key.status().message());
    if (invoke.f == "read") {
      Op r = registers_.Read(*key);
      if (!r.is_ok()) return Completed(invoke, r.type, nullptr, Why(r, "read"));
      Op done = Completed(invoke, OpType::kOk, registers_.ValueOf(r).value_or(0));
      done.extra = r.extra;
      return done;
    }
    if (invoke.f != "add" || !invoke.value.is_number_integer()) {
      return Completed(invoke, OpType::kFail, invoke.value,
                       "unsupported counter op " + history::Describe(invoke));
    }
    const int64_t n = invoke.value.get<int64_t>();
    for (int attempt = 0; attempt < kCasAttemptsMax; ++attempt) {
      Op r = registers_.Read(*key);
      // Nothing was written yet: the add certainly did not happen.
      if (!r.is_ok()) return Completed(invoke, OpType::kFail, invoke.value, Why(r, "read"));
      std::optional<int64_t> v = registers_.ValueOf(r);
      if (!v) {
        return Completed(invoke, OpType::kFail, invoke.value,
                         "the counter's key " + std::to_string(*key) + " is absent");
      }
      Op c = registers_.Cas(*key, *v, *v + n);
      if (c.is_fail()) continue;  // the count moved: certainly not applied; again
      Op done = Completed(invoke, c.type, invoke.value);
      if (!c.is_ok()) done.error = Why(c, "cas");
      done.extra = c.extra;
      return done;
    }
    return Completed(invoke, OpType::kFail, invoke.value,
                     "cas lost to other adds " + std::to_string(kCasAttemptsMax) + " times");
  }

 private:
  // The counter's key, writing 0 there first if no op of the test has.
  Result<int64_t> Key() {
    std::lock_guard lock(state_->counter_mu);
    RegisterWorkloadState::Counter& c = state_->counter;
    if (c.ready) return c.key;
    Op w = registers_.Write(c.key, 0);
    if (w.is_ok()) {
      c.ready = true;
      return c.key;
    }
    // A write of unknown outcome could land later and reset the count.
    if (!w.is_fail()) ++c.key;
    return Unavailable(Why(w, "initialising the counter").get<std::string>());
  }

  std::unique_ptr<Client> inner_;
  Registers registers_;
  std::shared_ptr<RegisterWorkloadState> state_;
};

class SetClient : public Client {
 public:
  SetClient(std::unique_ptr<Client> inner, std::shared_ptr<RegisterWorkloadState> state)
      : inner_(std::move(inner)), registers_(inner_.get()), state_(std::move(state)) {}

  Op Invoke(const Op& invoke) override {
    if (invoke.value.is_array()) return inner_->Invoke(invoke);  // a register op
    if (invoke.f == "read") return Read(invoke);
    if (invoke.f != "add" || !invoke.value.is_number_integer()) {
      return Completed(invoke, OpType::kFail, invoke.value,
                       "unsupported set op " + history::Describe(invoke));
    }
    if (word_ < 0 || next_bit_ == kSetBitsPerWord) {
      word_ = state_->NewWord();
      next_bit_ = 0;
      seen_.reset();
    }
    const int bit = next_bit_++;
    state_->Assign(word_, bit, invoke.value.get<int64_t>());
    const int64_t mask = int64_t{1} << bit;
    for (int attempt = 0; attempt < kCasAttemptsMax; ++attempt) {
      // A word nobody wrote yet (or that the system lost whole) is written;
      // otherwise the bit is added to what the word holds.
      Op c = seen_ ? registers_.Cas(word_, *seen_, *seen_ | mask) : registers_.Write(word_, mask);
      if (c.is_ok()) {
        seen_ = seen_.value_or(0) | mask;
        Op done = Completed(invoke, OpType::kOk, invoke.value);
        done.extra = c.extra;
        return done;
      }
      if (!c.is_fail()) {
        // Unknown: this client (its process) is done; its word too.
        Op done = Completed(invoke, c.type, invoke.value, Why(c, "cas"));
        word_ = -1;
        return done;
      }
      Op r = registers_.Read(word_);
      if (!r.is_ok()) return Completed(invoke, OpType::kFail, invoke.value, Why(r, "read"));
      seen_ = registers_.ValueOf(r);
    }
    return Completed(invoke, OpType::kFail, invoke.value,
                     "cas of word " + std::to_string(word_) + " failed " +
                         std::to_string(kCasAttemptsMax) + " times");
  }

 private:
  Op Read(const Op& invoke) {
    Json elements = Json::array();
    for (const auto& [word, assigned] : state_->Words()) {
      Op r = registers_.Read(word);
      if (!r.is_ok()) {
        return Completed(invoke, OpType::kFail, nullptr,
                         Why(r, "read of word " + std::to_string(word)));
      }
      const int64_t bits = registers_.ValueOf(r).value_or(0);
      for (int bit = 0; bit < 63; ++bit) {
        if ((bits & (int64_t{1} << bit)) == 0) continue;
        bool known = bit < static_cast<int>(assigned.size()) && assigned[bit] >= 0;
        elements.push_back(known ? assigned[bit] : -(1 + (word - kSetWordKeyBase) * 64 + bit));
      }
    }
    return Completed(invoke, OpType::kOk, std::move(elements));
  }

  std::unique_ptr<Client> inner_;
  Registers registers_;
  std::shared_ptr<RegisterWorkloadState> state_;
  int64_t word_ = -1;  // the word this client adds to, -1 before its first add
  int next_bit_ = 0;
  std::optional<int64_t> seen_;  // the word's bits as this client last saw them
};

}  // namespace

int64_t RegisterWorkloadState::NewWord() {
  std::lock_guard lock(mu_);
  int64_t word = kSetWordKeyBase + next_word_++;
  elements_[word];
  return word;
}

void RegisterWorkloadState::Assign(int64_t word, int bit, int64_t element) {
  std::lock_guard lock(mu_);
  std::vector<int64_t>& bits = elements_[word];
  if (static_cast<int>(bits.size()) <= bit) bits.resize(static_cast<size_t>(bit) + 1, -1);
  bits[static_cast<size_t>(bit)] = element;
}

std::map<int64_t, std::vector<int64_t>> RegisterWorkloadState::Words() {
  std::lock_guard lock(mu_);
  return elements_;
}

bool RegisterWorkloadSupported(const std::string& workload) {
  return workload == "register" || workload == "set" || workload == "counter";
}

std::unique_ptr<Client> ForWorkload(std::unique_ptr<Client> inner, const std::string& workload,
                                    std::shared_ptr<RegisterWorkloadState> state) {
  if (workload == "set") return std::make_unique<SetClient>(std::move(inner), std::move(state));
  if (workload == "counter") {
    return std::make_unique<CounterClient>(std::move(inner), std::move(state));
  }
  return inner;
}

}  // namespace chaos::adapters
