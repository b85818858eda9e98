#include "control/ssh.h"

#include <fcntl.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "base/check.h"
#include "control/known_hosts.h"
#include "control/on_nodes.h"

namespace chaos::control {
namespace {

using Clock = std::chrono::steady_clock;

// Extra time the controller waits beyond a command's timeout for the node's
// own `timeout` to kill it and report back.
constexpr int kControllerGraceMs = 5'000;
// Seconds between the node's TERM and KILL of a timed-out command.
constexpr int kKillAfterSeconds = 2;
constexpr size_t kSftpChunkBytes = 32 * 1024;

RunOptions Within(int timeout_ms) {
  RunOptions options;
  options.timeout_ms = timeout_ms;
  return options;
}

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

void InitLibsshOnce() {
  static std::once_flag once;
  std::call_once(once, [] { ssh_init(); });
}

std::string HomePath(const std::string& rest) {
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/root") + "/" + rest;
}

// Shuts the connection's socket down when a deadline passes, which makes any
// blocking libssh call on it (SFTP has no deadline of its own in libssh 0.10)
// return an error instead of hanging. Bounded: one wait per guard.
class SocketWatchdog {
 public:
  SocketWatchdog(int fd, int timeout_ms) : fd_(fd) {
    thread_ = std::thread([this, timeout_ms] {
      std::unique_lock lock(mu_);
      if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [this] { return done_; })) {
        fired_ = true;
        if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
      }
    });
  }
  ~SocketWatchdog() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool fired() {
    std::lock_guard lock(mu_);
    return fired_;
  }

 private:
  int fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;
};

// What the channel callbacks collect for one command.
struct ChannelState {
  std::string out, err;
  size_t limit = 0;
  bool truncated = false;
  bool eof = false;
  bool closed = false;
  bool have_status = false;
  int exit_status = -1;
  bool have_signal = false;
  std::string signal;
};

int OnData(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr, void* user) {
  auto* st = static_cast<ChannelState*>(user);
  std::string& to = is_stderr ? st->err : st->out;
  size_t room = st->limit > to.size() ? st->limit - to.size() : 0;
  size_t take = std::min<size_t>(room, len);
  to.append(static_cast<const char*>(data), take);
  if (take < len) st->truncated = true;
  return static_cast<int>(len);  // consumed (kept or dropped), so the window grows
}
void OnEof(ssh_session, ssh_channel, void* user) { static_cast<ChannelState*>(user)->eof = true; }
void OnClose(ssh_session, ssh_channel, void* user) {
  static_cast<ChannelState*>(user)->closed = true;
}
void OnExitStatus(ssh_session, ssh_channel, int status, void* user) {
  auto* st = static_cast<ChannelState*>(user);
  st->have_status = true;
  st->exit_status = status;
}
void OnExitSignal(ssh_session, ssh_channel, const char* signal, int, const char*, const char*,
                  void* user) {
  auto* st = static_cast<ChannelState*>(user);
  st->have_signal = true;
  st->signal = signal ? signal : "?";
}

void Attach(ssh_channel channel, ChannelState* state, ssh_channel_callbacks_struct* callbacks) {
  *callbacks = ssh_channel_callbacks_struct{};
  callbacks->userdata = state;
  callbacks->channel_data_function = OnData;
  callbacks->channel_eof_function = OnEof;
  callbacks->channel_close_function = OnClose;
  callbacks->channel_exit_status_function = OnExitStatus;
  callbacks->channel_exit_signal_function = OnExitSignal;
  ssh_callbacks_init(callbacks);
  ssh_set_channel_callbacks(channel, callbacks);
}

enum class Polled { kDone, kDeadline, kLost };

// Polls `session` until `done()`, `deadline_ms` after `start`, or the
// connection is lost. Each wait is at most 200 ms, so `done` is asked often.
Polled PollUntil(ssh_session session, Clock::time_point start, int64_t deadline_ms,
                 const std::function<bool()>& done) {
  ssh_event event = ssh_event_new();
  ssh_event_add_session(event, session);
  Polled polled = Polled::kDone;
  while (!done()) {
    int64_t left_ms = deadline_ms - MsSince(start);
    if (left_ms <= 0) {
      polled = Polled::kDeadline;
      break;
    }
    int rc = ssh_event_dopoll(event, static_cast<int>(std::min<int64_t>(left_ms, 200)));
    if (rc == SSH_ERROR || !ssh_is_connected(session)) {
      polled = Polled::kLost;
      break;
    }
  }
  ssh_event_remove_session(event, session);
  ssh_event_free(event);
  return polled;
}

// Where the line equal to `marker` starts in `out` (a line ends in \n or
// \r\n), or npos.
size_t FindMarkerLine(const std::string& out, std::string_view marker) {
  for (size_t at = out.find(marker); at != std::string::npos; at = out.find(marker, at + 1)) {
    size_t end = at + marker.size();
    if (end < out.size() && out[end] == '\r') ++end;
    if ((at == 0 || out[at - 1] == '\n') && end < out.size() && out[end] == '\n') return at;
  }
  return std::string::npos;
}

// Reads the program's first stdout line, its process group, once it is
// there; false while it is not.
bool TakeProgramPid(std::string* out, int64_t* pid) {
  if (*pid != 0) return true;
  size_t end = out->find('\n');
  if (end == std::string::npos) return false;
  int64_t read = std::atoll(out->substr(0, end).c_str());
  *pid = read > 0 ? read : -1;  // -1: taken, but not a pid to kill
  out->erase(0, end + 1);
  return true;
}

std::string SftpErrorText(sftp_session sftp, ssh_session session) {
  int code = sftp ? sftp_get_error(sftp) : 0;
  switch (code) {
    case SSH_FX_NO_SUCH_FILE:
      return "no such file";
    case SSH_FX_PERMISSION_DENIED:
      return "permission denied";
    case SSH_FX_NO_SUCH_PATH:
      return "no such path";
    case SSH_FX_FILE_ALREADY_EXISTS:
      return "file already exists";
    case SSH_FX_WRITE_PROTECT:
      return "write-protected";
    case SSH_FX_NO_MEDIA:
      return "no media";
    default:
      break;
  }
  const char* e = ssh_get_error(session);
  return std::string("sftp error ") + std::to_string(code) + (e && *e ? std::string(": ") + e : "");
}

}  // namespace

std::string WrapForNode(const Command& command, int timeout_ms) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%d.%03d", timeout_ms / 1000, timeout_ms % 1000);
  // A simple command replaces the inner shell, so its own exit or signal is
  // what `timeout` sees.
  std::string line = (command.IsSimple() ? "exec " : "") + command.ToString();
  // `timeout` runs in a process group of its own (not in the foreground, so
  // it is started in the background with the channel's stdin handed over on
  // fd 3). It signals the whole group at the deadline, but returns as soon as
  // its direct child ends, which may leave children that ignore TERM behind:
  // after a timeout (124, or 137 when its own KILL got it) the wrapper kills
  // what is left of the group. A command killed by signal N (exit 128+N) is
  // passed on as that signal, so sshd reports exit-signal.
  std::string wrapper = "exec 3<&0; timeout -k " + std::to_string(kKillAfterSeconds) + " " +
                        seconds + " sh -c " + ShellQuote(line) +
                        " <&3 3<&- & p=$!; exec 3<&-; wait $p; rc=$?; "
                        "if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then kill -9 -$p 2>/dev/null; fi; "
                        "if [ $rc -gt 128 ] && [ $rc -le 143 ]; then kill -$((rc - 128)) $$; fi; "
                        "exit $rc";
  // sh whatever the login shell is.
  return "exec sh -c " + ShellQuote(wrapper);
}

// A channel kept open across calls (RunInShell's shell, StartProgram's
// program), with what its callbacks collect. Not movable: the callbacks
// point at `state`.
struct Session::LiveChannel {
  ssh_channel channel = nullptr;
  ChannelState state;
  ssh_channel_callbacks_struct callbacks{};

  bool Running() const {
    return channel != nullptr && !state.eof && !state.closed && ssh_channel_is_open(channel);
  }
  void Close() {
    if (channel == nullptr) return;
    ssh_remove_channel_callbacks(channel, &callbacks);
    ssh_channel_free(channel);
    channel = nullptr;
  }
};

struct Session::Impl {
  ssh_session session = nullptr;
  // RunInShell's long-lived shell, while open, and the token its
  // delimiters carry.
  LiveChannel shell;
  std::string shell_token;
  // StartProgram's program, while open: when it started, and its process
  // group on the node (its first stdout line; 0 until read).
  LiveChannel program;
  Clock::time_point program_started;
  int64_t program_pid = 0;

  ~Impl() {
    shell.Close();
    program.Close();
    if (session != nullptr) {
      ssh_disconnect(session);
      ssh_free(session);
    }
  }
};

Session::Session(NodeInfo node, SshOptions ssh) : node_(std::move(node)), ssh_(std::move(ssh)) {
  InitLibsshOnce();
  if (ssh_.known_hosts.empty()) ssh_.known_hosts = HomePath(".ssh/known_hosts");
}

Session::~Session() = default;

Status Session::Error(StatusCode code, const std::string& reason) const {
  return Status(code, node_.name + " (" + node_.ssh.ToString() + "): " + reason);
}

int Session::connect_count() const {
  std::lock_guard lock(mu_);
  return connect_count_;
}

int Session::shell_count() const {
  std::lock_guard lock(mu_);
  return shell_count_;
}

int Session::program_count() const {
  std::lock_guard lock(mu_);
  return program_count_;
}

Status Session::Connect() {
  std::lock_guard lock(mu_);
  return ConnectLocked();
}

void Session::Disconnect() {
  std::lock_guard lock(mu_);
  DisconnectLocked();
}

void Session::DisconnectLocked() { impl_.reset(); }

Status Session::ConnectLocked() {
  if (impl_ && ssh_is_connected(impl_->session)) return Status::Ok();
  impl_.reset();

  // The known_hosts file decides which key type to ask for; without an entry
  // the connection still goes ahead so the refusal can name the offered key.
  std::string key_types;
  {
    std::ifstream in(ssh_.known_hosts);
    if (!in) {
      return Error(StatusCode::kFailedPrecondition,
                   "cannot read known_hosts file " + ssh_.known_hosts +
                       " (chaos never trusts a host key on first use)");
    }
    std::stringstream text;
    text << in.rdbuf();
    auto known = ParseKnownHosts(text.str(), ssh_.known_hosts);
    if (!known.ok()) return Error(StatusCode::kInvalidArgument, known.status().message());
    for (const auto& e : FindHost(*known, node_.ssh.host, node_.ssh.port)) {
      if (key_types.find(e.key_type) != std::string::npos) continue;
      key_types += (key_types.empty() ? "" : ",") + e.key_type;
    }
  }

  auto impl = std::make_unique<Impl>();
  impl->session = ssh_new();
  if (impl->session == nullptr) return Error(StatusCode::kInternal, "ssh_new failed");
  ssh_session s = impl->session;
  int verbosity = SSH_LOG_NOLOG;
  long timeout_s = ssh_.connect_timeout_ms / 1000;
  long timeout_us = (ssh_.connect_timeout_ms % 1000) * 1000L;
  unsigned int port = static_cast<unsigned int>(node_.ssh.port);
  int no = 0;
  int yes = 1;  // TCP_NODELAY: small SFTP writes otherwise wait for delayed ACKs
  bool options_ok =
      ssh_options_set(s, SSH_OPTIONS_HOST, node_.ssh.host.c_str()) == 0 &&
      ssh_options_set(s, SSH_OPTIONS_PORT, &port) == 0 &&
      ssh_options_set(s, SSH_OPTIONS_USER, ssh_.username.c_str()) == 0 &&
      ssh_options_set(s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity) == 0 &&
      ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout_s) == 0 &&
      ssh_options_set(s, SSH_OPTIONS_TIMEOUT_USEC, &timeout_us) == 0 &&
      ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no) == 0 &&
      ssh_options_set(s, SSH_OPTIONS_NODELAY, &yes) == 0 &&
      ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, ssh_.known_hosts.c_str()) == 0 &&
      ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") == 0 &&
      (key_types.empty() || ssh_options_set(s, SSH_OPTIONS_HOSTKEYS, key_types.c_str()) == 0);
  if (!options_ok) {
    return Error(StatusCode::kInvalidArgument, std::string("bad SSH options: ") + ssh_get_error(s));
  }

  if (ssh_connect(s) != SSH_OK) {
    return Error(StatusCode::kUnavailable, std::string("cannot connect: ") + ssh_get_error(s));
  }

  // Host key: only an exact match with known_hosts is accepted.
  ssh_key server_key = nullptr;
  if (ssh_get_server_publickey(s, &server_key) != SSH_OK) {
    return Error(StatusCode::kUnavailable,
                 std::string("no host key from the server: ") + ssh_get_error(s));
  }
  std::string fingerprint = "?";
  unsigned char* hash = nullptr;
  size_t hash_len = 0;
  if (ssh_get_publickey_hash(server_key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hash_len) == 0) {
    char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hash_len);
    if (fp != nullptr) {
      fingerprint = fp;
      ssh_string_free_char(fp);
    }
    ssh_clean_pubkey_hash(&hash);
  }
  std::string offered =
      std::string(ssh_key_type_to_char(ssh_key_type(server_key))) + " " + fingerprint;
  ssh_key_free(server_key);
  std::string pattern = KnownHostsPattern(node_.ssh.host, node_.ssh.port);
  switch (ssh_session_is_known_server(s)) {
    case SSH_KNOWN_HOSTS_OK:
      break;
    case SSH_KNOWN_HOSTS_CHANGED:
      return Error(StatusCode::kFailedPrecondition,
                   "host key " + offered + " does not match the key " + ssh_.known_hosts +
                       " has for " + pattern + ": refused (changed host key)");
    case SSH_KNOWN_HOSTS_OTHER:
      return Error(StatusCode::kFailedPrecondition,
                   "host key " + offered + " is of another type than the one " + ssh_.known_hosts +
                       " has for " + pattern + ": refused");
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
      return Error(StatusCode::kFailedPrecondition, "host key " + offered + " is not in " +
                                                        ssh_.known_hosts + " for " + pattern +
                                                        ": refused (unknown host)");
    case SSH_KNOWN_HOSTS_ERROR:
    default:
      return Error(StatusCode::kFailedPrecondition, "cannot check the host key " + offered +
                                                        " against " + ssh_.known_hosts + ": " +
                                                        ssh_get_error(s));
  }

  ssh_key private_key = nullptr;
  if (ssh_pki_import_privkey_file(ssh_.private_key.c_str(), nullptr, nullptr, nullptr,
                                  &private_key) != SSH_OK) {
    return Error(StatusCode::kFailedPrecondition,
                 "cannot read private key " + ssh_.private_key +
                     " (missing, unreadable or passphrase-protected)");
  }
  int auth = ssh_userauth_publickey(s, nullptr, private_key);
  ssh_key_free(private_key);
  if (auth != SSH_AUTH_SUCCESS) {
    std::string why = auth == SSH_AUTH_DENIED ? "refused" : ssh_get_error(s);
    return Error(StatusCode::kFailedPrecondition,
                 "key " + ssh_.private_key + " " + why + " for user " + ssh_.username);
  }
  impl_ = std::move(impl);
  ++connect_count_;
  return Status::Ok();
}

Result<ssh_channel_struct*> Session::OpenChannelLocked() {
  for (int attempt = 0;; ++attempt) {
    CHAOS_RETURN_IF_ERROR(ConnectLocked());
    ssh_channel channel = ssh_channel_new(impl_->session);
    if (channel != nullptr && ssh_channel_open_session(channel) == SSH_OK) return channel;
    std::string why = ssh_get_error(impl_->session);
    if (channel != nullptr) ssh_channel_free(channel);
    DisconnectLocked();
    if (attempt == 1) return Error(StatusCode::kUnavailable, "cannot open a channel: " + why);
  }
}

Result<RemoteResult> Session::Run(const Command& command, int timeout_ms) {
  RunOptions options;
  options.timeout_ms = timeout_ms;
  return Run(command, options);
}

Result<RemoteResult> Session::Run(const Command& command, const RunOptions& options) {
  std::lock_guard lock(mu_);
  return RunLocked(command, options);
}

bool Session::Sudo() const { return ssh_.username != "root"; }

Result<RemoteResult> Session::RunLocked(const Command& command, const RunOptions& options) {
  CHAOS_CHECK_MSG(options.timeout_ms > 0, "timeout_ms %d must be positive", options.timeout_ms);
  std::string line = WrapForNode(command, options.timeout_ms);
  if (Sudo()) line = "exec sudo -n sh -c " + ShellQuote(line);

  CHAOS_ASSIGN_OR_RETURN(ssh_channel channel, OpenChannelLocked());

  ChannelState state;
  state.limit = options.output_limit_bytes;
  ssh_channel_callbacks_struct callbacks{};
  Attach(channel, &state, &callbacks);

  Clock::time_point start = Clock::now();
  auto fail = [&](const std::string& why) {
    ssh_remove_channel_callbacks(channel, &callbacks);
    ssh_channel_free(channel);
    DisconnectLocked();
    return Error(StatusCode::kUnavailable, why);
  };
  if (ssh_channel_request_exec(channel, line.c_str()) != SSH_OK) {
    return fail(std::string("cannot start the command: ") + ssh_get_error(impl_->session));
  }
  if (!options.stdin_data.empty()) {
    size_t sent = 0;
    while (sent < options.stdin_data.size()) {
      int n = ssh_channel_write(
          channel, options.stdin_data.data() + sent,
          static_cast<uint32_t>(std::min<size_t>(options.stdin_data.size() - sent, 32 * 1024)));
      if (n <= 0) return fail(std::string("writing stdin: ") + ssh_get_error(impl_->session));
      sent += static_cast<size_t>(n);
    }
  }
  ssh_channel_send_eof(channel);

  // Wait for output, EOF and the exit status or signal (in either order), or
  // close, within the controller's deadline.
  const int64_t deadline_ms = static_cast<int64_t>(options.timeout_ms) + kControllerGraceMs;
  Polled polled = PollUntil(impl_->session, start, deadline_ms, [&] {
    return state.closed || (state.eof && (state.have_status || state.have_signal));
  });
  bool lost = polled == Polled::kLost;
  bool deadline_passed = polled == Polled::kDeadline;

  RemoteResult result;
  result.duration_ms = MsSince(start);
  result.out = std::move(state.out);
  result.err = std::move(state.err);
  result.truncated = state.truncated;
  result.exit_status = state.have_status ? state.exit_status : -1;
  result.exit_signal = state.signal;
  if (lost && !(state.have_status || state.have_signal)) {
    std::string why = ssh_get_error(impl_->session);
    return fail("connection lost while running the command (its outcome is unknown)" +
                (why.empty() ? std::string() : ": " + why));
  }
  ssh_remove_channel_callbacks(channel, &callbacks);
  if (deadline_passed) {
    // The node did not report back even after its own kill: treat the
    // connection as broken.
    ssh_channel_free(channel);
    DisconnectLocked();
    result.timed_out = true;
    return result;
  }
  ssh_channel_close(channel);
  ssh_channel_free(channel);
  // The wrapper ends with 124 (TERM was enough) or KILL after a timeout; the
  // controller's clock started before the node's, so a real timeout shows
  // here as >= timeout_ms.
  if ((result.exit_status == 124 || result.exit_signal == "KILL") &&
      result.duration_ms >= options.timeout_ms) {
    result.timed_out = true;
  }
  return result;
}

void Session::CloseShellLocked() {
  if (impl_) impl_->shell.Close();
}

Status Session::OpenLiveLocked(LiveChannel Impl::*which, const std::string& line) {
  if (impl_) (impl_.get()->*which).Close();
  CHAOS_ASSIGN_OR_RETURN(ssh_channel channel, OpenChannelLocked());
  LiveChannel& live = impl_.get()->*which;
  live.state = ChannelState();
  live.channel = channel;
  Attach(channel, &live.state, &live.callbacks);
  if (ssh_channel_request_exec(channel, line.c_str()) != SSH_OK) {
    std::string why = ssh_get_error(impl_->session);
    DisconnectLocked();
    return Error(StatusCode::kUnavailable, "cannot start `" + line + "`: " + why);
  }
  return Status::Ok();
}

Status Session::WriteLocked(ssh_channel channel, std::string_view text, const char* what) {
  for (size_t sent = 0; sent < text.size();) {
    int n =
        ssh_channel_write(channel, text.data() + sent,
                          static_cast<uint32_t>(std::min<size_t>(text.size() - sent, 32 * 1024)));
    if (n <= 0) {
      std::string why = ssh_get_error(impl_->session);
      DisconnectLocked();
      return Error(StatusCode::kUnavailable, std::string("writing to the ") + what + ": " + why);
    }
    sent += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status Session::OpenShellLocked() {
  if (impl_ && impl_->shell.Running()) return Status::Ok();
  CHAOS_RETURN_IF_ERROR(OpenLiveLocked(&Impl::shell, Sudo() ? "exec sudo -n sh" : "exec sh"));
  std::random_device random;
  char token[64];
  std::snprintf(token, sizeof token, "chaos-end-%08x%08x%08x", random(), random(), random());
  impl_->shell_token = token;
  ++shell_count_;
  return Status::Ok();
}

Result<RemoteResult> Session::RunInShell(const std::string& line, const RunOptions& options) {
  CHAOS_CHECK_MSG(options.timeout_ms > 0, "timeout_ms %d must be positive", options.timeout_ms);
  CHAOS_CHECK_MSG(options.stdin_data.empty(), "RunInShell takes no stdin (%zu bytes given)",
                  options.stdin_data.size());
  std::lock_guard lock(mu_);
  CHAOS_RETURN_IF_ERROR(OpenShellLocked());
  Impl& im = *impl_;
  ChannelState& st = im.shell.state;
  st.out.clear();
  st.err.clear();
  st.truncated = false;
  // Room for the delimiters past the output's own limit.
  st.limit = options.output_limit_bytes + im.shell_token.size() + 16;
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%d.%03d", options.timeout_ms / 1000,
                options.timeout_ms % 1000);
  // The status goes to stdout after the line's output, a bare token to
  // stderr after its errors: each stream is complete at its delimiter.
  const std::string& token = im.shell_token;
  std::string text = "timeout -k 1 " + std::string(seconds) + " sh -c " + ShellQuote(line) +
                     " </dev/null; printf '\\n%s %d\\n' " + token + " $?; printf '\\n%s\\n' " +
                     token + " >&2\n";
  auto fail = [&](const std::string& why) {
    CloseShellLocked();
    return Error(StatusCode::kUnavailable, why);
  };
  Clock::time_point start = Clock::now();
  CHAOS_RETURN_IF_ERROR(WriteLocked(im.shell.channel, text, "shell"));
  const std::string out_marker = "\n" + token + " ";
  const std::string err_marker = "\n" + token + "\n";
  const int64_t deadline_ms = static_cast<int64_t>(options.timeout_ms) + kControllerGraceMs;
  size_t out_at = std::string::npos, err_at = std::string::npos, status_end = std::string::npos;
  std::string problem;
  Polled polled = PollUntil(im.session, start, deadline_ms, [&] {
    if (out_at == std::string::npos) out_at = st.out.find(out_marker);
    if (out_at != std::string::npos) status_end = st.out.find('\n', out_at + out_marker.size());
    if (err_at == std::string::npos) err_at = st.err.find(err_marker);
    if (status_end != std::string::npos && err_at != std::string::npos) return true;
    if (st.truncated) {
      problem = "output past " + std::to_string(options.output_limit_bytes) + " bytes";
    } else if (st.eof || st.closed) {
      problem = "the shell ended while the command ran (its outcome is unknown)";
    }
    return !problem.empty();
  });
  if (polled == Polled::kDeadline) {
    problem = "no answer within " + std::to_string(deadline_ms) + " ms (its outcome is unknown)";
  } else if (polled == Polled::kLost) {
    problem = "connection lost while running the command (its outcome is unknown)";
  }
  if (!problem.empty()) return fail(problem);
  RemoteResult result;
  result.duration_ms = MsSince(start);
  std::string status =
      st.out.substr(out_at + out_marker.size(), status_end - out_at - out_marker.size());
  result.exit_status = std::atoi(status.c_str());
  result.out = st.out.substr(0, out_at);
  result.err = st.err.substr(0, err_at);
  if ((result.exit_status == 124 || result.exit_status == 137) &&
      result.duration_ms >= options.timeout_ms) {
    result.timed_out = true;
  }
  return result;
}

Result<bool> Session::StartProgram(const std::string& line, int lifetime_ms) {
  CHAOS_CHECK_MSG(lifetime_ms >= 2'000, "lifetime_ms %d must be at least 2000", lifetime_ms);
  std::lock_guard lock(mu_);
  if (impl_ && impl_->program.Running() && MsSince(impl_->program_started) < lifetime_ms / 2) {
    return false;
  }
  StopProgramLocked();
  // The first stdout line is the pid of the shell that becomes `timeout`,
  // which leads a process group of its own: StopProgram kills that group.
  std::string wrapper = "echo $$; exec timeout -k " + std::to_string(kKillAfterSeconds) + " " +
                        std::to_string(lifetime_ms / 1000) + " sh -c " + ShellQuote(line);
  std::string shell = (Sudo() ? "exec sudo -n sh -c " : "exec sh -c ") + ShellQuote(wrapper);
  CHAOS_RETURN_IF_ERROR(OpenLiveLocked(&Impl::program, shell));
  // Room for the pid line and a start's output before the first exchange
  // sets the limit (another call's poll may read them first).
  impl_->program.state.limit = 64 * 1024;
  impl_->program_started = Clock::now();
  impl_->program_pid = 0;
  ++program_count_;
  return true;
}

Result<ProgramOutput> Session::ProgramExchange(std::string_view text, std::string_view marker,
                                               const ProgramOptions& options) {
  CHAOS_CHECK_MSG(options.timeout_ms > 0, "timeout_ms %d must be positive", options.timeout_ms);
  CHAOS_CHECK_MSG(!marker.empty() && marker.find('\n') == std::string_view::npos,
                  "a marker is one non-empty line (%zu bytes given)", marker.size());
  std::lock_guard lock(mu_);
  Clock::time_point start = Clock::now();
  ProgramOutput result;
  if (!impl_ || !impl_->program.Running()) {
    StopProgramLocked();
    result.end = ProgramEnd::kExited;
    return result;
  }
  ChannelState& st = impl_->program.state;
  int64_t& pid = impl_->program_pid;
  // Before the pid line has come, stdout is the program's start: kept so
  // the line can be read, and part of this exchange's output after it.
  if (TakeProgramPid(&st.out, &pid)) st.out.clear();
  st.err.clear();
  st.truncated = false;
  st.limit = options.output_limit_bytes + marker.size() + 64;
  CHAOS_RETURN_IF_ERROR(WriteLocked(impl_->program.channel, text, "program"));
  size_t err_judged = 0;
  Polled polled = PollUntil(impl_->session, start, options.timeout_ms, [&] {
    if (TakeProgramPid(&st.out, &pid)) {
      size_t at = FindMarkerLine(st.out, marker);
      if (at != std::string::npos) {
        result.end = ProgramEnd::kMarker;
        st.out.resize(at);
        return true;
      }
    }
    if (options.stop && st.err.size() > err_judged) {
      err_judged = st.err.size();
      if (options.stop(st.err)) {
        result.end = ProgramEnd::kStopped;
        return true;
      }
    }
    if (st.truncated) {
      result.end = ProgramEnd::kOverflow;
      return true;
    }
    if (st.eof || st.closed) {
      result.end = ProgramEnd::kExited;
      return true;
    }
    return false;
  });
  if (polled == Polled::kLost) {
    std::string why = ssh_get_error(impl_->session);
    DisconnectLocked();
    return Error(StatusCode::kUnavailable,
                 "connection lost while the program ran (the outcome is unknown)" +
                     (why.empty() ? std::string() : ": " + why));
  }
  if (polled == Polled::kDeadline) result.end = ProgramEnd::kTimedOut;
  result.out = std::move(st.out);
  result.err = std::move(st.err);
  st.out.clear();
  st.err.clear();
  result.duration_ms = MsSince(start);
  if (result.end != ProgramEnd::kMarker) StopProgramLocked();
  return result;
}

void Session::StopProgram() {
  std::lock_guard lock(mu_);
  StopProgramLocked();
}

void Session::StopProgramLocked() {
  if (!impl_) return;
  int64_t pid = impl_->program_pid;
  impl_->program.Close();
  impl_->program_pid = 0;
  // Closing the channel closes the program's stdin, but a program blocked
  // elsewhere (a read on a partitioned socket) would not notice.
  if (pid > 1) {
    (void)RunLocked(Command("kill").Args({"-KILL", "--", "-" + std::to_string(pid)}),
                    Within(5'000));
  }
}

Result<std::string> Session::Check(const Command& command, int timeout_ms) {
  CHAOS_ASSIGN_OR_RETURN(RemoteResult r, Run(command, timeout_ms));
  return Checked(command, timeout_ms, std::move(r));
}

Result<std::string> Session::CheckInShell(const Command& command, int timeout_ms) {
  RunOptions options;
  options.timeout_ms = timeout_ms;
  CHAOS_ASSIGN_OR_RETURN(RemoteResult r, RunInShell(command.ToString(), options));
  return Checked(command, timeout_ms, std::move(r));
}

Result<std::string> Session::Checked(const Command& command, int timeout_ms, RemoteResult r) const {
  if (r.ok()) return std::move(r.out);
  std::string err = r.err;
  while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
  std::replace(err.begin(), err.end(), '\n', ' ');
  if (err.size() > 300) err = err.substr(0, 300) + "...";
  std::string cmd = command.ToString();
  if (cmd.size() > 120) cmd = cmd.substr(0, 120) + "...";
  std::string what = r.timed_out ? "timed out after " + std::to_string(timeout_ms) + " ms"
                     : !r.exit_signal.empty() ? "killed by SIG" + r.exit_signal
                                              : "exited " + std::to_string(r.exit_status);
  return Error(r.timed_out ? StatusCode::kTimeout : StatusCode::kInternal,
               "`" + cmd + "` " + what + (err.empty() ? "" : ": " + err));
}

Status Session::Upload(const std::string& local_path, const std::string& remote_path, int mode,
                       int timeout_ms) {
  std::lock_guard lock(mu_);
  if (!Sudo()) return UploadLocked(local_path, remote_path, mode, timeout_ms);
  // As the login user into /tmp, then into place as root.
  std::string staged = StagingPath(remote_path);
  CHAOS_RETURN_IF_ERROR(UploadLocked(local_path, staged, 0600, timeout_ms));
  char octal[16];
  std::snprintf(octal, sizeof octal, "%o", static_cast<unsigned>(mode));
  std::string next = remote_path + ".chaos-upload";
  auto placed = RunLocked(Command("install")
                              .Args({"-m", octal, "-o", "root", "-g", "root", staged, next})
                              .Then(Command("mv").Args({"-f", next, remote_path}))
                              .AndAlways(Command("rm").Args({"-f", staged})),
                          Within(timeout_ms));
  if (!placed.ok()) return placed.status();
  if (!placed->ok()) {
    return Error(StatusCode::kIoError, "upload " + local_path + " -> " + remote_path +
                                           ": placing it as root failed: " + placed->err);
  }
  return Status::Ok();
}

std::string Session::StagingPath(const std::string& remote_path) const {
  std::random_device random;
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "%08x", random());
  std::string name = remote_path.substr(remote_path.rfind('/') + 1);
  return "/tmp/chaos-" + ssh_.username + "-" + suffix + "-" + name;
}

Status Session::UploadLocked(const std::string& local_path, const std::string& remote_path,
                             int mode, int timeout_ms) {
  std::ifstream in(local_path, std::ios::binary);
  if (!in) return Error(StatusCode::kNotFound, "upload: cannot read local file " + local_path);
  CHAOS_RETURN_IF_ERROR(ConnectLocked());
  ssh_session s = impl_->session;
  SocketWatchdog watchdog(ssh_get_fd(s), timeout_ms);
  std::string tmp = remote_path + ".chaos-upload";
  auto fail = [&](sftp_session sftp, const std::string& what) {
    std::string why = watchdog.fired() ? "timed out after " + std::to_string(timeout_ms) + " ms"
                                       : SftpErrorText(sftp, s);
    if (sftp != nullptr) sftp_free(sftp);
    DisconnectLocked();
    return Error(watchdog.fired() ? StatusCode::kTimeout : StatusCode::kIoError,
                 "upload " + local_path + " -> " + remote_path + ": " + what + ": " + why);
  };
  sftp_session sftp = sftp_new(s);
  if (sftp == nullptr) return fail(nullptr, "sftp");
  if (sftp_init(sftp) != SSH_OK) return fail(sftp, "sftp init");
  sftp_file file =
      sftp_open(sftp, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, static_cast<mode_t>(mode));
  if (file == nullptr) return fail(sftp, "open " + tmp);
  std::vector<char> buffer(kSftpChunkBytes);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    size_t n = static_cast<size_t>(in.gcount());
    size_t done = 0;
    while (done < n) {
      ssize_t w = sftp_write(file, buffer.data() + done, n - done);
      if (w <= 0) {
        sftp_close(file);
        return fail(sftp, "write");
      }
      done += static_cast<size_t>(w);
    }
  }
  if (sftp_close(file) != SSH_NO_ERROR) return fail(sftp, "close");
  if (sftp_chmod(sftp, tmp.c_str(), static_cast<mode_t>(mode)) != 0) return fail(sftp, "chmod");
  sftp_unlink(sftp, remote_path.c_str());  // absent is fine; rename reports real problems
  if (sftp_rename(sftp, tmp.c_str(), remote_path.c_str()) != 0) return fail(sftp, "rename");
  sftp_free(sftp);
  return Status::Ok();
}

Status Session::Download(const std::string& remote_path, const std::string& local_path,
                         int timeout_ms) {
  std::lock_guard lock(mu_);
  if (!Sudo()) return DownloadLocked(remote_path, local_path, timeout_ms);
  // Copied as root into /tmp for the login user, then fetched.
  std::string staged = StagingPath(remote_path);
  auto copied = RunLocked(Command("cp")
                              .Args({remote_path, staged})
                              .Then(Command("chown").Args({ssh_.username, staged})),
                          Within(timeout_ms));
  if (!copied.ok()) return copied.status();
  if (!copied->ok()) {
    return Error(StatusCode::kIoError,
                 "download " + remote_path + ": copying it as root failed: " + copied->err);
  }
  Status got = DownloadLocked(staged, local_path, timeout_ms);
  (void)RunLocked(Command("rm").Args({"-f", staged}), Within(30'000));
  return got;
}

Status Session::DownloadLocked(const std::string& remote_path, const std::string& local_path,
                               int timeout_ms) {
  CHAOS_RETURN_IF_ERROR(ConnectLocked());
  ssh_session s = impl_->session;
  std::string tmp = local_path + ".tmp";
  SocketWatchdog watchdog(ssh_get_fd(s), timeout_ms);
  auto fail = [&](sftp_session sftp, const std::string& what) {
    std::string why = watchdog.fired() ? "timed out after " + std::to_string(timeout_ms) + " ms"
                                       : SftpErrorText(sftp, s);
    if (sftp != nullptr) sftp_free(sftp);
    std::remove(tmp.c_str());
    DisconnectLocked();
    return Error(watchdog.fired() ? StatusCode::kTimeout : StatusCode::kIoError,
                 "download " + remote_path + " -> " + local_path + ": " + what + ": " + why);
  };
  sftp_session sftp = sftp_new(s);
  if (sftp == nullptr) return fail(nullptr, "sftp");
  if (sftp_init(sftp) != SSH_OK) return fail(sftp, "sftp init");
  sftp_file file = sftp_open(sftp, remote_path.c_str(), O_RDONLY, 0);
  if (file == nullptr) return fail(sftp, "open");
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) {
    sftp_close(file);
    sftp_free(sftp);
    return Error(StatusCode::kIoError, "download: cannot write local file " + tmp);
  }
  std::vector<char> buffer(kSftpChunkBytes);
  for (;;) {
    ssize_t n = sftp_read(file, buffer.data(), buffer.size());
    if (n == 0) break;
    if (n < 0) {
      sftp_close(file);
      return fail(sftp, "read");
    }
    out.write(buffer.data(), n);
  }
  sftp_close(file);
  sftp_free(sftp);
  out.close();
  if (!out) return Error(StatusCode::kIoError, "download: writing " + tmp + " failed");
  if (std::rename(tmp.c_str(), local_path.c_str()) != 0) {
    return Error(StatusCode::kIoError, "download: renaming " + tmp + " to " + local_path);
  }
  return Status::Ok();
}

Nodes::Nodes(const Inventory& inventory) {
  for (const auto& n : inventory.nodes) {
    sessions_.push_back(std::make_unique<Session>(n, inventory.ssh));
  }
}

Session* Nodes::Get(std::string_view name) const {
  for (const auto& s : sessions_) {
    if (s->node().name == name) return s.get();
  }
  return nullptr;
}

std::vector<Result<RemoteResult>> Nodes::RunOnAll(const Command& command, int timeout_ms) const {
  return AtOnce(sessions_.size(), [&](size_t i) { return sessions_[i]->Run(command, timeout_ms); });
}

Status Nodes::ConnectAll() const {
  return FirstError(AtOnce(sessions_.size(), [&](size_t i) { return sessions_[i]->Connect(); }));
}

}  // namespace chaos::control
