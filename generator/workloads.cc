// The built-in workloads: register (keyed cas-register), set, counter,
// list-append and rw-register (transactions).
// See generator.h for the ops each emits. Which checker a workload gets is
// decided from its name where the run is checked (harness/analyze.cc).
#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "generator/generator.h"

namespace chaos::generator {
namespace {

using history::Json;
using history::Op;

// SplitMix64: derives independent, well-spread seeds from one test seed.
uint64_t DeriveSeed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Streams of DeriveSeed: one per random decision, so adding one never shifts another.
enum Stream : uint64_t { kKeys = 0, kStagger = 1, kOps = 2, kPerKey = 1000 };

GeneratorPtr RepeatRead(Json value) {
  return Repeat([value](std::mt19937_64&) { return Invoke("read", value); }, 0);
}

GeneratorPtr RegisterOps(int64_t value_max, uint64_t seed) {
  return Repeat(
      [value_max](std::mt19937_64& rng) {
        std::uniform_int_distribution<int64_t> v(0, value_max);
        switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
          case 0:
            return Invoke("read", nullptr);
          case 1:
            return Invoke("write", v(rng));
          default: {
            int64_t from = v(rng);
            return Invoke("cas", Json::array({from, v(rng)}));
          }
        }
      },
      seed);
}

// One key's ops when every written value is unique (as in Elle's rw-register):
// writes and cas write 1, 2, 3, ... in invocation order, so a read names the
// one write it saw and a stale read cannot pass for a later write of the same
// value. A cas expects the value the key's last ok op showed (a read's
// answer, a write's or a cas's new value), so it succeeds whenever no other
// write came between; before any value was seen it is a write instead.
//
// The key's op mix is drawn once, from its seed (swarm testing, Groce et al.,
// ISSTA 2012, applied to the ops rather than to the faults): half the keys
// take reads, writes and cas in equal shares; the other half are read-heavy,
// reads making 60-90 % of their ops, writes and cas sharing the rest. A stale
// read needs a read shortly after a write elsewhere, and a client that
// writes to a node cut off from the rest waits out its timeout, so a run of
// reads at one node happens in read-heavy keys far more often than in
// uniform ones (two reads in a row: 1/9 against 0.36-0.81).
class UniqueRegisterOps final : public Generator {
 public:
  explicit UniqueRegisterOps(uint64_t seed) : rng_(seed), read_share_(ReadShare(rng_)) {}

  Answer Next(const Context&) override {
    double u = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (u < read_share_) return Invoke("read", nullptr);
    if (u < (1 + read_share_) / 2 || !last_seen_) return Invoke("write", next_++);
    return Invoke("cas", Json::array({*last_seen_, next_++}));
  }

  void Update(const Op& completion, const Context&) override {
    if (!completion.is_ok()) return;
    const Json& v = completion.value;
    // The value the op showed: a read's answer or a write's value; a cas's new one.
    const Json& shown = completion.f == "cas" && v.is_array() && v.size() == 2 ? v[1] : v;
    if (shown.is_number_integer()) last_seen_ = shown.get<int64_t>();
  }

 private:
  static double ReadShare(std::mt19937_64& rng) {
    if (std::bernoulli_distribution(0.5)(rng)) return 1.0 / 3;
    return std::uniform_real_distribution<double>(0.6, 0.9)(rng);
  }

  std::mt19937_64 rng_;
  double read_share_;
  int64_t next_ = 1;
  std::optional<int64_t> last_seen_;
};

Workload Register(const WorkloadOptions& o) {
  Workload w;
  w.name = "register";
  w.keyed = true;
  w.keys = std::make_shared<std::vector<int64_t>>();
  int per_key = std::max(1, std::min(o.processes_per_key, o.concurrency));
  std::optional<int64_t> value_max = o.value_max;
  uint64_t seed = o.seed;
  w.clients = KeyedGroups(
      per_key, o.ops_per_key_max,
      [value_max, seed](int64_t key) -> GeneratorPtr {
        uint64_t key_seed = DeriveSeed(seed, kPerKey + static_cast<uint64_t>(key));
        if (!value_max) return std::make_unique<UniqueRegisterOps>(key_seed);
        return RegisterOps(*value_max, key_seed);
      },
      DeriveSeed(seed, kKeys), w.keys);
  w.final_reads = [](const std::vector<int64_t>& keys) {
    std::vector<GeneratorPtr> reads;
    for (int64_t k : keys) reads.push_back(UntilOk(RepeatRead(Json::array({k, nullptr}))));
    return Sequence(std::move(reads));
  };
  return w;
}

Workload Set(const WorkloadOptions&) {
  Workload w;
  w.name = "set";
  // Unique elements 0, 1, 2, ... in invocation order.
  w.clients =
      Repeat([next = int64_t{0}](std::mt19937_64&) mutable { return Invoke("add", next++); }, 0);
  w.final_reads = [](const std::vector<int64_t>&) { return UntilOk(RepeatRead(nullptr)); };
  return w;
}

Workload Counter(const WorkloadOptions& o) {
  Workload w;
  w.name = "counter";
  w.clients = Repeat(
      [](std::mt19937_64& rng) {
        if (std::uniform_int_distribution<int>(0, 3)(rng) == 0) return Invoke("read", nullptr);
        return Invoke("add", std::uniform_int_distribution<int64_t>(1, 3)(rng));
      },
      DeriveSeed(o.seed, kOps));
  w.final_reads = [](const std::vector<int64_t>&) { return UntilOk(RepeatRead(nullptr)); };
  return w;
}

// list-append and rw-register (Elle's generators): each txn has
// min..max micro-ops over `txn_key_count` active keys drawn uniformly; half
// are reads. A key's values are 1, 2, 3, ... (unique per key); a key that has
// had `txn_max_writes_per_key` writes is retired and a fresh key takes its
// place (key rotation), so each key's history stays short. The final reads
// read every key used, 16 keys per txn.
Workload Transactional(const WorkloadOptions& o, bool list) {
  Workload w;
  w.name = list ? "list-append" : "rw-register";
  w.keys = std::make_shared<std::vector<int64_t>>();
  struct KeyState {
    int64_t key;
    int64_t writes;
  };
  auto keys = w.keys;
  const int key_count = o.txn_key_count;
  const int min_len = o.txn_length_min, max_len = o.txn_length_max;
  const int64_t max_writes = o.txn_max_writes_per_key;
  w.clients = Repeat(
      [keys, key_count, min_len, max_len, max_writes, list, active = std::vector<KeyState>(),
       next_key = int64_t{0}](std::mt19937_64& rng) mutable {
        const int n = std::uniform_int_distribution<int>(min_len, max_len)(rng);
        Json mops = Json::array();
        for (int i = 0; i < n; ++i) {
          while (static_cast<int>(active.size()) < key_count) {
            active.push_back({next_key, 0});
            keys->push_back(next_key++);
          }
          const size_t slot = std::uniform_int_distribution<size_t>(0, active.size() - 1)(rng);
          KeyState& k = active[slot];
          if (std::uniform_int_distribution<int>(0, 1)(rng) == 0) {
            mops.push_back(Json::array({":r", k.key, nullptr}));
            continue;
          }
          mops.push_back(Json::array({list ? ":append" : ":w", k.key, ++k.writes}));
          if (k.writes >= max_writes) {  // rotate: a fresh key takes its place
            active.erase(active.begin() + static_cast<std::ptrdiff_t>(slot));
          }
        }
        return Invoke("txn", mops);
      },
      DeriveSeed(o.seed, kOps));
  w.final_reads = [](const std::vector<int64_t>& used) {
    std::vector<GeneratorPtr> reads;
    for (size_t i = 0; i < used.size(); i += 16) {
      Json mops = Json::array();
      for (size_t j = i; j < std::min(used.size(), i + 16); ++j) {
        mops.push_back(Json::array({":r", used[j], nullptr}));
      }
      reads.push_back(UntilOk(Repeat([mops](std::mt19937_64&) { return Invoke("txn", mops); }, 0)));
    }
    return Sequence(std::move(reads));
  };
  return w;
}

}  // namespace

Result<Workload> MakeWorkload(std::string_view name, const WorkloadOptions& o) {
  if (o.concurrency < 1) {
    return InvalidArgument("workload concurrency must be >= 1, got " +
                           std::to_string(o.concurrency));
  }
  if (o.processes_per_key < 1) {
    return InvalidArgument("processes per key must be >= 1, got " +
                           std::to_string(o.processes_per_key));
  }
  if (o.ops_per_key_max < 1) {
    return InvalidArgument("ops per key must be >= 1, got " + std::to_string(o.ops_per_key_max));
  }
  if (o.value_max && *o.value_max < 0) {
    return InvalidArgument("value max must be >= 0, got " + std::to_string(*o.value_max));
  }
  if (!(o.rate_per_s >= 0) || std::isinf(o.rate_per_s)) {
    return InvalidArgument("rate must be a finite number >= 0, got " +
                           std::to_string(o.rate_per_s));
  }
  if (o.txn_key_count < 1 || o.txn_length_min < 1 || o.txn_length_max < o.txn_length_min ||
      o.txn_max_writes_per_key < 1) {
    return InvalidArgument(
        "transaction options need key count >= 1, 1 <= min length <= max "
        "length, max writes per key >= 1");
  }
  Workload w;
  if (name == "list-append" || name == "rw-register") {
    w = Transactional(o, name == "list-append");
  } else if (name == "register") {
    w = Register(o);
  } else if (name == "set") {
    w = Set(o);
  } else if (name == "counter") {
    w = Counter(o);
  } else {
    return InvalidArgument("unknown workload '" + std::string(name) +
                           "' (known: register, set, counter, list-append, rw-register)");
  }
  if (o.rate_per_s > 0) {
    auto mean_ns = static_cast<int64_t>(std::llround(1e9 / o.rate_per_s));
    w.clients = Stagger(mean_ns, std::move(w.clients), DeriveSeed(o.seed, kStagger));
  }
  return w;
}

}  // namespace chaos::generator
