// Disk nemeses: faults of a system's durable state.
//
//   lose-unsynced  "crash with loss": the adapter runs the system on the lazy
//                  file system (lazyfs/) over its data directory. Start picks
//                  nodes (one, minority, majority, all, leader), kills the
//                  system (adapter Kill), waits until it is gone, then in one
//                  command writes an unsynced canary file into the data
//                  directory and tells the lazy file system to drop
//                  everything unsynced (adapters/lazyfs_node.h LazyfsCrash);
//                  the op value records, per node, what was dropped and
//                  whether the canary is gone. Stop starts the system again.
//                  Heal starts it wherever it is down.
//   corrupt        while the system is down on chosen nodes (one or minority:
//                  a majority losing durable data loses acknowledged writes
//                  under any protocol), flips one bit of (mode bitflip) or
//                  cuts 1..256 bytes from the end of (mode truncate) one of
//                  the adapter's DataFiles. Stop starts it again; a node whose
//                  system refuses to start (it detected the damage) within
//                  a few seconds has its data directory wiped and is started
//                  empty, to catch up from its peers; the op value says which.
//                  Heal does the same for every node that is down.
//   slow-disk      a fail-slow disk: the adapter runs the system with each of
//                  its SlowDiskDirs (data, and a log it flushes line by line)
//                  on a lazy file system; Start picks nodes (one, minority,
//                  majority, all, leader) and makes every write and sync
//                  there wait delay_ms first (spec "delay_ms"; else 10, 50
//                  or 200, from the seed). Stop and Heal end it.
//
// Thread safety: as every Nemesis (nemesis.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nemesis/nemesis.h"

namespace chaos::nemesis {

std::unique_ptr<Nemesis> MakeLoseUnsyncedNemesis(const NemesisContext& context);
std::unique_ptr<Nemesis> MakeCorruptNemesis(const NemesisContext& context);
std::unique_ptr<Nemesis> MakeSlowDiskNemesis(const NemesisContext& context);

// Makes every write and sync on each of `nodes`' SlowDiskDirs wait delay_ms
// (0: a healthy disk again). The adapter must have been set up with the
// "slow-disk" fault (its directories on lazy file systems).
Status SlowDisks(const NemesisContext& context, const std::vector<std::string>& nodes,
                 int64_t delay_ms);

}  // namespace chaos::nemesis
