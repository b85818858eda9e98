// Wal: a write-ahead log of opaque records on an Env, the node's only record of
// promises and acceptances. On-disk format: target/storage/FORMAT.md.
//
// Records get consecutive log sequence numbers (LSNs) starting at 1. Append()
// only buffers; Sync() writes everything buffered and makes it durable with one
// fsync, so a caller that appends a whole batch and then syncs once gets group
// commit. A record is durable (and may be acted upon: a promise sent, an
// acceptance acknowledged) only once a Sync() that followed its Append() has
// returned ok. After a failed Sync the Wal refuses further work: the caller must
// stop, because what reached the disk is unknown (fsyncgate).
//
// The log is split into segment files named by the LSN of their first record.
// A new segment's name is made durable (directory fsync) before any record in
// it is acknowledged. CompactBefore(lsn) deletes whole segments whose records
// are all below `lsn`, once a snapshot covers them.
//
// Recovery (Open) reads segments in order and stops at the first record that is
// incomplete, longer than the limit, or fails its checksum. If that can be a
// torn append (last segment; the record runs to the end of the file or only
// zeros follow) it truncates the file there, deletes any later segment, and
// makes that durable; otherwise it is corruption of synced data and Open
// fails with an error naming the file and offset (FORMAT.md). A torn or
// corrupted record is therefore never returned.
//
// Thread safety: none; one owner (the server's event loop) calls everything.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "target/storage/env.h"

namespace chaos::storage {

struct WalOptions {
  // A segment is closed and a new one started once it holds this many bytes.
  uint64_t segment_bytes_max = 64ull << 20;
  // Longer records are refused by Append and treated as corruption by recovery.
  uint32_t record_bytes_max = 16u << 20;
};

// What recovery found.
struct WalRecovery {
  uint64_t first_lsn = 1;            // LSN of records[0] (or next_lsn if empty)
  std::vector<std::string> records;  // every intact record, in order
  // Set if recovery cut the log: which file, at which byte offset, and why.
  bool truncated = false;
  std::string truncated_file;
  uint64_t truncated_offset = 0;
  std::string truncated_reason;
  uint64_t segments_removed = 0;  // later segments deleted after the cut
};

class Wal {
 public:
  // Creates `dir` if needed, recovers the log in it into *recovery and opens it
  // for appending after the last intact record.
  static Result<std::unique_ptr<Wal>> Open(Env* env, const std::string& dir,
                                           const WalOptions& options, WalRecovery* recovery);
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Buffers one record and returns its LSN. Not durable until Sync().
  Result<uint64_t> Append(std::string_view record);
  // Writes the buffered records and fsyncs: one fsync for the whole batch.
  Status Sync();
  // Deletes segments all of whose records have LSN < lsn. Never deletes the
  // segment being appended to.
  Status CompactBefore(uint64_t lsn);
  // Discards the whole log and continues at `lsn` (> next_lsn()), for a node
  // that installed a snapshot covering everything up to lsn - 1. A crash in
  // the middle leaves an empty log starting at LSN 1: an owner that finds its
  // snapshot ahead of next_lsn() after Open must call ResetTo again.
  Status ResetTo(uint64_t lsn);

  uint64_t next_lsn() const { return next_lsn_; }
  // Every record with LSN < synced_lsn() is durable.
  uint64_t synced_lsn() const { return synced_lsn_; }
  size_t segment_count() const { return segments_.size(); }
  // Bytes appended and not yet written to the file (they reach it at Sync()).
  size_t buffered_bytes() const { return buffer_.size(); }

  // Test hook: --bug no-fsync makes Sync skip the fsync (writes still happen).
  void set_skip_fsync_for_bug(bool skip) { skip_fsync_ = skip; }

  static std::string SegmentName(uint64_t first_lsn);
  // Parses "wal-<20 digits>.log"; false for any other name.
  static bool ParseSegmentName(const std::string& name, uint64_t* first_lsn);

 private:
  Wal(Env* env, std::string dir, WalOptions options);
  Status StartSegment(uint64_t first_lsn);  // flushes and syncs the current one first
  Status Flush();                           // writes buffer_ to the current file
  Status Broken(Status s);

  Env* env_;
  std::string dir_;
  WalOptions options_;
  std::vector<uint64_t> segments_;  // first LSNs, ascending; back() is current
  std::unique_ptr<WritableFile> file_;
  uint64_t file_bytes_ = 0;  // bytes in the current segment incl. buffered
  std::string buffer_;
  uint64_t next_lsn_ = 1;
  uint64_t synced_lsn_ = 1;
  bool skip_fsync_ = false;
  Status broken_;
};

// Frames one record (header + payload) as it appears in a segment.
std::string EncodeRecord(std::string_view payload);
inline constexpr size_t kRecordHeaderBytes = 8;

}  // namespace chaos::storage
