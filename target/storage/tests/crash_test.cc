#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "target/storage/wal.h"

namespace chaos::storage {
namespace {

std::string Content(uint64_t lsn) {
  return "record-" + std::to_string(lsn) + std::string(lsn % 97, static_cast<char>('a' + lsn % 26));
}

// The child: reopen the WAL, check it, then append batches forever, reporting
// each synced LSN on the pipe. Exits 3 if what it recovered is wrong.
[[noreturn]] void Writer(const std::string& dir, int fd, uint64_t seed) {
  WalOptions opts;
  opts.segment_bytes_max = 4096;
  WalRecovery rec;
  auto wal = Wal::Open(PosixEnv(), dir, opts, &rec);
  if (!wal.ok()) _exit(2);
  for (size_t i = 0; i < rec.records.size(); ++i) {
    if (rec.records[i] != Content(rec.first_lsn + i)) _exit(3);
  }
  std::mt19937_64 rng(seed);
  for (int batch = 0; batch < 100000; ++batch) {
    int n = 1 + static_cast<int>(rng() % 20);
    for (int i = 0; i < n; ++i) {
      if (!(*wal)->Append(Content((*wal)->next_lsn())).ok()) _exit(4);
    }
    if (!(*wal)->Sync().ok()) _exit(5);
    uint64_t acked = (*wal)->synced_lsn() - 1;  // every LSN <= acked is durable
    if (write(fd, &acked, sizeof acked) != sizeof acked) _exit(6);
  }
  _exit(0);
}

// Proves that on the real file system a writer SIGKILLed at random moments loses no record it
// acknowledged as synced, across segment rollovers and repeated crashes.
TEST(WalCrash, SigkillNeverLosesSyncedRecords) {
  std::string dir = "/tmp/chaos-wal-crash-" + std::to_string(::getpid());
  std::system(("rm -rf '" + dir + "'").c_str());
  std::mt19937_64 rng(11);
  uint64_t acked_max = 0;
  for (int round = 0; round < 12; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      Writer(dir, fds[1], rng());
    }
    close(fds[1]);
    usleep(static_cast<useconds_t>(20000 + rng() % 150000));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited early with " << WEXITSTATUS(status);
    uint64_t acked = 0;
    while (read(fds[0], &acked, sizeof acked) == sizeof acked)
      acked_max = std::max(acked_max, acked);
    close(fds[0]);
    WalRecovery rec;
    WalOptions opts;
    opts.segment_bytes_max = 4096;
    auto wal = Wal::Open(PosixEnv(), dir, opts, &rec);
    ASSERT_TRUE(wal.ok()) << wal.status().ToString();
    ASSERT_EQ(rec.first_lsn, 1u);
    ASSERT_GE(rec.records.size(), acked_max) << "round " << round;
    for (size_t i = 0; i < rec.records.size(); ++i) {
      ASSERT_EQ(rec.records[i], Content(i + 1)) << "round " << round << " lsn " << i + 1;
    }
  }
  EXPECT_GT(acked_max, 100u);  // the writer really wrote and synced
  std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace chaos::storage
