#include "target/core/state_machine.h"

#include "base/check.h"

namespace chaos::core {
namespace {

constexpr size_t kChecksumsKept = 16;

void Mix(uint64_t* h, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    *h ^= (v >> (8 * i)) & 0xff;
    *h *= 1099511628211ULL;
  }
}
void MixString(uint64_t* h, const std::string& s) {
  Mix(h, s.size());
  for (unsigned char c : s) {
    *h ^= c;
    *h *= 1099511628211ULL;
  }
}

}  // namespace

std::vector<Reply> StateMachine::Apply(Slot slot, const Batch& batch,
                                       std::string* checksum_mismatch) {
  CHAOS_CHECK_MSG(slot.value == snapshot_.slot.value + 1, "apply slot %lld after %lld",
                  static_cast<long long>(slot.value), static_cast<long long>(snapshot_.slot.value));
  std::vector<Reply> replies;
  for (const Command& c : batch.commands) {
    if (c.op == OpKind::kChecksum) {
      std::optional<uint64_t> mine = ChecksumAt(c.from);
      if (mine && static_cast<int64_t>(*mine) != c.value && checksum_mismatch) {
        *checksum_mismatch = "checksum of slot " + std::to_string(c.from) + " is " +
                             std::to_string(*mine) + " here but " + std::to_string(c.value) +
                             " at the leader";
      }
      continue;
    }
    if (c.op == OpKind::kConfig) {
      replies.push_back(ApplyConfig(c, slot.value));
      continue;
    }
    replies.push_back(ApplyOne(c, slot.value));
  }
  snapshot_.slot = slot;
  return replies;
}

Reply StateMachine::ApplyConfig(const Command& c, int64_t slot) {
  Reply r{c.client_id, c.seq, ReplyStatus::kUnknown, std::nullopt, NodeId{}};
  // An administrator's change is exactly-once, like a write.
  if (c.client_id != 0 && !FirstApplication(c, &r)) return r;
  std::string refused = ApplyMemberChange(c, &snapshot_.members);
  r.status = refused.empty() ? ReplyStatus::kOk : ReplyStatus::kFail;
  r.value = static_cast<int64_t>(snapshot_.members.voters.size());
  if (c.client_id != 0) RecordSession(c, r, slot);
  return r;
}

Reply StateMachine::ApplyOne(const Command& c, int64_t slot) {
  Reply r{c.client_id, c.seq, ReplyStatus::kUnknown, std::nullopt, NodeId{}};
  if (!FirstApplication(c, &r)) return r;
  auto current = snapshot_.registers.find(c.key);
  std::optional<int64_t> now;
  if (current != snapshot_.registers.end()) now = current->second;
  switch (c.op) {
    case OpKind::kRead:
      r.status = ReplyStatus::kOk;
      r.value = now;
      break;
    case OpKind::kWrite:
      snapshot_.registers[c.key] = c.value;
      r.status = ReplyStatus::kOk;
      r.value = c.value;
      break;
    case OpKind::kCas:
      if (now && *now == c.from) {
        snapshot_.registers[c.key] = c.to;
        r.status = ReplyStatus::kOk;
        r.value = c.to;
      } else {
        r.status = ReplyStatus::kFail;
        r.value = now;
      }
      break;
    case OpKind::kChecksum:
    case OpKind::kConfig:
      CHAOS_CHECK(false);
  }
  RecordSession(c, r, slot);
  return r;
}

bool StateMachine::FirstApplication(const Command& c, Reply* r) const {
  auto it = snapshot_.sessions.find(c.client_id);
  if (it != snapshot_.sessions.end()) {
    if (c.seq == it->second.last_seq) {  // a retry: the recorded reply
      *r = it->second.last_reply;
      return false;
    }
    return c.seq > it->second.last_seq;  // older than the last: the client moved on (unknown)
  }
  return !c.retry;  // the session may have been evicted: applying could apply twice
}

void StateMachine::RecordSession(const Command& c, const Reply& r, int64_t slot) {
  Session& s = snapshot_.sessions[c.client_id];
  s.last_seq = c.seq;
  s.last_reply = r;
  s.last_slot = slot;
  if (static_cast<int>(snapshot_.sessions.size()) > max_sessions_) {
    auto oldest = snapshot_.sessions.begin();
    for (auto i = snapshot_.sessions.begin(); i != snapshot_.sessions.end(); ++i) {
      if (i->second.last_slot < oldest->second.last_slot) oldest = i;
    }
    snapshot_.sessions.erase(oldest);
  }
}

std::optional<int64_t> StateMachine::Get(const std::string& key) const {
  auto it = snapshot_.registers.find(key);
  if (it == snapshot_.registers.end()) return std::nullopt;
  return it->second;
}

void StateMachine::Restore(const Snapshot& snapshot) {
  snapshot_ = snapshot;
  checksums_.clear();
}

uint64_t StateMachine::Checksum() const {
  uint64_t h = 14695981039346656037ULL;
  Mix(&h, snapshot_.registers.size());
  for (const auto& [k, v] : snapshot_.registers) {
    MixString(&h, k);
    Mix(&h, static_cast<uint64_t>(v));
  }
  Mix(&h, snapshot_.sessions.size());
  for (const auto& [client, s] : snapshot_.sessions) {
    Mix(&h, static_cast<uint64_t>(client));
    Mix(&h, static_cast<uint64_t>(s.last_seq));
    Mix(&h, static_cast<uint64_t>(s.last_reply.status));
    Mix(&h, static_cast<uint64_t>(s.last_reply.value.value_or(-7777)));
  }
  for (const auto* list : {&snapshot_.members.voters, &snapshot_.members.learners}) {
    Mix(&h, list->size());
    for (const Member& m : *list) {
      Mix(&h, static_cast<uint64_t>(m.id.value));
      Mix(&h, static_cast<uint64_t>(m.incarnation));
    }
  }
  // Keep it positive as an int64 so it travels in Command::value unchanged.
  return h & 0x7fffffffffffffffULL;
}

std::optional<uint64_t> StateMachine::ChecksumAt(int64_t slot) const {
  auto it = checksums_.find(slot);
  if (it == checksums_.end()) return std::nullopt;
  return it->second;
}

void StateMachine::RecordChecksum() {
  checksums_[snapshot_.slot.value] = Checksum();
  while (checksums_.size() > kChecksumsKept) checksums_.erase(checksums_.begin());
}

}  // namespace chaos::core
