// StateMachine: the replicated key-value map of registers with exactly-once
// client sessions, applied slot by slot in order.
//
// Exactly-once (Ongaro, PhD thesis §6.3): each client's last applied seq and
// its reply are kept; a repeated (client, seq) gets the recorded reply and
// changes nothing. At most Config::max_sessions sessions are kept; beyond
// that the least recently used one (by slot, so every replica evicts the same)
// is dropped. A retried command (Command::retry) of a client with no session
// may belong to an evicted session: it is not applied and its reply is
// kUnknown. A first attempt cannot have been applied before, so it is.
//
// Membership changes (kConfig) are applied here too, so the membership is part
// of the replicated state, of snapshots and of the checksum.
//
// Apply is deterministic: every replica that applies the same slots in the
// same order reaches the same state and the same Checksum().
//
// Thread safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "target/core/types.h"

namespace chaos::core {

class StateMachine {
 public:
  explicit StateMachine(int max_sessions = 256) : max_sessions_(max_sessions) {}

  // Applies the batch of slot applied()+1. Returns one reply per command
  // (checksum commands: none). `checksum_mismatch` is set when a checksum
  // command disagrees with this replica's own checksum for that slot.
  std::vector<Reply> Apply(Slot slot, const Batch& batch, std::string* checksum_mismatch);

  // Reads a key from the current state (read-index / lease reads).
  std::optional<int64_t> Get(const std::string& key) const;

  Slot applied() const { return snapshot_.slot; }
  // The membership after the last applied slot (in effect for the next one).
  const Membership& members() const { return snapshot_.members; }
  const Snapshot& snapshot() const { return snapshot_; }
  void Restore(const Snapshot& snapshot);
  // Sets the membership of the initial state (the bootstrap membership).
  void SetMembers(Membership members) { snapshot_.members = std::move(members); }
  // FNV-1a over registers and sessions, deterministic.
  uint64_t Checksum() const;
  // Checksum recorded right after applying `slot`, if this replica did.
  std::optional<uint64_t> ChecksumAt(int64_t slot) const;
  void RecordChecksum();  // remembers Checksum() at applied()

 private:
  Reply ApplyOne(const Command& c, int64_t slot);
  // A kConfig command; its reply value is the number of voters after it.
  Reply ApplyConfig(const Command& c, int64_t slot);
  // False when `c` must not be applied (a retry or an older command of its
  // client); then `r` is its reply (the recorded one, or kUnknown).
  bool FirstApplication(const Command& c, Reply* r) const;
  void RecordSession(const Command& c, const Reply& r, int64_t slot);
  int max_sessions_;
  Snapshot snapshot_;  // the live state; snapshot_.slot is the last applied slot
  std::map<int64_t, uint64_t> checksums_;  // slot -> checksum, a few recent
};

}  // namespace chaos::core
