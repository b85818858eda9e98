// The lazy file system (lazyfs/, chaos-lazyfs) on a node, for any adapter
// that honours the "lose-unsynced" fault and for the nemesis that drives it.
//
// Over a system's data directory D the layout on the node is fixed:
//   D             the mount point: the system reads and writes here
//   D.lazy        the backing directory: what survived the last sync/drop
//   D.lazyfs.sock the control socket (stat, drop, sync)
//   /var/log/chaos/lazyfs-<basename of D>.log  the file system's own log
// The binary is uploaded to /opt/chaos/chaos-lazyfs.
//
// Thread safety: free functions; each uses only the session it is given
// (a Session serialises its own commands).
#pragma once

#include <string>

#include "base/status.h"
#include "control/ssh.h"
#include "history/op.h"

namespace chaos::adapters {

inline constexpr const char* kLazyfsBinary = "/opt/chaos/chaos-lazyfs";

struct LazyfsPaths {
  std::string mount, backing, socket, log;
};
LazyfsPaths LazyfsPathsFor(const std::string& data_dir);

// Uploads build_dir/lazyfs/chaos-lazyfs to the node.
Status InstallLazyfs(control::Session* session, const std::string& build_dir);
// Unmounts the lazy file system over data_dir if one is mounted (syncing it,
// as a clean unmount does) and waits for its daemon to exit. Ok if none.
Status UnmountLazyfs(control::Session* session, const std::string& data_dir);
// Empties data_dir and its backing directory, then mounts a fresh lazy file
// system over data_dir. Returns once the mount is in place. Nothing may be
// mounted there (call UnmountLazyfs first). Unsynced data older than
// writeback_ms is written back, as the kernel would (0: never): a crash then
// loses the last writeback_ms of unsynced work, not all of it since the mount.
inline constexpr int64_t kLazyfsWritebackMs = 1000;
Status MountLazyfs(control::Session* session, const std::string& data_dir,
                   int64_t writeback_ms = kLazyfsWritebackMs);
// Stops background writeback until the next drop or sync (the power goes):
// call it before stopping the system, so the time the stop takes writes
// nothing back.
Status LazyfsHold(control::Session* session, const std::string& data_dir);
// Sends one control command ("stat", "hold", "drop", "sync") and returns the JSON
// reply: {command, files, pages, write_bytes, ops}.
Result<history::Json> LazyfsControl(control::Session* session, const std::string& data_dir,
                                    const std::string& command);

// A crash of the file system: writes a canary file into data_dir (not
// synced), drops everything unsynced at once, and checks the canary's bytes
// are gone — all in one command, so no background writeback falls between
// them. Returns the drop's reply plus "canary_lost" (true: the loss is proven).
// The system using data_dir must be stopped first.
Result<history::Json> LazyfsCrash(control::Session* session, const std::string& data_dir,
                                  const std::string& nonce);

}  // namespace chaos::adapters
