#include "target/storage/snapshot.h"

#include <gtest/gtest.h>

namespace chaos::storage {
namespace {

// Proves a written snapshot is read back and replaces older ones.
TEST(Snapshot, WriteThenLatest) {
  MemEnv env;
  SnapshotStore store(&env, "s");
  ASSERT_TRUE(store.Init().ok());
  EXPECT_FALSE(store.Latest()->has_value());
  ASSERT_TRUE(store.Write(10, "state at 10").ok());
  ASSERT_TRUE(store.Write(20, "state at 20").ok());
  auto latest = store.Latest();
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->lsn, 20u);
  EXPECT_EQ((*latest)->payload, "state at 20");
  EXPECT_EQ(env.ListDir("s")->size(), 1u);
}

// Proves the format version: files are sealed as version 2, version 1 files
// (before membership changes) are still read, and a newer one is refused.
TEST(Snapshot, FormatVersions) {
  std::string v2 = Seal(kSnapshotMagic, 7, "payload");
  auto read = Unseal(kSnapshotMagic, "f", v2);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->version, 2u);
  // Rewrite the version field; the checksum does not cover bytes 8..15.
  std::string v1 = v2;
  v1[8] = 1;
  read = Unseal(kSnapshotMagic, "f", v1);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->version, 1u);
  EXPECT_EQ(read->payload, "payload");
  std::string v3 = v2;
  v3[8] = 3;
  read = Unseal(kSnapshotMagic, "f", v3);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().ToString().find("f: unsupported format version 3"), std::string::npos)
      << read.status().ToString();
}

// Proves a snapshot survives power loss once Write returned, and a crash mid-write keeps the old
// one.
TEST(Snapshot, PowerLoss) {
  MemEnv env;
  SnapshotStore store(&env, "s");
  ASSERT_TRUE(store.Init().ok());
  ASSERT_TRUE(store.Write(5, "five").ok());
  env.PowerLoss();
  EXPECT_EQ((*store.Latest())->payload, "five");
  // A crash after writing the temporary file but before rename: only a .tmp is left.
  {
    auto f = env.NewWritableFile("s/" + SnapshotStore::FileName(9) + ".tmp");
    ASSERT_TRUE((*f)->Append("partial").ok());
  }
  ASSERT_TRUE(env.SyncDir("s").ok());
  env.PowerLoss();
  SnapshotStore again(&env, "s");
  ASSERT_TRUE(again.Init().ok());  // removes the leftover
  EXPECT_EQ(env.ListDir("s")->size(), 1u);
  EXPECT_EQ((*again.Latest())->lsn, 5u);
}

// Proves any flipped bit or truncation of a snapshot is an error naming the file.
TEST(Snapshot, CorruptionIsAnErrorNamingTheFile) {
  MemEnv env;
  SnapshotStore store(&env, "s");
  ASSERT_TRUE(store.Init().ok());
  ASSERT_TRUE(store.Write(7, "the state of the register").ok());
  std::string path = "s/" + SnapshotStore::FileName(7);
  std::string good = *env.ReadFile(path);
  for (size_t byte = 0; byte < good.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      ASSERT_TRUE(env.CorruptFile(path, bad).ok());
      auto latest = store.Latest();
      ASSERT_FALSE(latest.ok()) << byte << " " << bit;
      EXPECT_NE(latest.status().message().find(path), std::string::npos);
    }
  }
  for (size_t cut = 0; cut < good.size(); ++cut) {
    ASSERT_TRUE(env.CorruptFile(path, good.substr(0, cut)).ok());
    ASSERT_FALSE(store.Latest().ok()) << cut;
  }
}

// Proves Seal/Unseal check the magic so one kind of file is never read as another.
TEST(Snapshot, SealChecksMagic) {
  std::string sealed = Seal("IDENTITY", 3, "abc");
  EXPECT_TRUE(Unseal("IDENTITY", "f", sealed).ok());
  auto wrong = Unseal(kSnapshotMagic, "f", sealed);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("bad magic"), std::string::npos);
}

// Proves WriteFileAtomically is durable after it returns.
TEST(Snapshot, WriteFileAtomicallyIsDurable) {
  MemEnv env;
  ASSERT_TRUE(env.CreateDir("d").ok());
  ASSERT_TRUE(WriteFileAtomically(&env, "d/f", "one").ok());
  ASSERT_TRUE(WriteFileAtomically(&env, "d/f", "two").ok());
  env.PowerLoss();
  EXPECT_EQ(*env.ReadFile("d/f"), "two");
  EXPECT_FALSE(env.FileExists("d/f.tmp"));
}

}  // namespace
}  // namespace chaos::storage
