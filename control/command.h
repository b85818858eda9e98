// Shell commands for nodes, built only from quoted arguments.
//
// Every command chaos runs on a node is a POSIX sh command line, and every
// piece of text that is not a fixed part of that line (a path, an address, a
// user's flag) goes through ShellQuote. Nothing in chaos builds a command by
// pasting text into a shell line: use Command.
//
//   Command("iptables").Args({"-A", "CHAOS", "-s", peer, "-j", "DROP"})
//   Command("etcd").Env("ETCD_NAME", name).Arg("--data-dir").Arg(dir)
//       .Cd("/var/lib/chaos").Daemon("/var/log/etcd.log")   // nohup ... &, prints the pid
//   Command("cat").Arg(path).Pipe(Command("sha256sum"))
//   Command("pgrep").Args({"-x", "etcd"}).Or(Command("true"))
//
// ToString() gives the line; the sshd of the node runs it with `sh -c` (see
// control/ssh.h). Thread safety: a value type; const methods are safe to call
// concurrently.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chaos::control {

// Quotes `text` so that POSIX sh reads it back as exactly one word equal to
// `text`. Words made only of [A-Za-z0-9_./=:@%+,-] stay as they are (readable
// logs); anything else is wrapped in single quotes, with ' written as '\''.
// The empty string becomes ''. A NUL byte cannot be passed through a shell and
// is refused by CHAOS_CHECK (a programmer error).
std::string ShellQuote(std::string_view text);

class Command {
 public:
  // `program` is quoted like any argument.
  explicit Command(std::string_view program);

  // Appends one argument, quoted.
  Command& Arg(std::string_view arg);
  Command& Args(const std::vector<std::string>& args);
  // Runs the command with NAME=VALUE in its environment. CHAOS_CHECKs that
  // `name` is a valid variable name ([A-Za-z_][A-Za-z0-9_]*).
  Command& Env(std::string_view name, std::string_view value);
  // Runs the command in `dir` (env -C DIR ..., so a daemon's pid stays its own).
  Command& Cd(std::string_view dir);
  // Runs the command as `user` through sudo -n (non-interactive: a password
  // prompt fails instead of hanging). For a login user other than root.
  Command& Sudo(std::string_view user = "root");
  // Redirections of this command's output / input.
  Command& StdoutTo(std::string_view path, bool append = false);
  Command& StderrTo(std::string_view path, bool append = false);
  Command& StderrToStdout();
  Command& StdinFrom(std::string_view path);

  // Combinations. The result runs `this` then `next` as sh does for
  // a && b, a || b, a ; b, a | b.
  Command& Then(const Command& next);
  Command& Or(const Command& next);
  Command& AndAlways(const Command& next);
  Command& Pipe(const Command& next);

  // Starts the command as a daemon that outlives the SSH channel and the
  // command's timeout: nohup setsid CMD >>LOG 2>&1 </dev/null & echo $!
  // (prints the daemon's pid; setsid gives it a session and process group of
  // its own, outside the group killed at a timeout). LOG is appended to, so a
  // restarted daemon keeps what the one before it wrote (a crash's last words).
  // Without the redirections a background child keeps the channel's stdout
  // open and the command never ends (INFRA.md §4).
  Command& Daemon(std::string_view log_path);

  // The sh command line.
  std::string ToString() const;
  // True if the line is one simple command (so `exec` can prefix it).
  bool IsSimple() const { return simple_; }

 private:
  // Turns a compound line into one simple command (sh -c '...'), so that env,
  // a working directory, sudo or nohup apply to all of it.
  void MakeSimple();
  // Joins with an operator: { this; } OP { next; }.
  void Join(const char* op, const Command& next);

  // Words for `env` before the command: -C DIR, NAME=VALUE (already quoted).
  std::vector<std::string> env_words_;
  std::string line_;
  // True while line_ is one simple command (program, arguments, redirections).
  bool simple_ = true;
};

}  // namespace chaos::control
