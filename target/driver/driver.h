// Driver: the loop around one consensus core (target/core), the part of a
// register node that is neither the protocol nor the operating system. The
// server (target/server, real disk, gRPC and clock) and the simulator
// (target/sim, MemEnv with power loss, a simulated network and clocks) run
// this same code, as FoundationDB's simulator runs the product's own code.
//
// What it owns: the Core, the write-ahead log and the snapshot store of one
// data directory (target/storage, formats in FORMAT.md), and the fold of
// every record in the WAL (`mirror`), from which snapshot files are written.
//
// What it is given (DriverEnv): the storage Env, a Clock (the core's lease
// time), a Transport (peer messages, this node's own acceptor included) and
// a ReplySink (client replies), and optionally an Observer and a Log.
//
// Recovery (Open): checks IDENTITY (cluster and node id; the disk's
// incarnation, which becomes core::Config::incarnation), loads the newest
// snapshot, replays the WAL after it (cutting a torn tail), and starts the
// core from that state. A directory of another cluster or node, or damaged
// synced data, is an error naming the file.
//
// After every input (Step, Propose, Tick) the owner calls Process(), which
// performs each Ready of the core in order:
//   1. append its records to the WAL; sync them when the persist policy
//      requires it (below), once for the whole batch (group commit);
//   2. only then hand its messages to the Transport;
//   3. then its replies to the ReplySink.
// Except: with `accepts_before_sync` (the default) the proposer's phase-2a
// Accepts to other nodes leave before the sync, so the followers' network
// round and fsync overlap the leader's own fsync. They carry no promise and
// no acceptance of this node's acceptor. The leader's core counts its own
// acceptance at once, but the driver takes no input before the sync has
// returned, so no decision rests on it before it is durable.
// Persist policy (PersistPolicy::kSyncAcceptorState, the default): a batch
// holding a PromiseRecord or an AcceptRecord is synced before anything of
// it leaves the node. A batch of only ChosenRecords and SnapshotRecords is
// appended without a sync of its own: it holds no promise and no
// acceptance, so losing it in a power loss loses nothing Paxos relies on
// (the values are accepted at a quorum and are learned again). It becomes
// durable with the next sync, a snapshot file, or once `unsynced_bytes_max`
// bytes are buffered. PersistPolicy::kSyncEveryBatch syncs every batch.
// Every `snapshot_wal_bytes` bytes of WAL, at the next snapshot the core
// takes, the mirror is written as a snapshot file and the WAL compacted
// behind it.
//
// A failed sync or WAL append is returned by Process(); the owner must stop
// (what reached the disk is unknown: fsyncgate). A diverged core
// (core().fatal() non-empty) is the owner's to act on too.
//
// Thread safety: none; one thread (the node's loop, or the simulator) calls
// everything, and the callbacks run on it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "target/core/core.h"
#include "target/core/types.h"
#include "target/storage/env.h"
#include "target/storage/snapshot.h"
#include "target/storage/wal.h"

namespace chaos::driver {

// The core's lease time (ns, non-decreasing for this node).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t LeaseNowNs() = 0;
};

// Peer messages. A message to this node itself (m.to == self) must reach
// its own core later, as an input of its own, like any other message.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void Send(const core::Message& message) = 0;
};

class ReplySink {
 public:
  virtual ~ReplySink() = default;
  virtual void Deliver(const core::Reply& reply) = 0;
};

// Informational: slots learned chosen (the simulator's agreement check),
// called after the batch that learned them is persisted; and the moment
// before each WAL sync, where the simulator may cut the power (the sync then
// fails and Process returns the error).
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void Chosen(const core::ChosenEntry& entry) = 0;
  virtual void BeforeSync() {}
};

class Log {
 public:
  virtual ~Log() = default;
  virtual void Info(const std::string& text) = 0;
  virtual void Warn(const std::string& text) = 0;
  virtual void Error(const std::string& text) = 0;
};

struct DriverEnv {
  storage::Env* storage = nullptr;
  Clock* clock = nullptr;
  Transport* transport = nullptr;
  ReplySink* replies = nullptr;
  Observer* observer = nullptr;  // may be null
  Log* log = nullptr;            // may be null: nothing is logged
};

enum class PersistPolicy : uint8_t {
  kSyncAcceptorState,  // sync batches with a promise or an acceptance (default)
  kSyncEveryBatch,     // sync every batch with records
};

// Deliberate mistakes in the driver, to prove the simulator catches them
// (the core's own canaries are core::Bugs; no_fsync among them is performed
// here, by the WAL skipping its fsyncs).
struct DriverBugs {
  // The persist policy treats an AcceptRecord like a learned value: the
  // acceptance is acknowledged before it is durable.
  bool lazy_accept = false;
  // Every message leaves before the batch's sync, acknowledgements
  // (Promise, Accepted) included.
  bool early_ack = false;
};

struct DriverOptions {
  std::string data_dir;
  std::string cluster_id;
  PersistPolicy policy = PersistPolicy::kSyncAcceptorState;
  bool accepts_before_sync = true;
  // Buffered, unsynced WAL bytes (learned values only) before a sync anyway.
  uint64_t unsynced_bytes_max = 1ull << 20;
  // A snapshot file is written (and the WAL compacted behind it) once this
  // many WAL bytes were appended since the last one, at the next snapshot
  // the core takes.
  uint64_t snapshot_wal_bytes = 4ull << 20;
  uint64_t wal_segment_bytes = 8ull << 20;
  // The incarnation written into the IDENTITY of a new (empty) data
  // directory; 0 draws one at random, greater than 1 (incarnation 1 is a
  // format version 1 identity). A directory that has an IDENTITY keeps its
  // own.
  int64_t new_incarnation = 0;
  DriverBugs bugs;
};

class Driver {
 public:
  // Recovers the data directory and starts the core from what it holds.
  // `config.self` is this node's id; `config.bugs.no_fsync` makes the WAL
  // skip its fsyncs; `config.incarnation` is replaced by the one in IDENTITY.
  static Result<std::unique_ptr<Driver>> Open(DriverOptions options, core::Config config,
                                              DriverEnv env);
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Inputs: each first gives the core the clock's lease time.
  void Step(const core::Message& message);
  void Propose(const core::Command& command);
  void Tick();

  // Persists, sends and delivers everything the core produced (see above).
  Status Process();
  // Makes every appended record durable (a clean shutdown).
  Status Sync();

  const core::Core& core() const { return *core_; }
  // The incarnation of the data directory (IDENTITY).
  int64_t incarnation() const { return incarnation_; }
  // True when the last Ready that Process() performed was synced before its
  // messages and replies left (a simulated slow disk delays exactly those).
  bool last_batch_synced() const { return last_batch_synced_; }

  struct Stats {
    int64_t batches = 0, syncs = 0, records = 0, messages = 0, replies = 0, snapshots = 0;
  };
  const Stats& stats() const { return stats_; }
  void ResetStats() { stats_ = Stats(); }

 private:
  Driver(DriverOptions options, DriverEnv env);
  Status Recover();
  Status CheckIdentity();
  bool LeavesBeforeSync(const core::Message& m) const;
  Status Persist(const std::vector<core::Record>& records);
  Status SyncWal();
  Status WriteSnapshot();
  void Info(const std::string& text);
  void Warn(const std::string& text);

  DriverOptions options_;
  DriverEnv env_;
  int node_id_ = -1;
  int64_t incarnation_ = 1;
  std::unique_ptr<storage::Wal> wal_;
  std::unique_ptr<storage::SnapshotStore> snapshots_;
  std::unique_ptr<core::Core> core_;
  core::PersistentState mirror_;  // fold of every record in the WAL, for snapshot files
  uint64_t wal_bytes_since_snapshot_ = 0;
  bool last_batch_synced_ = false;
  Stats stats_;
};

}  // namespace chaos::driver
