// Helpers shared by `chaos run` and `chaos bench`: flags, the build folder,
// the docker cluster's inventory.
#include <cstdio>
#include <filesystem>

#include "docker/cluster.h"
#include "harness/commands.h"

namespace chaos::cli {

namespace fs = std::filesystem;

Result<control::Inventory> DockerInventory(bool test_cluster) {
  docker::ClusterSpec spec = test_cluster
                                 ? docker::ClusterSpec::ForTests(docker::DefaultSourceDir())
                                 : docker::ClusterSpec::Default(docker::DefaultSourceDir());
  bool healthy = false;
  if (fs::exists(spec.InventoryPath())) {
    auto status = docker::GetStatus(spec);
    if (status.ok() && !status->empty()) {
      healthy = true;
      for (const auto& n : *status) {
        if (n.state != "running" || n.ssh != "ok") healthy = false;
      }
    }
  }
  if (!healthy) {
    std::fprintf(stderr,
                 "chaos: no cluster running; bringing up the %s docker cluster "
                 "(chaos cluster up)\n",
                 test_cluster ? "test" : "default");
    CHAOS_ASSIGN_OR_RETURN(auto report, docker::Up(spec, stderr));
    std::fprintf(stderr, "chaos: cluster up in %.1f s\n", report.total_seconds);
  }
  return control::LoadInventory(spec.InventoryPath());
}

}  // namespace chaos::cli
