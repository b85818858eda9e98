// Proves the set and counter workloads over keyed registers: against a
// linearizable in-memory register store, concurrent adds are all read back
// and the checkers say valid; a write the store loses stays lost (no later
// add brings it back) and the set checker calls it lost; an add whose cas
// is of unknown outcome is info and its word is never written again; a bit
// no add stands for reads as an unexpected element; an initial counter write
// of unknown outcome moves the counter to a fresh key.
#include "adapters/register_workloads.h"

#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "checker/others.h"

namespace chaos::adapters {
namespace {

using history::Json;
using history::Op;
using history::OpType;

// Keyed registers as the register and etcd clients offer them, in memory,
// with faults on demand.
struct Store {
  std::mutex mu;
  std::map<int64_t, int64_t> values;
  int info_next = 0;  // the next N writes/cas are applied but answered info
};

class StoreClient : public Client {
 public:
  explicit StoreClient(std::shared_ptr<Store> store) : store_(std::move(store)) {}
  Op Invoke(const Op& invoke) override {
    std::lock_guard lock(store_->mu);
    Op done = invoke;
    const int64_t key = invoke.value[0].get<int64_t>();
    auto it = store_->values.find(key);
    done.type = OpType::kOk;
    if (invoke.f == "read") {
      done.value[1] = it == store_->values.end() ? Json(nullptr) : Json(it->second);
      return done;
    }
    if (invoke.f == "write") {
      store_->values[key] = invoke.value[1].get<int64_t>();
    } else if (it == store_->values.end() || it->second != invoke.value[1][0].get<int64_t>()) {
      done.type = OpType::kFail;
      return done;
    } else {
      it->second = invoke.value[1][1].get<int64_t>();
    }
    if (store_->info_next > 0) {
      --store_->info_next;
      done.type = OpType::kInfo;
    }
    return done;
  }

 private:
  std::shared_ptr<Store> store_;
};

Op Invoke(const std::string& f, Json value) {
  Op op;
  op.type = OpType::kInvoke;
  op.f = f;
  op.value = std::move(value);
  return op;
}

// Runs `threads` clients of `workload`, each invoking `ops(thread, i)` for i
// in [0, per_thread), and records a history (process = thread).
history::History RunClients(const std::string& workload, std::shared_ptr<Store> store,
                            std::shared_ptr<RegisterWorkloadState> state, int threads,
                            int per_thread, const std::function<Op(int, int)>& ops) {
  std::mutex mu;
  history::History h;
  auto record = [&](Op op, int process) {
    std::lock_guard lock(mu);
    op.process = history::Process::Number(process);
    op.index = static_cast<int64_t>(h.size());
    h.push_back(std::move(op));
  };
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto client = ForWorkload(std::make_unique<StoreClient>(store), workload, state);
      for (int i = 0; i < per_thread; ++i) {
        Op op = ops(t, i);
        record(op, t);
        record(client->Invoke(op), t);
      }
    });
  }
  for (auto& w : workers) w.join();
  return h;
}

TEST(RegisterWorkloads, CounterConcurrentAddsAreCounted) {
  auto store = std::make_shared<Store>();
  auto state = std::make_shared<RegisterWorkloadState>();
  history::History h = RunClients("counter", store, state, 4, 200, [](int t, int i) {
    return i % 4 == 3 ? Invoke("read", nullptr) : Invoke("add", (t + i) % 3 + 1);
  });
  int64_t acked = 0;
  for (size_t i = 1; i < h.size(); ++i) {
    if (h[i].is_ok() && h[i].f == "add") acked += h[i].value.get<int64_t>();
  }
  EXPECT_GT(acked, 0);
  EXPECT_EQ(store->values.at(kCounterKey), acked);
  auto final_read = ForWorkload(std::make_unique<StoreClient>(store), "counter", state)
                        ->Invoke(Invoke("read", nullptr));
  EXPECT_TRUE(final_read.is_ok());
  EXPECT_EQ(final_read.value, acked);
  EXPECT_EQ(checker::CheckCounter(h).verdict, checker::Verdict::kValid);
}

TEST(RegisterWorkloads, CounterInitialWriteOfUnknownOutcomeMovesTheKey) {
  auto store = std::make_shared<Store>();
  store->info_next = 1;
  auto state = std::make_shared<RegisterWorkloadState>();
  auto client = ForWorkload(std::make_unique<StoreClient>(store), "counter", state);
  Op first = client->Invoke(Invoke("add", 2));
  EXPECT_TRUE(first.is_fail()) << history::Describe(first);
  Op second = client->Invoke(Invoke("add", 3));
  EXPECT_TRUE(second.is_ok()) << history::Describe(second);
  EXPECT_EQ(store->values.at(kCounterKey + 1), 3);
  EXPECT_EQ(client->Invoke(Invoke("read", nullptr)).value, 3);
}

TEST(RegisterWorkloads, SetConcurrentAddsAreAllRead) {
  auto store = std::make_shared<Store>();
  auto state = std::make_shared<RegisterWorkloadState>();
  history::History h = RunClients("set", store, state, 5, 150,
                                  [](int t, int i) { return Invoke("add", t * 1000 + i); });
  auto reader = ForWorkload(std::make_unique<StoreClient>(store), "set", state);
  Op read = reader->Invoke(Invoke("read", nullptr));
  ASSERT_TRUE(read.is_ok());
  EXPECT_EQ(read.value.size(), 750u);
  h.push_back(Invoke("read", nullptr));
  h.back().process = history::Process::Number(9);
  read.process = history::Process::Number(9);
  h.push_back(read);
  for (size_t i = 0; i < h.size(); ++i) h[i].index = static_cast<int64_t>(i);
  auto out = checker::CheckSet(h);
  EXPECT_EQ(out.verdict, checker::Verdict::kValid) << out.result.dump();
  EXPECT_EQ(out.result["acknowledged_count"], 750);
}

TEST(RegisterWorkloads, SetLostWriteStaysLost) {
  auto store = std::make_shared<Store>();
  auto state = std::make_shared<RegisterWorkloadState>();
  history::History h;
  auto client = ForWorkload(std::make_unique<StoreClient>(store), "set", state);
  auto step = [&](Op op) {
    h.push_back(op);
    h.push_back(client->Invoke(op));
  };
  step(Invoke("add", 10));
  step(Invoke("add", 11));
  // The system loses its acknowledged state of the word (say, a rollback).
  store->values[kSetWordKeyBase] = 1;  // only element 10's bit
  step(Invoke("add", 12));
  EXPECT_TRUE(h.back().is_ok());
  step(Invoke("read", nullptr));
  ASSERT_TRUE(h.back().is_ok());
  EXPECT_EQ(h.back().value, Json::array({10, 12}));
  for (size_t i = 0; i < h.size(); ++i) {
    h[i].index = static_cast<int64_t>(i);
    h[i].process = history::Process::Number(0);
  }
  auto out = checker::CheckSet(h);
  EXPECT_EQ(out.verdict, checker::Verdict::kInvalid);
  EXPECT_EQ(out.result["lost"], Json::array({11}));
}

TEST(RegisterWorkloads, SetUnknownAddRetiresTheWordAndStrayBitsAreUnexpected) {
  auto store = std::make_shared<Store>();
  auto state = std::make_shared<RegisterWorkloadState>();
  auto first = ForWorkload(std::make_unique<StoreClient>(store), "set", state);
  EXPECT_TRUE(first->Invoke(Invoke("add", 1)).is_ok());
  store->info_next = 1;
  EXPECT_TRUE(first->Invoke(Invoke("add", 2)).is_info());
  // The runner replaces a client after info; the next one takes a new word.
  auto second = ForWorkload(std::make_unique<StoreClient>(store), "set", state);
  EXPECT_TRUE(second->Invoke(Invoke("add", 3)).is_ok());
  EXPECT_EQ(store->values.at(kSetWordKeyBase + 1), 1);
  // A bit no add stands for (bit 5 of the first word).
  store->values[kSetWordKeyBase] |= int64_t{1} << 5;
  Op read = second->Invoke(Invoke("read", nullptr));
  ASSERT_TRUE(read.is_ok());
  EXPECT_EQ(read.value, Json::array({1, 2, -6, 3}));
}

TEST(RegisterWorkloads, RegisterOpsPassThrough) {
  auto store = std::make_shared<Store>();
  auto state = std::make_shared<RegisterWorkloadState>();
  for (const char* workload : {"set", "counter"}) {
    auto client = ForWorkload(std::make_unique<StoreClient>(store), workload, state);
    EXPECT_TRUE(client->Invoke(Invoke("write", Json::array({-1, 0}))).is_ok());
  }
  EXPECT_EQ(store->values.at(-1), 0);
  EXPECT_TRUE(RegisterWorkloadSupported("counter"));
  EXPECT_FALSE(RegisterWorkloadSupported("queue"));
}

}  // namespace
}  // namespace chaos::adapters
