#include "adapters/memory_adapter.h"

#include <map>
#include <mutex>
#include <optional>
#include <set>

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
};

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
  MemoryClient(std::shared_ptr<Store> store, std::string workload)
      : store_(std::move(store)), workload_(std::move(workload)) {}

  Op Invoke(const Op& invoke) override {
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
      store_->registers[key] = v[1].get<int64_t>();
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

  std::shared_ptr<Store> store_;
  std::string workload_;
};

class MemoryAdapter : public Adapter {
 public:
  explicit MemoryAdapter(AdapterContext context)
      : context_(std::move(context)), store_(std::make_shared<Store>()) {}

  std::string name() const override { return "memory"; }
  bool UsesNodes() const override { return false; }
  std::set<std::string> Workloads() const override { return {"register", "set", "counter"}; }
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
    return std::unique_ptr<Client>(std::make_unique<MemoryClient>(store_, context_.workload));
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
