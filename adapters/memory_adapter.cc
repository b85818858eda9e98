#include "adapters/memory_adapter.h"

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "history/codec.h"

namespace chaos::adapters {
namespace {

using history::Json;
using history::Op;
using history::OpType;

// The state every client of one adapter shares.
struct Store {
  std::mutex mu;
  std::map<int64_t, int64_t> registers;  // absent key: never written (reads nil)
  std::set<int64_t> set;
  int64_t counter = 0;
  // list-append and rw-register: one map each; a txn holds `mu` throughout.
  std::map<int64_t, std::vector<int64_t>> lists;
  std::map<int64_t, int64_t> txn_registers;
};

// Seeded transaction mistakes (--bug), for proving the transactional checker:
// txn-split-apply applies a txn's micro-ops in two critical sections, so
// another txn can run between its halves (as a store that commits one txn in
// two log entries); txn-stale-read answers each read from the state as it
// was when this client's previous txn ran (as a replica that has not applied
// the newest entries). lost-write acknowledges every fourth register write
// of a client without applying it (as a leader that answers before the write
// is durable and then loses it), for proving the register checker.
const std::set<std::string>& MemoryBugs() {
  static const std::set<std::string> kBugs = {"txn-split-apply", "txn-stale-read", "lost-write"};
  return kBugs;
}

Op Completed(const Op& invoke, OpType type, Json value) {
  Op done = invoke;
  done.type = type;
  done.value = std::move(value);
  return done;
}

Op Refused(const Op& invoke, const std::string& why) {
  Op done = invoke;
  done.type = OpType::kFail;
  done.error = "memory adapter: " + why;
  return done;
}

class MemoryClient : public Client {
 public:
  MemoryClient(std::shared_ptr<Store> store, std::string workload, std::set<std::string> bugs)
      : store_(std::move(store)), workload_(std::move(workload)), bugs_(std::move(bugs)) {}

  Op Invoke(const Op& invoke) override {
    if (invoke.f == "txn") return Txn(invoke);
    // Keyed register ops ([key, value]) under every workload: the runner's
    // readiness probe is a register write.
    if (invoke.value.is_array() || workload_ == "register") return Register(invoke);
    if (workload_ == "set") return Set(invoke);
    if (workload_ == "counter") return Counter(invoke);
    return Refused(invoke, "unknown workload " + workload_);
  }

 private:
  Op Register(const Op& invoke) {
    const Json& v = invoke.value;
    if (!v.is_array() || v.size() != 2 || !v[0].is_number_integer()) {
      return Refused(invoke, "register ops take [key, value]");
    }
    const int64_t key = v[0].get<int64_t>();
    std::lock_guard<std::mutex> lock(store_->mu);
    auto it = store_->registers.find(key);
    if (invoke.f == "read") {
      Json read = it == store_->registers.end() ? Json(nullptr) : Json(it->second);
      return Completed(invoke, OpType::kOk, Json::array({key, read}));
    }
    if (invoke.f == "write" && v[1].is_number_integer()) {
      const bool lost = bugs_.count("lost-write") != 0 && ++writes_ % 4 == 0;
      if (!lost) store_->registers[key] = v[1].get<int64_t>();
      return Completed(invoke, OpType::kOk, v);
    }
    if (invoke.f == "cas" && v[1].is_array() && v[1].size() == 2 && v[1][0].is_number_integer() &&
        v[1][1].is_number_integer()) {
      if (it == store_->registers.end() || it->second != v[1][0].get<int64_t>()) {
        return Completed(invoke, OpType::kFail, v);
      }
      it->second = v[1][1].get<int64_t>();
      return Completed(invoke, OpType::kOk, v);
    }
    return Refused(invoke, "unsupported register op " + history::Describe(invoke));
  }

  Op Set(const Op& invoke) {
    std::lock_guard<std::mutex> lock(store_->mu);
    if (invoke.f == "add" && invoke.value.is_number_integer()) {
      store_->set.insert(invoke.value.get<int64_t>());
      return Completed(invoke, OpType::kOk, invoke.value);
    }
    if (invoke.f == "read") {
      return Completed(invoke, OpType::kOk, Json(store_->set));
    }
    return Refused(invoke, "unsupported set op " + history::Describe(invoke));
  }

  Op Counter(const Op& invoke) {
    std::lock_guard<std::mutex> lock(store_->mu);
    if (invoke.f == "add" && invoke.value.is_number_integer()) {
      store_->counter += invoke.value.get<int64_t>();
      return Completed(invoke, OpType::kOk, invoke.value);
    }
    if (invoke.f == "read") return Completed(invoke, OpType::kOk, Json(store_->counter));
    return Refused(invoke, "unsupported counter op " + history::Describe(invoke));
  }

  // Micro-ops [f k v] applied in order; reads fill in v. Under txn-split-apply
  // the lock is released after the first half.
  Op Txn(const Op& invoke) {
    const Json& mops = invoke.value;
    if (!mops.is_array()) return Refused(invoke, "a txn's value is a list of micro-ops");
    for (const Json& m : mops) {
      if (!m.is_array() || m.size() != 3 || !m[1].is_number_integer() ||
          (history::NameOf(m[0]) != "r" && !m[2].is_number_integer())) {
        return Refused(invoke, "bad micro-op " + history::EdnOf(m));
      }
    }
    Json out = Json::array();
    const size_t split = bugs_.count("txn-split-apply") != 0 ? (mops.size() + 1) / 2 : mops.size();
    std::unique_lock<std::mutex> lock(store_->mu);
    for (size_t i = 0; i < mops.size(); ++i) {
      if (i == split) {
        lock.unlock();
        std::this_thread::yield();
        lock.lock();
      }
      out.push_back(Apply(mops[i]));
    }
    if (bugs_.count("txn-stale-read") != 0) {
      stale_lists_ = store_->lists;
      stale_registers_ = store_->txn_registers;
    }
    return Completed(invoke, OpType::kOk, std::move(out));
  }

  Json Apply(const Json& m) {
    const std::string_view f = history::NameOf(m[0]);
    const int64_t key = m[1].get<int64_t>();
    const bool stale = bugs_.count("txn-stale-read") != 0;
    if (f == "append") {
      store_->lists[key].push_back(m[2].get<int64_t>());
      if (stale) stale_lists_[key].push_back(m[2].get<int64_t>());  // own writes stay visible
      return m;
    }
    if (f == "w") {
      store_->txn_registers[key] = m[2].get<int64_t>();
      if (stale) stale_registers_[key] = m[2].get<int64_t>();
      return m;
    }
    const bool list = workload_ != "rw-register";
    Json read;
    if (list) {
      const auto& lists = stale ? stale_lists_ : store_->lists;
      auto it = lists.find(key);
      read = it == lists.end() ? Json::array() : Json(it->second);
    } else {
      const auto& regs = stale ? stale_registers_ : store_->txn_registers;
      auto it = regs.find(key);
      read = it == regs.end() ? Json(nullptr) : Json(it->second);
    }
    return Json::array({m[0], key, read});
  }

  std::shared_ptr<Store> store_;
  std::string workload_;
  std::set<std::string> bugs_;
  int64_t writes_ = 0;  // register writes of this client (lost-write)
  // txn-stale-read: this client's view as of its previous txn.
  std::map<int64_t, std::vector<int64_t>> stale_lists_;
  std::map<int64_t, int64_t> stale_registers_;
};

class MemoryAdapter : public Adapter {
 public:
  explicit MemoryAdapter(AdapterContext context)
      : context_(std::move(context)), store_(std::make_shared<Store>()) {}

  std::string name() const override { return "memory"; }
  bool UsesNodes() const override { return false; }
  std::set<std::string> Workloads() const override {
    return {"register", "set", "counter", "list-append", "rw-register"};
  }
  std::set<std::string> SupportedFaults() const override { return {}; }
  // Nothing runs on a node: the lifecycle has nothing to do.
  Status Setup(const control::NodeInfo&) override { return Status::Ok(); }
  Status Start(const control::NodeInfo&) override { return Status::Ok(); }
  Status Kill(const control::NodeInfo&) override { return Status::Ok(); }
  Status Pause(const control::NodeInfo&) override { return Status::Ok(); }
  Status Resume(const control::NodeInfo&) override { return Status::Ok(); }
  Result<bool> IsRunning(const control::NodeInfo&) override { return true; }
  Status Teardown(const control::NodeInfo&) override { return Status::Ok(); }
  std::vector<std::string> LogFiles(const control::NodeInfo&) const override { return {}; }

  Result<std::unique_ptr<Client>> OpenClient(const control::NodeInfo&, int64_t) override {
    for (const std::string& bug : context_.bugs) {
      if (MemoryBugs().count(bug) == 0) {
        return InvalidArgument("memory adapter: unknown --bug " + bug +
                               " (txn-split-apply, txn-stale-read, lost-write)");
      }
    }
    return std::unique_ptr<Client>(std::make_unique<MemoryClient>(
        store_, context_.workload,
        std::set<std::string>(context_.bugs.begin(), context_.bugs.end())));
  }

 private:
  AdapterContext context_;
  std::shared_ptr<Store> store_;
};

}  // namespace

std::unique_ptr<Adapter> MakeMemoryAdapter(AdapterContext context) {
  return std::make_unique<MemoryAdapter>(std::move(context));
}

}  // namespace chaos::adapters
