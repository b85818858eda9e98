// Helpers shared by adapters for the daemon they run on a node: the node's
// session, signals and liveness by process name, and ProcessAdapter, the
// base of adapters whose system is one daemon per node.
//
// By process name (pkill/pgrep -x, which match the process's comm), never by
// command line: `-f` would also match the shell that runs pkill on the node
// (its command line names the program) and stop or kill it.
//
// Thread safety: stateless; Session serialises commands per node.
#pragma once

#include <string>

#include "adapters/adapter.h"

namespace chaos::adapters {

// The runner's session for `node`; CHAOS_CHECKs that there is one.
control::Session* SessionFor(const AdapterContext& context, const control::NodeInfo& node);

// Sends `signal` ("KILL", "STOP", "CONT") to every process named `process` on
// the node. Ok when none was running (pkill exit 1).
Status SignalProcess(control::Session* session, const std::string& process,
                     const std::string& signal);

// True if a process named `process` runs on the node.
Result<bool> ProcessRunning(control::Session* session, const std::string& process);

// An adapter whose system is one daemon per node, known by its process name:
// Kill, Pause and Resume are SIGKILL, SIGSTOP and SIGCONT to it, IsRunning
// looks for it, Teardown continues and kills it.
class ProcessAdapter : public Adapter {
 public:
  ProcessAdapter(AdapterContext context, std::string process)
      : context_(std::move(context)), process_(std::move(process)) {}

  Status Kill(const control::NodeInfo& node) override { return Signal(node, "KILL"); }
  Status Pause(const control::NodeInfo& node) override { return Signal(node, "STOP"); }
  Status Resume(const control::NodeInfo& node) override { return Signal(node, "CONT"); }
  Result<bool> IsRunning(const control::NodeInfo& node) override {
    return ProcessRunning(Session(node), process_);
  }
  Status Teardown(const control::NodeInfo& node) override {
    CHAOS_RETURN_IF_ERROR(Signal(node, "CONT"));
    return Signal(node, "KILL");
  }

 protected:
  control::Session* Session(const control::NodeInfo& node) { return SessionFor(context_, node); }
  Status Signal(const control::NodeInfo& node, const char* signal) {
    return SignalProcess(Session(node), process_, signal);
  }

  AdapterContext context_;
  std::string process_;
};

}  // namespace chaos::adapters
