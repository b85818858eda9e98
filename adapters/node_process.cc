#include "adapters/node_process.h"

#include "base/check.h"

namespace chaos::adapters {

using control::Command;

control::Session* SessionFor(const AdapterContext& context, const control::NodeInfo& node) {
  control::Session* s = context.nodes->Get(node.name);
  CHAOS_CHECK_MSG(s != nullptr, "no session for node %s", node.name.c_str());
  return s;
}

Status SignalProcess(control::Session* session, const std::string& process,
                     const std::string& signal) {
  // Through the connection's long-lived shell: one round trip, not a new
  // channel and exec. Under a test's load an exec took 0.2-0.4 s, as long as
  // the register's election timeout; a stall must end when it was meant to.
  control::RunOptions options;
  options.timeout_ms = 10'000;
  auto r =
      session->RunInShell(Command("pkill").Args({"-" + signal, "-x", process}).ToString(), options);
  if (!r.ok()) return r.status();
  if (r->exit_status > 1) {
    return Internal(session->node().name + ": pkill -" + signal + " " + process +
                    " failed: " + r->err);
  }
  return Status::Ok();
}

Result<bool> ProcessRunning(control::Session* session, const std::string& process) {
  CHAOS_ASSIGN_OR_RETURN(auto r, session->Run(Command("pgrep").Args({"-x", process})));
  return r.exit_status == 0;
}

}  // namespace chaos::adapters
