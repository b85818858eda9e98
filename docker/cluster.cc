#include "docker/cluster.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/file.h"
#include "control/command.h"
#include "control/known_hosts.h"
#include "control/ssh.h"
#include "docker/process.h"

#ifndef CHAOS_SOURCE_DIR
#define CHAOS_SOURCE_DIR "."
#endif

namespace chaos::docker {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kNodePortSsh = 22;
constexpr int kNodePortClient = 7000;  // the register's client port
constexpr int kNodePortEtcd = 2379;
constexpr int kDockerTimeoutMs = 60'000;
constexpr int kImageBuildTimeoutMs = 20 * 60'000;
constexpr int kHostKeyWaitMs = 20'000;
constexpr int kSshWaitMs = 30'000;
constexpr int kPollIntervalMs = 200;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs docker with `args`; an error unless it exits 0, naming the command and
// docker's own first line of stderr.
Result<std::string> Docker(const std::vector<std::string>& args,
                           int timeout_ms = kDockerTimeoutMs) {
  std::vector<std::string> argv = {"docker"};
  argv.insert(argv.end(), args.begin(), args.end());
  CHAOS_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(argv, {.timeout_ms = timeout_ms}));
  if (r.timed_out) {
    return Timeout(JoinArgv(argv) + ": no answer within " + std::to_string(timeout_ms) + " ms");
  }
  if (r.exit_code != 0) {
    std::string why = FirstLine(r.err);
    if (why.empty()) why = "exit " + std::to_string(r.exit_code);
    return Unavailable(JoinArgv(argv) + ": " + why);
  }
  return r.out;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

Status CheckEngine() {
  auto version = Docker({"version", "--format", "{{.Server.Version}}"}, 20'000);
  if (!version.ok()) {
    return Unavailable("the docker engine is not reachable (" + version.status().message() +
                       "); is dockerd running and may this user use it?");
  }
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot read");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<std::string> BuildImage(const ClusterSpec& spec) {
  std::string script = spec.source_dir + "/docker/build-image.sh";
  CHAOS_ASSIGN_OR_RETURN(ProcessResult r, RunProcess({script}, {.timeout_ms = kImageBuildTimeoutMs,
                                                                .inherit_stderr = true}));
  if (r.timed_out) return Timeout(script + ": the image build took longer than 20 minutes");
  std::vector<std::string> lines = Lines(r.out);
  if (r.exit_code != 0 || lines.empty()) {
    return Unavailable(script + " failed (exit " + std::to_string(r.exit_code) +
                       "); its messages are above");
  }
  return lines.back();
}

Status EnsureKey(const ClusterSpec& spec) {
  std::error_code ec;
  fs::create_directories(spec.dir, ec);
  if (ec) return IoError("cannot create the cluster folder " + spec.dir + ": " + ec.message());
  chmod(spec.dir.c_str(), 0700);
  if (fs::exists(spec.KeyPath()) && fs::exists(spec.KeyPath() + ".pub")) return Status::Ok();
  fs::remove(spec.KeyPath(), ec);
  fs::remove(spec.KeyPath() + ".pub", ec);
  CHAOS_ASSIGN_OR_RETURN(ProcessResult r,
                         RunProcess({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                                     "chaos-cluster-" + spec.name, "-f", spec.KeyPath()}));
  if (r.exit_code != 0) return IoError("ssh-keygen failed: " + FirstLine(r.err));
  return Status::Ok();
}

// Removes this cluster's containers and network (only those with our label).
Status RemoveOurs(const ClusterSpec& spec, int* containers_removed) {
  std::string label = "label=chaos.cluster=" + spec.name;
  CHAOS_ASSIGN_OR_RETURN(std::string ids, Docker({"ps", "-aq", "--filter", label}));
  std::vector<std::string> id_list = Lines(ids);
  *containers_removed = static_cast<int>(id_list.size());
  if (!id_list.empty()) {
    std::vector<std::string> args = {"rm", "-f", "-v"};
    args.insert(args.end(), id_list.begin(), id_list.end());
    CHAOS_RETURN_IF_ERROR(Docker(args).status());
  }
  CHAOS_ASSIGN_OR_RETURN(std::string nets, Docker({"network", "ls", "-q", "--filter", label}));
  for (const auto& id : Lines(nets)) CHAOS_RETURN_IF_ERROR(Docker({"network", "rm", id}).status());
  return Status::Ok();
}

std::vector<std::string> RunArgs(const ClusterSpec& spec, int i, const std::string& image,
                                 const std::string& public_key) {
  auto publish = [&](int host_port, int node_port) {
    return "127.0.0.1:" + std::to_string(host_port) + ":" + std::to_string(node_port);
  };
  return {"run",
          "-d",
          "--init",  // tini as PID 1 reaps killed daemons; our init runs sshd
          "--name",
          spec.ContainerName(i),
          "--hostname",
          spec.NodeName(i),
          "--network",
          spec.NetworkName(),
          "--ip",
          spec.NodeAddress(i),
          "--network-alias",
          spec.NodeName(i),
          "--label",
          "chaos=1",
          "--label",
          "chaos.cluster=" + spec.name,
          "--label",
          "chaos.node=" + spec.NodeName(i),
          "--cap-add",
          "NET_ADMIN",  // iptables, tc
          "--cap-add",
          "SYS_ADMIN",
          "--device",
          "/dev/fuse",  // FUSE mounts
          "-p",
          publish(spec.port_base + i, kNodePortSsh),
          "-p",
          publish(spec.port_base + 100 + i, kNodePortClient),
          "-p",
          publish(spec.port_base + 200 + i, kNodePortEtcd),
          "-e",
          "CHAOS_AUTHORIZED_KEY=" + public_key,
          image};
}

// The node's host key, read inside the container: the trusted channel.
Result<std::string> ReadHostKey(const ClusterSpec& spec, int i) {
  auto start = Clock::now();
  Status last = Status::Ok();
  for (int attempt = 0; attempt < kHostKeyWaitMs / kPollIntervalMs; ++attempt) {
    auto key =
        Docker({"exec", spec.ContainerName(i), "cat", "/etc/ssh/ssh_host_ed25519_key.pub"}, 10'000);
    if (key.ok() && !key->empty()) return key;
    last = key.ok() ? NotFound("empty host key") : key.status();
    if (SecondsSince(start) * 1000 > kHostKeyWaitMs) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollIntervalMs));
  }
  return Unavailable(spec.NodeName(i) + ": no host key after " +
                     std::to_string(kHostKeyWaitMs / 1000) + " s: " + last.message());
}

// Every node answers `true` over SSH, within kSshWaitMs (nodes in parallel).
Status WaitForSsh(const control::Inventory& inventory) {
  control::Nodes nodes(inventory);
  auto start = Clock::now();
  Status last;
  for (int attempt = 0; attempt < kSshWaitMs / kPollIntervalMs; ++attempt) {
    last = Status::Ok();
    auto results = nodes.RunOnAll(control::Command("true"), 10'000);
    for (size_t i = 0; i < results.size() && last.ok(); ++i) {
      if (!results[i].ok()) {
        last = results[i].status();
      } else if (results[i]->exit_status != 0) {
        last = Internal(inventory.nodes[i].name + ": `true` exited " +
                        std::to_string(results[i]->exit_status));
      }
    }
    if (last.ok()) return Status::Ok();
    if (SecondsSince(start) * 1000 > kSshWaitMs) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollIntervalMs));
  }
  return Unavailable("SSH did not come up within " + std::to_string(kSshWaitMs / 1000) +
                     " s: " + last.message());
}

}  // namespace

ClusterSpec ClusterSpec::Default(const std::string& source_dir) {
  ClusterSpec spec;
  spec.source_dir = source_dir;
  spec.dir = source_dir + "/.cluster";
  return spec;
}

ClusterSpec ClusterSpec::ForTests(const std::string& source_dir) {
  ClusterSpec spec = Default(source_dir);
  spec.name = "chaos-test";
  spec.subnet_octet = 1;
  spec.port_base = 43200;
  spec.dir = source_dir + "/.cluster/test";
  // CHAOS_TEST_SLOT=k (1..9) gives a separate test cluster, so that several
  // checkouts on one machine can run their docker tests at once.
  if (const char* slot = std::getenv("CHAOS_TEST_SLOT"); slot != nullptr && *slot != '\0') {
    const int k = std::atoi(slot);
    if (k >= 1 && k <= 9) {
      spec.name += std::to_string(k);
      spec.subnet_octet = 1 + k;
      spec.port_base = 43200 + 1000 * k;
      spec.dir += std::to_string(k);
    }
  }
  return spec;
}

Status ClusterSpec::Validate() const {
  if (nodes < 1 || nodes > 20) {
    return InvalidArgument("--nodes " + std::to_string(nodes) + ": must be 1..20");
  }
  if (name.empty() || name.rfind("chaos", 0) != 0) {
    return InvalidArgument("cluster name '" + name + "' must start with 'chaos'");
  }
  if (subnet_octet < 0 || subnet_octet > 255 || port_base < 1024 || port_base + 300 > 65535) {
    return InvalidArgument("bad subnet or port base");
  }
  if (dir.empty() || source_dir.empty()) return InvalidArgument("no cluster folder");
  return Status::Ok();
}

std::string ClusterSpec::ContainerName(int index) const { return name + "-" + NodeName(index); }
std::string ClusterSpec::NodeName(int index) const { return "n" + std::to_string(index); }
std::string ClusterSpec::NetworkName() const { return name + "-net"; }
std::string ClusterSpec::Subnet() const {
  return "10.77." + std::to_string(subnet_octet) + ".0/24";
}
std::string ClusterSpec::NodeAddress(int index) const {
  return "10.77." + std::to_string(subnet_octet) + "." + std::to_string(10 + index);
}
std::string ClusterSpec::InventoryPath() const { return dir + "/inventory.json"; }
std::string ClusterSpec::KnownHostsPath() const { return dir + "/known_hosts"; }
std::string ClusterSpec::KeyPath() const { return dir + "/id_ed25519"; }

std::string DefaultSourceDir() {
  const char* root = std::getenv("CHAOS_ROOT");
  if (root != nullptr && *root != '\0') return root;
  return CHAOS_SOURCE_DIR;
}

Result<UpReport> Up(const ClusterSpec& spec, std::FILE* log) {
  CHAOS_RETURN_IF_ERROR(spec.Validate());
  UpReport report;
  auto start = Clock::now();
  CHAOS_RETURN_IF_ERROR(CheckEngine());
  std::fprintf(log, "cluster %s: image...\n", spec.name.c_str());
  std::fflush(log);
  CHAOS_ASSIGN_OR_RETURN(report.image, BuildImage(spec));
  report.image_seconds = SecondsSince(start);
  std::fprintf(log, "cluster %s: image %s ready in %.1f s\n", spec.name.c_str(),
               report.image.c_str(), report.image_seconds);

  auto start_nodes = Clock::now();
  int leftovers = 0;
  CHAOS_RETURN_IF_ERROR(RemoveOurs(spec, &leftovers));
  if (leftovers > 0) {
    std::fprintf(log, "cluster %s: removed %d leftover container(s) of an earlier run\n",
                 spec.name.c_str(), leftovers);
  }
  std::error_code ec;
  fs::remove(spec.InventoryPath(), ec);
  CHAOS_RETURN_IF_ERROR(EnsureKey(spec));
  CHAOS_ASSIGN_OR_RETURN(std::string public_key, ReadFile(spec.KeyPath() + ".pub"));
  public_key = FirstLine(public_key);

  CHAOS_RETURN_IF_ERROR(
      Docker({"network", "create", "--driver", "bridge", "--subnet", spec.Subnet(), "--label",
              "chaos=1", "--label", "chaos.cluster=" + spec.name, spec.NetworkName()})
          .status());
  auto containers_start = Clock::now();
  // Containers start in parallel: each `docker run` costs about a second here.
  std::vector<Status> started(static_cast<size_t>(spec.nodes));
  {
    std::vector<std::thread> threads;
    for (int i = 1; i <= spec.nodes; ++i) {
      threads.emplace_back([&, i] {
        started[static_cast<size_t>(i - 1)] =
            Docker(RunArgs(spec, i, report.image, public_key)).status();
      });
    }
    for (auto& t : threads) t.join();
  }
  for (const auto& s : started) CHAOS_RETURN_IF_ERROR(s);
  double containers_seconds = SecondsSince(containers_start);

  control::Inventory inventory;
  inventory.ssh.username = "root";
  inventory.ssh.private_key = fs::absolute(spec.KeyPath()).string();
  inventory.ssh.known_hosts = fs::absolute(spec.KnownHostsPath()).string();
  inventory.ssh.connect_timeout_ms = 5000;
  std::string known_hosts = "# chaos cluster " + spec.name +
                            ": host keys read through docker exec (never trusted on first use)\n";
  auto phase = Clock::now();
  std::vector<Result<std::string>> host_keys(static_cast<size_t>(spec.nodes),
                                             Result<std::string>(Internal("not read")));
  {
    std::vector<std::thread> threads;
    for (int i = 1; i <= spec.nodes; ++i) {
      threads.emplace_back(
          [&, i] { host_keys[static_cast<size_t>(i - 1)] = ReadHostKey(spec, i); });
    }
    for (auto& t : threads) t.join();
  }
  for (int i = 1; i <= spec.nodes; ++i) {
    CHAOS_ASSIGN_OR_RETURN(std::string host_key, host_keys[static_cast<size_t>(i - 1)]);
    control::NodeInfo node;
    node.name = spec.NodeName(i);
    node.address = spec.NodeAddress(i);
    node.ssh = {"127.0.0.1", spec.port_base + i};
    node.client = {"127.0.0.1", spec.port_base + 100 + i};
    node.ports[kNodePortClient] = node.client;
    node.ports[kNodePortEtcd] = {"127.0.0.1", spec.port_base + 200 + i};
    CHAOS_ASSIGN_OR_RETURN(std::string line,
                           control::FormatKnownHostsLine(node.ssh.host, node.ssh.port, host_key));
    known_hosts += line;
    inventory.nodes.push_back(node);
  }
  double keys_seconds = SecondsSince(phase);
  CHAOS_RETURN_IF_ERROR(WriteFileAtomically(spec.KnownHostsPath(), known_hosts, 0644));
  phase = Clock::now();
  CHAOS_RETURN_IF_ERROR(WaitForSsh(inventory));
  double ssh_seconds = SecondsSince(phase);
  CHAOS_RETURN_IF_ERROR(control::SaveInventory(inventory, spec.InventoryPath()));
  report.start_seconds = SecondsSince(start_nodes);
  report.total_seconds = SecondsSince(start);
  std::fprintf(log,
               "cluster %s: %d nodes up and reachable over SSH in %.1f s (containers %.1f s, "
               "host keys %.1f s, first SSH %.1f s; total %.1f s)\n"
               "cluster %s: inventory %s\n",
               spec.name.c_str(), spec.nodes, report.start_seconds, containers_seconds,
               keys_seconds, ssh_seconds, report.total_seconds, spec.name.c_str(),
               spec.InventoryPath().c_str());
  return report;
}

Status Down(const ClusterSpec& spec, std::FILE* log) {
  CHAOS_RETURN_IF_ERROR(CheckEngine());
  auto start = Clock::now();
  int removed = 0;
  CHAOS_RETURN_IF_ERROR(RemoveOurs(spec, &removed));
  std::error_code ec;
  fs::remove(spec.InventoryPath(), ec);
  fs::remove(spec.KnownHostsPath(), ec);
  std::fprintf(log, "cluster %s: removed %d container(s) and network %s in %.1f s\n",
               spec.name.c_str(), removed, spec.NetworkName().c_str(), SecondsSince(start));
  return Status::Ok();
}

Result<std::vector<NodeState>> GetStatus(const ClusterSpec& spec) {
  CHAOS_RETURN_IF_ERROR(CheckEngine());
  CHAOS_ASSIGN_OR_RETURN(std::string listing,
                         Docker({"ps", "-a", "--filter", "label=chaos.cluster=" + spec.name,
                                 "--format", "{{.Names}}\t{{.State}}"}));
  std::vector<std::pair<std::string, std::string>> containers;
  for (const auto& line : Lines(listing)) {
    size_t tab = line.find('\t');
    containers.emplace_back(line.substr(0, tab),
                            tab == std::string::npos ? "?" : line.substr(tab + 1));
  }
  auto inventory = control::LoadInventory(spec.InventoryPath());
  std::vector<NodeState> states;
  int count = inventory.ok() ? static_cast<int>(inventory->nodes.size())
                             : static_cast<int>(containers.size());
  for (int i = 1; i <= count; ++i) {
    NodeState st;
    st.name = spec.NodeName(i);
    st.container = spec.ContainerName(i);
    st.state = "missing";
    for (const auto& [name, state] : containers) {
      if (name == st.container) st.state = state;
    }
    st.ssh = inventory.ok() ? "?" : "no inventory (" + inventory.status().message() + ")";
    st.system = "?";
    states.push_back(st);
  }
  if (!inventory.ok()) return states;
  // SSH to every node at once, each bounded by the connect timeout.
  control::Nodes nodes(*inventory);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < states.size(); ++i) {
    threads.emplace_back([&, i] {
      control::Session* s = nodes.Get(states[i].name);
      if (s == nullptr) return;
      auto r = s->Run(control::Command("ss").Args({"-Hltn"}), 10'000);
      if (!r.ok()) {
        states[i].ssh = r.status().message();
        return;
      }
      states[i].ssh = "ok";
      auto listening = [&](int port) {
        return r->out.find(":" + std::to_string(port) + " ") != std::string::npos;
      };
      std::string system;
      if (listening(kNodePortClient)) system += "register on " + std::to_string(kNodePortClient);
      if (listening(kNodePortEtcd)) {
        system +=
            (system.empty() ? "" : ", ") + std::string("etcd on ") + std::to_string(kNodePortEtcd);
      }
      states[i].system = system.empty() ? "not running" : system;
    });
  }
  for (auto& t : threads) t.join();
  return states;
}

Result<std::vector<std::string>> ListOurs() {
  CHAOS_ASSIGN_OR_RETURN(std::string c, Docker({"ps", "-a", "--filter", "label=chaos=1", "--format",
                                                "container {{.Names}}"}));
  CHAOS_ASSIGN_OR_RETURN(std::string n, Docker({"network", "ls", "--filter", "label=chaos=1",
                                                "--format", "network {{.Name}}"}));
  std::vector<std::string> out = Lines(c);
  for (auto& l : Lines(n)) out.push_back(l);
  return out;
}

}  // namespace chaos::docker
