// Internal to history/: the one read loop both streaming readers share.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "base/status.h"

namespace chaos::history::internal {

// Appends up to `want` bytes read from `fd` to `buffer` (retrying EINTR);
// sets *eof when the file has no more. `name` names the file in errors.
// From a regular file it asks for no more than is left of it (and one byte
// to see its end): the buffer is zero-filled before the read, and a whole
// `want` for a small file cost more than the check of it.
inline Status ReadChunk(int fd, const std::string& name, size_t want, std::string& buffer,
                        bool* eof) {
  struct stat st;
  off_t at = ::lseek(fd, 0, SEEK_CUR);
  if (at >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    size_t left = st.st_size > at ? static_cast<size_t>(st.st_size - at) : 0;
    want = std::min(want, std::max<size_t>(left + 1, 4096));
  }
  size_t old = buffer.size();
  buffer.resize(old + want);
  ssize_t n;
  do {
    n = ::read(fd, buffer.data() + old, want);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    buffer.resize(old);
    return IoError(name + ": read failed: " + std::strerror(errno));
  }
  buffer.resize(old + static_cast<size_t>(n));
  if (n == 0) *eof = true;
  return Status::Ok();
}

}  // namespace chaos::history::internal
