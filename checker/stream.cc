// CheckLinearizableStream: a keyed history checked key by key as it is read.
//
// Pass 1 reads every op once and keeps, per key, where its last op is and
// the order in which CheckLinearizable would meet the key (the first pair of
// ops that makes a call of it). Pass 2 reads again, pairs each completion
// with its invocation, appends the pair to its key's buffer and, at the
// key's last op, hands the buffer to a worker that checks it alone and frees
// it. What is held is the ops of the keys in flight, never the history.
//
// Bounds: at most kQueuedKeysMax keys wait for a worker; the reader waits
// when the queue is full, so memory stays that of the keys being read.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "base/check.h"
#include "checker/checker.h"
#include "checker/model.h"
#include "checker/pair.h"
#include "history/pairing.h"

namespace chaos::checker {
namespace {

using Clock = std::chrono::steady_clock;
using history::Op;

constexpr size_t kQueuedKeysMax = 64;
constexpr int64_t kAtEnd = INT64_MAX;  // a key with an op never completed: complete at the end

struct KeyPlan {
  int64_t last_pos = -1;
  int64_t ordinal = 0;
};

struct Plan {
  std::map<std::string, KeyPlan> keys;  // by KeyId
  int64_t ops = 0;
  Status input;  // InvalidArgument: the history is unusable
};

// One open invocation: its position and the op.
struct Open {
  int64_t pos = -1;
  Op op;
};

// Pairs client ops as CheckLinearizable's Prepare does and calls `pair` with
// (invocation, completion or null) in the same order: at each completion,
// then the invocations never completed, by process. `index_of` maps a
// position to its op index for error messages (only open ops are held, so
// it answers for those and the current op). Reading errors are returned; an
// unusable history (or `pair`'s error) stops the pass and is set in *input.
template <typename OnPair>
Status PairOps(history::HistoryReader& reader, int64_t* ops, Status* input, OnPair pair) {
  history::Pairing<Open> pairing;
  std::map<int64_t, int64_t> index_at;  // positions of open ops -> index
  const OpIndex index_of = [&](int64_t pos) {
    auto it = index_at.find(pos);
    return it != index_at.end() ? it->second : pos;
  };
  int64_t pos = 0;
  for (;; ++pos) {
    CHAOS_ASSIGN_OR_RETURN(std::optional<Op> next, reader.Next());
    if (!next) break;
    Op& op = *next;
    if (op.index == history::kAbsent) op.index = pos;
    if (!op.is_client()) continue;
    if (op.is_invoke()) {
      if (const Open* open = pairing.Open(op.process)) {
        *input = InvalidArgument(PairingError(op, op.index, index_of, &open->pos));
        return Status::Ok();
      }
      index_at[pos] = op.index;
      const history::Process process = op.process;
      pairing.Invoke(process, Open{pos, std::move(op)});
      continue;
    }
    Open inv;
    if (!pairing.Complete(op.process, &inv)) {
      *input = InvalidArgument(PairingError(op, op.index, index_of, nullptr));
      return Status::Ok();
    }
    *input = pair(inv, &op, pos, index_of);
    if (!input->ok()) return Status::Ok();
    index_at.erase(inv.pos);
  }
  *ops = pos;
  for (auto& [process, inv] : pairing.open()) {
    *input = pair(inv, nullptr, -1, index_of);
    if (!input->ok()) return Status::Ok();
  }
  return Status::Ok();
}

Result<Plan> PlanKeys(history::HistoryReader& reader, const LinearizableOptions& options,
                      const Model& model) {
  Plan plan;
  ValueTable values;  // only to encode calls; dropped with the pass
  CHAOS_RETURN_IF_ERROR(PairOps(
      reader, &plan.ops, &plan.input,
      [&](const Open& inv, const Op* comp, int64_t comp_pos, const OpIndex& index_of) -> Status {
        PairCall pc =
            MakePairCall(inv.op, comp, inv.pos, comp_pos, index_of, options, model, values);
        if (!pc.status.ok()) return pc.status;
        if (!pc.keep) return Status::Ok();
        const int64_t ordinal = static_cast<int64_t>(plan.keys.size());
        KeyPlan& k = plan.keys.try_emplace(KeyId(pc.key), KeyPlan{-1, ordinal}).first->second;
        k.last_pos = comp == nullptr ? kAtEnd : std::max(k.last_pos, comp_pos);
        return Status::Ok();
      }));
  return plan;
}

// One key's ops waiting to be checked, with their positions.
struct KeyOps {
  int64_t ordinal = 0;
  std::vector<std::pair<int64_t, Op>> ops;
};

// Checks keys on worker threads as they are handed over, in a bounded queue.
class KeyPool {
 public:
  KeyPool(const LinearizableOptions& options, Clock::time_point deadline, int workers)
      : options_(options), deadline_(deadline) {
    if (options_.stop == nullptr) options_.stop = &stop_;
    options_.threads = 1;
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~KeyPool() { Close(); }

  void Submit(KeyOps key) {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [&] { return queue_.size() < kQueuedKeysMax; });
    queue_.push_back(std::move(key));
    work_.notify_one();
  }
  // Waits for every key submitted; then the results are complete.
  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    work_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }
  std::map<int64_t, CheckResult>& results() { return results_; }

 private:
  void Work() {
    while (true) {
      KeyOps key;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_.wait(lock, [&] { return closed_ || !queue_.empty(); });
        if (queue_.empty()) return;
        key = std::move(queue_.front());
        queue_.pop_front();
      }
      space_.notify_one();
      std::sort(key.ops.begin(), key.ops.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      history::History h;
      h.reserve(key.ops.size());
      for (auto& [pos, op] : key.ops) h.push_back(std::move(op));
      key.ops = {};
      LinearizableOptions o = options_;
      // The whole check has one deadline for every key; so does this one.
      o.time_limit_s =
          std::max(1e-9, std::chrono::duration<double>(deadline_ - Clock::now()).count());
      CheckResult r = CheckLinearizable(h, o);
      std::lock_guard<std::mutex> lock(mu_);
      results_.emplace(key.ordinal, std::move(r));
    }
  }

  LinearizableOptions options_;
  Clock::time_point deadline_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable work_, space_;
  std::deque<KeyOps> queue_;
  bool closed_ = false;
  std::vector<std::thread> threads_;
  std::map<int64_t, CheckResult> results_;
};

// The keys' results as CheckLinearizable reports the whole: the first
// invalid key (in its order) names the cause and counterexample; else the
// unknown key that explored most.
CheckResult MergeKeys(std::map<int64_t, CheckResult>& keys, const LinearizableOptions& options,
                      int64_t ops) {
  CheckResult result;
  result.model = options.keyed ? options.model + " (keyed)" : options.model;
  result.ops = ops;
  result.verdict = Verdict::kValid;
  const CheckResult* first_invalid = nullptr;
  const CheckResult* costliest_unknown = nullptr;
  int64_t costliest_states = -1;
  int64_t unknown_keys = 0;
  for (auto& [ordinal, r] : keys) {
    if (r.input_error) return std::move(r);
    result.verdict = Merge(result.verdict, r.verdict);
    result.stats.states += r.stats.states;
    result.stats.cache_hits += r.stats.cache_hits;
    result.stats.cache_bytes = std::max(result.stats.cache_bytes, r.stats.cache_bytes);
    for (auto& [k, v] : r.per_key.items()) result.per_key[k] = v;
    if (r.verdict == Verdict::kInvalid && first_invalid == nullptr) first_invalid = &r;
    if (r.verdict == Verdict::kUnknown && !r.cause.empty()) {
      ++unknown_keys;
      if (r.stats.states > costliest_states) {
        costliest_states = r.stats.states;
        costliest_unknown = &r;
      }
    }
  }
  if (first_invalid != nullptr) {
    result.cause = first_invalid->cause;
    result.counterexample = first_invalid->counterexample;
  } else if (costliest_unknown != nullptr) {
    result.cause = costliest_unknown->cause;
    if (options.keyed && unknown_keys > 1) {
      result.cause += " (" + std::to_string(unknown_keys) + " keys unknown; per_key has each)";
    }
  }
  return result;
}

}  // namespace

Result<CheckResult> CheckLinearizableStream(
    const std::function<Result<std::unique_ptr<history::HistoryReader>>()>& open,
    const LinearizableOptions& options) {
  const auto start = Clock::now();
  CheckResult result;
  result.model = options.keyed ? options.model + " (keyed)" : options.model;
  Status valid_options = ValidateLinearizableOptions(options);
  if (!valid_options.ok()) {
    result.cause = "unusable options: " + valid_options.message();
    return result;
  }
  ValueTable values;
  auto made = MakeModel(ModelOptions{options.model, options.initial, options.nil_read}, values);
  CHAOS_CHECK(made.ok());
  CHAOS_ASSIGN_OR_RETURN(auto first, open());
  CHAOS_ASSIGN_OR_RETURN(Plan plan, PlanKeys(*first, options, **made));
  first.reset();
  result.ops = plan.ops;
  if (!plan.input.ok()) {
    result.cause = "unusable input: " + plan.input.message();
    result.input_error = true;
    return result;
  }

  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(std::min(options.time_limit_s, 1e7)));
  const int cores =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  // The reader is one thread; the others check.
  KeyPool pool(options, deadline, std::max(1, cores - 1));
  std::map<std::string, KeyOps> buffers;
  CHAOS_ASSIGN_OR_RETURN(auto second, open());
  int64_t ops = 0;
  Status input;
  Status read =
      PairOps(*second, &ops, &input,
              [&](Open& inv, Op* comp, int64_t comp_pos, const OpIndex& index_of) -> Status {
                PairCall pc = MakePairCall(inv.op, comp, inv.pos, comp_pos, index_of, options,
                                           **made, values);
                // Pass 1 accepted the same pairs: only a file changed under us fails here.
                if (!pc.status.ok()) return pc.status;
                if (!pc.keep) return Status::Ok();
                const std::string id = KeyId(pc.key);
                auto plan_it = plan.keys.find(id);
                if (plan_it == plan.keys.end())
                  return InvalidArgument("the history changed while read");
                KeyOps& buffer = buffers[id];
                buffer.ordinal = plan_it->second.ordinal;
                buffer.ops.emplace_back(inv.pos, std::move(inv.op));
                if (comp != nullptr) buffer.ops.emplace_back(comp_pos, std::move(*comp));
                if (comp != nullptr && comp_pos == plan_it->second.last_pos) {
                  pool.Submit(std::move(buffer));
                  buffers.erase(id);
                }
                return Status::Ok();
              });
  // Keys whose last op is an invocation never completed end with the history.
  for (auto& [id, buffer] : buffers) pool.Submit(std::move(buffer));
  pool.Close();
  CHAOS_RETURN_IF_ERROR(read);
  if (!input.ok()) {
    result.cause = "unusable input: " + input.message();
    result.input_error = true;
    return result;
  }
  result = MergeKeys(pool.results(), options, ops);
  result.stats.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return result;
}

}  // namespace chaos::checker
