// The declarative adapter: see declarative_adapter.h.
#include "adapters/declarative_adapter.h"

#include <chrono>
#include <cstdio>
#include <random>

#include "adapters/node_process.h"

namespace chaos::adapters {
namespace {

using control::Command;
using history::Json;
using history::Op;
using history::OpType;

// An op's output beyond this is an unknown outcome (the shell or the
// client program is replaced).
constexpr size_t kOutputLimitBytes = 1 << 20;
// The node's bound on a client program; the client replaces it at half
// this age, between ops (see declarative_spec.h).
constexpr int kProgramLifetimeMs = 3'600'000;

// A shell line of the file, run by sh on the node.
Command Shell(const std::string& line) { return Command("sh").Args({"-c", line}); }

class DeclarativeClient : public Client {
 public:
  DeclarativeClient(const DeclarativeSpec& spec, std::map<std::string, std::string> values,
                    const control::NodeInfo& node, const control::SshOptions& ssh,
                    int64_t timeout_ms)
      : spec_(spec), values_(std::move(values)), session_(node, ssh), timeout_ms_(timeout_ms) {
    std::random_device random;
    char prefix[32];
    std::snprintf(prefix, sizeof prefix, "chaos-marker-%08x%08x-", random(), random());
    marker_prefix_ = prefix;
  }

  Op Invoke(const Op& invoke) override {
    if (spec_.workload != "register") return InvokeUnkeyed(invoke);
    const Json& v = invoke.value;
    auto it = spec_.ops.find(invoke.f);
    if (it == spec_.ops.end() || !v.is_array() || v.size() != 2 || !v[0].is_number_integer()) {
      return Refuse(invoke, "unsupported op " + history::Describe(invoke));
    }
    std::map<std::string, std::string> values = values_;
    values["key"] = std::to_string(v[0].get<int64_t>());
    if (invoke.f == "write") {
      if (!v[1].is_number_integer()) return Refuse(invoke, "write takes [key, value]");
      values["value"] = std::to_string(v[1].get<int64_t>());
    } else if (invoke.f == "cas") {
      if (!v[1].is_array() || v[1].size() != 2 || !v[1][0].is_number_integer() ||
          !v[1][1].is_number_integer()) {
        return Refuse(invoke, "cas takes [key, [old, new]]");
      }
      values["old"] = std::to_string(v[1][0].get<int64_t>());
      values["new"] = std::to_string(v[1][1].get<int64_t>());
    }
    return RunOp(it->second, invoke, values);
  }

 private:
  // A set or counter op: add {value}, or read. The runner's readiness probe
  // (a register write of [key, value]) runs the read command: an ok read
  // says the system is up.
  Op InvokeUnkeyed(const Op& invoke) {
    std::map<std::string, std::string> values = values_;
    if (invoke.f == "write" && invoke.value.is_array()) {
      Op read;
      read.f = "read";
      Op probe = RunOp(spec_.ops.at("read"), read, values);
      Op done = invoke;
      done.type = probe.type;
      done.error = probe.error;
      return done;
    }
    if (invoke.f == "add" && invoke.value.is_number_integer()) {
      values["value"] = std::to_string(invoke.value.get<int64_t>());
    } else if (invoke.f != "read") {
      return Refuse(invoke, "unsupported " + spec_.workload + " op " + history::Describe(invoke));
    }
    return RunOp(spec_.ops.at(invoke.f), invoke, values);
  }

  Op RunOp(const ClientOpSpec& op, const Op& invoke,
           const std::map<std::string, std::string>& values) {
    auto line = ExpandPlaceholders(op.command, values);
    if (!line.ok()) return Refuse(invoke, line.status().message());
    // Not connected: the command was never sent.
    Status connected = session_.Connect();
    if (!connected.ok()) return Refuse(invoke, connected.message());
    if (spec_.program) return RunOpInProgram(op, invoke, *line);
    // One round trip in the client's long-lived shell on its node, not a
    // new channel and exec per op.
    control::RunOptions run;
    run.timeout_ms = static_cast<int>(timeout_ms_);
    run.output_limit_bytes = kOutputLimitBytes;
    auto r = session_.RunInShell(*line, run);
    // The connection broke while the command ran: it may have run.
    if (!r.ok()) return Unanswered(invoke, r.status().message());
    CommandOutput output{r->exit_status, r->out, r->err, r->timed_out};
    return InterpretOutput(op, invoke, output);
  }

  // `line` (expanded) written to the client's client program, then a
  // marker; see declarative_spec.h for how the op ends.
  Op RunOpInProgram(const ClientOpSpec& op, const Op& invoke, const std::string& line) {
    if (line.find_first_of("\r\n") != std::string::npos) {
      return Refuse(invoke, "a client program's line must be one line: " + line);
    }
    auto start = std::chrono::steady_clock::now();
    control::ProgramOptions options;
    options.timeout_ms = static_cast<int>(timeout_ms_);
    options.output_limit_bytes = kOutputLimitBytes;
    options.stop = [&op](std::string_view err) { return EarlyRule(op, err) != nullptr; };
    auto started = StartProgram();
    if (!started.ok()) return Refuse(invoke, started.status().message());
    if (*started) {
      // Nothing of the op is sent before the new program answers a marker.
      auto ready = Exchange("", options);
      if (!ready.ok()) return Refuse(invoke, ready.status().message());
      if (ready->end != control::ProgramEnd::kMarker) {
        return Refuse(invoke, "the client program did not start: " + Why(*ready));
      }
      auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
      options.timeout_ms -= static_cast<int>(spent.count());
      if (options.timeout_ms <= 0) {
        session_.StopProgram();
        return Refuse(invoke, "the client program took the op's whole timeout to start");
      }
    }
    auto r = Exchange(line + "\n", options);
    if (!r.ok()) return Unanswered(invoke, r.status().message());
    switch (r->end) {
      case control::ProgramEnd::kMarker:
        return InterpretOutput(op, invoke, CommandOutput{r->err.empty() ? 0 : 1, r->out, r->err});
      case control::ProgramEnd::kStopped:
        return InterpretEarly(op, invoke, r->err);
      default:
        return Unanswered(invoke, Why(*r));
    }
  }

  Result<bool> StartProgram() {
    CHAOS_ASSIGN_OR_RETURN(std::string line, ExpandPlaceholders(spec_.program->command, values_));
    return session_.StartProgram(line, kProgramLifetimeMs);
  }

  // Writes `text` then the marker line with a fresh marker, and reads to it.
  Result<control::ProgramOutput> Exchange(const std::string& text,
                                          const control::ProgramOptions& options) {
    std::map<std::string, std::string> values = values_;
    std::string marker = marker_prefix_ + std::to_string(++markers_);
    values["marker"] = marker;
    CHAOS_ASSIGN_OR_RETURN(std::string marker_line,
                           ExpandPlaceholders(spec_.program->marker, values));
    return session_.ProgramExchange(text + marker_line + "\n", marker, options);
  }

  // Why an exchange ended without its marker, with what stderr said.
  static std::string Why(const control::ProgramOutput& r) {
    std::string err = r.err.substr(0, r.err.find('\n'));
    std::string what;
    switch (r.end) {
      case control::ProgramEnd::kMarker:
        return "answered";
      case control::ProgramEnd::kStopped:
        return err;
      case control::ProgramEnd::kExited:
        what = "the client program ended";
        break;
      case control::ProgramEnd::kTimedOut:
        what = "timed out";
        break;
      case control::ProgramEnd::kOverflow:
        what = "output past " + std::to_string(kOutputLimitBytes) + " bytes";
        break;
    }
    return err.empty() ? what : what + ": " + err;
  }

  static Op Refuse(const Op& invoke, std::string why) {
    Op done = invoke;
    done.type = OpType::kFail;
    done.error = std::move(why);
    return done;
  }

  const DeclarativeSpec& spec_;
  std::map<std::string, std::string> values_;
  control::Session session_;
  int64_t timeout_ms_;
  // Markers are this prefix and a count: unique to the client, fresh per
  // exchange.
  std::string marker_prefix_;
  int64_t markers_ = 0;
};

class DeclarativeAdapter : public Adapter {
 public:
  DeclarativeAdapter(DeclarativeSpec spec, AdapterContext context)
      : spec_(std::move(spec)), context_(std::move(context)) {
    std::random_device random;
    token_ = "chaos-" + std::to_string(random()) + std::to_string(random());
  }

  std::string name() const override { return spec_.name; }
  std::set<std::string> Workloads() const override { return {spec_.workload}; }
  std::set<std::string> SupportedFaults() const override { return spec_.faults; }
  std::string UnsupportedReason(const std::string& fault) const override {
    if (fault == "clock" || fault == "lose-unsynced" || fault == "corrupt" ||
        fault == "slow-disk") {
      return "a declarative adapter cannot start its system under libfaketime or on the lazy "
             "filesystem, nor list its data files";
    }
    return "not listed in the adapter file's \"faults\"";
  }

  Status Setup(const control::NodeInfo& node) override {
    control::Session* s = SessionFor(context_, node);
    CHAOS_RETURN_IF_ERROR(SignalProcess(s, spec_.process, "CONT"));
    CHAOS_RETURN_IF_ERROR(SignalProcess(s, spec_.process, "KILL"));
    if (!RunsOn(node)) return Status::Ok();
    std::string log_dir = spec_.daemon_log.substr(0, spec_.daemon_log.rfind('/'));
    CHAOS_RETURN_IF_ERROR(
        s->Check(Command("mkdir")
                     .Args({"-p", log_dir.empty() ? "/" : log_dir})
                     .Then(Command("truncate").Args({"-s", "0", spec_.daemon_log})))
            .status());
    return RunLines(node, spec_.setup, "setup");
  }

  Status Start(const control::NodeInfo& node) override {
    if (!RunsOn(node)) return Status::Ok();
    CHAOS_ASSIGN_OR_RETURN(std::string line, ExpandPlaceholders(spec_.start, Values(node)));
    // Appended, so a daemon restarted after a kill keeps its earlier output.
    Command cmd = Shell("exec " + line + " >>" + control::ShellQuote(spec_.daemon_log) + " 2>&1");
    cmd.Daemon("/dev/null");
    return SessionFor(context_, node)->Check(cmd, 10'000).status();
  }

  Status Kill(const control::NodeInfo& node) override { return Signal(node, "KILL"); }
  Status Pause(const control::NodeInfo& node) override { return Signal(node, "STOP"); }
  Status Resume(const control::NodeInfo& node) override { return Signal(node, "CONT"); }

  Result<bool> IsRunning(const control::NodeInfo& node) override {
    // A node the system does not run on is as it should be.
    if (!RunsOn(node)) return true;
    return ProcessRunning(SessionFor(context_, node), spec_.process);
  }

  Status Teardown(const control::NodeInfo& node) override {
    CHAOS_RETURN_IF_ERROR(Signal(node, "CONT"));
    CHAOS_RETURN_IF_ERROR(Signal(node, "KILL"));
    if (!RunsOn(node)) return Status::Ok();
    return RunLines(node, spec_.teardown, "teardown");
  }

  std::vector<std::string> LogFiles(const control::NodeInfo& node) const override {
    if (!RunsOn(node)) return {};
    return spec_.log_files;
  }

  std::vector<std::string> FatalLogPatterns() const override { return spec_.fatal_log_patterns; }

  std::string DataDir(const control::NodeInfo&) const override { return spec_.data_dir; }

  Result<std::optional<std::string>> Leader() override {
    // A system on the first node only has that node as its one primary;
    // otherwise the file gives no way to ask.
    if (!spec_.first_node_only) return std::optional<std::string>();
    return std::optional<std::string>(context_.inventory.nodes.front().name);
  }

  Result<std::unique_ptr<Client>> OpenClient(const control::NodeInfo& node, int64_t) override {
    int64_t timeout_ms = std::max(spec_.client_timeout_ms, context_.op_timeout_ms);
    return std::unique_ptr<Client>(std::make_unique<DeclarativeClient>(
        spec_, Values(node), node, context_.inventory.ssh, timeout_ms));
  }

 private:
  bool RunsOn(const control::NodeInfo& node) const {
    return !spec_.first_node_only || context_.inventory.nodes.front().name == node.name;
  }

  Status Signal(const control::NodeInfo& node, const char* signal) {
    if (!RunsOn(node)) return Status::Ok();
    return SignalProcess(SessionFor(context_, node), spec_.process, signal);
  }

  std::map<std::string, std::string> Values(const control::NodeInfo& node) const {
    int index = 0;
    for (size_t i = 0; i < context_.inventory.nodes.size(); ++i) {
      if (context_.inventory.nodes[i].name == node.name) index = static_cast<int>(i) + 1;
    }
    return {{"node", node.name},
            {"address", node.address},
            {"index", std::to_string(index)},
            {"first_address", context_.inventory.nodes.front().address},
            {"data_dir", spec_.data_dir},
            {"token", token_}};
  }

  Status RunLines(const control::NodeInfo& node, const std::vector<std::string>& lines,
                  const char* what) {
    for (size_t i = 0; i < lines.size(); ++i) {
      CHAOS_ASSIGN_OR_RETURN(std::string line, ExpandPlaceholders(lines[i], Values(node)));
      auto r = SessionFor(context_, node)->Run(Shell(line), 300'000);
      if (!r.ok()) return r.status();
      if (!r->ok()) {
        std::string err = r->err.empty() ? r->out : r->err;
        while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
        return Internal(
            node.name + ": " + spec_.name + " " + what + "[" + std::to_string(i) + "] (" + line +
            ") failed" +
            (r->timed_out ? " (timed out)" : " with exit " + std::to_string(r->exit_status)) +
            (err.empty() ? "" : ": " + err));
      }
    }
    return Status::Ok();
  }

  DeclarativeSpec spec_;
  AdapterContext context_;
  std::string token_;
};

}  // namespace

std::unique_ptr<Adapter> MakeDeclarativeAdapter(DeclarativeSpec spec, AdapterContext context) {
  return std::make_unique<DeclarativeAdapter>(std::move(spec), std::move(context));
}

}  // namespace chaos::adapters
