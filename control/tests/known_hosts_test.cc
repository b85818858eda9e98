#include "control/known_hosts.h"

#include <gtest/gtest.h>

namespace chaos::control {
namespace {

constexpr char kKey[] = "AAAAC3NzaC1lZDI1NTE5AAAAIHk3rVXnFSm0uTD1Yi9Fqk1G3UeRnP5Vm5wvW6pJ8dQx";

// Proves: entries with plain and [host]:port patterns are found by host and port.
TEST(KnownHosts, ParsesAndFindsByHostAndPort) {
  std::string text = std::string("# chaos cluster\n\n[127.0.0.1]:42201 ssh-ed25519 ") + kKey +
                     "\nn1,10.77.0.11 ssh-ed25519 " + kKey + " comment here\n";
  auto known = ParseKnownHosts(text, "kh");
  ASSERT_TRUE(known.ok()) << known.status().ToString();
  ASSERT_EQ(known->entries.size(), 2u);
  EXPECT_EQ(known->entries[0].line, 3);
  EXPECT_EQ(FindHost(*known, "127.0.0.1", 42201).size(), 1u);
  EXPECT_EQ(FindHost(*known, "127.0.0.1", 42202).size(), 0u);
  EXPECT_EQ(FindHost(*known, "10.77.0.11", 22).size(), 1u);
  EXPECT_EQ(FindHost(*known, "n1", 22)[0].key_type, "ssh-ed25519");
}

// Proves: hashed, marked and wildcard lines are skipped, not misread.
TEST(KnownHosts, SkipsFormsChaosDoesNotUse) {
  std::string text = std::string("|1|abc=|def= ssh-ed25519 ") + kKey + "\n@revoked h ssh-ed25519 " +
                     kKey + "\n*.example ssh-ed25519 " + kKey + "\n";
  auto known = ParseKnownHosts(text, "kh");
  ASSERT_TRUE(known.ok());
  EXPECT_EQ(known->entries.size(), 0u);
  EXPECT_EQ(known->skipped, 3);
}

// Proves: malformed lines are errors naming the file and line.
TEST(KnownHosts, MalformedLinesNameFileAndLine) {
  auto a = ParseKnownHosts("host ssh-ed25519\n", "kh");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().message(), "kh:1: expected 'host keytype key', got 2 field(s)");
  auto b = ParseKnownHosts(std::string("\nhost rot13 ") + kKey + "\n", "f");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(), "f:2: unknown key type 'rot13'");
  auto c = ParseKnownHosts("h ssh-ed25519 not*base64\n", "f");
  EXPECT_FALSE(c.ok());
  auto d = ParseKnownHosts(std::string("[h]: ssh-ed25519 ") + kKey + "\n", "f");
  EXPECT_FALSE(d.ok());
}

// Proves: a .pub line becomes a known_hosts line without its comment, port 22 unbracketed.
TEST(KnownHosts, FormatsLinesFromPublicKeys) {
  std::string pub = std::string("ssh-ed25519 ") + kKey + " root@n1\n";
  auto line = FormatKnownHostsLine("127.0.0.1", 42201, pub);
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(*line, std::string("[127.0.0.1]:42201 ssh-ed25519 ") + kKey + "\n");
  EXPECT_EQ(*FormatKnownHostsLine("n1", 22, pub), std::string("n1 ssh-ed25519 ") + kKey + "\n");
  EXPECT_FALSE(FormatKnownHostsLine("n1", 22, "garbage").ok());
  EXPECT_FALSE(FormatKnownHostsLine("a b", 22, pub).ok());
  // Round trip.
  auto known = ParseKnownHosts(*line, "kh");
  ASSERT_TRUE(known.ok());
  EXPECT_EQ(FindHost(*known, "127.0.0.1", 42201).at(0).key_base64, kKey);
}

}  // namespace
}  // namespace chaos::control
