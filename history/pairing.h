// Pairing: which invocation a completion completes. The one statement of
// Jepsen's rule, used by every reader of a history (validation, the
// checkers, the report): ops are matched by process; a process's completion
// (ok, fail or info) completes the invocation it has open; an invocation
// while one is open replaces it (strict readers refuse the history there);
// a completion with nothing open matches nothing.
//
// The caller feeds the ops it pairs, in history order (client ops, usually:
// the nemesis records its ops in pairs of its own), and keeps what it needs
// of each open invocation as `T` (a position, an op index, the op itself).
// Invocations still open at the end were never completed: see open().
//
// Thread safety: a plain value.
#pragma once

#include <map>
#include <utility>

#include "history/op.h"

namespace chaos::history {

template <typename T>
class Pairing {
 public:
  // An invocation by `process`: `value` is now its open invocation. False
  // when one was already open; that one is replaced and moved to *earlier
  // (when given).
  bool Invoke(const Process& process, T value, T* earlier = nullptr) {
    auto [it, inserted] = open_.try_emplace(process, std::move(value));
    if (inserted) return true;
    if (earlier != nullptr) *earlier = std::move(it->second);
    it->second = std::move(value);
    return false;
  }

  // A completion by `process`: moves the invocation it completes to
  // *invocation and closes it. False when the process had none open.
  bool Complete(const Process& process, T* invocation) {
    auto it = open_.find(process);
    if (it == open_.end()) return false;
    *invocation = std::move(it->second);
    open_.erase(it);
    return true;
  }

  // The open invocation of `process`, or null.
  const T* Open(const Process& process) const {
    auto it = open_.find(process);
    return it == open_.end() ? nullptr : &it->second;
  }

  // The invocations open now, by process: at the end of a history, those
  // never completed.
  const std::map<Process, T>& open() const { return open_; }
  std::map<Process, T>& open() { return open_; }

 private:
  std::map<Process, T> open_;
};

}  // namespace chaos::history
