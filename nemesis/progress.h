// What the clients have seen the system do, for a nemesis that times a fault
// by the system's own progress rather than by a clock: the runner tells it
// of every acknowledged op that changes state (a write, a cas, an add; not a
// read), with the moment that op was invoked.
//
// A write invoked after a node was stopped and acknowledged cannot have been
// served by that node: the rest of the cluster made progress without it. The
// partition nemesis wakes a stalled leader at that moment (wake "progress"),
// when a lease it still trusts is what stands between its readers and a
// stale value.
//
// Thread safety: Acknowledged is called from client workers, Await from the
// nemesis worker; both take the one mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace chaos::nemesis {

class ProgressWatch {
 public:
  using Clock = std::chrono::steady_clock;

  // An op invoked at `invoked` that changes state was acknowledged.
  void Acknowledged(Clock::time_point invoked) {
    {
      std::lock_guard lock(mu_);
      if (invoked <= latest_invoked_) return;
      latest_invoked_ = invoked;
    }
    cv_.notify_all();
  }

  // Waits until an op invoked after `since` has been acknowledged, or until
  // `deadline`. Returns whether one was.
  bool AwaitAcknowledgedSince(Clock::time_point since, Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return latest_invoked_ > since; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  Clock::time_point latest_invoked_ = Clock::time_point::min();
};

}  // namespace chaos::nemesis
