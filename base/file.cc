#include "base/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace chaos {

Status ErrnoStatus(const std::string& what, const std::string& path, int err) {
  std::string msg = what + " " + path + ": " + std::strerror(err);
  if (err == ENOENT) return NotFound(msg);
  return IoError(msg);
}

std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<std::unique_ptr<PosixFile>> PosixFile::Open(const std::string& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags, static_cast<mode_t>(mode));
  if (fd < 0) return ErrnoStatus("open", path, errno);
  return std::unique_ptr<PosixFile>(new PosixFile(path, fd));
}

PosixFile::~PosixFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status PosixFile::Append(std::string_view data) {
  if (fd_ < 0) return IoError("append to closed file " + path_);
  // Bounded: each write makes progress or fails; EINTR retries a bounded
  // number of times in a row.
  int eintr_left = 100;
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR && eintr_left-- > 0) continue;
      return ErrnoStatus("write", path_, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status PosixFile::Sync() {
  if (fd_ < 0) return IoError("sync of closed file " + path_);
  if (::fdatasync(fd_) != 0) return ErrnoStatus("fdatasync", path_, errno);
  return Status::Ok();
}

Status PosixFile::Close() {
  if (fd_ < 0) return Status::Ok();
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) return ErrnoStatus("close", path_, errno);
  return Status::Ok();
}

Status RenameFile(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return ErrnoStatus("rename", from + " to " + to, errno);
  }
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open directory", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus("fsync directory", dir, err);
  return Status::Ok();
}

Result<std::unique_ptr<PosixFile>> PosixFiles::NewWritableFile(const std::string& path) const {
  return PosixFile::Open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
}

}  // namespace chaos
