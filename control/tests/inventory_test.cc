#include "control/inventory.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

namespace chaos::control {
namespace {

Inventory TwoNodes() {
  Inventory inv;
  inv.ssh.private_key = "/k/id_ed25519";
  inv.ssh.known_hosts = "/k/known_hosts";
  for (int i = 1; i <= 2; ++i) {
    NodeInfo n;
    n.name = "n" + std::to_string(i);
    n.address = "10.77.0." + std::to_string(10 + i);
    n.ssh = {"127.0.0.1", 42200 + i};
    n.client = {"127.0.0.1", 42300 + i};
    n.ports[7000] = n.client;
    n.ports[2379] = {"127.0.0.1", 42400 + i};
    inv.nodes.push_back(n);
  }
  return inv;
}

// Proves: an inventory survives JSON and a file round trip unchanged.
TEST(Inventory, RoundTripsThroughJsonAndFile) {
  Inventory inv = TwoNodes();
  auto parsed = ParseInventory(InventoryToJson(inv), "inv");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(InventoryToJson(*parsed), InventoryToJson(inv));
  ASSERT_NE(parsed->Find("n2"), nullptr);
  EXPECT_EQ(parsed->Find("n2")->ports.at(2379).port, 42402);
  EXPECT_EQ(parsed->Find("n3"), nullptr);

  auto path = std::filesystem::temp_directory_path() / "chaos_inventory_test.json";
  ASSERT_TRUE(SaveInventory(inv, path.string()).ok());
  auto loaded = LoadInventory(path.string());
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->nodes[0].ssh.ToString(), "127.0.0.1:42201");
  std::filesystem::remove(path);
}

// Proves: bad inventories are refused with a message naming the file and the node.
TEST(Inventory, RefusesBadInput) {
  EXPECT_EQ(ParseInventory("{", "f").status().message(), "f: not valid JSON");
  EXPECT_FALSE(ParseInventory(R"({"version":2,"nodes":[]})", "f").ok());
  EXPECT_FALSE(ParseInventory(R"({"version":1,"nodes":[]})", "f").ok());
  auto dup = ParseInventory(
      R"({"version":1,"nodes":[{"name":"a","address":"x","ssh":{"host":"h","port":22}},
                               {"name":"a","address":"y","ssh":{"host":"h","port":23}}]})",
      "f");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(), "f: nodes[1] (a): duplicate name");
  auto port = ParseInventory(
      R"({"version":1,"nodes":[{"name":"a","address":"x","ssh":{"host":"h","port":70000}}]})", "f");
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.status().message(), "f: nodes[0] (a).ssh: bad endpoint h:70000");
  EXPECT_FALSE(LoadInventory("/nonexistent/inventory.json").ok());
}

// Proves: real machines given as --nodes become an inventory with the same SSH options.
TEST(Inventory, FromHostsForRealMachines) {
  SshOptions ssh;
  ssh.username = "admin";
  ssh.private_key = "/home/u/.ssh/id_ed25519";
  auto inv = InventoryFromHosts({"a.example", "b.example"}, ssh, 2222, 7000);
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->nodes[1].name, "b.example");
  EXPECT_EQ(inv->nodes[1].ssh.ToString(), "b.example:2222");
  EXPECT_EQ(inv->ssh.username, "admin");
  EXPECT_FALSE(InventoryFromHosts({}, ssh, 22, 7000).ok());
  EXPECT_FALSE(InventoryFromHosts({"a", "a"}, ssh, 22, 7000).ok());
  EXPECT_FALSE(InventoryFromHosts({"a"}, ssh, 0, 7000).ok());
  SshOptions no_key;
  EXPECT_FALSE(InventoryFromHosts({"a"}, no_key, 22, 7000).ok());
}

}  // namespace
}  // namespace chaos::control
