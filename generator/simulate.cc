// The simulated runner. See simulate.h.
#include "generator/simulate.h"

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "base/check.h"

namespace chaos::generator {
namespace {

using history::Json;
using history::Op;
using history::OpType;
using history::Process;

// The simulated system: one store per key (key "" when unkeyed).
class Store {
 public:
  explicit Store(const SimOptions& options) : model_(options.model), keyed_(options.keyed) {}

  Status CheckModel() const {
    if (model_ == "echo" || model_ == "register" || model_ == "set" || model_ == "counter") {
      return Status::Ok();
    }
    return InvalidArgument("unknown simulation model '" + model_ + "'");
  }

  // Applies `invoke` if `apply`; returns the completion value, or nullopt
  // when the op cannot succeed (a cas whose expected value differs).
  std::optional<Json> Run(const Op& invoke, bool apply) {
    if (model_ == "echo") return invoke.value;
    Json key = "";
    Json v = invoke.value;
    if (keyed_) {
      CHAOS_CHECK_MSG(v.is_array() && v.size() == 2, "keyed op without [k, v]: %s",
                      history::Describe(invoke).c_str());
      key = v[0];
      v = Json(v[1]);
    }
    Json& state = state_[key.dump()];
    std::optional<Json> out = Apply(invoke.f, v, state, apply);
    if (out && keyed_) return Json::array({key, *out});
    return out;
  }

 private:
  std::optional<Json> Apply(const std::string& f, const Json& v, Json& state, bool apply) {
    if (model_ == "register") {
      if (f == "read") return state;
      if (f == "write") {
        if (apply) state = v;
        return v;
      }
      if (f == "cas") {
        CHAOS_CHECK(v.is_array() && v.size() == 2);
        if (state != v[0]) return std::nullopt;
        if (apply) state = v[1];
        return v;
      }
    } else if (model_ == "set") {
      if (state.is_null()) state = Json::array();
      if (f == "read") return state;
      if (f == "add") {
        if (apply) state.insert(std::lower_bound(state.begin(), state.end(), v), v);
        return v;
      }
    } else if (model_ == "counter") {
      if (state.is_null()) state = 0;
      if (f == "read") return state;
      if (f == "add") {
        if (apply) state = state.get<int64_t>() + v.get<int64_t>();
        return v;
      }
    }
    CHAOS_CHECK_MSG(false, "model %s has no op %s", model_.c_str(), f.c_str());
    return std::nullopt;
  }

  std::string model_;
  bool keyed_;
  std::map<std::string, Json> state_;
};

struct Worker {
  int thread = 0;
  Process process;
  bool retired = false;
  std::optional<Op> in_flight;  // the invocation, while busy
  int64_t at_ns = 0;            // busy: completion time; else: next ask
};

class Sim {
 public:
  Sim(Generator& gen, const SimOptions& o) : gen_(gen), o_(o), store_(o), rng_(o.seed) {
    for (int t = 0; t < o.concurrency; ++t) workers_.push_back(MakeWorker(t, Process::Number(t)));
    if (o.nemesis) workers_.push_back(MakeWorker(-1, Process::Nemesis()));
  }

  Result<history::History> Run() {
    CHAOS_RETURN_IF_ERROR(store_.CheckModel());
    if (o_.concurrency < 1 || o_.latency_ns_min < 0 || o_.latency_ns_max < o_.latency_ns_min ||
        o_.duration_ns < 0 || o_.ops_max < 0) {
      return InvalidArgument("bad simulation options");
    }
    // Bounded: each step invokes (at most ops_max), completes, or moves a
    // worker's ask strictly forward in time or retires it.
    while (true) {
      Worker* w = NextEvent();
      if (w == nullptr) break;
      now_ns_ = std::max(now_ns_, w->at_ns == kNever ? now_ns_ : w->at_ns);
      if (w->in_flight) {
        Complete(*w);
      } else if (w->at_ns == kNever && !cut_) {
        return FailedPrecondition("generator stalled at " + std::to_string(now_ns_) +
                                  " ns: every worker waits with nothing in flight");
      } else if (w->at_ns >= o_.duration_ns || invocations_ >= o_.ops_max || gen_done_) {
        // Once the simulation is cut short, workers waiting forever were
        // waiting on workers that the cut retired: not a stall.
        cut_ = cut_ || !gen_done_;
        w->retired = true;
      } else {
        Ask(*w);
      }
    }
    return std::move(history_);
  }

 private:
  Worker* NextEvent() {
    Worker* best = nullptr;
    for (Worker& w : workers_) {
      if (w.retired) continue;
      if (best == nullptr || w.at_ns < best->at_ns ||
          (w.at_ns == best->at_ns && w.in_flight && !best->in_flight)) {
        best = &w;
      }
    }
    return best;
  }

  static Worker MakeWorker(int thread, Process process) {
    Worker w;
    w.thread = thread;
    w.process = std::move(process);
    return w;
  }

  Context ContextOf(const Worker& w) const {
    return Context{now_ns_, w.process, w.thread, o_.concurrency};
  }

  void WakeAll() {
    for (Worker& w : workers_) {
      if (!w.retired && !w.in_flight && w.at_ns > now_ns_) w.at_ns = now_ns_;
    }
  }

  void Ask(Worker& w) {
    Answer a = gen_.Next(ContextOf(w));
    if (auto* wait = std::get_if<NotYet>(&a)) {
      CHAOS_CHECK_MSG(wait->retry_at_ns > now_ns_, "NotYet{%lld} at now %lld",
                      (long long)wait->retry_at_ns, (long long)now_ns_);
      w.at_ns = wait->retry_at_ns;
      return;
    }
    if (IsDone(a)) {
      gen_done_ = true;
      w.retired = true;
      WakeAll();
      return;
    }
    Op op = std::get<Op>(std::move(a));
    CHAOS_CHECK(op.is_invoke());
    op.index = static_cast<int64_t>(history_.size());
    op.time_ns = now_ns_;
    op.process = w.process;
    history_.push_back(op);
    ++invocations_;
    w.in_flight = std::move(op);
    w.at_ns = now_ns_ +
              std::uniform_int_distribution<int64_t>(o_.latency_ns_min, o_.latency_ns_max)(rng_);
    WakeAll();
  }

  void Complete(Worker& w) {
    Op op = std::move(*w.in_flight);
    w.in_flight.reset();
    std::uniform_real_distribution<double> coin(0, 1);
    bool client = w.thread >= 0;
    double crash = coin(rng_), fail = coin(rng_);
    op.index = static_cast<int64_t>(history_.size());
    op.time_ns = now_ns_;
    if (client && crash < o_.crash_rate) {
      op.type = OpType::kInfo;
      op.error = "simulated crash";
      (void)store_.Run(op, coin(rng_) < 0.5);
    } else if (client && fail < o_.fail_rate) {
      op.type = OpType::kFail;
      op.error = "simulated failure";
    } else if (!client) {
      op.type = OpType::kOk;
    } else if (std::optional<Json> value = store_.Run(op, true)) {
      op.type = OpType::kOk;
      op.value = std::move(*value);
    } else {
      op.type = OpType::kFail;  // e.g. a cas that did not match
    }
    history_.push_back(op);
    gen_.Update(op, ContextOf(w));
    if (op.is_info() && client) w.process = Process::Number(w.process.id + o_.concurrency);
    w.at_ns = now_ns_;
    WakeAll();
  }

  Generator& gen_;
  const SimOptions& o_;
  Store store_;
  std::mt19937_64 rng_;
  std::vector<Worker> workers_;
  history::History history_;
  int64_t now_ns_ = 0;
  int64_t invocations_ = 0;
  bool gen_done_ = false;
  bool cut_ = false;  // a worker retired because of duration_ns or ops_max
};

}  // namespace

Result<history::History> Simulate(Generator& gen, const SimOptions& options) {
  return Sim(gen, options).Run();
}

}  // namespace chaos::generator
