#include "target/driver/driver.h"

#include <random>
#include <variant>

#include "base/check.h"
#include "target/proto/peer.pb.h"
#include "target/server/codec.h"

namespace chaos::driver {

namespace {
constexpr std::string_view kIdentityMagic = "CHIDENT1";
}  // namespace

Driver::Driver(DriverOptions options, DriverEnv env) : options_(std::move(options)), env_(env) {}

Driver::~Driver() = default;

Result<std::unique_ptr<Driver>> Driver::Open(DriverOptions options, core::Config config,
                                             DriverEnv env) {
  CHAOS_CHECK(env.storage && env.clock && env.transport && env.replies);
  std::unique_ptr<Driver> d(new Driver(std::move(options), env));
  d->node_id_ = config.self.value;
  CHAOS_RETURN_IF_ERROR(d->Recover());
  d->wal_->set_skip_fsync_for_bug(config.bugs.no_fsync);
  config.incarnation = d->incarnation_;
  d->core_ = std::make_unique<core::Core>(std::move(config), d->mirror_);
  return d;
}

void Driver::Info(const std::string& text) {
  if (env_.log) env_.log->Info(text);
}
void Driver::Warn(const std::string& text) {
  if (env_.log) env_.log->Warn(text);
}

Status Driver::CheckIdentity() {
  storage::Env* env = env_.storage;
  std::string path = storage::JoinPath(options_.data_dir, "IDENTITY");
  if (env->FileExists(path)) {
    CHAOS_ASSIGN_OR_RETURN(std::string data, env->ReadFile(path));
    CHAOS_ASSIGN_OR_RETURN(storage::Sealed sealed, storage::Unseal(kIdentityMagic, path, data));
    peer_api::Identity id;
    if (!id.ParseFromString(sealed.payload)) return IoError(path + ": identity does not parse");
    if (id.cluster_id() != options_.cluster_id) {
      return FailedPrecondition(path + ": data directory belongs to cluster '" + id.cluster_id() +
                                "', not '" + options_.cluster_id + "'");
    }
    if (id.node_id() != node_id_) {
      return FailedPrecondition(path + ": data directory belongs to node " +
                                std::to_string(id.node_id()) + ", not node " +
                                std::to_string(node_id_));
    }
    // Version 1 identities predate incarnations: the node's first disk.
    incarnation_ = id.incarnation() > 0 ? id.incarnation() : 1;
    return Status::Ok();
  }
  for (const char* sub : {"wal", "snap"}) {
    std::string dir = storage::JoinPath(options_.data_dir, sub);
    if (!env->FileExists(dir)) continue;
    CHAOS_ASSIGN_OR_RETURN(auto names, env->ListDir(dir));
    if (!names.empty()) {
      return FailedPrecondition(path + ": missing, but " + dir +
                                " holds data (not a directory this node created)");
    }
  }
  peer_api::Identity id;
  id.set_cluster_id(options_.cluster_id);
  id.set_node_id(node_id_);
  // A new data directory is a new incarnation (core::Config::incarnation).
  incarnation_ = options_.new_incarnation;
  if (incarnation_ <= 0) {
    std::random_device entropy;
    incarnation_ = static_cast<int64_t>(((uint64_t{entropy()} << 32) | entropy()) >> 2) + 2;
  }
  id.set_incarnation(incarnation_);
  Info(path + ": new data directory, incarnation " + std::to_string(incarnation_));
  return storage::WriteFileAtomically(env, path,
                                      storage::Seal(kIdentityMagic, 0, id.SerializeAsString()));
}

Status Driver::Recover() {
  storage::Env* env = env_.storage;
  CHAOS_RETURN_IF_ERROR(env->CreateDir(options_.data_dir));
  CHAOS_RETURN_IF_ERROR(CheckIdentity());
  snapshots_ =
      std::make_unique<storage::SnapshotStore>(env, storage::JoinPath(options_.data_dir, "snap"));
  CHAOS_RETURN_IF_ERROR(snapshots_->Init());
  CHAOS_ASSIGN_OR_RETURN(auto snap, snapshots_->Latest());
  uint64_t first_needed = 1;
  if (snap) {
    auto state = server::DecodeState(snap->payload);
    if (!state.ok()) return state.status().WithContext(snap->path);
    mirror_ = std::move(state).value();
    first_needed = snap->lsn;
    Info("loaded snapshot " + snap->path + " (slot " + std::to_string(mirror_.snapshot.slot.value) +
         ", " + std::to_string(mirror_.log.size()) + " log entries)");
  }
  storage::WalOptions wal_options;
  wal_options.segment_bytes_max = options_.wal_segment_bytes;
  storage::WalRecovery rec;
  std::string wal_dir = storage::JoinPath(options_.data_dir, "wal");
  CHAOS_ASSIGN_OR_RETURN(wal_, storage::Wal::Open(env, wal_dir, wal_options, &rec));
  if (rec.truncated) {
    Warn("WAL recovery cut " + rec.truncated_file + " at byte " +
         std::to_string(rec.truncated_offset) + ": " + rec.truncated_reason + " (" +
         std::to_string(rec.segments_removed) + " later segments removed)");
  }
  if (wal_->next_lsn() < first_needed) {
    Warn("WAL ends at LSN " + std::to_string(wal_->next_lsn()) + " behind the snapshot (" +
         std::to_string(first_needed) + "); restarting the log there");
    CHAOS_RETURN_IF_ERROR(wal_->ResetTo(first_needed));
  } else if (rec.first_lsn > first_needed) {
    return FailedPrecondition(wal_dir + ": log starts at LSN " + std::to_string(rec.first_lsn) +
                              " but the snapshot needs LSN " + std::to_string(first_needed));
  }
  uint64_t replayed = 0;
  for (size_t i = 0; i < rec.records.size(); ++i) {
    uint64_t lsn = rec.first_lsn + i;
    if (lsn < first_needed) continue;
    auto record = server::DecodeRecord(rec.records[i]);
    if (!record.ok()) return record.status().WithContext(wal_dir + " LSN " + std::to_string(lsn));
    mirror_.Apply(*record);
    ++replayed;
  }
  Info("recovered: incarnation " + std::to_string(incarnation_) + ", promised " +
       core::ToString(mirror_.promised) + ", snapshot slot " +
       std::to_string(mirror_.snapshot.slot.value) + ", " + std::to_string(replayed) +
       " WAL records replayed");
  return Status::Ok();
}

void Driver::Step(const core::Message& message) {
  core_->SetNow(env_.clock->LeaseNowNs());
  core_->Step(message);
}

void Driver::Propose(const core::Command& command) {
  core_->SetNow(env_.clock->LeaseNowNs());
  core_->Propose(command);
}

void Driver::Tick() {
  core_->SetNow(env_.clock->LeaseNowNs());
  core_->Tick();
}

bool Driver::LeavesBeforeSync(const core::Message& m) const {
  if (options_.bugs.early_ack) return true;
  return options_.accepts_before_sync && m.to.value != node_id_ &&
         std::holds_alternative<core::Accept>(m.body);
}

Status Driver::Process() {
  while (core_->HasReady()) {
    core::Ready ready = core_->TakeReady();
    ++stats_.batches;
    stats_.messages += static_cast<int64_t>(ready.messages.size());
    stats_.replies += static_cast<int64_t>(ready.replies.size());
    last_batch_synced_ = false;
    std::vector<bool> sent(ready.messages.size(), false);
    for (size_t i = 0; i < ready.messages.size(); ++i) {
      if (!LeavesBeforeSync(ready.messages[i])) continue;
      env_.transport->Send(ready.messages[i]);
      sent[i] = true;
    }
    int64_t syncs_before = stats_.syncs;
    CHAOS_RETURN_IF_ERROR(Persist(ready.records));
    last_batch_synced_ = stats_.syncs != syncs_before;
    if (env_.observer) {
      for (const core::ChosenEntry& c : ready.chosen) env_.observer->Chosen(c);
    }
    for (size_t i = 0; i < ready.messages.size(); ++i) {
      if (!sent[i]) env_.transport->Send(ready.messages[i]);
    }
    for (const core::Reply& r : ready.replies) env_.replies->Deliver(r);
  }
  return Status::Ok();
}

Status Driver::Persist(const std::vector<core::Record>& records) {
  bool snapshot_seen = false;
  bool must_sync = false;
  for (const core::Record& record : records) {
    bool acceptor_state =
        std::holds_alternative<core::PromiseRecord>(record) ||
        (std::holds_alternative<core::AcceptRecord>(record) && !options_.bugs.lazy_accept);
    must_sync = must_sync || acceptor_state || options_.policy == PersistPolicy::kSyncEveryBatch;
    std::string bytes = server::EncodeRecord(record);
    auto lsn = wal_->Append(bytes);
    if (!lsn.ok()) return lsn.status().WithContext("WAL append");
    wal_bytes_since_snapshot_ += bytes.size() + storage::kRecordHeaderBytes;
    mirror_.Apply(record);
    snapshot_seen = snapshot_seen || std::holds_alternative<core::SnapshotRecord>(record);
  }
  stats_.records += static_cast<int64_t>(records.size());
  if (must_sync || wal_->buffered_bytes() >= options_.unsynced_bytes_max) {
    CHAOS_RETURN_IF_ERROR(SyncWal());
  }
  if (snapshot_seen && wal_bytes_since_snapshot_ >= options_.snapshot_wal_bytes) {
    CHAOS_RETURN_IF_ERROR(WriteSnapshot());
  }
  return Status::Ok();
}

Status Driver::SyncWal() {
  if (wal_->synced_lsn() == wal_->next_lsn()) return Status::Ok();
  ++stats_.syncs;
  if (env_.observer) env_.observer->BeforeSync();
  return wal_->Sync();
}

Status Driver::Sync() { return SyncWal(); }

Status Driver::WriteSnapshot() {
  // The snapshot file covers every record before next_lsn: make them durable first.
  CHAOS_RETURN_IF_ERROR(SyncWal());
  uint64_t lsn = wal_->next_lsn();
  Status s = snapshots_->Write(lsn, server::EncodeState(mirror_));
  if (!s.ok()) {
    // The WAL still holds everything: a later snapshot retries.
    if (env_.log) env_.log->Error("snapshot failed (will retry at the next one): " + s.ToString());
    return Status::Ok();
  }
  CHAOS_RETURN_IF_ERROR(wal_->CompactBefore(lsn));
  wal_bytes_since_snapshot_ = 0;
  ++stats_.snapshots;
  Info("snapshot at slot " + std::to_string(mirror_.snapshot.slot.value) + " written (LSN " +
       std::to_string(lsn) + "), WAL compacted to " + std::to_string(wal_->segment_count()) +
       " segment(s)");
  return Status::Ok();
}

}  // namespace chaos::driver
