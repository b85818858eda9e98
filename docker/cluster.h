// The local docker cluster: `chaos cluster up|down|status`.
//
// A cluster is N containers (<name>-n1 ... <name>-nN) of the chaos node image
// (docker/build-image.sh) on a bridge network of its own (<name>-net, subnet
// 10.77.<k>.0/24, node i at 10.77.<k>.<10+i>). Everything chaos creates
// carries the labels chaos=1 and chaos.cluster=<name>, and only what carries
// them is ever removed. Each node's SSH (22), register client (7000) and etcd
// client (2379) ports are published on 127.0.0.1 only, at
// port_base + i, port_base + 100 + i and port_base + 200 + i.
//
// The cluster folder holds:
//   id_ed25519, id_ed25519.pub  the controller's key (kept across up/down)
//   known_hosts                 each node's host key, read through `docker exec`
//                               (a trusted channel), never trusted on first use
//   inventory.json              control/inventory.h; what `chaos run` reads
//
// Containers get exactly the capabilities the nemeses need: NET_ADMIN
// (iptables, tc) and SYS_ADMIN with /dev/fuse (FUSE mounts); see
// docs/docker-engine.md for what the engine allows.
//
// Thread safety: the functions run docker commands and touch the cluster
// folder; do not run two of them on the same cluster at once.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "base/status.h"
#include "control/inventory.h"

namespace chaos::docker {

struct ClusterSpec {
  std::string name = "chaos";  // prefix of containers and the network; a label value
  int nodes = 5;               // 1..20
  int subnet_octet = 0;        // k in 10.77.k.0/24
  int port_base = 42200;
  std::string dir;         // the cluster folder
  std::string source_dir;  // the repository (for docker/build-image.sh)

  // The default cluster: name chaos, folder <source_dir>/.cluster.
  static ClusterSpec Default(const std::string& source_dir);
  // The cluster of the docker-labelled tests, apart from the default one so a
  // test run never touches a cluster someone is using: name chaos-test,
  // subnet 10.77.1.0/24, ports 43201..., folder <source_dir>/.cluster/test.
  // With CHAOS_TEST_SLOT=k (1..9): chaos-test<k>, 10.77.<1+k>.0/24, ports
  // 43201 + 1000k..., folder .cluster/test<k>.
  static ClusterSpec ForTests(const std::string& source_dir);

  Status Validate() const;
  std::string ContainerName(int index) const;  // 1-based
  std::string NodeName(int index) const;       // n1
  std::string NetworkName() const;
  std::string Subnet() const;
  std::string NodeAddress(int index) const;
  std::string InventoryPath() const;
  std::string KnownHostsPath() const;
  std::string KeyPath() const;
};

// The repository: $CHAOS_ROOT if set, else the source dir chaos was built from.
std::string DefaultSourceDir();

// Progress and timings of Up, for the user and bench/RESULTS.md.
struct UpReport {
  std::string image;
  double image_seconds = 0;  // building or finding the image
  double start_seconds = 0;  // containers, keys, known_hosts, first SSH to every node
  double total_seconds = 0;
};

// Brings the cluster up: builds the image if missing, removes leftovers of
// ours (containers, network), starts the nodes, writes known_hosts and the
// inventory, and returns only once every node answers over SSH. Progress
// lines go to `log`.
Result<UpReport> Up(const ClusterSpec& spec, std::FILE* log);

// Removes the containers and the network of this cluster (by label), and the
// cluster's known_hosts and inventory; keeps the key and the images. Ok if
// nothing was there.
Status Down(const ClusterSpec& spec, std::FILE* log);

struct NodeState {
  std::string name;       // n1
  std::string container;  // chaos-n1
  std::string state;      // docker's: running, exited, paused, missing
  std::string ssh;        // "ok" or the one-line reason it failed
  std::string system;     // "register on 7000", "etcd on 2379", "not running", "?"
};

// Each node of the inventory: container state, SSH reachability, the system.
Result<std::vector<NodeState>> GetStatus(const ClusterSpec& spec);

// Names of containers and networks with the label chaos=1 (any cluster):
// what `down` of every cluster would remove.
Result<std::vector<std::string>> ListOurs();

}  // namespace chaos::docker
