#include "target/storage/wal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "target/storage/crc32c.h"

namespace chaos::storage {
namespace {

std::string Payload(uint64_t i, std::mt19937_64& rng) {
  std::string s = "record-" + std::to_string(i) + "-";
  size_t extra = rng() % 40;
  for (size_t k = 0; k < extra; ++k) s.push_back(static_cast<char>(rng()));
  return s;
}

std::vector<std::string> WriteLog(Env* env, const std::string& dir, int n, WalOptions opts = {}) {
  std::mt19937_64 rng(42);
  WalRecovery rec;
  auto wal = Wal::Open(env, dir, opts, &rec);
  EXPECT_TRUE(wal.ok()) << wal.status().ToString();
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(Payload(static_cast<uint64_t>(i), rng));
    EXPECT_EQ(*(*wal)->Append(out.back()), static_cast<uint64_t>(i + 1));
  }
  EXPECT_TRUE((*wal)->Sync().ok());
  return out;
}

WalRecovery Recover(Env* env, const std::string& dir, WalOptions opts = {}) {
  WalRecovery rec;
  auto wal = Wal::Open(env, dir, opts, &rec);
  EXPECT_TRUE(wal.ok()) << wal.status().ToString();
  return rec;
}

std::string SegPath(const std::string& dir, uint64_t first) {
  return JoinPath(dir, Wal::SegmentName(first));
}

// Proves records round-trip through a reopen with their LSNs.
TEST(Wal, RoundTrip) {
  MemEnv env;
  auto written = WriteLog(&env, "w", 50);
  WalRecovery rec = Recover(&env, "w");
  EXPECT_FALSE(rec.truncated);
  EXPECT_EQ(rec.first_lsn, 1u);
  EXPECT_EQ(rec.records, written);
  // Appending continues at the next LSN.
  auto wal = Wal::Open(&env, "w", {}, &rec);
  EXPECT_EQ(*(*wal)->Append("more"), 51u);
  ASSERT_TRUE((*wal)->Sync().ok());
  EXPECT_EQ(Recover(&env, "w").records.back(), "more");
}

// Proves a log cut at every byte offset inside its last record recovers exactly the records before
// it, on MemEnv.
TEST(Wal, TruncationAtEveryOffsetOfLastRecordMem) {
  MemEnv base;
  auto written = WriteLog(&base, "w", 5);
  std::string full = *base.ReadFile(SegPath("w", 1));
  size_t last_start = full.size() - (kRecordHeaderBytes + written.back().size());
  for (size_t cut = last_start; cut < full.size(); ++cut) {
    MemEnv env;
    ASSERT_TRUE(env.CreateDir("w").ok());
    ASSERT_TRUE(env.NewWritableFile(SegPath("w", 1)).ok());
    ASSERT_TRUE(env.SyncDir("w").ok());
    ASSERT_TRUE(env.CorruptFile(SegPath("w", 1), full.substr(0, cut)).ok());
    WalRecovery rec = Recover(&env, "w");
    std::vector<std::string> expect(written.begin(), written.end() - 1);
    ASSERT_EQ(rec.records, expect) << "cut at " << cut;
    EXPECT_EQ(rec.truncated, cut != last_start) << cut;
    EXPECT_EQ(*env.FileSize(SegPath("w", 1)), last_start);
    // After recovery the log accepts new records at the right LSN.
    WalRecovery again;
    auto wal = Wal::Open(&env, "w", {}, &again);
    EXPECT_EQ(*(*wal)->Append("next"), 5u);
  }
}

// Proves the same truncation property on the real file system.
TEST(Wal, TruncationAtEveryOffsetOfLastRecordPosix) {
  Env* env = PosixEnv();
  std::string dir = std::string("/tmp/chaos-wal-trunc-") + std::to_string(::getpid());
  std::system(("rm -rf '" + dir + "'").c_str());
  auto written = WriteLog(env, dir, 4);
  std::string seg = SegPath(dir, 1);
  std::string full = *env->ReadFile(seg);
  size_t last_start = full.size() - (kRecordHeaderBytes + written.back().size());
  for (size_t cut = last_start; cut < full.size(); ++cut) {
    auto f = env->NewWritableFile(seg);
    ASSERT_TRUE((*f)->Append(std::string_view(full).substr(0, cut)).ok());
    ASSERT_TRUE((*f)->Close().ok());
    WalRecovery rec = Recover(env, dir);
    ASSERT_EQ(rec.records.size(), 3u) << cut;
    EXPECT_EQ(rec.records[2], written[2]);
    EXPECT_EQ(*env->FileSize(seg), last_start);
  }
  std::system(("rm -rf '" + dir + "'").c_str());
}

// Proves a flipped bit anywhere in any record is detected and recovery stops just before that
// record.
TEST(Wal, BitFlipInAnyRecordIsDetected) {
  MemEnv base;
  auto written = WriteLog(&base, "w", 6);
  std::string full = *base.ReadFile(SegPath("w", 1));
  std::vector<size_t> starts;
  size_t pos = 0;
  for (const auto& r : written) {
    starts.push_back(pos);
    pos += kRecordHeaderBytes + r.size();
  }
  ASSERT_EQ(pos, full.size());
  for (size_t byte = 0; byte < full.size(); ++byte) {
    size_t victim = 0;
    while (victim + 1 < starts.size() && starts[victim + 1] <= byte) ++victim;
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = full;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      MemEnv env;
      ASSERT_TRUE(env.CreateDir("w").ok());
      ASSERT_TRUE(env.NewWritableFile(SegPath("w", 1)).ok());
      ASSERT_TRUE(env.SyncDir("w").ok());
      ASSERT_TRUE(env.CorruptFile(SegPath("w", 1), bad).ok());
      WalRecovery rec;
      auto wal = Wal::Open(&env, "w", {}, &rec);
      if (!wal.ok()) {
        // Refused: a damaged record with log after it is not a torn write.
        EXPECT_NE(
            wal.status().message().find("corrupted at byte " + std::to_string(starts[victim])),
            std::string::npos)
            << "byte " << byte << " bit " << bit << ": " << wal.status().ToString();
        EXPECT_EQ(*env.ReadFile(SegPath("w", 1)), bad) << "a refused log is left as found";
        continue;
      }
      // Cut: only where the damage can pass for a torn append of the last
      // record (or a length flipped past the end of the file).
      std::vector<std::string> expect(written.begin(), written.begin() + victim);
      ASSERT_EQ(rec.records, expect) << "byte " << byte << " bit " << bit;
      EXPECT_TRUE(rec.truncated);
      EXPECT_EQ(rec.truncated_offset, starts[victim]);
      bool last = victim + 1 == starts.size();
      bool length_byte = byte >= starts[victim] + 4 && byte < starts[victim] + 8;
      EXPECT_TRUE(last || length_byte) << "byte " << byte << " bit " << bit << " cut silently";
    }
  }
}

// Proves a flip in the middle of the log is refused with the file and offset,
// while the same damage in the last record is cut as a torn append.
TEST(Wal, CorruptionWithLogAfterItIsRefusedNotCut) {
  MemEnv env;
  auto written = WriteLog(&env, "w", 5);
  std::string full = *env.ReadFile(SegPath("w", 1));
  std::string bad = full;
  bad[kRecordHeaderBytes + 2] ^= 0x01;  // the first record's payload
  ASSERT_TRUE(env.CorruptFile(SegPath("w", 1), bad).ok());
  WalRecovery rec;
  auto wal = Wal::Open(&env, "w", {}, &rec);
  ASSERT_FALSE(wal.ok());
  EXPECT_NE(wal.status().message().find(SegPath("w", 1) + ": corrupted at byte 0: checksum"),
            std::string::npos)
      << wal.status().ToString();
  EXPECT_NE(wal.status().message().find("not a torn write"), std::string::npos);
  bad = full;
  bad[full.size() - 1] ^= 0x01;  // the last record's payload
  ASSERT_TRUE(env.CorruptFile(SegPath("w", 1), bad).ok());
  rec = Recover(&env, "w");
  EXPECT_TRUE(rec.truncated);
  EXPECT_EQ(rec.records.size(), written.size() - 1);
}

// Proves Append/Sync is group commit: many records, one fsync.
TEST(Wal, GroupCommitUsesOneFsyncPerBatch) {
  MemEnv env;
  WalRecovery rec;
  auto wal = Wal::Open(&env, "w", {}, &rec);
  ASSERT_TRUE(wal.ok());
  uint64_t before = env.sync_count();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE((*wal)->Append("r" + std::to_string(i)).ok());
  EXPECT_EQ(env.sync_count(), before);
  EXPECT_EQ((*wal)->synced_lsn(), 1u);
  ASSERT_TRUE((*wal)->Sync().ok());
  EXPECT_EQ(env.sync_count(), before + 1);
  EXPECT_EQ((*wal)->synced_lsn(), 101u);
  ASSERT_TRUE((*wal)->Sync().ok());  // nothing new: no fsync
  EXPECT_EQ(env.sync_count(), before + 1);
}

// Proves that after random power losses every record acknowledged as synced survives, across
// segment rollovers.
TEST(Wal, PowerLossKeepsEverythingSynced) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    std::mt19937_64 rng(seed);
    MemEnv env;
    WalOptions opts;
    opts.segment_bytes_max = 200 + rng() % 400;
    std::vector<std::string> durable;  // acknowledged records, in order
    for (int round = 0; round < 8; ++round) {
      WalRecovery rec;
      auto wal = Wal::Open(&env, "w", opts, &rec);
      ASSERT_TRUE(wal.ok()) << wal.status().ToString();
      // Everything acknowledged is there, in order; beyond it only a prefix of
      // the unsynced tail (a segment rollover syncs what was buffered).
      ASSERT_GE(rec.records.size(), durable.size()) << "seed " << seed << " round " << round;
      ASSERT_TRUE(std::equal(durable.begin(), durable.end(), rec.records.begin()))
          << "seed " << seed << " round " << round;
      for (size_t i = durable.size(); i < rec.records.size(); ++i) {
        ASSERT_EQ(rec.records[i], "unsynced");
      }
      durable = rec.records;
      int batches = static_cast<int>(rng() % 5);
      for (int b = 0; b < batches; ++b) {
        std::vector<std::string> batch;
        int n = 1 + static_cast<int>(rng() % 10);
        for (int i = 0; i < n; ++i) {
          batch.push_back(Payload(rng() % 1000, rng));
          ASSERT_TRUE((*wal)->Append(batch.back()).ok());
        }
        ASSERT_TRUE((*wal)->Sync().ok());
        durable.insert(durable.end(), batch.begin(), batch.end());
      }
      // Unsynced tail, lost by the crash below.
      for (int i = 0; i < static_cast<int>(rng() % 4); ++i) {
        ASSERT_TRUE((*wal)->Append("unsynced").ok());
      }
      env.PowerLoss();
    }
  }
}

// Proves the power-loss model bites: with fsync skipped (--bug no-fsync) acknowledged records
// vanish.
TEST(Wal, NoFsyncBugLosesAcknowledgedRecords) {
  MemEnv env;
  WalRecovery rec;
  auto wal = Wal::Open(&env, "w", {}, &rec);
  (*wal)->set_skip_fsync_for_bug(true);
  ASSERT_TRUE((*wal)->Append("acknowledged").ok());
  ASSERT_TRUE((*wal)->Sync().ok());
  env.PowerLoss();
  EXPECT_TRUE(Recover(&env, "w").records.empty());
}

// Proves compaction deletes only whole segments below the snapshot LSN and the rest still recovers.
TEST(Wal, CompactionBehindSnapshot) {
  MemEnv env;
  WalOptions opts;
  opts.segment_bytes_max = 100;
  auto written = WriteLog(&env, "w", 40, opts);
  WalRecovery rec;
  auto wal = Wal::Open(&env, "w", opts, &rec);
  size_t segments = (*wal)->segment_count();
  ASSERT_GT(segments, 3u);
  ASSERT_TRUE((*wal)->CompactBefore(20).ok());
  EXPECT_LT((*wal)->segment_count(), segments);
  wal->reset();
  rec = Recover(&env, "w", opts);
  EXPECT_LE(rec.first_lsn, 20u);
  EXPECT_GT(rec.first_lsn, 1u);
  std::vector<std::string> expect(written.begin() + static_cast<long>(rec.first_lsn - 1),
                                  written.end());
  EXPECT_EQ(rec.records, expect);
  // Compacting past everything keeps the current segment.
  auto wal2 = Wal::Open(&env, "w", opts, &rec);
  ASSERT_TRUE((*wal2)->CompactBefore(1000).ok());
  EXPECT_EQ((*wal2)->segment_count(), 1u);
}

// Proves a damaged middle segment (complete and synced before its successor
// was created) is refused, naming the file, and nothing is deleted.
TEST(Wal, CorruptMiddleSegmentIsRefused) {
  MemEnv env;
  WalOptions opts;
  opts.segment_bytes_max = 100;
  auto written = WriteLog(&env, "w", 30, opts);
  auto names = *env.ListDir("w");
  ASSERT_GE(names.size(), 3u);
  std::string second = JoinPath("w", names[1]);
  std::string data = *env.ReadFile(second);
  data[kRecordHeaderBytes + 1] ^= 0x10;  // first record of the second segment
  ASSERT_TRUE(env.CorruptFile(second, data).ok());
  WalRecovery rec;
  auto wal = Wal::Open(&env, "w", opts, &rec);
  ASSERT_FALSE(wal.ok());
  EXPECT_NE(wal.status().message().find(second + ": corrupted at byte 0"), std::string::npos)
      << wal.status().ToString();
  EXPECT_NE(wal.status().message().find("in a complete segment"), std::string::npos);
  EXPECT_EQ(env.ListDir("w")->size(), names.size());
}

// Proves a missing middle segment is reported as an error naming the file, not skipped.
TEST(Wal, MissingSegmentIsAnError) {
  MemEnv env;
  WalOptions opts;
  opts.segment_bytes_max = 100;
  WriteLog(&env, "w", 30, opts);
  auto names = *env.ListDir("w");
  ASSERT_GE(names.size(), 3u);
  ASSERT_TRUE(env.RemoveFile(JoinPath("w", names[1])).ok());
  WalRecovery rec;
  auto wal = Wal::Open(&env, "w", opts, &rec);
  ASSERT_FALSE(wal.ok());
  EXPECT_NE(wal.status().message().find(names[2]), std::string::npos) << wal.status().ToString();
}

// Proves ResetTo discards the log and continues at the given LSN, durably.
TEST(Wal, ResetToSkipsAheadDurably) {
  MemEnv env;
  WriteLog(&env, "w", 10);
  WalRecovery rec;
  auto wal = Wal::Open(&env, "w", {}, &rec);
  ASSERT_TRUE((*wal)->ResetTo(500).ok());
  EXPECT_EQ(*(*wal)->Append("x"), 500u);
  ASSERT_TRUE((*wal)->Sync().ok());
  env.PowerLoss();
  rec = Recover(&env, "w");
  EXPECT_EQ(rec.first_lsn, 500u);
  EXPECT_EQ(rec.records, std::vector<std::string>{"x"});
}

// Proves oversized records are refused on append and a huge length field is treated as corruption.
TEST(Wal, RecordSizeLimit) {
  MemEnv env;
  WalOptions opts;
  opts.record_bytes_max = 16;
  WalRecovery rec;
  auto wal = Wal::Open(&env, "w", opts, &rec);
  EXPECT_EQ((*wal)->Append(std::string(17, 'x')).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE((*wal)->Append("ok").ok());
  ASSERT_TRUE((*wal)->Sync().ok());
  wal->reset();
  std::string data = *env.ReadFile(SegPath("w", 1));
  std::string big = EncodeRecord(std::string(100, 'y'));
  ASSERT_TRUE(env.CorruptFile(SegPath("w", 1), data + big).ok());
  rec = Recover(&env, "w", opts);
  EXPECT_EQ(rec.records, std::vector<std::string>{"ok"});
  EXPECT_NE(rec.truncated_reason.find("over the limit"), std::string::npos);
}

// Proves segment names parse strictly.
TEST(Wal, SegmentNames) {
  uint64_t v;
  EXPECT_TRUE(Wal::ParseSegmentName(Wal::SegmentName(123), &v));
  EXPECT_EQ(v, 123u);
  EXPECT_FALSE(Wal::ParseSegmentName("wal-0000000000000000000x.log", &v));
  EXPECT_FALSE(Wal::ParseSegmentName("wal-00000000000000000001.log.tmp", &v));
  EXPECT_FALSE(Wal::ParseSegmentName("wal-99999999999999999999.log", &v));  // overflow
}

}  // namespace
}  // namespace chaos::storage
