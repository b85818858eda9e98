#include "target/server/codec.h"

#include <type_traits>

namespace chaos::server {
namespace {

namespace pb = chaos::peer_api;
using core::Ballot;
using core::Batch;
using core::NodeId;
using core::Slot;

// --- encoding --------------------------------------------------------------

void Put(Ballot b, pb::Ballot* out) {
  out->set_round(b.round);
  out->set_node(b.node.value);
}
void Put(const core::Command& c, pb::Command* out) {
  out->set_client_id(c.client_id);
  out->set_seq(c.seq);
  out->set_op(static_cast<int32_t>(c.op));
  out->set_key(c.key);
  out->set_value(c.value);
  out->set_from(c.from);
  out->set_to(c.to);
  out->set_retry(c.retry);
}
void Put(const Batch& b, pb::Batch* out) {
  for (const auto& c : b.commands) Put(c, out->add_commands());
}
void Put(const core::Reply& r, pb::ClientReply* out) {
  out->set_client_id(r.client_id);
  out->set_seq(r.seq);
  out->set_status(static_cast<int32_t>(r.status));
  if (r.value) out->set_value(*r.value);
  out->set_leader_hint(r.leader_hint.value);
}
void Put(const core::Snapshot& s, pb::Snapshot* out) {
  out->set_slot(s.slot.value);
  for (const auto& [k, v] : s.registers) {
    auto* r = out->add_registers();
    r->set_key(k);
    r->set_value(v);
  }
  for (const auto& [id, session] : s.sessions) {
    auto* x = out->add_sessions();
    x->set_client_id(id);
    x->set_last_seq(session.last_seq);
    Put(session.last_reply, x->mutable_last_reply());
    x->set_last_slot(session.last_slot);
  }
  for (const core::Member& m : s.members.voters) {
    auto* x = out->add_voters();
    x->set_node(m.id.value);
    x->set_incarnation(m.incarnation);
  }
  for (const core::Member& m : s.members.learners) {
    auto* x = out->add_learners();
    x->set_node(m.id.value);
    x->set_incarnation(m.incarnation);
  }
}
void Put(const core::PromiseEntry& e, pb::PromiseEntry* out) {
  out->set_slot(e.slot.value);
  Put(e.ballot, out->mutable_ballot());
  Put(e.batch, out->mutable_batch());
  out->set_chosen(e.chosen);
}

// --- decoding ----------------------------------------------------------------

struct Decoder {
  int cluster_size;  // 0: node ids are not bounded (records)
  Status error;

  void Fail(const std::string& why) {
    if (error.ok()) error = InvalidArgument(why);
  }
  NodeId Node(int32_t v, bool allow_none) {
    if (v == -1 && allow_none) return NodeId{-1};
    if (v < 0 || (cluster_size > 0 && v >= cluster_size)) Fail("node id " + std::to_string(v));
    return NodeId{v};
  }
  Slot GetSlot(int64_t v) {
    if (v < 0) Fail("negative slot " + std::to_string(v));
    return Slot{v};
  }
  Ballot Get(const pb::Ballot& b) {
    if (b.round() < 0) Fail("negative ballot round");
    if (b.round() == 0) return Ballot{0, Node(b.node(), true)};
    return Ballot{b.round(), Node(b.node(), false)};
  }
  core::Command Get(const pb::Command& c) {
    core::Command out;
    out.client_id = c.client_id();
    out.seq = c.seq();
    if (c.op() < 0 || c.op() > static_cast<int32_t>(core::OpKind::kConfig)) {
      Fail("op kind " + std::to_string(c.op()));
    }
    out.op = static_cast<core::OpKind>(c.op());
    out.key = c.key();
    out.value = c.value();
    out.from = c.from();
    out.to = c.to();
    out.retry = c.retry();
    return out;
  }
  Batch Get(const pb::Batch& b) {
    Batch out;
    out.commands.reserve(static_cast<size_t>(b.commands_size()));
    for (const auto& c : b.commands()) out.commands.push_back(Get(c));
    return out;
  }
  core::Reply Get(const pb::ClientReply& r) {
    core::Reply out;
    out.client_id = r.client_id();
    out.seq = r.seq();
    if (r.status() < 0 || r.status() > static_cast<int32_t>(core::ReplyStatus::kUnknown)) {
      Fail("reply status " + std::to_string(r.status()));
    }
    out.status = static_cast<core::ReplyStatus>(r.status());
    if (r.has_value()) out.value = r.value();
    out.leader_hint = Node(r.leader_hint(), true);
    return out;
  }
  core::Snapshot Get(const pb::Snapshot& s) {
    core::Snapshot out;
    out.slot = GetSlot(s.slot());
    for (const auto& r : s.registers()) out.registers[r.key()] = r.value();
    for (const auto& x : s.sessions()) {
      core::Session session;
      session.last_seq = x.last_seq();
      session.last_reply = Get(x.last_reply());
      session.last_slot = x.last_slot();
      out.sessions[x.client_id()] = session;
    }
    auto members = [this](const auto& in, std::vector<core::Member>* list) {
      for (const auto& x : in) {
        list->push_back(core::Member{Node(x.node(), false), x.incarnation()});
        if (list->size() > 1 && !(list->at(list->size() - 2).id < list->back().id)) {
          Fail("members out of order");
        }
      }
    };
    members(s.voters(), &out.members.voters);
    members(s.learners(), &out.members.learners);
    return out;
  }
  core::PromiseEntry Get(const pb::PromiseEntry& e) {
    core::PromiseEntry out;
    out.slot = GetSlot(e.slot());
    if (out.slot.value == 0) Fail("slot 0 in an entry");
    out.ballot = Get(e.ballot());
    out.batch = Get(e.batch());
    out.chosen = e.chosen();
    return out;
  }
  std::vector<core::PromiseEntry> Entries(
      const google::protobuf::RepeatedPtrField<pb::PromiseEntry>& in) {
    std::vector<core::PromiseEntry> out;
    out.reserve(static_cast<size_t>(in.size()));
    for (const auto& e : in) out.push_back(Get(e));
    return out;
  }
};

}  // namespace

void EncodeMessage(const core::Message& m, pb::PeerMessage* out) {
  out->set_from(m.from.value);
  out->set_to(m.to.value);
  out->set_incarnation(m.incarnation);
  std::visit(
      [out](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, core::PreVote>) {
          Put(b.ballot, out->mutable_pre_vote()->mutable_ballot());
        } else if constexpr (std::is_same_v<T, core::PreVoteReply>) {
          auto* x = out->mutable_pre_vote_reply();
          Put(b.ballot, x->mutable_ballot());
          x->set_granted(b.granted);
          Put(b.promised, x->mutable_promised());
        } else if constexpr (std::is_same_v<T, core::Prepare>) {
          auto* x = out->mutable_prepare();
          Put(b.ballot, x->mutable_ballot());
          x->set_first_slot(b.first_slot.value);
        } else if constexpr (std::is_same_v<T, core::Promise>) {
          auto* x = out->mutable_promise();
          Put(b.ballot, x->mutable_ballot());
          x->set_ok(b.ok);
          Put(b.promised, x->mutable_promised());
          for (const auto& e : b.entries) Put(e, x->add_entries());
          if (b.snapshot) Put(*b.snapshot, x->mutable_snapshot());
        } else if constexpr (std::is_same_v<T, core::Accept>) {
          auto* x = out->mutable_accept();
          Put(b.ballot, x->mutable_ballot());
          x->set_slot(b.slot.value);
          Put(b.batch, x->mutable_batch());
          x->set_commit(b.commit.value);
        } else if constexpr (std::is_same_v<T, core::Accepted>) {
          auto* x = out->mutable_accepted();
          Put(b.ballot, x->mutable_ballot());
          x->set_slot(b.slot.value);
          x->set_ok(b.ok);
          Put(b.promised, x->mutable_promised());
        } else if constexpr (std::is_same_v<T, core::Heartbeat>) {
          auto* x = out->mutable_heartbeat();
          Put(b.ballot, x->mutable_ballot());
          x->set_commit(b.commit.value);
          x->set_round(b.round);
        } else if constexpr (std::is_same_v<T, core::HeartbeatReply>) {
          auto* x = out->mutable_heartbeat_reply();
          Put(b.ballot, x->mutable_ballot());
          x->set_round(b.round);
          x->set_ok(b.ok);
          Put(b.promised, x->mutable_promised());
          x->set_chosen_prefix(b.chosen_prefix.value);
          x->set_forgot(b.forgot);
        } else if constexpr (std::is_same_v<T, core::Learn>) {
          auto* x = out->mutable_learn();
          Put(b.ballot, x->mutable_ballot());
          for (const auto& e : b.entries) Put(e, x->add_entries());
        } else {
          static_assert(std::is_same_v<T, core::InstallSnapshot>);
          auto* x = out->mutable_install_snapshot();
          Put(b.ballot, x->mutable_ballot());
          Put(b.snapshot, x->mutable_snapshot());
        }
      },
      m.body);
}

Result<core::Message> DecodeMessage(const pb::PeerMessage& in, int cluster_size) {
  Decoder d{cluster_size, Status::Ok()};
  core::Message m;
  m.from = d.Node(in.from(), false);
  m.to = d.Node(in.to(), false);
  m.incarnation = in.incarnation();
  switch (in.body_case()) {
    case pb::PeerMessage::kPreVote: {
      core::PreVote v;
      v.ballot = d.Get(in.pre_vote().ballot());
      m.body = v;
      break;
    }
    case pb::PeerMessage::kPreVoteReply: {
      const auto& x = in.pre_vote_reply();
      core::PreVoteReply v;
      v.ballot = d.Get(x.ballot());
      v.granted = x.granted();
      v.promised = d.Get(x.promised());
      m.body = v;
      break;
    }
    case pb::PeerMessage::kPrepare: {
      core::Prepare v;
      v.ballot = d.Get(in.prepare().ballot());
      v.first_slot = d.GetSlot(in.prepare().first_slot());
      m.body = v;
      break;
    }
    case pb::PeerMessage::kPromise: {
      const auto& x = in.promise();
      core::Promise v;
      v.ballot = d.Get(x.ballot());
      v.ok = x.ok();
      v.promised = d.Get(x.promised());
      v.entries = d.Entries(x.entries());
      if (x.has_snapshot()) v.snapshot = d.Get(x.snapshot());
      m.body = std::move(v);
      break;
    }
    case pb::PeerMessage::kAccept: {
      const auto& x = in.accept();
      core::Accept v;
      v.ballot = d.Get(x.ballot());
      v.slot = d.GetSlot(x.slot());
      v.batch = d.Get(x.batch());
      v.commit = d.GetSlot(x.commit());
      m.body = std::move(v);
      break;
    }
    case pb::PeerMessage::kAccepted: {
      const auto& x = in.accepted();
      core::Accepted v;
      v.ballot = d.Get(x.ballot());
      v.slot = d.GetSlot(x.slot());
      v.ok = x.ok();
      v.promised = d.Get(x.promised());
      m.body = v;
      break;
    }
    case pb::PeerMessage::kHeartbeat: {
      const auto& x = in.heartbeat();
      core::Heartbeat v;
      v.ballot = d.Get(x.ballot());
      v.commit = d.GetSlot(x.commit());
      v.round = x.round();
      m.body = v;
      break;
    }
    case pb::PeerMessage::kHeartbeatReply: {
      const auto& x = in.heartbeat_reply();
      core::HeartbeatReply v;
      v.ballot = d.Get(x.ballot());
      v.round = x.round();
      v.ok = x.ok();
      v.promised = d.Get(x.promised());
      v.chosen_prefix = d.GetSlot(x.chosen_prefix());
      v.forgot = x.forgot();
      m.body = v;
      break;
    }
    case pb::PeerMessage::kLearn: {
      core::Learn v;
      v.ballot = d.Get(in.learn().ballot());
      v.entries = d.Entries(in.learn().entries());
      m.body = std::move(v);
      break;
    }
    case pb::PeerMessage::kInstallSnapshot: {
      core::InstallSnapshot v;
      v.ballot = d.Get(in.install_snapshot().ballot());
      v.snapshot = d.Get(in.install_snapshot().snapshot());
      m.body = std::move(v);
      break;
    }
    default:
      return InvalidArgument("peer message without a body");
  }
  if (!d.error.ok()) return d.error.WithContext("malformed peer message");
  return m;
}

std::string EncodeRecord(const core::Record& record) {
  pb::WalRecord out;
  std::visit(
      [&out](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, core::PromiseRecord>) {
          Put(r.ballot, out.mutable_promise());
        } else if constexpr (std::is_same_v<T, core::AcceptRecord>) {
          auto* x = out.mutable_accept();
          x->set_slot(r.slot.value);
          Put(r.ballot, x->mutable_ballot());
          Put(r.batch, x->mutable_batch());
        } else if constexpr (std::is_same_v<T, core::ChosenRecord>) {
          auto* x = out.mutable_chosen();
          x->set_slot(r.slot.value);
          Put(r.batch, x->mutable_batch());
          x->set_chosen(true);
        } else {
          Put(r.snapshot, out.mutable_snapshot());
        }
      },
      record);
  return out.SerializeAsString();
}

Result<core::Record> DecodeRecord(const std::string& bytes) {
  pb::WalRecord in;
  if (!in.ParseFromString(bytes)) return IoError("WAL record does not parse");
  Decoder d{0, Status::Ok()};
  core::Record out;
  switch (in.record_case()) {
    case pb::WalRecord::kPromise:
      out = core::PromiseRecord{d.Get(in.promise())};
      break;
    case pb::WalRecord::kAccept: {
      core::AcceptRecord r;
      r.slot = d.GetSlot(in.accept().slot());
      r.ballot = d.Get(in.accept().ballot());
      r.batch = d.Get(in.accept().batch());
      out = std::move(r);
    } break;
    case pb::WalRecord::kChosen: {
      core::ChosenRecord r;
      r.slot = d.GetSlot(in.chosen().slot());
      r.batch = d.Get(in.chosen().batch());
      out = std::move(r);
    } break;
    case pb::WalRecord::kSnapshot:
      out = core::SnapshotRecord{d.Get(in.snapshot())};
      break;
    default:
      return IoError("WAL record of no known kind");
  }
  if (!d.error.ok()) return IoError("malformed WAL record: " + d.error.message());
  return out;
}

std::string EncodeState(const core::PersistentState& state) {
  pb::PersistentState out;
  Put(state.promised, out.mutable_promised());
  for (const auto& [slot, e] : state.log) {
    auto* x = out.add_log();
    x->set_slot(slot.value);
    Put(e.accepted_ballot, x->mutable_accepted_ballot());
    Put(e.accepted, x->mutable_accepted());
    x->set_chosen(e.chosen);
    Put(e.chosen_batch, x->mutable_chosen_batch());
  }
  Put(state.snapshot, out.mutable_snapshot());
  return out.SerializeAsString();
}

Result<core::PersistentState> DecodeState(const std::string& bytes) {
  pb::PersistentState in;
  if (!in.ParseFromString(bytes)) return IoError("snapshot state does not parse");
  Decoder d{0, Status::Ok()};
  core::PersistentState out;
  out.promised = d.Get(in.promised());
  for (const auto& x : in.log()) {
    core::LogEntry e;
    e.accepted_ballot = d.Get(x.accepted_ballot());
    e.accepted = d.Get(x.accepted());
    e.chosen = x.chosen();
    e.chosen_batch = d.Get(x.chosen_batch());
    out.log[d.GetSlot(x.slot())] = std::move(e);
  }
  out.snapshot = d.Get(in.snapshot());
  if (!d.error.ok()) return IoError("malformed snapshot state: " + d.error.message());
  return out;
}

}  // namespace chaos::server
