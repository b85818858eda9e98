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
// Membership (fault "membership") through etcd's own Cluster API (3.4 has
// learners). Members(): Status and MemberList of every member at once
// (400 ms each), the view of the one with the highest applied index, members
// mapped to nodes by peer URL. ChangeMembers, sent to the leader:
//   remove  = MemberRemove(id); the node's etcd is then killed and is not
//             started again (a kill nemesis's restart included) until it
//             joins again, since its data dir belongs to a removed member
//   learner = the node's etcd killed and its data dir wiped,
//             MemberAdd(peer URL, isLearner), then etcd started with
//             --initial-cluster-state existing and --initial-cluster the
//             membership MemberAdd returned; later restarts use those flags
//   promote = MemberPromote(id); etcd refuses a learner that has not caught
//             up (FailedPrecondition, retried by the nemesis)
// A member in etcd's membership that this adapter did not start as one (an
// add whose outcome was unknown) is reported stale.
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
// rejected by a definite error (invalid argument, too many requests, a
// learner refusing writes...) is fail; a deadline or lost connection after
// sending is info. A read that errs is fail whatever the reason: a read
// changes nothing, so "did not happen" is always a safe answer for it (as
// Jepsen's etcd client does).
//
// Faults: partition, kill, pause, membership. Not clock: etcd is a Go program, which
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
