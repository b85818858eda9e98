#include "history/validate.h"

namespace chaos::history {

Status Validator::Add(const Op& op, const std::string& where) {
  if (finished_) return FailedPrecondition(where + ": op added after Finish");
  ++stats_.ops;
  stats_.by_f_and_type[op.f][OpTypeName(op.type)]++;
  stats_.processes.insert(op.process);
  if (op.time_ns != kAbsent) {
    if (last_time_ns_ != kAbsent && op.time_ns < last_time_ns_) ++stats_.time_backwards;
    last_time_ns_ = op.time_ns;
    if (stats_.min_time_ns == kAbsent || op.time_ns < stats_.min_time_ns) {
      stats_.min_time_ns = op.time_ns;
    }
    if (op.time_ns > stats_.max_time_ns) stats_.max_time_ns = op.time_ns;
  }
  // The nemesis and other named processes are not held to the alternation.
  if (op.process.is_named()) return Status::Ok();

  const std::string who = "process " + op.process.ToString();
  if (op.is_invoke()) {
    if (const int64_t* open = pairing_.Open(op.process)) {
      return InvalidArgument(where + ": " + who + " invokes while its op " + std::to_string(*open) +
                             " is still open");
    }
    if (stats_.crashed.contains(op.process)) {
      return InvalidArgument(where + ": " + who +
                             " invokes after it crashed (an info completion ends a process)");
    }
    pairing_.Invoke(op.process, op.index);
    return Status::Ok();
  }
  int64_t invocation = kAbsent;
  if (!pairing_.Complete(op.process, &invocation)) {
    return InvalidArgument(where + ": " + who + " completes (" + OpTypeName(op.type) +
                           ") with no open invocation");
  }
  if (op.is_info()) stats_.crashed.insert(op.process);
  return Status::Ok();
}

const HistoryStats& Validator::Finish() {
  if (!finished_) {
    for (const auto& [process, index] : pairing_.open()) stats_.crashed.insert(process);
    finished_ = true;
  }
  return stats_;
}

Result<HistoryStats> Validate(const History& history, const std::string& name) {
  Validator validator;
  for (size_t i = 0; i < history.size(); ++i) {
    CHAOS_RETURN_IF_ERROR(validator.Add(history[i], name + " op " + std::to_string(i)));
  }
  return validator.Finish();
}

}  // namespace chaos::history
