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
#include <functional>
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

// How a Session::ProgramExchange ended.
enum class ProgramEnd {
  kMarker,    // the marker line came back: `out` is everything before it
  kStopped,   // ProgramOptions::stop said so, judging the stderr so far
  kExited,    // the program ended (or its channel closed) before the marker
  kTimedOut,  // no marker within ProgramOptions::timeout_ms
  kOverflow,  // output past ProgramOptions::output_limit_bytes
};

struct ProgramOutput {
  ProgramEnd end = ProgramEnd::kTimedOut;
  std::string out;  // stdout of this exchange, up to the marker line
  std::string err;  // stderr of this exchange
  int64_t duration_ms = 0;
};

struct ProgramOptions {
  int timeout_ms = 60'000;
  size_t output_limit_bytes = 1u << 20;  // per stream
  // Called with the exchange's stderr so far each time more arrives; true
  // ends the exchange at once (kStopped). Empty: never.
  std::function<bool(std::string_view err)> stop;
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

  // A long-lived program on the node, fed lines on its stdin: the
  // declarative adapter's client sessions (one redis-cli per client that
  // takes an op per line, rather than an exec per op). One per Session.
  //
  // StartProgram starts `line`, a shell line, on a channel of its own unless
  // the program an earlier call started still runs and is younger than
  // lifetime_ms / 2: true when it started one (it may still be starting: the
  // caller should wait for it to answer, e.g. an exchange of a marker only),
  // false when it kept the running one. On the node the program runs as
  // `timeout -k 2 <lifetime> sh -c LINE` in a process group of its own
  // (through sudo like every command), so it cannot outlive lifetime_ms
  // even if the controller goes away; replacing it at half that age keeps
  // the bound from ever killing a program in use. An error: no channel
  // could be opened (nothing ran).
  Result<bool> StartProgram(const std::string& line, int lifetime_ms);
  // Writes `text` (lines, each ending in a newline) to the program's stdin,
  // then reads until its stdout shows a line equal to `marker` (the caller
  // makes the program print it, e.g. with a last line "ECHO <marker>"), or
  // until another ProgramEnd. stdout and stderr are this exchange's only:
  // what came before is dropped. After any end but kMarker the program is
  // stopped (StopProgram) and the next StartProgram starts a new one; a
  // program that had ended before the call gives kExited (the text may not
  // have been written). An error: the connection was lost (the program is
  // gone, the outcome of what was written is unknown).
  Result<ProgramOutput> ProgramExchange(std::string_view text, std::string_view marker,
                                        const ProgramOptions& options);
  // Closes the program's channel and kills its process group on the node
  // (over this connection, bounded by 5 s; a process blocked on a dead
  // socket would not see its stdin close). No-op when none runs.
  void StopProgram();
  // Programs started by StartProgram so far (1 while one served every line).
  int program_count() const;

  // Successful connections so far (1 while one connection served everything).
  int connect_count() const;
  // Shells opened by RunInShell so far (1 while one shell served every line).
  int shell_count() const;

 private:
  struct Impl;
  struct LiveChannel;
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
  // Opens a channel running `line` as the long-lived channel `which` of
  // Impl (the shell or the program), replacing it.
  Status OpenLiveLocked(LiveChannel Impl::*which, const std::string& line);
  // Writes all of `text` to `channel`; on failure the connection is dropped.
  Status WriteLocked(ssh_channel_struct* channel, std::string_view text, const char* what);
  void StopProgramLocked();
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
  int program_count_ = 0;       // guarded by mu_
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
