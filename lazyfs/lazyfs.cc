#include "lazyfs/lazyfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace chaos::lazyfs {
namespace {

// "/a/b" -> "a/b"; "/" -> ".". Paths are relative to the backing root fd.
std::string Rel(const char* path) {
  while (*path == '/') ++path;
  return *path ? std::string(path) : std::string(".");
}

std::string ParentOf(const std::string& rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string::npos ? std::string(".") : rel.substr(0, slash);
}

// The trash directory is ours: invisible and untouchable through the mount.
bool Hidden(const std::string& rel) {
  size_t n = std::strlen(LazyFs::kTrashName);
  return rel.compare(0, n, LazyFs::kTrashName) == 0 && (rel.size() == n || rel[n] == '/');
}

int Errno() { return -errno; }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The entries of directory `rel` under dirfd, without "." and "..".
int ListNames(int dirfd, const std::string& rel, std::vector<std::string>* names) {
  int fd = openat(dirfd, rel.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (fd < 0) return Errno();
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    int rc = Errno();
    close(fd);
    return rc;
  }
  while (struct dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      names->push_back(e->d_name);
    }
  }
  closedir(d);
  return 0;
}

// Removes `rel` (under dirfd) and everything below it.
int RemoveTree(int dirfd, const std::string& rel) {
  struct stat st;
  if (fstatat(dirfd, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Errno();
  if (!S_ISDIR(st.st_mode)) return unlinkat(dirfd, rel.c_str(), 0) == 0 ? 0 : Errno();
  std::vector<std::string> names;
  int rc = ListNames(dirfd, rel, &names);
  for (const auto& name : names) {
    if (rc == 0) rc = RemoveTree(dirfd, rel + "/" + name);
  }
  if (rc != 0) return rc;
  return unlinkat(dirfd, rel.c_str(), AT_REMOVEDIR) == 0 ? 0 : Errno();
}

// 0 if directory `rel` is empty, -ENOTEMPTY if not, or another -errno.
int CheckEmpty(int dirfd, const std::string& rel) {
  std::vector<std::string> names;
  int rc = ListNames(dirfd, rel, &names);
  if (rc != 0) return rc;
  return names.empty() ? 0 : -ENOTEMPTY;
}

}  // namespace

LazyFs::~LazyFs() {
  for (auto& [ino, f] : files_) close(f.fd);
  if (root_ >= 0) close(root_);
}

int LazyFs::Open(const std::string& backing) {
  std::lock_guard<std::mutex> lock(mu_);
  backing_ = backing;
  root_ = open(backing.c_str(), O_RDONLY | O_DIRECTORY);
  if (root_ < 0) return Errno();
  struct stat st;
  if (fstatat(root_, kTrashName, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    int rc = RemoveTree(root_, kTrashName);
    if (rc != 0) return rc;
  }
  if (mkdirat(root_, kTrashName, 0700) != 0) return Errno();
  return 0;
}

std::string LazyFs::Trash() {
  return std::string(kTrashName) + "/" + std::to_string(next_trash_++);
}

ino_t LazyFs::ParentIno(const std::string& rel) {
  struct stat st;
  if (fstatat(root_, ParentOf(rel).c_str(), &st, 0) != 0) return 0;
  return st.st_ino;
}

int LazyFs::EntryExists(const std::string& rel, struct stat* st) {
  if (fstatat(root_, rel.c_str(), st, AT_SYMLINK_NOFOLLOW) == 0) return 1;
  return errno == ENOENT ? 0 : Errno();
}

// ---- files ------------------------------------------------------------------

int LazyFs::FileFor(const std::string& rel, int fd, ino_t* ino) {
  if (fd < 0) {
    fd = openat(root_, rel.c_str(), O_RDWR | O_NOFOLLOW);
    if (fd < 0) return Errno();
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int rc = Errno();
    close(fd);
    return rc;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return -EINVAL;
  }
  *ino = st.st_ino;
  auto it = files_.find(st.st_ino);
  if (it != files_.end()) {
    close(fd);  // the File already holds the inode open
    return 0;
  }
  File& f = files_[st.st_ino];
  f.fd = fd;
  f.size = f.valid = static_cast<uint64_t>(st.st_size);
  return 0;
}

void LazyFs::Forget(ino_t ino, bool even_dirty) {
  auto it = files_.find(ino);
  if (it == files_.end()) return;
  File& f = it->second;
  if (f.open_count > 0 || (!even_dirty && (!f.dirty.empty() || f.size_dirty))) return;
  close(f.fd);
  files_.erase(it);
}

void LazyFs::MarkDirty(File* f) {
  if (f->dirty.empty() && !f->size_dirty) f->dirty_since_ms = NowMs();
}

void LazyFs::Journal(NsOp op) {
  op.when_ms = NowMs();
  journal_.push_back(std::move(op));
}

int LazyFs::NewHandle(ino_t ino, bool append, uint64_t* fh) {
  uint64_t h = next_handle_++;
  handles_[h] = Handle{ino, append};
  files_[ino].open_count++;
  *fh = h;
  return 0;
}

// The current bytes of page `page` (kPageBytes, zeros past `size`).
int LazyFs::LoadPage(File* f, uint64_t page, std::string* out) {
  auto it = f->dirty.find(page);
  if (it != f->dirty.end()) {
    *out = it->second;
    return 0;
  }
  out->assign(kPageBytes, '\0');
  uint64_t start = page * kPageBytes;
  if (start >= f->valid) return 0;
  uint64_t want = std::min<uint64_t>(kPageBytes, f->valid - start);
  uint64_t got = 0;
  while (got < want) {
    ssize_t n = pread(f->fd, out->data() + got, want - got, static_cast<off_t>(start + got));
    if (n < 0) return Errno();
    if (n == 0) break;  // the backing file is shorter: the rest reads as zeros
    got += static_cast<uint64_t>(n);
  }
  return 0;
}

int LazyFs::SetSize(File* f, uint64_t size) {
  MarkDirty(f);
  if (size < f->size) {
    // Pages wholly past the new end go; the page holding it is zeroed past it,
    // so that growing the file later reads zeros, not the old bytes.
    uint64_t first_gone = (size + kPageBytes - 1) / kPageBytes;
    f->dirty.erase(f->dirty.lower_bound(first_gone), f->dirty.end());
    if (size % kPageBytes != 0) {
      uint64_t page = size / kPageBytes;
      std::string bytes;
      int rc = LoadPage(f, page, &bytes);
      if (rc != 0) return rc;
      std::fill(bytes.begin() + static_cast<long>(size % kPageBytes), bytes.end(), '\0');
      f->dirty[page] = std::move(bytes);
    }
    f->valid = std::min(f->valid, size);
  }
  f->size = size;
  f->size_dirty = true;
  return 0;
}

int LazyFs::Flush(File* f) {
  if (f->dirty.empty() && !f->size_dirty) return 0;
  struct stat st;
  if (fstat(f->fd, &st) != 0) return Errno();
  // Bytes past `valid` are stale (cut by a truncate): cut them in the file too.
  if (static_cast<uint64_t>(st.st_size) > f->valid &&
      ftruncate(f->fd, static_cast<off_t>(f->valid)) != 0) {
    return Errno();
  }
  for (const auto& [page, bytes] : f->dirty) {
    uint64_t start = page * kPageBytes;
    if (start >= f->size) break;
    uint64_t len = std::min<uint64_t>(kPageBytes, f->size - start);
    uint64_t done = 0;
    while (done < len) {
      ssize_t n = pwrite(f->fd, bytes.data() + done, len - done, static_cast<off_t>(start + done));
      if (n < 0) return Errno();
      done += static_cast<uint64_t>(n);
    }
  }
  if (ftruncate(f->fd, static_cast<off_t>(f->size)) != 0) return Errno();
  if (fdatasync(f->fd) != 0) return Errno();
  f->dirty.clear();
  f->valid = f->size;
  f->size_dirty = false;
  f->write_bytes = 0;
  return 0;
}

int LazyFs::Create(const char* path, mode_t mode, int flags, uint64_t* fh) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string rel = Rel(path);
  if (Hidden(rel)) return -EACCES;
  int fd = openat(root_, rel.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  bool created = fd >= 0;
  if (!created) {
    if (errno != EEXIST || (flags & O_EXCL)) return Errno();
    fd = openat(root_, rel.c_str(), O_RDWR | O_NOFOLLOW);
    if (fd < 0) return Errno();
  } else {
    Journal(NsOp{NsOp::kCreate, rel, "", "", false, {ParentIno(rel)}});
  }
  ino_t ino;
  int rc = FileFor(rel, fd, &ino);
  if (rc != 0) return rc;
  if (!created && (flags & O_TRUNC)) {
    rc = SetSize(&files_[ino], 0);
    if (rc != 0) return rc;
  }
  return NewHandle(ino, (flags & O_APPEND) != 0, fh);
}

int LazyFs::OpenFile(const char* path, int flags, uint64_t* fh) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string rel = Rel(path);
  if (Hidden(rel)) return -ENOENT;
  ino_t ino;
  int rc = FileFor(rel, -1, &ino);
  if (rc != 0) return rc;
  if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY) {
    rc = SetSize(&files_[ino], 0);
    if (rc != 0) {
      Forget(ino);
      return rc;
    }
  }
  return NewHandle(ino, (flags & O_APPEND) != 0, fh);
}

int LazyFs::Release(uint64_t fh) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = handles_.find(fh);
  if (it == handles_.end()) return -EBADF;
  ino_t ino = it->second.ino;
  handles_.erase(it);
  files_[ino].open_count--;
  Forget(ino);
  return 0;
}

int LazyFs::Read(uint64_t fh, char* buf, size_t size, uint64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  auto h = handles_.find(fh);
  if (h == handles_.end()) return -EBADF;
  File& f = files_[h->second.ino];
  if (offset >= f.size) return 0;
  size = static_cast<size_t>(std::min<uint64_t>(size, f.size - offset));
  size_t done = 0;
  std::string page;
  while (done < size) {
    uint64_t at = offset + done;
    int rc = LoadPage(&f, at / kPageBytes, &page);
    if (rc != 0) return rc;
    size_t in_page = at % kPageBytes;
    size_t n = std::min<size_t>(kPageBytes - in_page, size - done);
    std::memcpy(buf + done, page.data() + in_page, n);
    done += n;
  }
  return static_cast<int>(done);
}

int LazyFs::Write(uint64_t fh, const char* buf, size_t size, uint64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  auto h = handles_.find(fh);
  if (h == handles_.end()) return -EBADF;
  File& f = files_[h->second.ino];
  if (h->second.append) offset = f.size;  // O_APPEND is ours to honour (no writeback cache)
  MarkDirty(&f);
  size_t done = 0;
  while (done < size) {
    uint64_t at = offset + done;
    uint64_t page = at / kPageBytes;
    std::string bytes;
    int rc = LoadPage(&f, page, &bytes);
    if (rc != 0) return rc;
    size_t in_page = at % kPageBytes;
    size_t n = std::min<size_t>(kPageBytes - in_page, size - done);
    std::memcpy(bytes.data() + in_page, buf + done, n);
    f.dirty[page] = std::move(bytes);
    done += n;
  }
  if (offset + size > f.size) {
    f.size = offset + size;
    f.size_dirty = true;
  }
  f.write_bytes += size;
  return static_cast<int>(size);
}

int LazyFs::Truncate(const char* path, uint64_t size, int64_t fh) {
  std::lock_guard<std::mutex> lock(mu_);
  ino_t ino;
  if (fh >= 0) {
    auto h = handles_.find(static_cast<uint64_t>(fh));
    if (h == handles_.end()) return -EBADF;
    ino = h->second.ino;
  } else {
    std::string rel = Rel(path);
    if (Hidden(rel)) return -ENOENT;
    int rc = FileFor(rel, -1, &ino);
    if (rc != 0) return rc;
  }
  int rc = SetSize(&files_[ino], size);
  Forget(ino);
  return rc;
}

int LazyFs::Fsync(uint64_t fh) {
  std::lock_guard<std::mutex> lock(mu_);
  auto h = handles_.find(fh);
  if (h == handles_.end()) return -EBADF;
  return Flush(&files_[h->second.ino]);
}

// ---- namespace ----------------------------------------------------------------

int LazyFs::GetAttr(const char* path, struct stat* st, int64_t fh) {
  std::lock_guard<std::mutex> lock(mu_);
  const File* f = nullptr;
  if (fh >= 0) {
    auto h = handles_.find(static_cast<uint64_t>(fh));
    if (h == handles_.end()) return -EBADF;
    f = &files_[h->second.ino];
    if (fstat(f->fd, st) != 0) return Errno();
  } else {
    std::string rel = Rel(path);
    if (Hidden(rel)) return -ENOENT;
    if (fstatat(root_, rel.c_str(), st, AT_SYMLINK_NOFOLLOW) != 0) return Errno();
    auto it = S_ISREG(st->st_mode) ? files_.find(st->st_ino) : files_.end();
    if (it != files_.end()) f = &it->second;
  }
  if (f != nullptr) {
    st->st_size = static_cast<off_t>(f->size);
    st->st_blocks = static_cast<blkcnt_t>((f->size + 511) / 512);
  }
  return 0;
}

int LazyFs::ReadDir(const char* path, std::vector<std::string>* names) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string rel = Rel(path);
  if (Hidden(rel)) return -ENOENT;
  int rc = ListNames(root_, rel, names);
  if (rel == ".") std::erase(*names, std::string(kTrashName));
  names->insert(names->begin(), {".", ".."});
  return rc;
}

int LazyFs::ReadLink(const char* path, char* buf, size_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string rel = Rel(path);
  if (Hidden(rel)) return -ENOENT;
  if (size == 0) return -EINVAL;
  ssize_t n = readlinkat(root_, rel.c_str(), buf, size - 1);
  if (n < 0) return Errno();
  buf[n] = '\0';
  return 0;
}

int LazyFs::StatFs(struct statvfs* st) {
  std::lock_guard<std::mutex> lock(mu_);
  return fstatvfs(root_, st) == 0 ? 0 : Errno();
}

int LazyFs::Mkdir(const char* path, mode_t mode) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string rel = Rel(path);
  if (Hidden(rel)) return -EACCES;
  if (mkdirat(root_, rel.c_str(), mode) != 0) return Errno();
  Journal(NsOp{NsOp::kCreate, rel, "", "", true, {ParentIno(rel)}});
  return 0;
}

int LazyFs::Symlink(const char* target, const char* path) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string rel = Rel(path);
  if (Hidden(rel)) return -EACCES;
  if (symlinkat(target, root_, rel.c_str()) != 0) return Errno();
  Journal(NsOp{NsOp::kCreate, rel, "", "", false, {ParentIno(rel)}});
  return 0;
}

int LazyFs::Link(const char* from, const char* to) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string src = Rel(from), dst = Rel(to);
  if (Hidden(src) || Hidden(dst)) return -EACCES;
  if (linkat(root_, src.c_str(), root_, dst.c_str(), 0) != 0) return Errno();
  Journal(NsOp{NsOp::kCreate, dst, "", "", false, {ParentIno(dst)}});
  return 0;
}

int LazyFs::Unlink(const char* path) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string rel = Rel(path);
  if (Hidden(rel)) return -ENOENT;
  struct stat st;
  if (fstatat(root_, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Errno();
  if (S_ISDIR(st.st_mode)) return -EISDIR;
  ino_t parent = ParentIno(rel);
  std::string trash = Trash();
  if (renameat(root_, rel.c_str(), root_, trash.c_str()) != 0) return Errno();
  Journal(NsOp{NsOp::kRemove, rel, "", trash, false, {parent}});
  return 0;
}

int LazyFs::Rmdir(const char* path) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string rel = Rel(path);
  if (Hidden(rel)) return -ENOENT;
  if (rel == ".") return -EBUSY;
  struct stat st;
  if (fstatat(root_, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Errno();
  if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
  if (int rc = CheckEmpty(root_, rel); rc != 0) return rc;
  ino_t parent = ParentIno(rel);
  std::string trash = Trash();
  if (renameat(root_, rel.c_str(), root_, trash.c_str()) != 0) return Errno();
  Journal(NsOp{NsOp::kRemove, rel, "", trash, true, {parent}});
  return 0;
}

int LazyFs::Rename(const char* from, const char* to, unsigned int flags) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string src = Rel(from), dst = Rel(to);
  if (Hidden(src) || Hidden(dst)) return -EACCES;
  if (flags & ~static_cast<unsigned int>(RENAME_NOREPLACE)) return -EINVAL;
  struct stat from_st, to_st;
  if (fstatat(root_, src.c_str(), &from_st, AT_SYMLINK_NOFOLLOW) != 0) return Errno();
  int exists = EntryExists(dst, &to_st);
  if (exists < 0) return exists;
  NsOp op{NsOp::kRename, src, dst, "", S_ISDIR(from_st.st_mode), {ParentIno(src), ParentIno(dst)}};
  if (exists) {
    if (flags & RENAME_NOREPLACE) return -EEXIST;
    if (to_st.st_ino == from_st.st_ino) return 0;  // the same file: rename(2) does nothing
    if (S_ISDIR(to_st.st_mode) && !S_ISDIR(from_st.st_mode)) return -EISDIR;
    if (!S_ISDIR(to_st.st_mode) && S_ISDIR(from_st.st_mode)) return -ENOTDIR;
    if (S_ISDIR(to_st.st_mode)) {
      if (int rc = CheckEmpty(root_, dst); rc != 0) return rc;
    }
    // The replaced entry waits in the trash, so that an undo can bring it back.
    op.trash = Trash();
    if (renameat(root_, dst.c_str(), root_, op.trash.c_str()) != 0) return Errno();
  }
  if (renameat(root_, src.c_str(), root_, dst.c_str()) != 0) {
    int rc = Errno();
    if (!op.trash.empty()) renameat(root_, op.trash.c_str(), root_, dst.c_str());
    return rc;
  }
  Journal(std::move(op));
  return 0;
}

int LazyFs::Chmod(const char* path, mode_t mode) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string rel = Rel(path);
  if (Hidden(rel)) return -ENOENT;
  return fchmodat(root_, rel.c_str(), mode, 0) == 0 ? 0 : Errno();
}

int LazyFs::Chown(const char* path, uid_t uid, gid_t gid) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string rel = Rel(path);
  if (Hidden(rel)) return -ENOENT;
  return fchownat(root_, rel.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : Errno();
}

int LazyFs::Utimens(const char* path, const struct timespec ts[2]) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string rel = Rel(path);
  if (Hidden(rel)) return -ENOENT;
  return utimensat(root_, rel.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : Errno();
}

// ---- durability of the namespace ------------------------------------------------

void LazyFs::Commit(size_t count) {
  for (size_t i = 0; i < count; ++i) {
    const NsOp& op = journal_[i];
    if (op.trash.empty()) continue;
    struct stat st;
    ino_t ino = 0;
    if (fstatat(root_, op.trash.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) ino = st.st_ino;
    // The removal is now durable: the entry is gone for good. A file still
    // open keeps its File (and backing inode) until its last handle goes.
    int rc = RemoveTree(root_, op.trash);
    if (rc != 0) {
      std::fprintf(stderr, "chaos-lazyfs: cannot empty %s/%s: %s\n", backing_.c_str(),
                   op.trash.c_str(), std::strerror(-rc));
    }
    if (ino != 0) Forget(ino, /*even_dirty=*/true);
  }
  journal_.erase(journal_.begin(), journal_.begin() + static_cast<long>(count));
}

int LazyFs::FsyncDir(const char* path) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string rel = Rel(path);
  if (Hidden(rel)) return -ENOENT;
  struct stat st;
  if (fstatat(root_, rel.c_str(), &st, 0) != 0) return Errno();
  size_t last = 0;  // commit journal_[0, last)
  for (size_t i = 0; i < journal_.size(); ++i) {
    const auto& dirs = journal_[i].dirs;
    if (std::find(dirs.begin(), dirs.end(), st.st_ino) != dirs.end()) last = i + 1;
  }
  int fd = openat(root_, rel.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Errno();
  int rc = fsync(fd) == 0 ? 0 : Errno();
  close(fd);
  if (rc == 0) Commit(last);
  return rc;
}

// Undoes one journal entry; the namespace is exactly as it was right after
// that entry, because every later entry was undone first.
int LazyFs::Undo(const NsOp& op) {
  switch (op.kind) {
    case NsOp::kCreate:
      if (op.is_dir) return RemoveTree(root_, op.path);
      return unlinkat(root_, op.path.c_str(), 0) == 0 ? 0 : Errno();
    case NsOp::kRemove:
      return renameat(root_, op.trash.c_str(), root_, op.path.c_str()) == 0 ? 0 : Errno();
    case NsOp::kRename:
      if (renameat(root_, op.to.c_str(), root_, op.path.c_str()) != 0) return Errno();
      if (!op.trash.empty() && renameat(root_, op.trash.c_str(), root_, op.to.c_str()) != 0) {
        return Errno();
      }
      return 0;
  }
  return -EINVAL;
}

// ---- control --------------------------------------------------------------------

Counts LazyFs::Stat() {
  std::lock_guard<std::mutex> lock(mu_);
  Counts c;
  for (const auto& [ino, f] : files_) {
    if (f.dirty.empty() && !f.size_dirty) continue;
    c.files++;
    c.pages += f.dirty.size();
    c.write_bytes += f.write_bytes;
  }
  c.ops = journal_.size();
  return c;
}

Counts LazyFs::Drop() {
  std::lock_guard<std::mutex> lock(mu_);
  held_ = false;
  Counts c;
  std::vector<ino_t> inos;
  for (auto& [ino, f] : files_) {
    inos.push_back(ino);
    if (f.dirty.empty() && !f.size_dirty) continue;
    c.files++;
    c.pages += f.dirty.size();
    c.write_bytes += f.write_bytes;
    struct stat st;
    f.dirty.clear();
    f.size_dirty = false;
    f.write_bytes = 0;
    f.size = f.valid = fstat(f.fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  }
  for (ino_t ino : inos) Forget(ino);
  c.ops = journal_.size();
  for (size_t i = journal_.size(); i-- > 0;) {
    int rc = Undo(journal_[i]);
    if (rc != 0) {
      // Cannot happen while we are the only writer of the backing directory.
      std::fprintf(stderr, "chaos-lazyfs: drop could not undo a change of %s: %s\n",
                   journal_[i].path.c_str(), std::strerror(-rc));
    }
  }
  journal_.clear();
  return c;
}

int LazyFs::Sync(Counts* done) {
  std::lock_guard<std::mutex> lock(mu_);
  held_ = false;
  *done = Counts();
  std::vector<ino_t> inos;
  for (auto& [ino, f] : files_) {
    inos.push_back(ino);
    if (f.dirty.empty() && !f.size_dirty) continue;
    done->files++;
    done->pages += f.dirty.size();
    done->write_bytes += f.write_bytes;
    int rc = Flush(&f);
    if (rc != 0) return rc;
  }
  for (ino_t ino : inos) Forget(ino);
  done->ops = journal_.size();
  if (syncfs(root_) != 0) return Errno();
  Commit(journal_.size());
  return 0;
}

void LazyFs::Hold() {
  std::lock_guard<std::mutex> lock(mu_);
  held_ = true;
}

Counts LazyFs::Writeback(int64_t age_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Counts done;
  if (held_) return done;
  int64_t before = NowMs() - age_ms;
  for (auto& [ino, f] : files_) {
    if ((f.dirty.empty() && !f.size_dirty) || f.dirty_since_ms > before) continue;
    done.files++;
    done.pages += f.dirty.size();
    done.write_bytes += f.write_bytes;
    int rc = Flush(&f);
    if (rc != 0) {
      std::fprintf(stderr, "chaos-lazyfs: writeback failed: %s\n", std::strerror(-rc));
    }
  }
  size_t old = 0;
  while (old < journal_.size() && journal_[old].when_ms <= before) ++old;
  done.ops = old;
  Commit(old);
  return done;
}

}  // namespace chaos::lazyfs
