// A stored (uncompressed) ZIP archive of a folder, written by our own code.
//
// The format is PKWARE's APPNOTE.TXT: a local header and the bytes of each
// file, then the central directory and its end record. No compression, no
// ZIP64: an archive (or file) reaching 4 GiB, or `max_bytes`, is an error.
// Entries are the folder's regular files (symlinks are not followed), in
// sorted order, under `prefix/`; times are the files' modification times.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace chaos::reports {

// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as ZIP uses it.
uint32_t Crc32(std::string_view bytes, uint32_t crc = 0);

// The archive's bytes. At most 65,535 files.
Result<std::string> ZipFolder(const std::string& dir, const std::string& prefix,
                              uint64_t max_bytes = 1ULL << 31);

}  // namespace chaos::reports
