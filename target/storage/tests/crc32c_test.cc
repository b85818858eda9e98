#include "target/storage/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace chaos::storage {
namespace {

// Proves the checksum matches the published CRC32C test vectors (RFC 3720 B.4).
TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c::Value("123456789"), 0xE3069283u);
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c::Value(zeros), 0x8A9136AAu);
  std::string ones(32, '\xff');
  EXPECT_EQ(crc32c::Value(ones), 0x62A8AB43u);
  std::string inc(32, '\0');
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<char>(i);
  EXPECT_EQ(crc32c::Value(inc), 0x46DD794Eu);
  EXPECT_EQ(crc32c::ExtendPortable(0, "123456789", 9), 0xE3069283u);
}

// Proves the hardware and table paths agree on every length and alignment.
TEST(Crc32c, HardwareMatchesPortable) {
  std::mt19937_64 rng(7);
  std::string data(4096, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  for (size_t start = 0; start < 9; ++start) {
    for (size_t n = 0; n + start <= 300; ++n) {
      ASSERT_EQ(crc32c::Extend(0, data.data() + start, n),
                crc32c::ExtendPortable(0, data.data() + start, n))
          << start << " " << n;
    }
  }
}

// Proves Extend over two pieces equals the checksum of the whole.
TEST(Crc32c, ExtendIsIncremental) {
  std::string s = "hello, write-ahead log of chaos";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    uint32_t a = crc32c::Value(s.data(), cut);
    EXPECT_EQ(crc32c::Extend(a, s.data() + cut, s.size() - cut), crc32c::Value(s));
  }
}

// Proves masking is reversible and changes the value.
TEST(Crc32c, MaskRoundTrips) {
  uint32_t crc = crc32c::Value("foo");
  EXPECT_NE(crc32c::Mask(crc), crc);
  EXPECT_EQ(crc32c::Unmask(crc32c::Mask(crc)), crc);
  EXPECT_EQ(crc32c::Unmask(crc32c::Mask(crc32c::Mask(crc))), crc32c::Mask(crc));
}

}  // namespace
}  // namespace chaos::storage
