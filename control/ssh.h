// SSH sessions to nodes: the only way chaos runs anything on a node.
//
// A Session is one SSH connection (libssh) to one node, authenticated with a
// private key, whose host key must match the known_hosts file: an unknown or
// changed key is refused with the node's name and the key's SHA256
// fingerprint, never accepted. The connection is opened on first use, reused
// for every command (one channel per command) and reopened when it broke.
//
// Commands are Command values (control/command.h), never raw text. On the
// node a command runs under `timeout -k 2 <t>` in a process group of its own
// (WrapForNode), so at the timeout the node itself kills the command's whole
// process group (TERM, then KILL two seconds later) and the result says
// timed_out. Daemons started with Command::Daemon leave that group (setsid).
// A command killed by a signal is reported as exit_signal; as in sh, a
// command that itself exits 128+N (N <= 15) reads as killed by signal N. The controller
// also keeps its own deadline (timeout + 5 s) in case the node stops
// answering altogether; then the connection is dropped and reopened later.
//
// A login user other than root (`--username admin`) must have passwordless
// sudo on the node: every command and every RunInShell shell then runs as
// root through `sudo -n` (non-interactive, so a password prompt fails at once
// instead of hanging), and SFTP goes through /tmp: an upload is written there
// as the login user and moved into place as root (install -o root), a
// download is copied there as root and handed to the login user first.
//
// Errors: every non-ok Status is one line "n1 (127.0.0.1:42201): reason".
// A command that ran and failed is not an error: its RemoteResult carries the
// exit status and stderr. An error means the command could not be run or its
// outcome is unknown (connection lost while it ran).
//
// Thread safety: a Session is safe to use from several threads; it serialises
// them (libssh sessions are not thread-safe), so commands on one node run one
// at a time. Use one Session per node, e.g. through Nodes below, and run
// nodes in parallel.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "control/command.h"
#include "control/inventory.h"

struct ssh_channel_struct;  // libssh's channel (ssh_channel)

namespace chaos::control {

struct RemoteResult {
  // The command's exit status; -1 if it ended by a signal (see exit_signal) or
  // no status arrived before the controller's deadline.
  int exit_status = -1;
  std::string exit_signal;  // "KILL", "TERM"... when killed by a signal
  std::string out;          // stdout
  std::string err;          // stderr
  bool timed_out = false;   // killed at its timeout (or the node stopped answering)
  bool truncated = false;   // output beyond RunOptions::output_limit_bytes was dropped
  int64_t duration_ms = 0;

  bool ok() const { return exit_status == 0 && !timed_out; }
};

struct RunOptions {
  int timeout_ms = 60'000;
  std::string stdin_data;                 // sent, then EOF
  size_t output_limit_bytes = 64u << 20;  // per stream
};

// The line sent to sshd for `command` (exposed for tests and logs).
std::string WrapForNode(const Command& command, int timeout_ms);

class Session {
 public:
  // No I/O here: the connection opens on first use.
  Session(NodeInfo node, SshOptions ssh);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const NodeInfo& node() const { return node_; }

  // Opens the connection if it is not open. Bounded by connect_timeout_ms.
  Status Connect();
  // Closes the connection (the next command reopens it).
  void Disconnect();

  // Runs `command` and returns its outcome (see RemoteResult).
  Result<RemoteResult> Run(const Command& command, const RunOptions& options);
  Result<RemoteResult> Run(const Command& command, int timeout_ms = 60'000);
  // Runs `command` and returns its stdout if it exited 0; otherwise an error
  // naming the node, the command's exit status (or timeout) and its stderr.
  Result<std::string> Check(const Command& command, int timeout_ms = 60'000);
  // Check, with the command run in the long-lived shell (RunInShell): one
  // round trip, for commands whose timing matters (a nemesis's faults). The
  // command must not read its stdin.
  Result<std::string> CheckInShell(const Command& command, int timeout_ms = 60'000);

  // SFTP. Upload writes `remote_path`.chaos-upload, sets `mode`, then renames
  // it over `remote_path` (so a running binary can be replaced). Download
  // writes `local_path`.tmp and renames it. Both are bounded by timeout_ms
  // (after which the connection is dropped). Parent directories must exist.
  Status Upload(const std::string& local_path, const std::string& remote_path, int mode = 0644,
                int timeout_ms = 120'000);
  Status Download(const std::string& remote_path, const std::string& local_path,
                  int timeout_ms = 120'000);

  // Runs `line`, a shell line, in this connection's long-lived shell: one
  // channel running `sh` that is opened on first use and kept, with each
  // line written to its stdin and its outcome read back up to a delimiter
  // (a random token, then the exit status), so a command costs one round
  // trip rather than a new channel and exec (the declarative adapter's
  // clients run every op this way). The line runs as
  // `timeout -k 1 <t> sh -c LINE </dev/null` in the shell: at the timeout
  // the node kills it (timed_out, exit 124 or 137). Output past
  // options.output_limit_bytes, a shell that died, the connection lost, or
  // no delimiter within timeout + 5 s closes the shell (the next line opens
  // a new one); the last two are errors (the line's outcome is unknown).
  // options.stdin_data must be empty (the line's stdin is /dev/null).
  Result<RemoteResult> RunInShell(const std::string& line, const RunOptions& options);

  // Successful connections so far (1 while one connection served everything).
  int connect_count() const;
  // Shells opened by RunInShell so far (1 while one shell served every line).
  int shell_count() const;

 private:
  struct Impl;
  // "n1 (127.0.0.1:42201): " + reason
  Status Error(StatusCode code, const std::string& reason) const;
  // Check's answer for `command`'s result `r`.
  Result<std::string> Checked(const Command& command, int timeout_ms, RemoteResult r) const;
  Status ConnectLocked();
  void DisconnectLocked();
  // A new session channel, opened. A connection that broke since its last
  // use fails here, before anything started: reconnect once and retry.
  Result<ssh_channel_struct*> OpenChannelLocked();
  Status OpenShellLocked();
  void CloseShellLocked();
  // True for a login user other than root: every command runs through
  // `sudo -n` (see the class comment).
  bool Sudo() const;
  Result<RemoteResult> RunLocked(const Command& command, const RunOptions& options);
  Status UploadLocked(const std::string& local_path, const std::string& remote_path, int mode,
                      int timeout_ms);
  Status DownloadLocked(const std::string& remote_path, const std::string& local_path,
                        int timeout_ms);
  // A fresh path under /tmp for a file on its way to or from `remote_path`.
  std::string StagingPath(const std::string& remote_path) const;

  NodeInfo node_;
  SshOptions ssh_;
  mutable std::mutex mu_;
  std::unique_ptr<Impl> impl_;  // guarded by mu_
  int connect_count_ = 0;       // guarded by mu_
  int shell_count_ = 0;         // guarded by mu_
};

// One Session per node of an inventory. The set of nodes is fixed at
// construction, so Get and the parallel helpers are thread-safe.
class Nodes {
 public:
  explicit Nodes(const Inventory& inventory);

  // The session of node `name`, or nullptr if there is no such node.
  Session* Get(std::string_view name) const;
  const std::vector<std::unique_ptr<Session>>& all() const { return sessions_; }

  // Runs `command` on every node at once (one thread per node); results in
  // inventory order.
  std::vector<Result<RemoteResult>> RunOnAll(const Command& command, int timeout_ms) const;
  // Connects to every node at once; the first error in inventory order, or ok.
  Status ConnectAll() const;

 private:
  std::vector<std::unique_ptr<Session>> sessions_;
};

}  // namespace chaos::control
