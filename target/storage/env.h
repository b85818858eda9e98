// Env: every file-system operation storage performs, behind one interface, in
// the style of LevelDB's leveldb::Env. The WAL and snapshot code never call the
// OS directly, so tests and the simulator can run them on MemEnv, an in-memory
// disk that loses everything not yet made durable when told "power loss".
//
// Durability contract (what both implementations promise, and what MemEnv
// enforces on power loss):
//   - bytes appended to a file are durable only after that file's Sync();
//   - a file's existence under a name (after creation or Rename) is durable
//     only after SyncDir() of the directory that holds the name;
//   - Truncate() takes effect durably only after Sync() of a file opened on it
//     or SyncDir(); callers sync after truncating.
// Paths are plain strings; a file's directory is everything before its last '/'.
//
// Thread safety: PosixEnv is safe for concurrent use; a WritableFile must be
// used by one thread at a time. MemEnv serialises all calls with one mutex.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/file.h"
#include "base/status.h"

namespace chaos::storage {

// A file open for appending. Close() is implied by destruction (errors lost).
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  // Makes every byte appended so far durable (fsync/fdatasync).
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // Creates (or truncates to empty) `path` for appending. The name is durable
  // only after SyncDir(parent).
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  // Opens an existing file for appending at its end.
  virtual Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) = 0;
  // Reads the whole file. NotFound if it does not exist.
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  // Atomically replaces `to` with `from` (rename(2)).
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Makes the directory's entries (creations, renames, removals) durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  // Names (not paths) of the entries in `dir`, sorted, without "." and "..".
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Creates `dir` and missing parents; ok if it exists.
  virtual Status CreateDir(const std::string& dir) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
};

// The real file system (open/write/fdatasync/rename/fsync of directories).
// The returned Env lives for the whole process.
Env* PosixEnv();

// Parent directory of a path ("a/b/c" -> "a/b", "c" -> ".").
using ::chaos::DirName;
// Joins dir and name with one '/'.
std::string JoinPath(const std::string& dir, const std::string& name);

// An in-memory file system that models what survives a power loss. Each file
// keeps its current bytes and the bytes last synced; each directory keeps its
// current entries and the entries last synced. PowerLoss() rolls every
// directory back to its synced entries and every file back to its synced bytes,
// exactly the data an fsync-correct program may rely on. Directories are
// implicit: CreateDir only records that the directory exists.
class MemEnv final : public Env {
 public:
  MemEnv() = default;
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  Result<std::string> ReadFile(const std::string& path) override;
  Status Truncate(const std::string& path, uint64_t size) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;
  Result<std::vector<std::string>> ListDir(const std::string& dir) override;
  Status CreateDir(const std::string& dir) override;
  bool FileExists(const std::string& path) override;
  Result<uint64_t> FileSize(const std::string& path) override;

  // Drops every unsynced byte and every unsynced directory change. Open
  // WritableFiles become invalid (their Appends fail), as after a reboot.
  void PowerLoss();
  // The kernel's writeback: every file's current bytes and every directory's
  // current entries become durable, as they eventually do without fsync.
  void WriteBack();
  // Test hooks: overwrite the current bytes of a file (as if the disk returned
  // them), e.g. to flip a bit or cut a file short. The change counts as synced.
  Status CorruptFile(const std::string& path, std::string contents);
  // Number of Sync() and SyncDir() calls so far (to test group commit).
  uint64_t sync_count() const;

 private:
  struct Inode {
    std::string data;
    std::string synced;
  };
  struct Dir {
    std::map<std::string, std::shared_ptr<Inode>> entries;
    std::map<std::string, std::shared_ptr<Inode>> synced_entries;
  };
  class File;
  std::shared_ptr<Inode> Lookup(const std::string& path);  // Requires mu_.

  mutable std::mutex mu_;
  std::map<std::string, Dir> dirs_;
  uint64_t generation_ = 0;  // Bumped by PowerLoss; invalidates open files.
  uint64_t sync_count_ = 0;
};

}  // namespace chaos::storage
