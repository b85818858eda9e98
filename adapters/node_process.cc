#include "adapters/node_process.h"

#include <cctype>

#include "base/check.h"

namespace chaos::adapters {

using control::Command;

control::Session* SessionFor(const AdapterContext& context, const control::NodeInfo& node) {
  control::Session* s = context.nodes->Get(node.name);
  CHAOS_CHECK_MSG(s != nullptr, "no session for node %s", node.name.c_str());
  return s;
}

namespace {

// The long-lived shell's variable holding the pids a STOP stopped, one per
// process name (letters, digits and _ only).
std::string StoppedVariable(const std::string& process) {
  std::string name = "chaos_stopped_";
  for (char c : process) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

}  // namespace

Status SignalProcess(control::Session* session, const std::string& process,
                     const std::string& signal) {
  // Through the connection's long-lived shell: one round trip, not a new
  // channel and exec. Under a test's load an exec took 0.2-0.4 s, as long as
  // the register's election timeout; a stall must end when it was meant to.
  // STOP and CONT run bare in that shell (RunOptions::bare): STOP keeps the
  // pids it stopped in a shell variable, and CONT sends its signal to them
  // with the shell's own kill, no process started, so a stall ends within a
  // round trip of when it was meant to (through `timeout sh -c pkill` that
  // took 30-100 ms on a loaded node, 2026-12-07); pkill then continues any
  // other process of that name (one started since, or a shell reopened).
  control::RunOptions options;
  options.timeout_ms = 10'000;
  std::string pkill = Command("pkill").Args({"-" + signal, "-x", process}).ToString();
  std::string line = pkill;
  if (signal == "STOP" || signal == "CONT") {
    options.bare = true;
    std::string pids = "$" + StoppedVariable(process);
    if (signal == "STOP") {
      line = StoppedVariable(process) + "=$(" +
             Command("pgrep").Args({"-d", " ", "-x", process}).ToString() + "); [ -z \"" + pids +
             "\" ] || kill -STOP " + pids + " 2>/dev/null; " + pkill;
    } else {
      line = "[ -z \"" + pids + "\" ] || kill -CONT " + pids + " 2>/dev/null; " +
             StoppedVariable(process) + "=; " + pkill;
    }
  }
  auto r = session->RunInShell(line, options);
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
