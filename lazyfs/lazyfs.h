// LazyFs: the state behind chaos-lazyfs, a FUSE file system that forgets, on
// command, everything that was never made durable (README.md in this folder).
//
// It passes through to a backing directory, with two exceptions:
//   - file data: write() and truncate() change a page cache of our own, per
//     file (keyed by the backing inode); the backing file only changes when
//     the file is fsynced or fdatasynced (both flush data and size);
//   - namespace changes (create, mkdir, symlink, link, unlink, rmdir, rename)
//     are applied to the backing directory at once but recorded in an ordered
//     undo journal; fsync of a directory commits the journal up to and
//     including the last change that touched that directory (as a journaling
//     file system commits in order). Removed entries wait in a hidden trash
//     directory (`.chaos-lazyfs` in the backing root) until committed.
// Drop() is a crash: every page cache is discarded and the uncommitted
// suffix of the journal is undone, newest first, so the backing directory
// holds exactly what was made durable. Sync() flushes and commits everything.
// Writeback(age) plays the kernel's background writeback: files first
// dirtied more than `age` ago are flushed whole (as Linux writes back a
// whole inode), and journal entries older than `age` are committed; without
// it a crash loses everything since the last fsync, with it only the most
// recent `age` of unsynced work.
//
// Not modelled (passed through, durable at once): chmod, chown, utimens.
// Not supported: RENAME_EXCHANGE (EINVAL), fallocate, mknod of devices.
//
// Every method takes paths as FUSE gives them ("/a/b") and returns 0 or a
// negative errno. Thread safety: every public method takes one mutex, so
// FUSE threads and the control thread may call concurrently.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace chaos::lazyfs {

// What a control command did, for its one-line JSON reply.
struct Counts {
  uint64_t files = 0;        // files with unsynced data or size
  uint64_t pages = 0;        // dirty pages among them
  uint64_t write_bytes = 0;  // bytes written to them since their last flush
  uint64_t ops = 0;          // namespace changes not yet committed
};

class LazyFs {
 public:
  static constexpr uint64_t kPageBytes = 4096;
  static constexpr const char* kTrashName = ".chaos-lazyfs";

  // Opens `backing` (a directory) and empties the trash a previous process
  // may have left (treating those removals as committed). Returns 0 or -errno.
  int Open(const std::string& backing);
  ~LazyFs();

  int GetAttr(const char* path, struct stat* st, int64_t fh);  // fh < 0: by path
  int ReadDir(const char* path, std::vector<std::string>* names);
  int ReadLink(const char* path, char* buf, size_t size);
  int StatFs(struct statvfs* st);

  int Mkdir(const char* path, mode_t mode);
  int Symlink(const char* target, const char* path);
  int Link(const char* from, const char* to);
  int Unlink(const char* path);
  int Rmdir(const char* path);
  int Rename(const char* from, const char* to, unsigned int flags);
  int Chmod(const char* path, mode_t mode);
  int Chown(const char* path, uid_t uid, gid_t gid);
  int Utimens(const char* path, const struct timespec ts[2]);

  // Open files: *fh receives a handle for Read/Write/Release/Fsync.
  int Create(const char* path, mode_t mode, int flags, uint64_t* fh);
  int OpenFile(const char* path, int flags, uint64_t* fh);
  int Release(uint64_t fh);
  int Read(uint64_t fh, char* buf, size_t size, uint64_t offset);
  int Write(uint64_t fh, const char* buf, size_t size, uint64_t offset);
  int Truncate(const char* path, uint64_t size, int64_t fh);  // fh < 0: by path
  int Fsync(uint64_t fh);
  int FsyncDir(const char* path);

  // Control: what is unsynced now; discard it (a crash); flush it all.
  Counts Stat();
  Counts Drop();
  int Sync(Counts* done);
  // Flushes files dirty for longer than age_ms and commits older journal
  // entries. Returns what it wrote back. Nothing while held.
  Counts Writeback(int64_t age_ms);
  // Stops background writeback until the next Drop or Sync: the instant a
  // machine loses power, after which nothing more reaches the disk unless
  // fsynced. A crash is hold, kill the writer, drop; how long the kill takes
  // then changes nothing.
  void Hold();

 private:
  struct File {
    int fd = -1;         // the backing inode, read-write
    int open_count = 0;  // handles open on it
    uint64_t size = 0;   // the size the application sees
    uint64_t valid = 0;  // backing bytes below this are current unless a page is dirty
    uint64_t write_bytes = 0;
    bool size_dirty = false;
    int64_t dirty_since_ms = 0;             // when it went from clean to dirty
    std::map<uint64_t, std::string> dirty;  // page index -> kPageBytes bytes
  };
  struct Handle {
    ino_t ino = 0;
    bool append = false;
  };
  struct NsOp {
    enum Kind { kCreate, kRemove, kRename } kind = kCreate;
    std::string path;   // created / removed path, or rename source (relative)
    std::string to;     // rename target
    std::string trash;  // where a removed (or replaced) entry waits
    bool is_dir = false;
    std::vector<ino_t> dirs;  // backing inodes of the parent directories touched
    int64_t when_ms = 0;
  };

  std::string Trash();
  ino_t ParentIno(const std::string& rel);
  int FileFor(const std::string& rel, int fd, ino_t* ino);  // adopts fd or closes it
  // Erases an unused File (only a clean one unless even_dirty: its name is gone).
  void Forget(ino_t ino, bool even_dirty = false);
  int Flush(File* f);
  int SetSize(File* f, uint64_t size);
  int LoadPage(File* f, uint64_t page, std::string* out);
  int EntryExists(const std::string& rel, struct stat* st);
  void Commit(size_t count);
  int Undo(const NsOp& op);
  int NewHandle(ino_t ino, bool append, uint64_t* fh);
  void MarkDirty(File* f);
  void Journal(NsOp op);

  std::mutex mu_;
  bool held_ = false;
  int root_ = -1;
  std::string backing_;
  std::map<ino_t, File> files_;
  std::map<uint64_t, Handle> handles_;
  uint64_t next_handle_ = 1;
  std::vector<NsOp> journal_;
  uint64_t next_trash_ = 0;
};

}  // namespace chaos::lazyfs
