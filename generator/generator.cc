// Sources and combinators. See generator.h for the contract of each.
//
// Routing of completions: a worker has at most one op in flight, so every
// combinator that has several children remembers, per asking thread, which
// child produced that thread's op, and hands the completion to it. Children
// that may be replaced while their ops are in flight (Cycle) are held by
// shared_ptr from the routing table, so a completion always finds its child.
#include "generator/generator.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "base/check.h"

namespace chaos::generator {
namespace {

using history::Op;

int64_t MinTime(int64_t a, int64_t b) { return a < b ? a : b; }

class OnceGen final : public Generator {
 public:
  explicit OnceGen(Op op) : op_(std::move(op)) {
    CHAOS_CHECK_MSG(op_->is_invoke(), "Once: op type %s", history::OpTypeName(op_->type));
  }
  Answer Next(const Context&) override {
    if (!op_) return Done{};
    Op op = std::move(*op_);
    op_.reset();
    return op;
  }

 private:
  std::optional<Op> op_;
};

class RepeatGen final : public Generator {
 public:
  RepeatGen(std::function<Op(std::mt19937_64&)> make, uint64_t seed)
      : make_(std::move(make)), rng_(seed) {}
  Answer Next(const Context&) override {
    Op op = make_(rng_);
    CHAOS_CHECK_MSG(op.is_invoke(), "Repeat: op type %s", history::OpTypeName(op.type));
    return op;
  }

 private:
  std::function<Op(std::mt19937_64&)> make_;
  std::mt19937_64 rng_;
};

class SleepGen final : public Generator {
 public:
  explicit SleepGen(int64_t duration_ns) : duration_ns_(duration_ns) {
    CHAOS_CHECK_MSG(duration_ns >= 0, "Sleep: duration %lld ns", (long long)duration_ns);
  }
  Answer Next(const Context& ctx) override {
    if (end_ns_ == history::kAbsent) end_ns_ = ctx.now_ns + duration_ns_;
    if (ctx.now_ns >= end_ns_) return Done{};
    return NotYet{end_ns_};
  }

 private:
  int64_t duration_ns_;
  int64_t end_ns_ = history::kAbsent;
};

class MixGen final : public Generator {
 public:
  MixGen(std::vector<GeneratorPtr> gens, uint64_t seed)
      : gens_(std::move(gens)), done_(gens_.size(), false), rng_(seed) {
    for (const GeneratorPtr& g : gens_) CHAOS_CHECK(g != nullptr);
  }
  Answer Next(const Context& ctx) override {
    // Bounded: every Done answer retires one child.
    while (true) {
      std::vector<size_t> alive;
      for (size_t i = 0; i < gens_.size(); ++i) {
        if (!done_[i]) alive.push_back(i);
      }
      if (alive.empty()) return Done{};
      size_t i = alive[std::uniform_int_distribution<size_t>(0, alive.size() - 1)(rng_)];
      Answer a = gens_[i]->Next(ctx);
      if (IsDone(a)) {
        done_[i] = true;
        continue;
      }
      if (IsOp(a)) in_flight_[ctx.thread] = i;
      return a;
    }
  }
  void Update(const Op& completion, const Context& ctx) override {
    auto it = in_flight_.find(ctx.thread);
    if (it == in_flight_.end()) return;
    size_t i = it->second;
    in_flight_.erase(it);
    gens_[i]->Update(completion, ctx);
  }

 private:
  std::vector<GeneratorPtr> gens_;
  std::vector<bool> done_;
  std::mt19937_64 rng_;
  std::map<int, size_t> in_flight_;  // thread -> child
};

class LimitGen final : public Generator {
 public:
  LimitGen(int64_t n, GeneratorPtr g) : remaining_(n), g_(std::move(g)) {
    CHAOS_CHECK_MSG(n >= 0, "Limit: n = %lld", (long long)n);
    CHAOS_CHECK(g_ != nullptr);
  }
  Answer Next(const Context& ctx) override {
    if (done_ || remaining_ == 0) {
      done_ = true;
      return Done{};
    }
    Answer a = g_->Next(ctx);
    if (IsOp(a)) --remaining_;
    if (IsDone(a)) done_ = true;
    return a;
  }
  void Update(const Op& completion, const Context& ctx) override { g_->Update(completion, ctx); }

 private:
  int64_t remaining_;
  GeneratorPtr g_;
  bool done_ = false;
};

class TimeLimitGen final : public Generator {
 public:
  TimeLimitGen(int64_t duration_ns, GeneratorPtr g) : duration_ns_(duration_ns), g_(std::move(g)) {
    CHAOS_CHECK_MSG(duration_ns >= 0, "TimeLimit: duration %lld ns", (long long)duration_ns);
    CHAOS_CHECK(g_ != nullptr);
  }
  Answer Next(const Context& ctx) override {
    if (done_) return Done{};
    if (deadline_ns_ == history::kAbsent) deadline_ns_ = ctx.now_ns + duration_ns_;
    if (ctx.now_ns >= deadline_ns_) {
      done_ = true;
      return Done{};
    }
    Answer a = g_->Next(ctx);
    if (IsDone(a)) done_ = true;
    if (auto* wait = std::get_if<NotYet>(&a)) {
      wait->retry_at_ns = MinTime(wait->retry_at_ns, deadline_ns_);
    }
    return a;
  }
  void Update(const Op& completion, const Context& ctx) override { g_->Update(completion, ctx); }

 private:
  int64_t duration_ns_;
  GeneratorPtr g_;
  int64_t deadline_ns_ = history::kAbsent;
  bool done_ = false;
};

// Stagger and Delay: ops of g no earlier than an absolute schedule of arrival
// times; `gap(rng)` draws the gap after each op.
class PacedGen final : public Generator {
 public:
  PacedGen(std::function<int64_t(std::mt19937_64&)> gap, GeneratorPtr g, uint64_t seed)
      : gap_(std::move(gap)), g_(std::move(g)), rng_(seed) {
    CHAOS_CHECK(g_ != nullptr);
  }
  Answer Next(const Context& ctx) override {
    if (done_) return Done{};
    if (next_ns_ == history::kAbsent) next_ns_ = ctx.now_ns;
    if (ctx.now_ns < next_ns_) return NotYet{next_ns_};
    Answer a = g_->Next(ctx);
    if (IsDone(a)) done_ = true;
    if (IsOp(a)) {
      int64_t gap_ns = gap_(rng_);
      CHAOS_CHECK_MSG(gap_ns >= 0, "negative gap %lld ns", (long long)gap_ns);
      next_ns_ += gap_ns;
    }
    return a;
  }
  void Update(const Op& completion, const Context& ctx) override { g_->Update(completion, ctx); }

 private:
  std::function<int64_t(std::mt19937_64&)> gap_;
  GeneratorPtr g_;
  std::mt19937_64 rng_;
  int64_t next_ns_ = history::kAbsent;
  bool done_ = false;
};

// Phases (barrier = true) and Sequence (barrier = false).
class SequenceGen final : public Generator {
 public:
  SequenceGen(std::vector<GeneratorPtr> gens, bool barrier)
      : gens_(std::move(gens)), barrier_(barrier) {
    for (const GeneratorPtr& g : gens_) CHAOS_CHECK(g != nullptr);
  }
  Answer Next(const Context& ctx) override {
    // Bounded: every Done answer advances current_.
    while (current_ < gens_.size()) {
      if (at_barrier_) {
        if (in_flight_.size() > 0) return NotYet{kNever};
        at_barrier_ = false;
      }
      Answer a = gens_[current_]->Next(ctx);
      if (IsDone(a)) {
        ++current_;
        at_barrier_ = barrier_;
        continue;
      }
      if (IsOp(a)) {
        CHAOS_CHECK_MSG(!in_flight_.count(ctx.thread), "thread %d asked with an op in flight",
                        ctx.thread);
        in_flight_[ctx.thread] = current_;
      }
      return a;
    }
    return Done{};
  }
  void Update(const Op& completion, const Context& ctx) override {
    auto it = in_flight_.find(ctx.thread);
    if (it == in_flight_.end()) return;
    size_t i = it->second;
    in_flight_.erase(it);
    gens_[i]->Update(completion, ctx);
  }

 private:
  std::vector<GeneratorPtr> gens_;
  bool barrier_;
  size_t current_ = 0;
  bool at_barrier_ = false;
  std::map<int, size_t> in_flight_;  // thread -> phase of its op
};

class CycleGen final : public Generator {
 public:
  explicit CycleGen(std::function<GeneratorPtr()> factory) : factory_(std::move(factory)) {}
  Answer Next(const Context& ctx) override {
    // Bounded: a fresh generator answering Done ends the loop.
    while (!done_) {
      if (!current_) {
        current_ = factory_();
        CHAOS_CHECK(current_ != nullptr);
        fresh_ = true;
      }
      Answer a = current_->Next(ctx);
      if (IsDone(a)) {
        if (fresh_) done_ = true;
        current_.reset();
        continue;
      }
      fresh_ = false;
      if (IsOp(a)) in_flight_[ctx.thread] = current_;
      return a;
    }
    return Done{};
  }
  void Update(const Op& completion, const Context& ctx) override {
    auto it = in_flight_.find(ctx.thread);
    if (it == in_flight_.end()) return;
    std::shared_ptr<Generator> g = std::move(it->second);
    in_flight_.erase(it);
    g->Update(completion, ctx);
  }

 private:
  std::function<GeneratorPtr()> factory_;
  std::shared_ptr<Generator> current_;
  bool fresh_ = false;
  bool done_ = false;
  std::map<int, std::shared_ptr<Generator>> in_flight_;
};

class EachProcessGen final : public Generator {
 public:
  explicit EachProcessGen(std::function<GeneratorPtr()> factory) : factory_(std::move(factory)) {}
  Answer Next(const Context& ctx) override {
    if (all_done_) return Done{};
    if (finished_.count(ctx.thread)) return NotYet{kNever};
    GeneratorPtr& g = gens_[ctx.thread];
    if (!g) {
      g = factory_();
      CHAOS_CHECK(g != nullptr);
    }
    Answer a = g->Next(ctx);
    if (!IsDone(a)) return a;
    finished_.insert(ctx.thread);
    all_done_ = AllFinished(ctx.concurrency);
    if (all_done_) return Done{};
    return NotYet{kNever};
  }
  void Update(const Op& completion, const Context& ctx) override {
    auto it = gens_.find(ctx.thread);
    if (it != gens_.end()) it->second->Update(completion, ctx);
  }

 private:
  bool AllFinished(int concurrency) const {
    for (int t = 0; t < concurrency; ++t) {
      if (!finished_.count(t)) return false;
    }
    for (const auto& [t, g] : gens_) {
      if (!finished_.count(t)) return false;
    }
    return true;
  }
  std::function<GeneratorPtr()> factory_;
  std::map<int, GeneratorPtr> gens_;  // thread -> its copy
  std::set<int> finished_;            // threads whose copy answered Done
  bool all_done_ = false;
};

class RouteGen final : public Generator {
 public:
  RouteGen(GeneratorPtr clients, GeneratorPtr nemesis)
      : clients_(std::move(clients)), nemesis_(std::move(nemesis)) {
    clients_done_ = clients_ == nullptr;
    nemesis_done_ = nemesis_ == nullptr;
  }
  Answer Next(const Context& ctx) override {
    bool nemesis = IsNemesis(ctx);
    bool& side_done = nemesis ? nemesis_done_ : clients_done_;
    if (!side_done) {
      Answer a = (nemesis ? nemesis_ : clients_)->Next(ctx);
      if (!IsDone(a)) return a;
      side_done = true;
    }
    if (clients_done_ && nemesis_done_) return Done{};
    return NotYet{kNever};
  }
  void Update(const Op& completion, const Context& ctx) override {
    GeneratorPtr& side = IsNemesis(ctx) ? nemesis_ : clients_;
    if (side) side->Update(completion, ctx);
  }

 private:
  static bool IsNemesis(const Context& ctx) { return ctx.thread < 0 || ctx.process.is_nemesis(); }
  GeneratorPtr clients_, nemesis_;
  bool clients_done_ = false, nemesis_done_ = false;
};

class UntilOkGen final : public Generator {
 public:
  explicit UntilOkGen(GeneratorPtr g) : g_(std::move(g)) { CHAOS_CHECK(g_ != nullptr); }
  Answer Next(const Context& ctx) override {
    if (done_) return Done{};
    Answer a = g_->Next(ctx);
    if (IsDone(a)) done_ = true;
    return a;
  }
  void Update(const Op& completion, const Context& ctx) override {
    if (completion.is_ok()) done_ = true;
    g_->Update(completion, ctx);
  }

 private:
  GeneratorPtr g_;
  bool done_ = false;
};

class DeferGen final : public Generator {
 public:
  explicit DeferGen(std::function<GeneratorPtr()> factory) : factory_(std::move(factory)) {}
  Answer Next(const Context& ctx) override {
    if (!g_) {
      g_ = factory_();
      CHAOS_CHECK(g_ != nullptr);
    }
    return g_->Next(ctx);
  }
  void Update(const Op& completion, const Context& ctx) override {
    if (g_) g_->Update(completion, ctx);
  }

 private:
  std::function<GeneratorPtr()> factory_;
  GeneratorPtr g_;
};

}  // namespace

history::Op Invoke(std::string f, history::Json value) {
  Op op;
  op.type = history::OpType::kInvoke;
  op.f = std::move(f);
  op.value = std::move(value);
  return op;
}

GeneratorPtr Once(history::Op op) { return std::make_unique<OnceGen>(std::move(op)); }
GeneratorPtr Repeat(std::function<history::Op(std::mt19937_64&)> make, uint64_t seed) {
  return std::make_unique<RepeatGen>(std::move(make), seed);
}
GeneratorPtr Sleep(int64_t duration_ns) { return std::make_unique<SleepGen>(duration_ns); }
GeneratorPtr Mix(std::vector<GeneratorPtr> gens, uint64_t seed) {
  return std::make_unique<MixGen>(std::move(gens), seed);
}
GeneratorPtr Limit(int64_t n, GeneratorPtr g) {
  return std::make_unique<LimitGen>(n, std::move(g));
}
GeneratorPtr TimeLimit(int64_t duration_ns, GeneratorPtr g) {
  return std::make_unique<TimeLimitGen>(duration_ns, std::move(g));
}
GeneratorPtr Stagger(int64_t mean_interval_ns, GeneratorPtr g, uint64_t seed) {
  CHAOS_CHECK_MSG(mean_interval_ns >= 0, "Stagger: mean interval %lld ns",
                  (long long)mean_interval_ns);
  auto gap = [mean = static_cast<double>(mean_interval_ns)](std::mt19937_64& rng) -> int64_t {
    if (mean == 0) return 0;
    // Inverse transform of a uniform in (0, 1]: exact across standard libraries,
    // unlike std::exponential_distribution, so a seed means the same everywhere.
    double u = (static_cast<double>(rng() >> 11) + 1.0) * 0x1.0p-53;
    return static_cast<int64_t>(std::llround(-std::log(u) * mean));
  };
  return std::make_unique<PacedGen>(std::move(gap), std::move(g), seed);
}
GeneratorPtr Delay(int64_t interval_ns, GeneratorPtr g) {
  CHAOS_CHECK_MSG(interval_ns >= 0, "Delay: interval %lld ns", (long long)interval_ns);
  return std::make_unique<PacedGen>([interval_ns](std::mt19937_64&) { return interval_ns; },
                                    std::move(g), 0);
}
GeneratorPtr Phases(std::vector<GeneratorPtr> phases) {
  return std::make_unique<SequenceGen>(std::move(phases), /*barrier=*/true);
}
GeneratorPtr Sequence(std::vector<GeneratorPtr> gens) {
  return std::make_unique<SequenceGen>(std::move(gens), /*barrier=*/false);
}
GeneratorPtr Cycle(std::function<GeneratorPtr()> factory) {
  return std::make_unique<CycleGen>(std::move(factory));
}
GeneratorPtr EachProcess(std::function<GeneratorPtr()> factory) {
  return std::make_unique<EachProcessGen>(std::move(factory));
}
GeneratorPtr Route(GeneratorPtr clients, GeneratorPtr nemesis) {
  return std::make_unique<RouteGen>(std::move(clients), std::move(nemesis));
}
GeneratorPtr Defer(std::function<GeneratorPtr()> factory) {
  return std::make_unique<DeferGen>(std::move(factory));
}
GeneratorPtr UntilOk(GeneratorPtr g) { return std::make_unique<UntilOkGen>(std::move(g)); }

}  // namespace chaos::generator
