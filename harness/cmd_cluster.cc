// `chaos cluster up|down|status`: the local docker cluster (docker/cluster.h).
#include <cstdio>
#include <string>

#include "docker/cluster.h"
#include "harness/commands.h"

namespace chaos::cli {
namespace {

struct ClusterFlags {
  int nodes = 5;
  bool test_cluster = false;
};

docker::ClusterSpec SpecFrom(const ClusterFlags& flags) {
  std::string root = docker::DefaultSourceDir();
  docker::ClusterSpec spec =
      flags.test_cluster ? docker::ClusterSpec::ForTests(root) : docker::ClusterSpec::Default(root);
  spec.nodes = flags.nodes;
  return spec;
}

}  // namespace

void AddClusterCommands(CLI::App& app, int* exit_code) {
  auto* cluster = app.add_subcommand(
      "cluster", "The local docker cluster: nodes n1..nN reachable over SSH on 127.0.0.1");
  cluster->require_subcommand(1);
  auto flags = std::make_shared<ClusterFlags>();
  auto add_common = [flags](CLI::App* cmd) {
    cmd->add_flag("--test-cluster", flags->test_cluster,
                  "Use the docker tests' cluster (chaos-test, .cluster/test) instead");
  };

  auto* up = cluster->add_subcommand(
      "up", "Build the node image if missing, start the nodes, write .cluster/inventory.json");
  up->add_option("--nodes", flags->nodes, "Number of nodes (1..20)")->capture_default_str();
  add_common(up);
  up->callback([flags, exit_code] {
    auto report = docker::Up(SpecFrom(*flags), stdout);
    *exit_code = report.ok() ? kExitValid : ReportError(report.status());
  });

  auto* down = cluster->add_subcommand(
      "down", "Remove the nodes and their network (keeps the images and the key)");
  add_common(down);
  down->callback([flags, exit_code] {
    Status s = docker::Down(SpecFrom(*flags), stdout);
    *exit_code = s.ok() ? kExitValid : ReportError(s);
  });

  auto* status = cluster->add_subcommand(
      "status", "Each node: container state, SSH reachable, the system running");
  add_common(status);
  status->callback([flags, exit_code] {
    auto states = docker::GetStatus(SpecFrom(*flags));
    if (!states.ok()) {
      *exit_code = ReportError(states.status());
      return;
    }
    if (states->empty()) {
      std::printf("no cluster: no containers of ours and no inventory (chaos cluster up)\n");
      *exit_code = kExitCannotRun;
      return;
    }
    bool healthy = true;
    std::printf("%-5s %-16s %-9s %-16s %s\n", "node", "container", "state", "system", "ssh");
    for (const auto& n : *states) {
      std::printf("%-5s %-16s %-9s %-16s %s\n", n.name.c_str(), n.container.c_str(),
                  n.state.c_str(), n.system.c_str(), n.ssh.c_str());
      healthy = healthy && n.state == "running" && n.ssh == "ok";
    }
    *exit_code = healthy ? kExitValid : kExitCannotRun;
  });
}

}  // namespace chaos::cli
