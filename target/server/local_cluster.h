// LocalCluster: N chaos-register processes on 127.0.0.1, for the integration
// test and the benchmark. It picks free ports, starts each node as a child
// process (posix_spawn), can SIGKILL, SIGTERM and restart any of them, and
// kills every child it started when destroyed.
//
// Thread safety: one thread drives a LocalCluster.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace chaos::server {

struct LocalClusterOptions {
  std::string binary;    // path of chaos-register
  std::string base_dir;  // data and log files go to <base_dir>/n<i>/
  int nodes = 3;
  std::vector<std::string> extra_args;  // passed to every node (e.g. --read-mode lease)
  int64_t ready_timeout_ms = 10000;     // a node must accept TCP connections by then
};

class LocalCluster {
 public:
  // Picks ports, wipes base_dir, starts every node and waits until each listens.
  static Result<std::unique_ptr<LocalCluster>> Start(LocalClusterOptions options);
  ~LocalCluster();

  Status StartNode(int i);  // (re)starts node i and waits until it listens
  void Kill(int i);         // SIGKILL and reap
  Status Terminate(int i);  // SIGTERM, wait (bounded) for a clean exit 0
  void Pause(int i);        // SIGSTOP
  void Resume(int i);       // SIGCONT
  bool running(int i) const { return pids_[static_cast<size_t>(i)] > 0; }
  const std::vector<std::string>& addresses() const { return addresses_; }
  std::string log_path(int i) const;
  int size() const { return options_.nodes; }

 private:
  explicit LocalCluster(LocalClusterOptions options) : options_(std::move(options)) {}
  LocalClusterOptions options_;
  std::vector<std::string> addresses_;
  std::vector<pid_t> pids_;
};

}  // namespace chaos::server
