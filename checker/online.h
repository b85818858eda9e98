// Online checking: each key of a keyed history checked while the history is
// still being recorded (`chaos run`'s register workload), so that the verdict
// is ready soon after the run and a run can stop at its first invalid key.
//
// When is a key's sub-history complete? KeyTracker's rule, from the ops alone:
//  - an op is open from its invocation until its ok or fail completion; an
//    info completion ends it for the process (which is replaced), though the
//    op may still take effect at any time: the key is marked as having one;
//  - the workload has moved on from key K when every process that invoked an
//    op on K has since invoked an op on another key;
//  - K is complete when no op on it is open and the workload has moved on.
// This relies on what the keyed workloads guarantee (generator/keyed.cc): a
// process that has left a key never comes back to it. The one exception is
// the final reads after healing, which read every key again: those reads come
// after every op of the key completed, and CheckLinearizable (checker.h,
// `checked`) accounts for them exactly with the key's final states.
//
// OnlineChecker buffers each key's ops until the key is complete, then checks
// it (CheckKeyAlone) on one background thread: Add never waits for a check.
// A key with an info op is checked too, but only an invalid verdict counts:
// the info op may take effect after the key's final reads, which the online
// check never sees, so a valid verdict proves nothing about the whole key
// and is not kept in Results(); an invalid one stands (a linearization of
// the whole key, cut to the ops checked, would be one of those ops). Bounds:
// at most kQueuedKeysMax complete keys wait for the thread; a key completed
// beyond that is not checked online and its ops are dropped at once (the
// check after the run reads the history file and checks those keys). Each
// check has the options' time limit.
//
// Thread safety: KeyTracker is a plain value. OnlineChecker::Add is called by
// one thread at a time (in history order); Stop and Results from any thread;
// the callback runs on the background thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "checker/checker.h"
#include "history/op.h"

namespace chaos::checker {

class KeyTracker {
 public:
  // Feeds the next op of the history; keys that became complete with it are
  // appended to *complete (as in the ops' values). Ops that are not client
  // ops, or whose value is not [key v], are ignored.
  void Add(const history::Op& op, std::vector<nlohmann::json>* complete);
  // True if `key` was found complete (and stays so: later ops on it do not
  // reopen it; they are the final reads).
  bool IsComplete(const nlohmann::json& key) const;
  // True if an op on `key` ended info.
  bool HasInfo(const nlohmann::json& key) const;

 private:
  struct KeyState {
    int64_t open = 0;  // ops invoked and not completed ok or fail
    bool info = false;
    bool complete = false;
    std::set<history::Process> staying;  // processes whose latest op is on this key
  };
  void TryComplete(const std::string& id, KeyState& state, std::vector<nlohmann::json>* complete);

  std::map<std::string, KeyState> keys_;  // by the key's JSON text
  std::map<std::string, nlohmann::json> key_values_;
  std::map<history::Process, std::string> latest_key_;  // each process's latest invocation
};

class OnlineChecker {
 public:
  static constexpr size_t kQueuedKeysMax = 1000;
  using OnChecked = std::function<void(const KeyCheck&)>;

  // `options` as for the whole check (keyed). `on_checked` (may be null) is
  // called on the background thread after each key is checked.
  OnlineChecker(LinearizableOptions options, OnChecked on_checked);
  ~OnlineChecker();
  OnlineChecker(const OnlineChecker&) = delete;
  OnlineChecker& operator=(const OnlineChecker&) = delete;

  // The next op of the history, as recorded (with its index).
  void Add(const history::Op& op);
  // Ends online checking: a check in progress stops (its key is left to the
  // check after the run, as are the keys still queued). Idempotent.
  void Stop();
  // The keys checked to the end so far (a stopped check is not one).
  KeyChecks Results();
  // Keys checked, and keys complete but left to the check after the run.
  int64_t checked();
  int64_t skipped();

 private:
  void Work();

  LinearizableOptions options_;
  OnChecked on_checked_;
  KeyTracker tracker_;                                // touched only by Add
  std::map<std::string, history::History> buffers_;   // ops of keys not yet complete
  std::map<history::Process, std::string> open_key_;  // the key of each open invocation
  std::mutex mu_;
  std::condition_variable cv_;
  // A complete key's ops, and whether one of them ended info.
  struct Queued {
    history::History ops;
    bool info = false;
  };
  std::deque<Queued> queue_;
  KeyChecks results_;
  int64_t skipped_ = 0;
  bool stopped_ = false;
  std::atomic<bool> stop_{false};
  std::thread worker_;
};

}  // namespace chaos::checker
