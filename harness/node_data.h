// Downloading the system's data directories into a run's store folder, as
// its logs are: after an invalid run the state the nodes kept is evidence.
//
// Thread safety: DownloadDataDirs runs one thread per node; the Session of
// each node serialises its own commands.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "adapters/adapter.h"
#include "control/inventory.h"
#include "control/ssh.h"

namespace chaos::harness {

// A node's data directory larger than this is not downloaded (the run's log
// says so): a store folder must stay small enough to keep and send.
inline constexpr int64_t kDataDirBytesMax = int64_t{64} << 20;

// For each node whose adapter has a DataDir: measures it (du -sb), and if it
// is at most `bytes_max`, packs it on the node (tar czf under /tmp), downloads
// it to run_dir/nodes/<node>/data.tar.gz and removes the node's copy. Every
// outcome (downloaded with its size, too big, missing, failed) is one `log`
// line; nothing here fails the run.
void DownloadDataDirs(adapters::Adapter& adapter, const control::Nodes& nodes,
                      const control::Inventory& inventory, const std::string& run_dir,
                      int64_t bytes_max, const std::function<void(const std::string&)>& log);

}  // namespace chaos::harness
