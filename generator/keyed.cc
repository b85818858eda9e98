// KeyedGroups: Jepsen's independent concurrent generator. See generator.h.
//
// Invariants: a key belongs to exactly one group and is never reused, so at
// most `processes_per_key` threads ever touch it; every key's generator is
// wrapped in Limit(k) with k <= ops_per_key_max, so no key gets more ops.
#include <map>
#include <utility>

#include "base/check.h"
#include "generator/generator.h"

namespace chaos::generator {
namespace {

using history::Json;
using history::Op;

class KeyedGroupsGen final : public Generator {
 public:
  KeyedGroupsGen(int processes_per_key, int64_t ops_per_key_max,
                 std::function<GeneratorPtr(int64_t key)> per_key, uint64_t seed,
                 std::shared_ptr<std::vector<int64_t>> keys_out)
      : processes_per_key_(processes_per_key),
        ops_per_key_max_(ops_per_key_max),
        per_key_(std::move(per_key)),
        rng_(seed),
        keys_out_(std::move(keys_out)) {
    CHAOS_CHECK_MSG(processes_per_key >= 1, "KeyedGroups: processes_per_key %d", processes_per_key);
    CHAOS_CHECK_MSG(ops_per_key_max >= 1, "KeyedGroups: ops_per_key_max %lld",
                    (long long)ops_per_key_max);
  }

  Answer Next(const Context& ctx) override {
    CHAOS_CHECK_MSG(ctx.thread >= 0 && ctx.thread < ctx.concurrency,
                    "KeyedGroups asked by thread %d of %d (route the nemesis elsewhere)",
                    ctx.thread, ctx.concurrency);
    if (done_) return Done{};
    size_t groups =
        static_cast<size_t>((ctx.concurrency + processes_per_key_ - 1) / processes_per_key_);
    if (groups_.empty()) groups_.resize(groups);
    CHAOS_CHECK_MSG(groups_.size() == groups, "concurrency changed: %zu groups, now %zu",
                    groups_.size(), groups);
    Group& group = groups_[static_cast<size_t>(ctx.thread / processes_per_key_)];
    // Bounded: a fresh key whose generator answers Done ends the loop.
    while (true) {
      if (!group.gen) NewKey(group);
      Answer a = group.gen->Next(ctx);
      if (IsDone(a)) {
        if (group.fresh) {
          done_ = true;
          return Done{};
        }
        group.gen.reset();
        continue;
      }
      group.fresh = false;
      if (Op* op = std::get_if<Op>(&a)) {
        op->value = Json::array({group.key, std::move(op->value)});
        in_flight_[ctx.thread] = {group.key, group.gen};
      }
      return a;
    }
  }

  void Update(const Op& completion, const Context& ctx) override {
    auto it = in_flight_.find(ctx.thread);
    if (it == in_flight_.end()) return;
    auto [key, gen] = std::move(it->second);
    in_flight_.erase(it);
    Op unwrapped = completion;
    const Json& v = completion.value;
    if (v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[0].get<int64_t>() == key) {
      unwrapped.value = v[1];
    }
    gen->Update(unwrapped, ctx);
  }

 private:
  struct Group {
    int64_t key = 0;
    std::shared_ptr<Generator> gen;  // null before the first key and between keys
    bool fresh = false;              // gen has not answered anything yet
  };

  void NewKey(Group& group) {
    group.key = next_key_++;
    if (keys_out_) keys_out_->push_back(group.key);
    // k in [max - max/4, max]: groups drift apart instead of switching together.
    int64_t k =
        ops_per_key_max_ - std::uniform_int_distribution<int64_t>(0, ops_per_key_max_ / 4)(rng_);
    GeneratorPtr g = per_key_(group.key);
    CHAOS_CHECK(g != nullptr);
    group.gen = Limit(k, std::move(g));
    group.fresh = true;
  }

  int processes_per_key_;
  int64_t ops_per_key_max_;
  std::function<GeneratorPtr(int64_t)> per_key_;
  std::mt19937_64 rng_;
  std::shared_ptr<std::vector<int64_t>> keys_out_;
  std::vector<Group> groups_;
  int64_t next_key_ = 0;
  bool done_ = false;
  std::map<int, std::pair<int64_t, std::shared_ptr<Generator>>> in_flight_;  // thread -> key, gen
};

}  // namespace

GeneratorPtr KeyedGroups(int processes_per_key, int64_t ops_per_key_max,
                         std::function<GeneratorPtr(int64_t key)> per_key, uint64_t seed,
                         std::shared_ptr<std::vector<int64_t>> keys_out) {
  return std::make_unique<KeyedGroupsGen>(processes_per_key, ops_per_key_max, std::move(per_key),
                                          seed, std::move(keys_out));
}

}  // namespace chaos::generator
