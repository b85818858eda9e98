// A declarative adapter file: a system under test described in JSON, for
// systems with a shell client, so no C++ is needed (`chaos run --adapter
// path/to/file.json`; examples/redis.json is a complete one).
//
//   {"name": "redis",                          required; names the test
//    "nodes": "all" | "first",                 where the system runs (default all);
//                                              "first": on the inventory's first node
//                                              only, clients on every node reach it
//    "setup": ["shell line", ...],             run once per node before start (install,
//                                              wipe the data dir); chaos first kills any
//                                              leftover `process`
//    "start": "shell line",                    the daemon; chaos runs it detached
//                                              (nohup setsid sh -c 'exec LINE >>LOG 2>&1'),
//                                              stdout and stderr appended to `daemon_log`
//    "process": "redis-server",                the daemon's process name (comm): kill,
//                                              pause and resume are SIGKILL, SIGSTOP and
//                                              SIGCONT to it (pkill -x)
//    "daemon_log": "/var/log/chaos/redis.log", default /var/log/chaos/<name>.log
//    "log_files": ["..."],                     downloaded after the run (default: the
//                                              daemon log)
//    "fatal_log_patterns": ["PANIC", ...],     text the system logs only when it caught a
//                                              safety violation itself: a run whose logs
//                                              hold one is invalid (checker "logs")
//    "teardown": ["shell line", ...],          after the daemon is killed
//    "data_dir": "/var/lib/chaos-redis",       optional
//    "faults": ["partition", "kill", "pause"], what the system can take (default these)
//    "workload": "register",                   what the client carries: register (default;
//                                              ops read, write, cas on keys), set or
//                                              counter (ops add and read, below)
//    "client": {
//      "timeout_ms": 2000,                     an op's command past this is info
//      "program": {"command": "redis-cli -h {first_address}",
//                  "marker": "ECHO {marker}"}, optional: one long-lived program per
//                                              client, fed one line per op (below)
//      "read":  {"command": "redis-cli -h {first_address} GET {key}",
//                "outcomes": [rule, ...]},
//      "write": {"command": "... SET {key} {value}", "outcomes": [...]},
//      "cas":   {"command": "... {key} {old} {new}", "outcomes": [...]}}}
//
// With "workload": "set" or "counter" the client has two ops instead:
//      "add":   {"command": "redis-cli ... SADD chaos-set {value}", "outcomes": [...]},
//      "read":  {"command": "redis-cli ... SMEMBERS chaos-set", "outcomes": [...]}
// An ok read of a set is every integer in the first capture group of the
// matching rule's stdout (or all of stdout without a group); of a counter,
// the one integer there (none reads 0).
//
// Placeholders {name} in shell lines are replaced by the value as one shell
// word, already quoted (do not put them inside quotes): everywhere {node},
// {address} (the node's cluster address), {index} (1-based), {first_address},
// {data_dir}, {token} (unique per test); in client commands also {key}; in
// write {value}; in cas {old} {new}. Any other {word} of lowercase letters and
// underscores is an error (write shell variables as $var).
//
// Client commands run ON THE NODE the client is bound to, over an SSH
// connection of the client's own (so partitions between that node and the
// system cut the client off, as they would a real client there; no port has
// to be published), in one long-lived shell per client (control/ssh.h
// Session::RunInShell): each op is one round trip, not a new exec. Each op's output is matched
// against its rules in order; the first that matches decides:
//   {"stdout": "regex", "stderr": "regex", "exit": 0, "type": "ok"|"fail"|"info"}
// Every condition given must hold: `stdout` must match the whole stdout with
// surrounding whitespace trimmed (ECMAScript regex), `stderr` must occur in
// stderr, `exit` must equal the exit status; a rule with no condition always
// matches. For an ok read the first capture group of `stdout` is the value
// read: an integer, or nil if the group is empty or did not take part. No
// rule matching, or the command timing out, gives info (a read that times
// out gives fail: it changed nothing); a client that could not reach its
// node over SSH before sending gives fail.
//
// With "program", an op's command is not a shell line but a line written
// to the stdin of one long-lived program per client: `program.command`, a
// shell line run on the client's node like the commands above (as root, over
// the client's SSH connection: control/ssh.h Session::StartProgram), started
// at the client's first op and kept, so an op costs a line and a round
// trip, not three execs. After the op's line the client writes
// `program.marker` with {marker} replaced by a fresh word (a line that
// makes the program print that word alone on a line: redis-cli's ECHO); the
// op's stdout is everything the program printed before it. Placeholders in
// these lines are quoted as in shell lines, which a program that splits its
// lines like a shell (redis-cli does, single quotes included) reads as one
// word; no value chaos puts in holds a quote or a newline. A new program is
// ready when it has answered a first marker, before the op's line is sent;
// a program that does not answer within the timeout, or ends, or shows on
// stderr what ends the op early (below), leaves the op fail: it was not
// sent. An op ends:
//   - at its marker; the exit status the rules see is 0, or 1 when the
//     program wrote to stderr during the op (redis-cli writes "Error: Server
//     closed the connection" for the op, then reconnects for the marker);
//   - early, when the first line the program wrote to stderr during the op
//     matches the `stderr` of a rule that has neither `stdout` nor `exit`:
//     that rule decides at once. Only the first line: a program that
//     reconnects for the marker line may write more, which is not the op's
//     (redis-cli's "Connection refused" then says nothing of the op);
//   - when the program ends, or at timeout_ms: the op's outcome is unknown,
//     as for a command that timed out.
// After any end but the marker the program is stopped (its process group
// killed on the node: redis-cli blocked on a partitioned socket would not
// see its stdin close) and the next op starts a new one. A program is also
// replaced between ops after half an hour (the node's own bound on it is an
// hour).
//
// Errors: a malformed file is refused with one line naming the file and the
// field ("redis.json: client.cas.outcomes[1].type: must be ok, fail or info").
//
// Thread safety: values and pure functions.
#pragma once

#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "history/op.h"

namespace chaos::adapters {

struct OutcomeRule {
  std::optional<std::regex> stdout_regex;
  std::optional<std::regex> stderr_regex;
  std::optional<int> exit_status;
  history::OpType type = history::OpType::kInfo;
};

struct ClientOpSpec {
  std::string command;  // a shell line with placeholders
  std::vector<OutcomeRule> outcomes;
  // For f read: what an ok read's output holds: "register" (one value or
  // nil), "set" (every integer in it) or "counter" (one integer).
  std::string reads = "register";
};

// A client's long-lived program (the file's "client.program").
struct ProgramSpec {
  std::string command;  // a shell line with node placeholders
  std::string marker;   // a line with {marker} (and node placeholders)
};

struct DeclarativeSpec {
  std::string name;
  bool first_node_only = false;
  std::vector<std::string> setup;
  std::string start;
  std::string process;
  std::string daemon_log;
  std::vector<std::string> log_files;
  std::vector<std::string> fatal_log_patterns;
  std::vector<std::string> teardown;
  std::string data_dir;
  std::set<std::string> faults;
  int64_t client_timeout_ms = 2000;
  std::optional<ProgramSpec> program;       // ops are lines to one program per client
  std::string workload = "register";        // register | set | counter
  std::map<std::string, ClientOpSpec> ops;  // register: read write cas; set, counter: add read
};

// Parses a declarative adapter file's text; `source` names it in errors.
Result<DeclarativeSpec> ParseDeclarativeSpec(std::string_view json_text, std::string_view source);
Result<DeclarativeSpec> LoadDeclarativeSpec(const std::string& path);

// Replaces every {name} in `line` by ShellQuote(values[name]). An unknown
// placeholder is an error naming it.
Result<std::string> ExpandPlaceholders(std::string_view line,
                                       const std::map<std::string, std::string>& values);

// What an op's command did on the node.
struct CommandOutput {
  int exit_status = -1;
  std::string out;
  std::string err;
  bool timed_out = false;
};

// The completion of `invoke` (f read|write|cas, value [key, ...]) given its
// command's output, by the op's rules (see the header comment).
history::Op InterpretOutput(const ClientOpSpec& spec, const history::Op& invoke,
                            const CommandOutput& output);

// The rule that ends an op of a client program early, given the op's
// stderr so far: the first rule with a `stderr` condition and neither
// `stdout` nor `exit` that matches the first complete line of `err`;
// nullptr when there is none (yet).
const OutcomeRule* EarlyRule(const ClientOpSpec& spec, std::string_view err);
// The completion of `invoke` ended early by EarlyRule(spec, err), which must
// not be nullptr.
history::Op InterpretEarly(const ClientOpSpec& spec, const history::Op& invoke,
                           std::string_view err);
// The completion of an op whose outcome is unknown (`why`): info, or fail
// for a read, which changes nothing.
history::Op Unanswered(const history::Op& invoke, std::string why);

}  // namespace chaos::adapters
