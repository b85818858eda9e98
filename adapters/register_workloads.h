// The set and counter workloads on a system that offers keyed registers
// only (read, write and cas of integers: the register and etcd adapters).
// A wrapper Client turns each set or counter op into register ops on the
// inner client and reports the outcome as data, exactly:
//
// counter: one key (kCounterKey) holds the count. The first op of the test
// writes 0 there; an add of n is a cas loop (read v, then cas v -> v+n),
// retried up to kCasAttemptsMax times while the cas certainly failed (the
// value moved); a read is one register read. A cas of unknown outcome makes
// the add info; an add that never got its cas through is fail.
//
// set: elements are bits. Each client owns a word (a key in the range from
// kSetWordKeyBase, allocated from the shared state, never shared with
// another client) and adds element e as a cas of its word from the bits it
// last saw to those bits | (1 << i), recording that bit i of that word
// stands for e. A cas that fails (the word is not what the client last saw,
// e.g. the system lost an acknowledged write) re-reads the word and tries
// again from what is there, so lost bits stay lost. An add of unknown
// outcome is info, and that client (its process is done, as in Jepsen) is
// never used again, so its word is never written again. A read reads every
// word allocated so far (one register read each; the set workload reads only
// at the end, when nothing else runs, so the reads need not be one
// snapshot) and decodes the bits; a bit set that no add stands for is read
// as the element -(1 + word * 64 + bit), which no add ever invoked, so the
// checker calls it unexpected.
//
// Register ops (the runner's readiness probe, a write of [key, value]) pass
// through to the inner client unchanged.
//
// Thread safety: one Client per worker thread, as every Client; the shared
// state (RegisterWorkloadState) is guarded by its own mutex.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "adapters/adapter.h"

namespace chaos::adapters {

// Keys out of the register workload's range (its keys count up from 0).
inline constexpr int64_t kCounterKey = int64_t{1} << 40;
inline constexpr int64_t kSetWordKeyBase = int64_t{1} << 41;
// Bits per set word: 62 keeps every word a positive int64.
inline constexpr int kSetBitsPerWord = 62;
inline constexpr int kCasAttemptsMax = 16;

// What every client of one adapter shares during one test.
class RegisterWorkloadState {
 public:
  // The counter's key once the test's first counter op wrote 0 there;
  // kCounterKey + k after k initial writes of unknown outcome (such a write
  // could land late and reset the count, so its key is abandoned).
  struct Counter {
    bool ready = false;
    int64_t key = kCounterKey;
  };

  // A fresh word key for a client.
  int64_t NewWord();
  // Bit `bit` of `word` stands for `element`.
  void Assign(int64_t word, int bit, int64_t element);
  // Every word allocated so far with, per bit, the element it stands for.
  std::map<int64_t, std::vector<int64_t>> Words();

  std::mutex counter_mu;  // held while the counter is being initialised
  Counter counter;        // guarded by counter_mu

 private:
  std::mutex mu_;
  int64_t next_word_ = 0;                             // guarded by mu_
  std::map<int64_t, std::vector<int64_t>> elements_;  // word -> element per bit; by mu_
};

// The workloads a keyed-register client can carry this way.
bool RegisterWorkloadSupported(const std::string& workload);

// `inner` wrapped for `workload` ("set" or "counter"); `inner` itself for
// "register".
std::unique_ptr<Client> ForWorkload(std::unique_ptr<Client> inner, const std::string& workload,
                                    std::shared_ptr<RegisterWorkloadState> state);

}  // namespace chaos::adapters
