// Stored ZIP archives: CRC-32 check values and archives that unzip reads back.
#include "reports/zip.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

namespace chaos::reports {
namespace {
namespace fs = std::filesystem;

uint32_t Le32(const std::string& s, size_t at) {
  uint32_t v = 0;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}
uint16_t Le16(const std::string& s, size_t at) {
  uint16_t v = 0;
  std::memcpy(&v, s.data() + at, 2);
  return v;
}

// Proves: Crc32 gives the standard check value and chains across calls.
TEST(ZipTest, Crc32CheckValue) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("6789", Crc32("12345")), 0xCBF43926u);
}

// Proves: every file is in the archive with its bytes and CRC, as the central
// directory says, and (when unzip exists) unzip -t accepts it.
TEST(ZipTest, ArchiveReadsBack) {
  fs::path dir = fs::temp_directory_path() / ("chaos-zip-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "nodes" / "n1");
  std::map<std::string, std::string> files = {{"history.jsonl", "{\"index\":0}\n"},
                                              {"nodes/n1/log", std::string(70000, 'x')},
                                              {"empty", ""}};
  for (const auto& [name, data] : files) std::ofstream(dir / name, std::ios::binary) << data;
  auto zip = ZipFolder(dir.string(), "run");
  ASSERT_TRUE(zip.ok()) << zip.status().ToString();
  const std::string& z = *zip;
  ASSERT_GE(z.size(), 22u);
  size_t end = z.size() - 22;
  ASSERT_EQ(Le32(z, end), 0x06054b50u);
  ASSERT_EQ(Le16(z, end + 10), files.size());
  size_t at = Le32(z, end + 16);
  std::map<std::string, std::string> got;
  for (size_t i = 0; i < files.size(); ++i) {
    ASSERT_EQ(Le32(z, at), 0x02014b50u);
    uint32_t crc = Le32(z, at + 16), size = Le32(z, at + 20);
    uint16_t name_len = Le16(z, at + 28);
    uint32_t local = Le32(z, at + 42);
    std::string name = z.substr(at + 46, name_len);
    ASSERT_EQ(Le32(z, local), 0x04034b50u);
    std::string data = z.substr(local + 30 + Le16(z, local + 26), size);
    EXPECT_EQ(Crc32(data), crc) << name;
    got[name] = data;
    at += 46 + name_len;
  }
  for (const auto& [name, data] : files) EXPECT_EQ(got["run/" + name], data) << name;
  if (fs::exists("/usr/bin/unzip")) {
    fs::path zpath = dir.string() + ".zip";
    std::ofstream(zpath, std::ios::binary) << z;
    EXPECT_EQ(std::system(("/usr/bin/unzip -tq " + zpath.string() + " > /dev/null").c_str()), 0);
  }
  EXPECT_FALSE(ZipFolder((dir / "missing").string(), "x").ok());
  EXPECT_FALSE(ZipFolder(dir.string(), "x", 1000).ok());  // over the size limit
}

}  // namespace
}  // namespace chaos::reports
