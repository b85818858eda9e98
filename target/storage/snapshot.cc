#include "target/storage/snapshot.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <vector>

#include "base/check.h"
#include "target/storage/crc32c.h"

namespace chaos::storage {
namespace {

// Version 2 (2026-12-05): payloads may carry the cluster membership and the
// disk incarnation (target/storage/FORMAT.md). Version 1 files are still read.
constexpr uint32_t kFormatVersion = 2;
constexpr uint32_t kFormatVersionOldest = 1;
constexpr size_t kHeaderBytes = 32;  // magic 8, version 4, crc 4, lsn 8, length 8

void PutLe(char* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint64_t GetLe(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

}  // namespace

std::string Seal(std::string_view magic, uint64_t lsn, std::string_view payload) {
  CHAOS_CHECK_MSG(magic.size() == 8, "magic of %zu bytes", magic.size());
  std::string out(kHeaderBytes + payload.size(), '\0');
  std::memcpy(out.data(), magic.data(), 8);
  PutLe(out.data() + 8, kFormatVersion, 4);
  PutLe(out.data() + 16, lsn, 8);
  PutLe(out.data() + 24, payload.size(), 8);
  std::memcpy(out.data() + kHeaderBytes, payload.data(), payload.size());
  // The checksum covers everything after itself: lsn, length and payload.
  uint32_t crc = crc32c::Value(out.data() + 16, out.size() - 16);
  PutLe(out.data() + 12, crc32c::Mask(crc), 4);
  return out;
}

Result<Sealed> Unseal(std::string_view magic, const std::string& path, std::string_view data) {
  if (data.size() < kHeaderBytes) {
    return IoError(path + ": truncated (" + std::to_string(data.size()) + " bytes, header is " +
                   std::to_string(kHeaderBytes) + ")");
  }
  if (data.substr(0, 8) != magic) {
    return IoError(path + ": not a " + std::string(magic) + " file (bad magic)");
  }
  uint64_t version = GetLe(data.data() + 8, 4);
  if (version < kFormatVersionOldest || version > kFormatVersion) {
    return IoError(path + ": unsupported format version " + std::to_string(version) +
                   " (this build reads " + std::to_string(kFormatVersionOldest) + " to " +
                   std::to_string(kFormatVersion) + ")");
  }
  uint64_t length = GetLe(data.data() + 24, 8);
  if (length != data.size() - kHeaderBytes) {
    return IoError(path + ": payload length " + std::to_string(length) + " but file holds " +
                   std::to_string(data.size() - kHeaderBytes) + " bytes");
  }
  uint32_t stored = static_cast<uint32_t>(GetLe(data.data() + 12, 4));
  uint32_t actual = crc32c::Value(data.data() + 16, data.size() - 16);
  if (crc32c::Unmask(stored) != actual) return IoError(path + ": checksum mismatch (corrupted)");
  Sealed out;
  out.version = static_cast<uint32_t>(version);
  out.lsn = GetLe(data.data() + 16, 8);
  out.payload.assign(data.data() + kHeaderBytes, length);
  return out;
}

std::string SnapshotStore::FileName(uint64_t lsn) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "snapshot-%020" PRIu64 ".snap", lsn);
  return buf;
}

bool SnapshotStore::ParseFileName(const std::string& name, uint64_t* lsn) {
  constexpr size_t kLen = 9 + 20 + 5;
  if (name.size() != kLen || name.compare(0, 9, "snapshot-") != 0 ||
      name.compare(29, 5, ".snap") != 0) {
    return false;
  }
  uint64_t v = 0;
  for (size_t i = 9; i < 29; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    uint64_t digit = static_cast<uint64_t>(name[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *lsn = v;
  return true;
}

Status SnapshotStore::Init() {
  CHAOS_RETURN_IF_ERROR(env_->CreateDir(dir_));
  CHAOS_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->ListDir(dir_));
  bool removed = false;
  for (const auto& name : names) {
    uint64_t lsn;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0 &&
        ParseFileName(name.substr(0, name.size() - 4), &lsn)) {
      CHAOS_RETURN_IF_ERROR(env_->RemoveFile(JoinPath(dir_, name)));
      removed = true;
    }
  }
  if (removed) CHAOS_RETURN_IF_ERROR(env_->SyncDir(dir_));
  return Status::Ok();
}

Status SnapshotStore::Write(uint64_t lsn, std::string_view payload) {
  CHAOS_RETURN_IF_ERROR(
      WriteFileAtomically(env_, JoinPath(dir_, FileName(lsn)), Seal(kSnapshotMagic, lsn, payload)));
  CHAOS_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->ListDir(dir_));
  bool removed = false;
  for (const auto& name : names) {
    uint64_t other;
    if (ParseFileName(name, &other) && other < lsn) {
      CHAOS_RETURN_IF_ERROR(env_->RemoveFile(JoinPath(dir_, name)));
      removed = true;
    }
  }
  if (removed) CHAOS_RETURN_IF_ERROR(env_->SyncDir(dir_));
  return Status::Ok();
}

Result<std::optional<Snapshot>> SnapshotStore::Latest() {
  CHAOS_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->ListDir(dir_));
  std::optional<uint64_t> best;
  for (const auto& name : names) {
    uint64_t lsn;
    if (ParseFileName(name, &lsn) && (!best || lsn > *best)) best = lsn;
  }
  if (!best) return std::optional<Snapshot>();
  std::string path = JoinPath(dir_, FileName(*best));
  CHAOS_ASSIGN_OR_RETURN(std::string data, env_->ReadFile(path));
  CHAOS_ASSIGN_OR_RETURN(Sealed sealed, Unseal(kSnapshotMagic, path, data));
  if (sealed.lsn != *best) {
    return IoError(path + ": header says LSN " + std::to_string(sealed.lsn) +
                   " but the name says " + std::to_string(*best));
  }
  return std::optional<Snapshot>(Snapshot{sealed.lsn, std::move(sealed.payload), path});
}

}  // namespace chaos::storage
