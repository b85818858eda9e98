#include "target/storage/wal.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "base/check.h"
#include "target/storage/crc32c.h"

namespace chaos::storage {
namespace {

void PutLe32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t GetLe32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

// Result of parsing one segment: how many bytes of intact records it holds.
struct SegmentScan {
  uint64_t good_bytes = 0;
  bool clean = true;  // false if bytes after good_bytes were cut
  // The bad bytes cannot come from a torn append (see FORMAT.md): a record
  // that fails its checksum or has an impossible length with more log after
  // it, unless all that follows is zeros.
  bool corrupt = false;
  std::string reason;
};

bool AllZero(const std::string& data, size_t from) {
  for (size_t i = from; i < data.size(); ++i) {
    if (data[i] != '\0') return false;
  }
  return true;
}

SegmentScan ScanSegment(const std::string& data, uint32_t record_bytes_max,
                        std::vector<std::string>* records) {
  SegmentScan scan;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t left = data.size() - pos;
    if (left < kRecordHeaderBytes) {
      scan.clean = false;
      scan.reason = "incomplete record header (" + std::to_string(left) + " bytes)";
      break;
    }
    uint32_t masked = GetLe32(data.data() + pos);
    uint32_t length = GetLe32(data.data() + pos + 4);
    if (length > record_bytes_max) {
      scan.clean = false;
      scan.corrupt =
          pos + kRecordHeaderBytes + uint64_t{length} < data.size() && !AllZero(data, pos);
      scan.reason = "record length " + std::to_string(length) + " over the limit " +
                    std::to_string(record_bytes_max);
      break;
    }
    if (left - kRecordHeaderBytes < length) {
      scan.clean = false;
      scan.reason = "incomplete record: " + std::to_string(left - kRecordHeaderBytes) + " of " +
                    std::to_string(length) + " payload bytes";
      break;
    }
    // The checksum covers the length field and the payload.
    uint32_t actual = crc32c::Extend(0, data.data() + pos + 4, 4 + length);
    if (crc32c::Unmask(masked) != actual) {
      scan.clean = false;
      // A torn append leaves only the last record damaged: if log follows
      // this one, the bytes changed after they were written.
      size_t end = pos + kRecordHeaderBytes + length;
      scan.corrupt = end < data.size() && !AllZero(data, pos);
      scan.reason = "checksum mismatch";
      if (scan.corrupt) {
        scan.reason += " with " + std::to_string(data.size() - end) + " bytes of log after it";
      }
      break;
    }
    records->emplace_back(data.data() + pos + kRecordHeaderBytes, length);
    pos += kRecordHeaderBytes + length;
  }
  scan.good_bytes = pos;
  return scan;
}

}  // namespace

std::string EncodeRecord(std::string_view payload) {
  CHAOS_CHECK_MSG(payload.size() <= UINT32_MAX, "record of %zu bytes", payload.size());
  std::string out(kRecordHeaderBytes + payload.size(), '\0');
  PutLe32(out.data() + 4, static_cast<uint32_t>(payload.size()));
  std::memcpy(out.data() + kRecordHeaderBytes, payload.data(), payload.size());
  uint32_t crc = crc32c::Extend(0, out.data() + 4, 4 + payload.size());
  PutLe32(out.data(), crc32c::Mask(crc));
  return out;
}

std::string Wal::SegmentName(uint64_t first_lsn) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "wal-%020" PRIu64 ".log", first_lsn);
  return buf;
}

bool Wal::ParseSegmentName(const std::string& name, uint64_t* first_lsn) {
  if (name.size() != 4 + 20 + 4 || name.compare(0, 4, "wal-") != 0 ||
      name.compare(24, 4, ".log") != 0) {
    return false;
  }
  uint64_t v = 0;
  for (size_t i = 4; i < 24; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    uint64_t digit = static_cast<uint64_t>(name[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  if (v == 0) return false;
  *first_lsn = v;
  return true;
}

Wal::Wal(Env* env, std::string dir, WalOptions options)
    : env_(env), dir_(std::move(dir)), options_(options) {}

Wal::~Wal() {
  if (file_) (void)file_->Close();
}

Result<std::unique_ptr<Wal>> Wal::Open(Env* env, const std::string& dir, const WalOptions& options,
                                       WalRecovery* recovery) {
  CHAOS_CHECK(recovery != nullptr);
  *recovery = WalRecovery();
  CHAOS_RETURN_IF_ERROR(env->CreateDir(dir));
  CHAOS_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
  std::vector<uint64_t> segments;
  for (const auto& name : names) {
    uint64_t first = 0;
    if (ParseSegmentName(name, &first)) segments.push_back(first);
  }
  // Names are zero-padded, so ListDir's sorted order is LSN order.
  std::unique_ptr<Wal> wal(new Wal(env, dir, options));
  bool dir_changed = false;
  uint64_t expected = segments.empty() ? 1 : segments.front();
  recovery->first_lsn = expected;
  size_t kept = 0;
  for (; kept < segments.size(); ++kept) {
    uint64_t first = segments[kept];
    std::string path = JoinPath(dir, SegmentName(first));
    if (first != expected) {
      // A hole between segments is not a torn write: the directory was
      // tampered with or a file was lost. Refuse rather than guess.
      return IoError(path + ": log segment starts at LSN " + std::to_string(first) +
                     " but the previous segment ends before LSN " + std::to_string(expected) +
                     " (missing or extra WAL segment)");
    }
    CHAOS_ASSIGN_OR_RETURN(std::string data, env->ReadFile(path));
    size_t before = recovery->records.size();
    SegmentScan scan = ScanSegment(data, options.record_bytes_max, &recovery->records);
    expected = first + (recovery->records.size() - before);
    if (!scan.clean && (scan.corrupt || kept + 1 < segments.size())) {
      // Not a torn tail: a complete segment (a later one exists, so this one
      // was synced whole) or a damaged record with log after it. Cutting here
      // would silently forget acknowledged records; refuse instead.
      return IoError(path + ": corrupted at byte " + std::to_string(scan.good_bytes) + ": " +
                     scan.reason + (kept + 1 < segments.size() ? " in a complete segment" : "") +
                     " (not a torn write; refusing to recover)");
    }
    if (!scan.clean) {
      recovery->truncated = true;
      recovery->truncated_file = path;
      recovery->truncated_offset = scan.good_bytes;
      recovery->truncated_reason = scan.reason;
      CHAOS_RETURN_IF_ERROR(env->Truncate(path, scan.good_bytes));
      CHAOS_ASSIGN_OR_RETURN(auto f, env->NewAppendableFile(path));
      CHAOS_RETURN_IF_ERROR(f->Sync());  // make the truncation durable
      CHAOS_RETURN_IF_ERROR(f->Close());
      ++kept;
      break;
    }
  }
  for (size_t i = kept; i < segments.size(); ++i) {
    CHAOS_RETURN_IF_ERROR(env->RemoveFile(JoinPath(dir, SegmentName(segments[i]))));
    ++recovery->segments_removed;
    dir_changed = true;
  }
  segments.resize(kept);
  if (dir_changed) CHAOS_RETURN_IF_ERROR(env->SyncDir(dir));
  wal->next_lsn_ = expected;
  wal->synced_lsn_ = expected;
  if (segments.empty()) {
    CHAOS_RETURN_IF_ERROR(wal->StartSegment(expected));
  } else {
    wal->segments_ = segments;
    std::string path = JoinPath(dir, SegmentName(segments.back()));
    CHAOS_ASSIGN_OR_RETURN(wal->file_bytes_, env->FileSize(path));
    CHAOS_ASSIGN_OR_RETURN(wal->file_, env->NewAppendableFile(path));
  }
  return wal;
}

Status Wal::Broken(Status s) {
  if (broken_.ok()) broken_ = s;
  return s;
}

Status Wal::Flush() {
  if (buffer_.empty()) return Status::Ok();
  Status s = file_->Append(buffer_);
  buffer_.clear();
  if (!s.ok()) return Broken(s);
  return Status::Ok();
}

Status Wal::StartSegment(uint64_t first_lsn) {
  if (file_) {
    CHAOS_RETURN_IF_ERROR(Flush());
    if (!skip_fsync_) {
      Status s = file_->Sync();
      if (!s.ok()) return Broken(s);
    }
    (void)file_->Close();
    file_.reset();
  }
  std::string path = JoinPath(dir_, SegmentName(first_lsn));
  auto f = env_->NewWritableFile(path);
  if (!f.ok()) return Broken(f.status());
  file_ = std::move(f).value();
  file_bytes_ = 0;
  // The new name must survive a crash before any record in it is acknowledged.
  Status s = env_->SyncDir(dir_);
  if (!s.ok()) return Broken(s);
  segments_.push_back(first_lsn);
  return Status::Ok();
}

Result<uint64_t> Wal::Append(std::string_view record) {
  if (!broken_.ok()) return broken_;
  if (record.size() > options_.record_bytes_max) {
    return InvalidArgument("WAL record of " + std::to_string(record.size()) +
                           " bytes is over the limit of " +
                           std::to_string(options_.record_bytes_max));
  }
  uint64_t framed = kRecordHeaderBytes + record.size();
  if (file_bytes_ > 0 && file_bytes_ + framed > options_.segment_bytes_max) {
    // Records before next_lsn_ are made durable by StartSegment's sync.
    CHAOS_RETURN_IF_ERROR(StartSegment(next_lsn_));
  }
  buffer_ += EncodeRecord(record);
  file_bytes_ += framed;
  return next_lsn_++;
}

Status Wal::Sync() {
  if (!broken_.ok()) return broken_;
  if (synced_lsn_ == next_lsn_) return Status::Ok();
  CHAOS_RETURN_IF_ERROR(Flush());
  if (!skip_fsync_) {
    Status s = file_->Sync();
    if (!s.ok()) return Broken(s.WithContext("WAL fsync failed; refusing further writes"));
  }
  synced_lsn_ = next_lsn_;
  return Status::Ok();
}

Status Wal::CompactBefore(uint64_t lsn) {
  if (!broken_.ok()) return broken_;
  // Segment i holds [segments_[i], segments_[i+1]); it can go if that end <= lsn.
  size_t removable = 0;
  while (removable + 1 < segments_.size() && segments_[removable + 1] <= lsn) ++removable;
  if (removable == 0) return Status::Ok();
  for (size_t i = 0; i < removable; ++i) {
    Status s = env_->RemoveFile(JoinPath(dir_, SegmentName(segments_[i])));
    if (!s.ok()) return Broken(s);
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<long>(removable));
  Status s = env_->SyncDir(dir_);
  if (!s.ok()) return Broken(s);
  return Status::Ok();
}

Status Wal::ResetTo(uint64_t lsn) {
  if (!broken_.ok()) return broken_;
  CHAOS_CHECK_MSG(lsn > next_lsn_, "ResetTo(%llu) with next_lsn %llu",
                  static_cast<unsigned long long>(lsn), static_cast<unsigned long long>(next_lsn_));
  buffer_.clear();
  if (file_) {
    (void)file_->Close();
    file_.reset();
  }
  // Delete the old segments and sync the directory before creating the new
  // one. A crash in between leaves an empty log; the owner then sees that its
  // snapshot is ahead of the log and calls ResetTo again (see wal.h).
  for (uint64_t first : segments_) {
    Status s = env_->RemoveFile(JoinPath(dir_, SegmentName(first)));
    if (!s.ok()) return Broken(s);
  }
  segments_.clear();
  Status s = env_->SyncDir(dir_);
  if (!s.ok()) return Broken(s);
  CHAOS_RETURN_IF_ERROR(StartSegment(lsn));
  next_lsn_ = lsn;
  synced_lsn_ = lsn;
  return Status::Ok();
}

}  // namespace chaos::storage
