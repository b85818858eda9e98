// Internal to history/: the one read loop both streaming readers share.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/status.h"

namespace chaos::history::internal {

// Appends up to `want` bytes read from `fd` to `buffer` (retrying EINTR);
// sets *eof when the file has no more. `name` names the file in errors.
inline Status ReadChunk(int fd, const std::string& name, size_t want, std::string& buffer,
                        bool* eof) {
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
