// Proves chaos-lazyfs keeps exactly the synced state across a drop: file data
// made durable by fsync, directory entries by fsync of their directory (in
// journal order), and nothing else; and that reads see unsynced writes.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace {

std::string Output(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// The number after "field": in a one-line JSON reply; -1 if absent.
long Field(const std::string& json, const std::string& field) {
  size_t at = json.find("\"" + field + "\":");
  if (at == std::string::npos) return -1;
  return std::strtol(json.c_str() + at + field.size() + 3, nullptr, 10);
}

class LazyFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lazyfs-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    backing_ = dir_ + "/backing";
    mnt_ = dir_ + "/mnt";
    socket_ = dir_ + "/ctl.sock";
    ASSERT_EQ(mkdir(backing_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(mnt_.c_str(), 0755), 0);
    std::string cmd = std::string(CHAOS_LAZYFS_BINARY) + " " + backing_ + " " + mnt_ +
                      " --control " + socket_ + " --log-file " + dir_ + "/lazyfs.log" + ExtraArgs();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd << " failed (is /dev/fuse there?)";
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) {
      EXPECT_EQ(std::system(("fusermount3 -u " + mnt_).c_str()), 0);
    }
    EXPECT_EQ(std::system(("rm -rf " + dir_).c_str()), 0);
  }

  virtual std::string ExtraArgs() { return ""; }
  std::string M(const std::string& name) { return mnt_ + "/" + name; }
  std::string Ctl(const std::string& command) {
    return Output(std::string(CHAOS_LAZYFS_BINARY) + " ctl " + socket_ + " " + command);
  }

  // Writes `data` at `offset` (or appends with O_APPEND if offset < 0).
  static void Write(const std::string& path, const std::string& data, long offset, bool sync,
                    int extra_flags = 0) {
    int flags = O_WRONLY | O_CREAT | extra_flags | (offset < 0 ? O_APPEND : 0);
    int fd = open(path.c_str(), flags, 0644);
    ASSERT_GE(fd, 0) << path;
    ssize_t n = offset < 0 ? write(fd, data.data(), data.size())
                           : pwrite(fd, data.data(), data.size(), offset);
    ASSERT_EQ(n, static_cast<ssize_t>(data.size())) << path;
    if (sync) {
      ASSERT_EQ(fsync(fd), 0);
    }
    ASSERT_EQ(close(fd), 0);
  }
  static void SyncPath(const std::string& path, bool datasync = false) {
    int fd = open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(datasync ? fdatasync(fd) : fsync(fd), 0) << path;
    close(fd);
  }
  static std::optional<std::string> Read(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) return std::nullopt;
    std::string out;
    char buf[8192];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    close(fd);
    return out;
  }
  static long Size(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 ? st.st_size : -1;
  }
  // A durable file: written, fsynced, and its directory fsynced.
  void Durable(const std::string& name, const std::string& data) {
    Write(M(name), data, 0, true, O_TRUNC);
    SyncPath(mnt_);
  }

  std::string dir_, backing_, mnt_, socket_;
  bool mounted_ = false;
};

std::string Pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + (i * 7) % 61);
  return s;
}

TEST_F(LazyFsTest, ReadsSeeUnsyncedWritesThatNeverReachTheBackingFile) {
  Write(M("a"), "hello", 0, false);
  EXPECT_EQ(Read(M("a")), "hello");
  EXPECT_EQ(Size(M("a")), 5);
  EXPECT_EQ(Size(backing_ + "/a"), 0);  // created (journalled), data only in memory
  std::string stat = Ctl("stat");
  EXPECT_EQ(Field(stat, "files"), 1) << stat;
  EXPECT_EQ(Field(stat, "write_bytes"), 5) << stat;
  EXPECT_EQ(Field(stat, "ops"), 1) << stat;
}

TEST_F(LazyFsTest, DropKeepsExactlyTheSyncedBytesOfAppendsAndOverwrites) {
  std::string base = Pattern(3 * 4096 + 100, 'a');
  Durable("f", base);
  // Unsynced: an overwrite across a page boundary and an append.
  Write(M("f"), std::string(300, 'X'), 4000, false);
  Write(M("f"), std::string(5000, 'Y'), -1, false);
  std::string expected = base;
  expected.replace(4000, 300, std::string(300, 'X'));
  expected += std::string(5000, 'Y');
  EXPECT_EQ(Read(M("f")), expected);
  std::string dropped = Ctl("drop");
  EXPECT_EQ(Field(dropped, "write_bytes"), 5300) << dropped;
  EXPECT_EQ(Field(dropped, "files"), 1) << dropped;
  EXPECT_EQ(Read(M("f")), base);
  EXPECT_EQ(Size(M("f")), static_cast<long>(base.size()));

  // The same changes, fdatasynced this time, survive the drop.
  Write(M("f"), std::string(300, 'X'), 4000, false);
  Write(M("f"), std::string(5000, 'Y'), -1, false);
  SyncPath(M("f"), /*datasync=*/true);
  Write(M("f"), "lost", 0, false);
  Ctl("drop");
  EXPECT_EQ(Read(M("f")), expected);
}

TEST_F(LazyFsTest, TruncateThenGrowReadsZerosAndDropRestoresTheSyncedSize) {
  std::string base = Pattern(10000, 'k');
  Durable("t", base);
  ASSERT_EQ(truncate(M("t").c_str(), 3000), 0);
  Write(M("t"), "Z", 7999, false);
  std::string expected = base.substr(0, 3000) + std::string(4999, '\0') + "Z";
  EXPECT_EQ(Size(M("t")), 8000);
  EXPECT_EQ(Read(M("t")), expected);
  Ctl("drop");
  EXPECT_EQ(Read(M("t")), base);

  ASSERT_EQ(truncate(M("t").c_str(), 3000), 0);
  Write(M("t"), "Z", 7999, false);
  SyncPath(M("t"));
  Ctl("drop");
  EXPECT_EQ(Read(M("t")), expected);
  EXPECT_EQ(Size(backing_ + "/t"), 8000);

  // Shrinking alone, synced, is durable too; unsynced, it is undone.
  ASSERT_EQ(truncate(M("t").c_str(), 10), 0);
  Ctl("drop");
  EXPECT_EQ(Size(M("t")), 8000);
  ASSERT_EQ(truncate(M("t").c_str(), 10), 0);
  SyncPath(M("t"));
  Ctl("drop");
  EXPECT_EQ(Read(M("t")), base.substr(0, 10));
}

TEST_F(LazyFsTest, ANewFileNeedsItsDirectorySyncedNotOnlyItself) {
  Write(M("new"), "data", 0, true);  // file fsynced, directory not
  Ctl("drop");
  EXPECT_EQ(Read(M("new")), std::nullopt);
  EXPECT_EQ(Size(backing_ + "/new"), -1);

  Write(M("new"), "data", 0, true);
  SyncPath(mnt_);
  Ctl("drop");
  EXPECT_EQ(Read(M("new")), "data");

  // Named durably but its data never synced: an empty file remains.
  Write(M("empty"), "data", 0, false);
  SyncPath(mnt_);
  Ctl("drop");
  EXPECT_EQ(Read(M("empty")), "");
}

TEST_F(LazyFsTest, ARenameOverAFileIsUndoneUnlessTheDirectoryIsSynced) {
  Durable("cur", "old contents");
  Write(M("cur.tmp"), "new contents", 0, true);
  ASSERT_EQ(rename(M("cur.tmp").c_str(), M("cur").c_str()), 0);
  EXPECT_EQ(Read(M("cur")), "new contents");
  std::string dropped = Ctl("drop");
  EXPECT_EQ(Field(dropped, "ops"), 2) << dropped;  // create, rename
  EXPECT_EQ(Read(M("cur")), "old contents");
  EXPECT_EQ(Read(M("cur.tmp")), std::nullopt);

  Write(M("cur.tmp"), "new contents", 0, true);
  ASSERT_EQ(rename(M("cur.tmp").c_str(), M("cur").c_str()), 0);
  SyncPath(mnt_);
  Ctl("drop");
  EXPECT_EQ(Read(M("cur")), "new contents");
  EXPECT_EQ(Read(M("cur.tmp")), std::nullopt);
}

TEST_F(LazyFsTest, UnlinkAndRmdirComeBackAfterADropUnlessSynced) {
  Durable("gone", "still here");
  ASSERT_EQ(mkdir(M("d").c_str(), 0755), 0);
  SyncPath(mnt_);
  ASSERT_EQ(unlink(M("gone").c_str()), 0);
  ASSERT_EQ(rmdir(M("d").c_str()), 0);
  EXPECT_EQ(Read(M("gone")), std::nullopt);
  Ctl("drop");
  EXPECT_EQ(Read(M("gone")), "still here");
  struct stat st;
  EXPECT_EQ(stat(M("d").c_str(), &st), 0);

  ASSERT_EQ(unlink(M("gone").c_str()), 0);
  SyncPath(mnt_);
  Ctl("drop");
  EXPECT_EQ(Read(M("gone")), std::nullopt);
}

TEST_F(LazyFsTest, DirectorySyncCommitsTheJournalInOrder) {
  ASSERT_EQ(mkdir(M("d1").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(M("d2").c_str(), 0755), 0);
  SyncPath(mnt_);
  // d2/b, then d1/a: syncing d1 commits both (d2/b came first).
  Write(M("d2/b"), "b", 0, true);
  Write(M("d1/a"), "a", 0, true);
  SyncPath(M("d1"));
  // d1/c after the last change in d2: syncing d2 leaves it pending.
  Write(M("d2/e"), "e", 0, true);
  Write(M("d1/c"), "c", 0, true);
  SyncPath(M("d2"));
  Ctl("drop");
  EXPECT_EQ(Read(M("d2/b")), "b");
  EXPECT_EQ(Read(M("d1/a")), "a");
  EXPECT_EQ(Read(M("d2/e")), "e");
  EXPECT_EQ(Read(M("d1/c")), std::nullopt);
}

TEST_F(LazyFsTest, ADirectoryCreatedButNeverCommittedVanishesWithItsFiles) {
  ASSERT_EQ(mkdir(M("sub").c_str(), 0755), 0);
  Write(M("sub/f"), "x", 0, true);
  Ctl("drop");
  struct stat st;
  EXPECT_NE(stat(M("sub").c_str(), &st), 0);
  EXPECT_NE(stat((backing_ + "/sub").c_str(), &st), 0);
}

TEST_F(LazyFsTest, SyncCommandMakesEverythingDurable) {
  ASSERT_EQ(mkdir(M("s").c_str(), 0755), 0);
  Write(M("s/f"), "kept", 0, false);
  std::string synced = Ctl("sync");
  EXPECT_EQ(Field(synced, "files"), 1) << synced;
  EXPECT_EQ(Field(Ctl("stat"), "ops"), 0);
  Ctl("drop");
  EXPECT_EQ(Read(M("s/f")), "kept");
  EXPECT_EQ(Read(backing_ + "/s/f"), "kept");
}

TEST_F(LazyFsTest, AppendModeAndTheHiddenTrash) {
  Write(M("log"), "one ", -1, false);
  Write(M("log"), "two", -1, false);
  EXPECT_EQ(Read(M("log")), "one two");
  Durable("x", "x");
  ASSERT_EQ(unlink(M("x").c_str()), 0);  // waits in the trash until committed
  DIR* d = opendir(mnt_.c_str());
  ASSERT_NE(d, nullptr);
  while (struct dirent* e = readdir(d)) EXPECT_STRNE(e->d_name, ".chaos-lazyfs");
  closedir(d);
  struct stat st;
  EXPECT_NE(stat(M(".chaos-lazyfs").c_str(), &st), 0);
  EXPECT_NE(mkdir(M(".chaos-lazyfs/y").c_str(), 0755), 0);
  EXPECT_EQ(Ctl("bogus").find("error") != std::string::npos, true);
}

TEST_F(LazyFsTest, AnOpenFileKeepsWorkingAcrossASyncAndItsUnsyncedTailIsDropped) {
  int fd = open(M("open").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "abc", 3), 3);
  ASSERT_EQ(fsync(fd), 0);
  SyncPath(mnt_);
  ASSERT_EQ(write(fd, "def", 3), 3);
  char buf[8] = {};
  ASSERT_EQ(pread(fd, buf, sizeof(buf), 0), 6);
  EXPECT_EQ(std::string(buf, 6), "abcdef");
  close(fd);
  Ctl("drop");
  EXPECT_EQ(Read(M("open")), "abc");
}

// `slow MS` makes every write and sync wait: a write and an fsync take at
// least twice the delay (a lower bound, which no load can break), reads do
// not wait, and `slow 0` ends it. Bad delays are refused.
TEST_F(LazyFsTest, SlowMakesWritesAndSyncsWaitAndZeroEndsIt) {
  Durable("f", "before");
  EXPECT_EQ(Field(Ctl("slow 150"), "slow_ms"), 150);
  auto start = std::chrono::steady_clock::now();
  Write(M("f"), "during", 0, true);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_EQ(Read(M("f")), "during");
  EXPECT_EQ(Field(Ctl("slow 0"), "slow_ms"), 0);
  EXPECT_EQ(Ctl("slow -1").find("\"slow_ms\""), std::string::npos);
  EXPECT_NE(Ctl("slow x").find("\"error\""), std::string::npos);
}

// A writeback age of 1 s, and waits of 3 s where it must have passed: wide
// enough both ways on a loaded machine under sanitizers (with 200 ms, the
// write and the drop of "new" once took longer than the age, and the new
// work had been written back before the drop).
class LazyFsWritebackTest : public LazyFsTest {
 protected:
  std::string ExtraArgs() override { return " --writeback-ms 1000"; }
};

TEST_F(LazyFsWritebackTest, BackgroundWritebackKeepsOldWorkAndDropsOnlyTheRecent) {
  Write(M("old"), "old data", 0, false);
  usleep(3000 * 1000);  // well past 1 s: written back, name committed
  Write(M("new"), "new data", 0, false);
  std::string dropped = Ctl("drop");
  EXPECT_EQ(Field(dropped, "files"), 1) << dropped;
  EXPECT_EQ(Read(M("old")), "old data");
  EXPECT_EQ(Read(M("new")), std::nullopt);
}

// hold stops background writeback (power is lost): work older than the
// writeback age is still lost at the drop if it came after the hold, and
// the drop ends the hold.
TEST_F(LazyFsWritebackTest, HoldStopsWritebackUntilTheDrop) {
  EXPECT_NE(Ctl("hold").find("\"hold\""), std::string::npos);
  Write(M("held"), "held data", 0, false);
  usleep(3000 * 1000);  // well past 1 s: written back were it not held
  std::string dropped = Ctl("drop");
  EXPECT_EQ(Field(dropped, "files"), 1) << dropped;
  EXPECT_EQ(Read(M("held")), std::nullopt);
  Write(M("after"), "after data", 0, false);
  usleep(3000 * 1000);  // the drop ended the hold: written back
  Ctl("drop");
  EXPECT_EQ(Read(M("after")), "after data");
}

}  // namespace
