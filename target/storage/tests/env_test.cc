#include "target/storage/env.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

namespace chaos::storage {
namespace {

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/chaos-storage-" + name + "-" +
                    std::to_string(::getpid());
  std::string cmd = "rm -rf '" + dir + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  return dir;
}

// Proves a power loss keeps synced bytes and drops unsynced ones.
TEST(MemEnv, PowerLossDropsUnsyncedBytes) {
  MemEnv env;
  ASSERT_TRUE(env.CreateDir("d").ok());
  auto f = env.NewWritableFile("d/f");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(env.SyncDir("d").ok());
  ASSERT_TRUE((*f)->Append("synced").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append("-lost").ok());
  EXPECT_EQ(*env.ReadFile("d/f"), "synced-lost");
  env.PowerLoss();
  EXPECT_EQ(*env.ReadFile("d/f"), "synced");
  // The open file handle did not survive the reboot.
  EXPECT_FALSE((*f)->Append("x").ok());
}

// Proves a created or renamed name is lost on power loss unless its directory was synced.
TEST(MemEnv, PowerLossDropsUnsyncedDirectoryEntries) {
  MemEnv env;
  ASSERT_TRUE(env.CreateDir("d").ok());
  {
    auto f = env.NewWritableFile("d/a");
    ASSERT_TRUE((*f)->Append("A").ok());
    ASSERT_TRUE((*f)->Sync().ok());
  }
  env.PowerLoss();
  EXPECT_FALSE(env.FileExists("d/a"));  // file synced, name never was

  {
    auto f = env.NewWritableFile("d/a");
    ASSERT_TRUE((*f)->Append("A").ok());
    ASSERT_TRUE((*f)->Sync().ok());
  }
  ASSERT_TRUE(env.SyncDir("d").ok());
  ASSERT_TRUE(env.Rename("d/a", "d/b").ok());
  env.PowerLoss();
  EXPECT_TRUE(env.FileExists("d/a"));
  EXPECT_FALSE(env.FileExists("d/b"));
  ASSERT_TRUE(env.Rename("d/a", "d/b").ok());
  ASSERT_TRUE(env.SyncDir("d").ok());
  env.PowerLoss();
  EXPECT_EQ(*env.ReadFile("d/b"), "A");
  EXPECT_FALSE(env.FileExists("d/a"));
}

// Proves MemEnv's ordinary operations behave like a file system.
TEST(MemEnv, BasicOperations) {
  MemEnv env;
  EXPECT_FALSE(env.NewWritableFile("nodir/f").ok());
  ASSERT_TRUE(env.CreateDir("d").ok());
  auto f = env.NewWritableFile("d/x");
  ASSERT_TRUE((*f)->Append("0123456789").ok());
  EXPECT_EQ(*env.FileSize("d/x"), 10u);
  ASSERT_TRUE(env.Truncate("d/x", 4).ok());
  EXPECT_EQ(*env.ReadFile("d/x"), "0123");
  auto g = env.NewAppendableFile("d/x");
  ASSERT_TRUE((*g)->Append("ab").ok());
  EXPECT_EQ(*env.ReadFile("d/x"), "0123ab");
  ASSERT_TRUE(env.NewWritableFile("d/w").ok());
  EXPECT_EQ(*env.ListDir("d"), (std::vector<std::string>{"w", "x"}));
  ASSERT_TRUE(env.RemoveFile("d/w").ok());
  EXPECT_EQ(env.RemoveFile("d/w").code(), StatusCode::kNotFound);
  EXPECT_EQ(env.ReadFile("d/w").status().code(), StatusCode::kNotFound);
}

// Proves PosixEnv performs every operation on the real file system with errors naming paths.
TEST(PosixEnv, BasicOperations) {
  Env* env = PosixEnv();
  std::string dir = TempDir("posix");
  ASSERT_TRUE(env->CreateDir(dir + "/sub").ok());
  std::string p = JoinPath(dir + "/sub", "x");
  {
    auto f = env->NewWritableFile(p);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE((*f)->Append("0123456789").ok());
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  ASSERT_TRUE(env->SyncDir(dir + "/sub").ok());
  EXPECT_EQ(*env->FileSize(p), 10u);
  ASSERT_TRUE(env->Truncate(p, 3).ok());
  {
    auto f = env->NewAppendableFile(p);
    ASSERT_TRUE((*f)->Append("xy").ok());
  }
  EXPECT_EQ(*env->ReadFile(p), "012xy");
  ASSERT_TRUE(env->Rename(p, p + "2").ok());
  EXPECT_FALSE(env->FileExists(p));
  EXPECT_EQ(*env->ListDir(dir + "/sub"), (std::vector<std::string>{"x2"}));
  ASSERT_TRUE(env->RemoveFile(p + "2").ok());
  auto missing = env->ReadFile(p);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(p), std::string::npos);
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("c"), ".");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace chaos::storage
