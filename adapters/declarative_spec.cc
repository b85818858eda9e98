// The declarative adapter file: parsing, placeholders, output rules.
#include "adapters/declarative_spec.h"

#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

#include "base/check.h"
#include "control/command.h"

namespace chaos::adapters {
namespace {

using history::Json;
using history::Op;
using history::OpType;

const std::set<std::string>& NodePlaceholders() {
  static const std::set<std::string> kNames = {"node",          "address",  "index",
                                               "first_address", "data_dir", "token"};
  return kNames;
}

std::set<std::string> With(std::set<std::string> names, std::initializer_list<const char*> more) {
  for (const char* m : more) names.insert(m);
  return names;
}

// Builds "<source>: <field>: <what>" errors while walking the file.
class Parser {
 public:
  explicit Parser(std::string_view source) : source_(source) {}

  Status Error(const std::string& field, const std::string& what) const {
    return InvalidArgument(source_ + ": " + field + ": " + what);
  }

  // Every key of `object` must be in `known`.
  Status OnlyKnown(const Json& object, const std::string& where,
                   const std::set<std::string>& known) const {
    for (const auto& [key, value] : object.items()) {
      if (!known.contains(key)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        return Error(where.empty() ? key : where + "." + key,
                     "unknown field (known: " + list + ")");
      }
    }
    return Status::Ok();
  }

  Result<std::string> String(const Json& object, const std::string& where, const char* key,
                             bool required, const char* what) const {
    std::string field = where.empty() ? key : where + "." + key;
    if (!object.contains(key)) {
      if (required) return Error(field, std::string("missing (") + what + ")");
      return std::string();
    }
    const Json& v = object[key];
    if (!v.is_string()) return Error(field, std::string("must be a string (") + what + ")");
    if (required && v.get<std::string>().empty()) return Error(field, "must not be empty");
    return v.get<std::string>();
  }

  Result<std::vector<std::string>> Strings(const Json& object, const std::string& where,
                                           const char* key) const {
    std::string field = where.empty() ? key : where + "." + key;
    std::vector<std::string> out;
    if (!object.contains(key)) return out;
    const Json& v = object[key];
    if (!v.is_array()) return Error(field, "must be an array of strings");
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string()) {
        return Error(field + "[" + std::to_string(i) + "]", "must be a string");
      }
      out.push_back(v[i].get<std::string>());
    }
    return out;
  }

  // A shell line must only use the placeholders in `allowed`.
  Status Placeholders(const std::string& field, const std::string& line,
                      const std::set<std::string>& allowed) const {
    std::map<std::string, std::string> values;
    for (const auto& name : allowed) values[name] = "x";
    auto expanded = ExpandPlaceholders(line, values);
    if (!expanded.ok()) return Error(field, expanded.status().message());
    return Status::Ok();
  }

  Result<std::regex> Regex(const std::string& field, const std::string& pattern) const {
    try {
      return std::regex(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return Error(field, "bad regular expression '" + pattern + "': " + e.what());
    }
  }

  Result<OutcomeRule> Rule(const Json& rule, const std::string& where) const {
    if (!rule.is_object()) return Error(where, "must be an object {stdout?, stderr?, exit?, type}");
    CHAOS_RETURN_IF_ERROR(OnlyKnown(rule, where, {"stdout", "stderr", "exit", "type"}));
    OutcomeRule out;
    CHAOS_ASSIGN_OR_RETURN(std::string type, String(rule, where, "type", true, "ok, fail or info"));
    auto parsed = history::ParseOpType(type);
    if (!parsed || *parsed == OpType::kInvoke) {
      return Error(where + ".type", "must be ok, fail or info, got '" + type + "'");
    }
    out.type = *parsed;
    for (const char* stream : {"stdout", "stderr"}) {
      if (!rule.contains(stream)) continue;
      CHAOS_ASSIGN_OR_RETURN(std::string pattern, String(rule, where, stream, false, "a regex"));
      CHAOS_ASSIGN_OR_RETURN(std::regex re, Regex(where + "." + stream, pattern));
      (std::string_view(stream) == "stdout" ? out.stdout_regex : out.stderr_regex) = std::move(re);
    }
    if (rule.contains("exit")) {
      if (!rule["exit"].is_number_integer()) return Error(where + ".exit", "must be an integer");
      out.exit_status = rule["exit"].get<int>();
    }
    return out;
  }

  Result<ClientOpSpec> ClientOp(const Json& client, const std::string& f,
                                const std::set<std::string>& placeholders) const {
    std::string where = "client." + f;
    if (!client.contains(f)) return Error(where, "missing (an object {command, outcomes})");
    const Json& op = client[f];
    if (!op.is_object()) return Error(where, "must be an object {command, outcomes}");
    CHAOS_RETURN_IF_ERROR(OnlyKnown(op, where, {"command", "outcomes"}));
    ClientOpSpec spec;
    CHAOS_ASSIGN_OR_RETURN(spec.command,
                           String(op, where, "command", true, "a shell command template"));
    CHAOS_RETURN_IF_ERROR(Placeholders(where + ".command", spec.command, placeholders));
    if (!op.contains("outcomes") || !op["outcomes"].is_array() || op["outcomes"].empty()) {
      return Error(where + ".outcomes", "missing (a non-empty array of rules)");
    }
    for (size_t i = 0; i < op["outcomes"].size(); ++i) {
      CHAOS_ASSIGN_OR_RETURN(
          OutcomeRule rule,
          Rule(op["outcomes"][i], where + ".outcomes[" + std::to_string(i) + "]"));
      spec.outcomes.push_back(std::move(rule));
    }
    return spec;
  }

  Result<ProgramSpec> Program(const Json& program) const {
    const std::string where = "client.program";
    if (!program.is_object()) return Error(where, "must be an object {command, marker}");
    CHAOS_RETURN_IF_ERROR(OnlyKnown(program, where, {"command", "marker"}));
    ProgramSpec out;
    CHAOS_ASSIGN_OR_RETURN(out.command,
                           String(program, where, "command", true, "the program's shell line"));
    CHAOS_RETURN_IF_ERROR(Placeholders(where + ".command", out.command, NodePlaceholders()));
    CHAOS_ASSIGN_OR_RETURN(
        out.marker, String(program, where, "marker", true, "a line that makes it print {marker}"));
    CHAOS_RETURN_IF_ERROR(
        Placeholders(where + ".marker", out.marker, With(NodePlaceholders(), {"marker"})));
    if (out.marker.find("{marker}") == std::string::npos) {
      return Error(where + ".marker", "must contain {marker}");
    }
    return out;
  }

 private:
  std::string source_;
};

std::string Trim(std::string_view text) {
  size_t b = text.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(b, e - b + 1));
}

bool Matches(const OutcomeRule& rule, const CommandOutput& output, const std::string& out,
             std::smatch* groups) {
  if (rule.exit_status && *rule.exit_status != output.exit_status) return false;
  if (rule.stderr_regex && !std::regex_search(output.err, *rule.stderr_regex)) return false;
  if (rule.stdout_regex && !std::regex_match(out, *groups, *rule.stdout_regex)) return false;
  return true;
}

}  // namespace

Result<std::string> ExpandPlaceholders(std::string_view line,
                                       const std::map<std::string, std::string>& values) {
  std::string out;
  size_t i = 0;
  while (i < line.size()) {
    size_t open = line.find('{', i);
    if (open == std::string_view::npos) break;
    size_t close = open + 1;
    while (close < line.size() &&
           (std::islower(static_cast<unsigned char>(line[close])) || line[close] == '_')) {
      ++close;
    }
    if (close == open + 1 || close >= line.size() || line[close] != '}') {
      // Not a placeholder ({ followed by something else): kept as written.
      out.append(line.substr(i, open + 1 - i));
      i = open + 1;
      continue;
    }
    std::string name(line.substr(open + 1, close - open - 1));
    auto it = values.find(name);
    if (it == values.end()) {
      std::string known;
      for (const auto& [k, v] : values) known += (known.empty() ? "" : " ") + ("{" + k + "}");
      return InvalidArgument("unknown placeholder {" + name + "} (known here: " + known + ")");
    }
    out.append(line.substr(i, open - i));
    out += control::ShellQuote(it->second);
    i = close + 1;
  }
  if (i < line.size()) out.append(line.substr(i));
  return out;
}

Result<DeclarativeSpec> ParseDeclarativeSpec(std::string_view json_text, std::string_view source) {
  Parser p(source);
  Json doc = Json::parse(json_text, nullptr, false);
  if (doc.is_discarded()) return InvalidArgument(std::string(source) + ": not valid JSON");
  if (!doc.is_object()) return p.Error("(top)", "must be an object");
  CHAOS_RETURN_IF_ERROR(p.OnlyKnown(
      doc, "",
      {"name", "description", "nodes", "setup", "start", "process", "daemon_log", "log_files",
       "fatal_log_patterns", "teardown", "data_dir", "faults", "workload", "client"}));
  DeclarativeSpec spec;
  CHAOS_ASSIGN_OR_RETURN(spec.name, p.String(doc, "", "name", true, "the system's name"));
  for (char c : spec.name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return p.Error("name", "only letters, digits, - and _ (it names the store folder)");
    }
  }
  CHAOS_ASSIGN_OR_RETURN(std::string nodes, p.String(doc, "", "nodes", false, "all or first"));
  if (!nodes.empty() && nodes != "all" && nodes != "first") {
    return p.Error("nodes", "must be all or first, got '" + nodes + "'");
  }
  spec.first_node_only = nodes == "first";
  CHAOS_ASSIGN_OR_RETURN(spec.start, p.String(doc, "", "start", true, "the daemon's command line"));
  CHAOS_RETURN_IF_ERROR(p.Placeholders("start", spec.start, NodePlaceholders()));
  CHAOS_ASSIGN_OR_RETURN(spec.process,
                         p.String(doc, "", "process", true, "the daemon's process name"));
  if (spec.process.size() > 15) {
    return p.Error("process", "a process name (comm) has at most 15 characters, '" + spec.process +
                                  "' has " + std::to_string(spec.process.size()));
  }
  CHAOS_ASSIGN_OR_RETURN(spec.daemon_log, p.String(doc, "", "daemon_log", false, "a path"));
  if (spec.daemon_log.empty()) spec.daemon_log = "/var/log/chaos/" + spec.name + ".log";
  if (spec.daemon_log[0] != '/') return p.Error("daemon_log", "must be an absolute path");
  CHAOS_ASSIGN_OR_RETURN(spec.data_dir, p.String(doc, "", "data_dir", false, "a path"));
  CHAOS_ASSIGN_OR_RETURN(spec.setup, p.Strings(doc, "", "setup"));
  CHAOS_ASSIGN_OR_RETURN(spec.teardown, p.Strings(doc, "", "teardown"));
  for (const char* list : {"setup", "teardown"}) {
    const auto& lines = std::string_view(list) == "setup" ? spec.setup : spec.teardown;
    for (size_t i = 0; i < lines.size(); ++i) {
      CHAOS_RETURN_IF_ERROR(p.Placeholders(std::string(list) + "[" + std::to_string(i) + "]",
                                           lines[i], NodePlaceholders()));
    }
  }
  CHAOS_ASSIGN_OR_RETURN(spec.log_files, p.Strings(doc, "", "log_files"));
  if (!doc.contains("log_files")) spec.log_files = {spec.daemon_log};
  CHAOS_ASSIGN_OR_RETURN(spec.fatal_log_patterns, p.Strings(doc, "", "fatal_log_patterns"));
  for (size_t i = 0; i < spec.fatal_log_patterns.size(); ++i) {
    if (spec.fatal_log_patterns[i].empty()) {
      return p.Error("fatal_log_patterns[" + std::to_string(i) + "]", "must not be empty");
    }
  }
  CHAOS_ASSIGN_OR_RETURN(auto faults, p.Strings(doc, "", "faults"));
  if (!doc.contains("faults")) faults = {"partition", "kill", "pause"};
  for (size_t i = 0; i < faults.size(); ++i) {
    static const std::set<std::string> kFaults = {"partition", "kill", "pause", "packet"};
    if (!kFaults.contains(faults[i])) {
      return p.Error("faults[" + std::to_string(i) + "]",
                     "'" + faults[i] + "' is not a fault a declarative adapter can take " +
                         "(partition, kill, pause, packet)");
    }
    spec.faults.insert(faults[i]);
  }

  CHAOS_ASSIGN_OR_RETURN(spec.workload,
                         p.String(doc, "", "workload", false, "register, set or counter"));
  if (spec.workload.empty()) spec.workload = "register";
  if (spec.workload != "register" && spec.workload != "set" && spec.workload != "counter") {
    return p.Error("workload", "must be register, set or counter, got '" + spec.workload + "'");
  }
  const bool keyed = spec.workload == "register";
  const char* ops = keyed ? "{read, write, cas}" : "{add, read}";
  if (!doc.contains("client"))
    return p.Error("client", std::string("missing (an object ") + ops + ")");
  const Json& client = doc["client"];
  if (!client.is_object()) return p.Error("client", std::string("must be an object ") + ops);
  CHAOS_RETURN_IF_ERROR(
      p.OnlyKnown(client, "client",
                  keyed ? std::set<std::string>{"timeout_ms", "program", "read", "write", "cas"}
                        : std::set<std::string>{"timeout_ms", "program", "add", "read"}));
  if (client.contains("program")) {
    CHAOS_ASSIGN_OR_RETURN(spec.program, p.Program(client["program"]));
  }
  if (client.contains("timeout_ms")) {
    const Json& t = client["timeout_ms"];
    if (!t.is_number_integer() || t.get<int64_t>() < 10 || t.get<int64_t>() > 600'000) {
      return p.Error("client.timeout_ms", "must be an integer from 10 to 600000");
    }
    spec.client_timeout_ms = t.get<int64_t>();
  }
  if (!keyed) {
    // One set or one counter: add takes {value}, read takes nothing.
    CHAOS_ASSIGN_OR_RETURN(spec.ops["add"],
                           p.ClientOp(client, "add", With(NodePlaceholders(), {"value"})));
    CHAOS_ASSIGN_OR_RETURN(spec.ops["read"], p.ClientOp(client, "read", NodePlaceholders()));
    spec.ops["read"].reads = spec.workload;
    return spec;
  }
  std::set<std::string> base = With(NodePlaceholders(), {"key"});
  CHAOS_ASSIGN_OR_RETURN(spec.ops["read"], p.ClientOp(client, "read", base));
  CHAOS_ASSIGN_OR_RETURN(spec.ops["write"], p.ClientOp(client, "write", With(base, {"value"})));
  CHAOS_ASSIGN_OR_RETURN(spec.ops["cas"], p.ClientOp(client, "cas", With(base, {"old", "new"})));
  return spec;
}

Result<DeclarativeSpec> LoadDeclarativeSpec(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot read the adapter file");
  std::stringstream text;
  text << in.rdbuf();
  return ParseDeclarativeSpec(text.str(), path);
}

// An ok read of a set (every integer in the text, separated by anything
// but digits and '-') or of a counter (one integer; empty reads 0). The text
// is the first capture group of the rule's stdout, or all of stdout.
Op ReadCollection(const std::string& reads, Op done, const std::string& out,
                  const std::smatch& groups) {
  std::string text = groups.size() >= 2 && groups[1].matched ? groups[1].str() : out;
  std::vector<int64_t> numbers;
  for (size_t i = 0; i < text.size();) {
    size_t start = i;
    bool minus = text[i] == '-' && i + 1 < text.size() &&
                 std::isdigit(static_cast<unsigned char>(text[i + 1]));
    if (minus || std::isdigit(static_cast<unsigned char>(text[i]))) {
      ++i;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
      int64_t value = 0;
      auto [end, ec] = std::from_chars(text.data() + start, text.data() + i, value);
      if (ec != std::errc() || end != text.data() + i) {
        done.type = OpType::kFail;
        done.error = "read a non-integer '" + text.substr(start, i - start) + "'";
        return done;
      }
      numbers.push_back(value);
    } else {
      ++i;
    }
  }
  if (reads == "set") {
    done.value = numbers;
    return done;
  }
  if (numbers.size() > 1) {
    done.type = OpType::kFail;
    done.error = "a counter read more than one integer: '" + text + "'";
    return done;
  }
  done.value = numbers.empty() ? 0 : numbers[0];
  return done;
}

// The completion that `rule`, which matched `output` (`out` is its trimmed
// stdout, `groups` the rule's stdout captures), gives `invoke`.
Op Apply(const ClientOpSpec& spec, const OutcomeRule& rule, const Op& invoke,
         const CommandOutput& output, const std::string& out, const std::smatch& groups) {
  Op done = invoke;
  done.type = rule.type;
  if (rule.type != OpType::kOk) {
    std::string why = Trim(output.err.empty() ? out : output.err);
    done.error = why.empty() ? "exit " + std::to_string(output.exit_status) : why;
    return done;
  }
  if (invoke.f != "read") return done;
  if (spec.reads != "register") return ReadCollection(spec.reads, done, out, groups);
  // An ok read: the first capture group is the value, nil if empty or absent.
  if (groups.size() < 2 || !groups[1].matched || groups[1].length() == 0) {
    done.value = history::Json::array({invoke.value[0], nullptr});
    return done;
  }
  std::string text = groups[1].str();
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    done.type = OpType::kFail;
    done.error = "read a non-integer value '" + text + "'";
    return done;
  }
  done.value = history::Json::array({invoke.value[0], value});
  return done;
}

Op InterpretOutput(const ClientOpSpec& spec, const Op& invoke, const CommandOutput& output) {
  if (output.timed_out) return Unanswered(invoke, "timed out");
  std::string out = Trim(output.out);
  for (const auto& rule : spec.outcomes) {
    std::smatch groups;
    if (Matches(rule, output, out, &groups)) return Apply(spec, rule, invoke, output, out, groups);
  }
  Op done = invoke;
  done.type = OpType::kInfo;
  std::string why = Trim(output.err.empty() ? out : output.err);
  done.error = "no outcome rule matched (exit " + std::to_string(output.exit_status) +
               (why.empty() ? "" : ": " + why) + ")";
  return done;
}

const OutcomeRule* EarlyRule(const ClientOpSpec& spec, std::string_view err) {
  size_t end = err.find('\n');
  if (end == std::string_view::npos) return nullptr;
  std::string first(err.substr(0, end + 1));
  for (const auto& rule : spec.outcomes) {
    if (!rule.stderr_regex || rule.stdout_regex || rule.exit_status) continue;
    if (std::regex_search(first, *rule.stderr_regex)) return &rule;
  }
  return nullptr;
}

Op InterpretEarly(const ClientOpSpec& spec, const Op& invoke, std::string_view err) {
  const OutcomeRule* rule = EarlyRule(spec, err);
  CHAOS_CHECK_MSG(rule != nullptr, "no early rule matches the stderr (%zu bytes)", err.size());
  CommandOutput output;
  output.err = std::string(err.substr(0, err.find('\n')));
  return Apply(spec, *rule, invoke, output, "", std::smatch());
}

Op Unanswered(const Op& invoke, std::string why) {
  // A read changes nothing: "did not happen" is always true of it.
  Op done = invoke;
  done.type = invoke.f == "read" ? OpType::kFail : OpType::kInfo;
  done.error = std::move(why);
  return done;
}

}  // namespace chaos::adapters
