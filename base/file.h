// Files on the real disk, and the one atomic file write.
//
// WriteFileAtomically is the one sequence every atomic write in chaos runs
// (a snapshot of the register, a run's test.json, report.html, the known
// hosts of a cluster): write `path`.tmp, sync it, close it, rename it over
// `path`, sync the directory. A reader, or the disk after a crash, sees the
// old contents or the new, never part of the new. It runs on any file system
// with the calls it makes (storage::Env has them, so the simulator's MemEnv
// holds it to its power-loss model) and on the real one (PosixFiles).
//
// PosixFile, RenameFile and SyncDir are the real disk's calls; every error
// names the call, the path and errno.
//
// Thread safety: free functions; a PosixFile is used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace chaos {

// "what path: strerror(err)": NotFound for ENOENT, IoError otherwise.
Status ErrnoStatus(const std::string& what, const std::string& path, int err);

// Parent directory of a path ("a/b/c" -> "a/b", "c" -> ".", "/c" -> "/").
std::string DirName(const std::string& path);

// A file open for writing (open(2) with `flags`; new files get `mode`, less
// the umask). Closed on destruction (errors lost: call Close to see them).
class PosixFile {
 public:
  static Result<std::unique_ptr<PosixFile>> Open(const std::string& path, int flags, int mode);
  ~PosixFile();
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;

  Status Append(std::string_view data);
  Status Sync();  // fdatasync: every byte appended so far is durable
  Status Close();

 private:
  PosixFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

// rename(2): atomically replaces `to` with `from`.
Status RenameFile(const std::string& from, const std::string& to);
// fsync(2) of a directory: its entries (creations, renames) are durable.
Status SyncDir(const std::string& dir);

// The real disk, as WriteFileAtomically uses it; new files get `mode`.
struct PosixFiles {
  int mode = 0666;
  Result<std::unique_ptr<PosixFile>> NewWritableFile(const std::string& path) const;
  Status Rename(const std::string& from, const std::string& to) const {
    return RenameFile(from, to);
  }
  Status SyncDir(const std::string& dir) const { return chaos::SyncDir(dir); }
};

// Replaces `path` with `contents` on `files` (see the top of this file).
template <typename FileSystem>
Status WriteFileAtomically(FileSystem* files, const std::string& path, std::string_view contents) {
  const std::string tmp = path + ".tmp";
  CHAOS_ASSIGN_OR_RETURN(auto file, files->NewWritableFile(tmp));
  CHAOS_RETURN_IF_ERROR(file->Append(contents));
  CHAOS_RETURN_IF_ERROR(file->Sync());
  CHAOS_RETURN_IF_ERROR(file->Close());
  CHAOS_RETURN_IF_ERROR(files->Rename(tmp, path));
  return files->SyncDir(DirName(path));
}

// The same on the real disk; a new file gets `mode` (less the umask).
inline Status WriteFileAtomically(const std::string& path, std::string_view contents,
                                  int mode = 0666) {
  PosixFiles files{mode};
  return WriteFileAtomically(&files, path, contents);
}

}  // namespace chaos
