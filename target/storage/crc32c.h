// CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), as used by
// iSCSI, ext4 and LevelDB. Uses the SSE4.2 crc32 instruction when the CPU has
// it and a slicing-by-8 table otherwise; both give identical results.
//
// Thread safety: pure functions; the tables are built at static initialisation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace chaos::storage::crc32c {

// Returns the CRC32C of data[0, n) continuing from `crc` (the CRC of the bytes
// before). Extend(0, ...) starts a new checksum.
uint32_t Extend(uint32_t crc, const char* data, size_t n);
inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }

// The portable table-driven path, exposed so tests can compare it with the
// hardware path on the same inputs.
uint32_t ExtendPortable(uint32_t crc, const char* data, size_t n);
// True if Extend uses the SSE4.2 instruction on this machine.
bool HardwareAccelerated();

// A CRC stored next to the data it covers is masked (rotated and offset), as in
// LevelDB, so that a CRC over bytes that themselves embed CRCs stays strong.
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace chaos::storage::crc32c
