// A tiny in-memory driver for tests: N cores (plus spare nodes outside the
// bootstrap membership), a FIFO network that the test controls (deliver,
// drop, isolate), synced storage per node with an incarnation beside it
// (wiping a disk draws a new one), and the client replies seen. It follows the driver contract of
// target/core/README.md: persist records, then send messages, then deliver replies.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "target/core/core.h"

namespace chaos::core::testing {

class TestCluster {
 public:
  explicit TestCluster(int n, Config base = Config{}, int spares = 0) : base_(std::move(base)) {
    for (int i = 0; i < n; ++i) base_.nodes.push_back(NodeId{i});
    int all = n + spares;
    disks_.resize(static_cast<size_t>(all));
    cores_.resize(static_cast<size_t>(all));
    incarnations_.assign(static_cast<size_t>(all), 1);
    // A spare's disk is not one the bootstrap membership counted on.
    joining_.assign(static_cast<size_t>(all), false);
    for (int i = n; i < all; ++i) joining_[static_cast<size_t>(i)] = true;
    for (int i = 0; i < all; ++i) Start(i);
  }

  Core& node(int i) { return *cores_[static_cast<size_t>(i)]; }
  bool up(int i) const { return cores_[static_cast<size_t>(i)] != nullptr; }
  int size() const { return static_cast<int>(cores_.size()); }
  const PersistentState& disk(int i) const { return disks_[static_cast<size_t>(i)]; }

  void Start(int i) {
    Config c = base_;
    c.self = NodeId{i};
    c.seed = base_.seed + static_cast<uint64_t>(i);
    c.incarnation = incarnations_[static_cast<size_t>(i)];
    c.joining = joining_[static_cast<size_t>(i)];
    cores_[static_cast<size_t>(i)] = std::make_unique<Core>(c, disks_[static_cast<size_t>(i)]);
    Drain(i);
  }
  void Crash(int i) { cores_[static_cast<size_t>(i)].reset(); }
  // Crashes node i, loses its disk and restarts it on an empty one.
  void Wipe(int i) {
    Crash(i);
    disks_[static_cast<size_t>(i)] = PersistentState{};
    ++incarnations_[static_cast<size_t>(i)];
    joining_[static_cast<size_t>(i)] = true;
    Start(i);
  }
  int64_t incarnation(int i) const { return incarnations_[static_cast<size_t>(i)]; }

  // Moves node i's Ready into storage, the network and the reply list.
  void Drain(int i) {
    if (!up(i) || !node(i).HasReady()) return;
    Ready r = node(i).TakeReady();
    for (const Record& rec : r.records) disks_[static_cast<size_t>(i)].Apply(rec);
    for (Message& m : r.messages) {
      if (!isolated_.contains(m.from.value) && !isolated_.contains(m.to.value)) {
        network_.push_back(std::move(m));
      }
    }
    for (const ChosenEntry& c : r.chosen) {
      auto [it, fresh] = chosen_.emplace(c.slot.value, c.batch);
      if (!fresh && it->second != c.batch) agreement_violated_ = true;
    }
    for (const Reply& rep : r.replies) replies_.push_back(rep);
  }

  // Delivers the oldest message; false when none is left.
  bool DeliverOne() {
    if (network_.empty()) return false;
    Message m = std::move(network_.front());
    network_.pop_front();
    int to = m.to.value;
    if (up(to)) {
      node(to).Step(m);
      Drain(to);
    }
    return true;
  }
  void DeliverAll(int limit = 100000) {
    while (limit-- > 0 && DeliverOne()) {
    }
  }
  void TickAll(int ticks = 1) {
    for (int t = 0; t < ticks; ++t) {
      for (int i = 0; i < size(); ++i) {
        if (!up(i)) continue;
        node(i).Tick();
        Drain(i);
      }
      DeliverAll();
    }
  }
  void Propose(int i, const Command& c) {
    node(i).Propose(c);
    Drain(i);
  }
  void Isolate(int i) { isolated_.insert(i); }
  void Heal() { isolated_.clear(); }
  int Leader() {
    for (int i = 0; i < size(); ++i) {
      if (up(i) && node(i).is_leader()) return i;
    }
    return -1;
  }
  // Ticks until some node leads; returns it or -1.
  int ElectLeader(int max_ticks = 200) {
    for (int t = 0; t < max_ticks; ++t) {
      int l = Leader();
      if (l >= 0) return l;
      TickAll();
    }
    return Leader();
  }

  std::deque<Message>& network() { return network_; }
  std::vector<Reply>& replies() { return replies_; }
  bool agreement_violated() const { return agreement_violated_; }
  const std::map<int64_t, Batch>& chosen() const { return chosen_; }

 private:
  Config base_;
  std::vector<PersistentState> disks_;
  std::vector<std::unique_ptr<Core>> cores_;
  std::vector<int64_t> incarnations_;
  std::vector<bool> joining_;
  std::deque<Message> network_;
  std::set<int> isolated_;
  std::vector<Reply> replies_;
  std::map<int64_t, Batch> chosen_;
  bool agreement_violated_ = false;
};

// The fields every command has; the builders below add their operands.
inline Command Base(int64_t client, int64_t seq, OpKind op, std::string key) {
  Command c;
  c.client_id = client;
  c.seq = seq;
  c.op = op;
  c.key = std::move(key);
  return c;
}
inline Command Write(int64_t client, int64_t seq, std::string key, int64_t v) {
  Command c = Base(client, seq, OpKind::kWrite, std::move(key));
  c.value = v;
  return c;
}
inline Command Read(int64_t client, int64_t seq, std::string key) {
  return Base(client, seq, OpKind::kRead, std::move(key));
}
// A membership change: kind is "learner", "promote", "remove" or "pin".
inline Command Change(int64_t client, int64_t seq, std::string kind, int node,
                      int64_t incarnation = 0) {
  Command c = Base(client, seq, OpKind::kConfig, std::move(kind));
  c.value = node;
  c.from = incarnation;
  return c;
}
inline Command Cas(int64_t client, int64_t seq, std::string key, int64_t from, int64_t to) {
  Command c = Base(client, seq, OpKind::kCas, std::move(key));
  c.from = from;
  c.to = to;
  return c;
}

}  // namespace chaos::core::testing
