// The adapter for etcd (Debian's etcd-server, 3.4, already in the node image):
// an N-member cluster started over SSH, and a client that speaks etcd's v3
// gRPC KV API through our own wire-compatible .proto (adapters/etcd/rpc.proto).
//
// Lifecycle: member name = node name; peers on http://<address>:2380, clients
// on http://<address>:2379 and http://127.0.0.1:2379; data in
// /var/lib/chaos-etcd; its log (zap, appended across restarts) in
// /var/log/chaos/etcd.log, its stdout in /var/log/chaos/etcd.stdout; an initial-cluster
// token unique per adapter instance (so members of an earlier test never join
// this one). Kill, pause and resume are SIGKILL, SIGSTOP and SIGCONT to the
// process named `etcd`. Leader() asks the members' Maintenance.Status.
//
// Client (one gRPC channel of its own per logical process, bound to one node):
//   read  = Range(key)                 linearizable by default; with the option
//                                      etcd-read=serializable, served from the
//                                      member's local state (may be stale)
//   write = Put(key, value)
//   cas   = Txn(if value(key) == old then Put(key, new)): ok if it succeeded,
//           fail if the compare failed (a missing key never compares equal)
// Keys and values are decimal strings; a missing key reads nil.
// Outcomes: a write or cas that could not connect before sending is fail; one
// rejected by a definite error (invalid argument, too many requests...) is
// fail; a deadline or lost connection after sending is info. A read that
// errs is fail whatever the reason: a read changes nothing, so "did not
// happen" is always a safe answer for it (as Jepsen's etcd client does).
//
// Faults: partition, kill, pause. Not clock: etcd is a Go program, which
// reads the time through the vDSO, out of libfaketime's reach.
//
// Thread safety: as adapters/adapter.h.
#pragma once

#include <memory>

#include "adapters/adapter.h"

namespace chaos::adapters {
// Refuses an etcd-read option other than linearizable or serializable.
Result<std::unique_ptr<Adapter>> MakeEtcdAdapter(AdapterContext context);
}  // namespace chaos::adapters
