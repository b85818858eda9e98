// Data directories into the store: see node_data.h.
#include "harness/node_data.h"

#include <cstdlib>
#include <filesystem>

#include "control/command.h"
#include "control/on_nodes.h"

namespace chaos::harness {

namespace fs = std::filesystem;
using control::Command;

void DownloadDataDirs(adapters::Adapter& adapter, const control::Nodes& nodes,
                      const control::Inventory& inventory, const std::string& run_dir,
                      int64_t bytes_max, const std::function<void(const std::string&)>& log) {
  control::OnAllNodes(inventory, [&](const control::NodeInfo& node) {
    const std::string dir = adapter.DataDir(node);
    control::Session* s = nodes.Get(node.name);
    if (dir.empty() || s == nullptr) return Status::Ok();
    const std::string what = "data directory " + dir + " of " + node.name;
    auto du = s->Run(Command("du").Args({"-sb", dir}), 60'000);
    if (!du.ok() || !du->ok()) {
      log(what + ": not measured (" +
          (du.ok() ? (du->err.empty() ? "exit " + std::to_string(du->exit_status) : du->err)
                   : du.status().message()) +
          ")");
      return Status::Ok();
    }
    const int64_t bytes = std::atoll(du->out.c_str());
    if (bytes > bytes_max) {
      log(what + ": " + std::to_string(bytes) + " bytes, over the cap of " +
          std::to_string(bytes_max) + ": not downloaded");
      return Status::Ok();
    }
    const std::string remote = "/tmp/chaos-data-" + node.name + ".tar.gz";
    const std::string local_dir = run_dir + "/nodes/" + node.name;
    std::error_code ec;
    fs::create_directories(local_dir, ec);
    auto packed = s->Check(Command("tar").Args({"-C", dir, "-czf", remote, "."}), 300'000);
    Status got =
        packed.ok() ? s->Download(remote, local_dir + "/data.tar.gz", 300'000) : packed.status();
    (void)s->Run(Command("rm").Args({"-f", remote}), 30'000);
    log(what + (got.ok() ? ": " + std::to_string(bytes) + " bytes, downloaded to nodes/" +
                               node.name + "/data.tar.gz"
                         : ": download failed: " + got.message()));
    return Status::Ok();
  });
}

}  // namespace chaos::harness
