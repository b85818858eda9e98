// The inventory: which nodes a test runs on and how the controller reaches them.
//
// `chaos cluster up` writes one for the docker cluster (.cluster/inventory.json);
// for real machines `chaos run --nodes h1,h2 --username U --ssh-key K
// [--ssh-port P] [--known-hosts F]` builds one with InventoryFromHosts. Both
// lead to the same SSH code (control/ssh.h).
//
// inventory.json:
//   {"version": 1,
//    "ssh": {"username": "root", "private_key": "/abs/.cluster/id_ed25519",
//            "known_hosts": "/abs/.cluster/known_hosts", "connect_timeout_ms": 5000},
//    "nodes": [{"name": "n1", "address": "10.77.0.11",
//               "ssh": {"host": "127.0.0.1", "port": 42201},
//               "client": {"host": "127.0.0.1", "port": 42301},
//               "ports": {"7000": {"host": "127.0.0.1", "port": 42301}, ...}}]}
// `address` is the node's address on the cluster network: the one peers use
// and partitions name. `client` is where the controller's workload connects
// (the register's port 7000 in the docker cluster); `ports` maps every
// published node port to its endpoint on the controller (etcd's 2379 ...).
//
// Thread safety: values and pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace chaos::control {

struct Endpoint {
  std::string host;
  int port = 0;
  std::string ToString() const;  // "host:port", "[v6]:port"
};

// How to log in: the same for every node of a test.
struct SshOptions {
  std::string username = "root";
  std::string private_key;  // path of the private key file (OpenSSH format)
  std::string known_hosts;  // path; empty means ~/.ssh/known_hosts
  int connect_timeout_ms = 5000;
};

struct NodeInfo {
  std::string name;     // n1; names the node in histories, logs and errors
  std::string address;  // address on the cluster network (peers, partitions)
  Endpoint ssh;
  Endpoint client;
  std::map<int, Endpoint> ports;  // node port -> endpoint on the controller
};

struct Inventory {
  SshOptions ssh;
  std::vector<NodeInfo> nodes;

  // The node called `name`, or nullptr.
  const NodeInfo* Find(std::string_view name) const;
};

// Parses inventory.json text; `source` names it in errors.
Result<Inventory> ParseInventory(std::string_view json_text, std::string_view source);
Result<Inventory> LoadInventory(const std::string& path);
std::string InventoryToJson(const Inventory& inventory);
// Writes atomically (temp file, then rename).
Status SaveInventory(const Inventory& inventory, const std::string& path);

// Real machines: each host is its own name, SSH endpoint and cluster address;
// the client endpoint is (host, client_port). known_hosts empty means
// ~/.ssh/known_hosts. Rejects an empty host list, duplicate or empty hosts and
// a port outside 1..65535.
Result<Inventory> InventoryFromHosts(const std::vector<std::string>& hosts, const SshOptions& ssh,
                                     int ssh_port, int client_port);

// Node names n1..nN and nothing else: for a system that lives in the
// controller (the memory adapter), where nodes only name the workers' contacts.
Inventory NamesOnlyInventory(int nodes);

}  // namespace chaos::control
