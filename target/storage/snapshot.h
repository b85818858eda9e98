// Snapshots and other whole files that must be replaced atomically.
//
// A sealed file is a small header (magic naming the kind, format version,
// CRC32C, LSN, payload length) followed by an opaque payload; see FORMAT.md.
// Sealed files are written with base/file.h's WriteFileAtomically (write a
// temporary file, fsync it, rename it over the target, fsync the directory)
// on the Env, so after a crash the target holds either the old or the new
// contents, never a mixture.
//
// SnapshotStore keeps the node's latest snapshot as "snapshot-<lsn>.snap" in a
// directory: `lsn` is the first WAL record the snapshot does NOT cover. Older
// snapshots and leftover temporary files are deleted once a newer one is
// durable. A snapshot that fails its checksum is an error naming the file; it is
// never silently skipped (the node must stop and a person must look).
//
// Thread safety: none; one owner.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/file.h"
#include "base/status.h"
#include "target/storage/env.h"

namespace chaos::storage {

// WriteFileAtomically(env, path, contents): base/file.h's, on an Env.
using ::chaos::WriteFileAtomically;

// Sealing: a checksummed frame around one payload. `magic` is exactly 8 bytes.
std::string Seal(std::string_view magic, uint64_t lsn, std::string_view payload);
struct Sealed {
  uint32_t version = 0;  // the format version the file was written with
  uint64_t lsn = 0;
  std::string payload;
};
// Checks magic, version, length and checksum; errors name `path`.
Result<Sealed> Unseal(std::string_view magic, const std::string& path, std::string_view data);

inline constexpr std::string_view kSnapshotMagic = "CHSNAP01";

struct Snapshot {
  uint64_t lsn = 0;  // first WAL record not covered
  std::string payload;
  std::string path;
};

class SnapshotStore {
 public:
  SnapshotStore(Env* env, std::string dir) : env_(env), dir_(std::move(dir)) {}
  // Creates the directory and removes leftover temporary files.
  Status Init();
  // Durably installs a snapshot, then deletes older ones.
  Status Write(uint64_t lsn, std::string_view payload);
  // The newest snapshot, nullopt if none, an error naming the file if the
  // newest one is damaged.
  Result<std::optional<Snapshot>> Latest();

  static std::string FileName(uint64_t lsn);
  static bool ParseFileName(const std::string& name, uint64_t* lsn);

 private:
  Env* env_;
  std::string dir_;
};

}  // namespace chaos::storage
