// Node: one register replica as an OS process: the Multi-Paxos core
// (target/core) driven by an event loop over real sockets (gRPC), a real disk
// (target/storage) and a real clock (clock.h).
//
// Event loop (one thread owns the driver, target/driver: the Core, the WAL
// and the snapshot store; the simulator runs the same driver):
//   1. wait for inputs (peer messages, client commands) or the next tick;
//   2. feed all of them to the core, then the due ticks;
//   3. the driver performs the Ready: appends its records to the WAL and
//      fsyncs once when its persist policy requires it (group commit: every
//      record from every input of this round, one fsync);
//   4. only then hands its messages to the per-peer senders;
//   5. then answers the clients whose commands were decided.
// A promise or an acceptance therefore never leaves the node before it is on
// stable storage. A failed fsync stops the process (what reached the disk is
// unknown). A diverged core (fatal()) stops the process.
//
// Data directory: IDENTITY (cluster id and node id), wal/, snap/ (FORMAT.md in
// target/storage). A directory from another cluster or node, or a damaged
// snapshot, makes Start() fail with an error naming the file.
//
// Thread safety: Start, Run and Stop are called by the owner; RequestStop may
// be called from any thread (the signal thread). gRPC handlers run on gRPC's
// threads and talk to the loop through a bounded queue.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "target/core/types.h"

namespace chaos::server {

struct NodeOptions {
  int id = -1;
  std::vector<std::string> peers;  // address of node i at index i (self included)
  std::string listen;              // "host:port" to serve on
  std::string data_dir;
  std::string cluster_id;  // defaults to the peers list joined by ','
  core::ReadMode read_mode = core::ReadMode::kReadIndex;  // linearizable, no log entry
  double max_clock_drift = 0;
  core::Bugs bugs;
  std::string log_file;  // "" = stderr
  int64_t tick_ms = 10;
  // 300-600 ms: long enough that a loaded machine's scheduling and fsync
  // stalls do not depose a healthy leader.
  int election_timeout_ticks = 30;
  int heartbeat_ticks = 2;
  // A snapshot file is written (and the WAL compacted behind it) once this
  // many WAL bytes were appended since the last one, at the next snapshot the
  // core takes.
  uint64_t snapshot_wal_bytes = 4ull << 20;
  uint64_t wal_segment_bytes = 8ull << 20;
  // Chosen slots kept behind the core's snapshots for followers' catch-up
  // (core::Config::catchup_tail_slots): a few seconds of writes.
  int64_t catchup_tail_slots = 4096;
  int64_t request_timeout_ms_max = 5000;  // a client handler never waits longer
};

// Parses "log", "read-index", "lease".
Result<core::ReadMode> ParseReadMode(const std::string& text);
// Sets the bug named by the --bug flag ("no-fsync", "promise-geq", ...).
Status EnableBug(const std::string& name, core::Bugs* bugs);
// Parses "--peers": "a:1,b:2,c:3" (node i is the i-th) or "0=a:1,1=b:2,...".
Result<std::vector<std::string>> ParsePeers(const std::string& text);

class Node {
 public:
  explicit Node(NodeOptions options);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Recovers state from the data directory and starts serving. Errors are one
  // line naming the file or the address at fault.
  Status Start();
  // Runs the event loop until RequestStop(); then shuts down cleanly.
  Status Run();
  void RequestStop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chaos::server
