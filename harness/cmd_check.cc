// chaos check FILE...: re-checks recorded histories (JSONL or Jepsen EDN).
//
// Prints one verdict line per file (and, for an invalid one, the
// counterexample), then a summary. Exit status: 0 every file valid, 1 some
// file invalid, 2 some file unknown (and none invalid), 3 some file unusable
// (one line naming the file and the position).
//
// With --keyed and only the linearizable checker, a file of kStreamBytes or
// more is checked as it streams by (checker.h, CheckLinearizableStream): two
// passes over the file, each key checked once its last op is read, so memory
// is what the keys in flight hold, not the history. A smaller file, or a pipe,
// is read once and held whole: cheaper than a second pass.
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/strings.h"
#include "checker/checker.h"
#include "checker/others.h"
#include "checker/txn/txn.h"
#include "harness/commands.h"
#include "history/codec.h"

namespace chaos::cli {
namespace {

// "60s", "1500ms", "2m", "1h", "90" (seconds).
Result<double> ParseSeconds(const std::string& text) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (...) {
    return InvalidArgument("bad duration '" + text + "' (e.g. 60s, 500ms, 2m)");
  }
  std::string unit = text.substr(used);
  double scale = unit.empty() || unit == "s" ? 1
                 : unit == "ms"              ? 1e-3
                 : unit == "us"              ? 1e-6
                 : unit == "m"               ? 60
                 : unit == "h"               ? 3600
                                             : -1;
  if (scale < 0 || !(v > 0))
    return InvalidArgument("bad duration '" + text + "' (e.g. 60s, 500ms, 2m)");
  return v * scale;
}

// "4G", "512M", "100K", "1000000" (bytes).
Result<int64_t> ParseBytes(const std::string& text) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (...) {
    return InvalidArgument("bad size '" + text + "' (e.g. 4G, 512M)");
  }
  std::string unit = text.substr(used);
  if (!unit.empty() && unit.back() == 'B') unit.pop_back();
  if (!unit.empty() && unit.back() == 'i') unit.pop_back();
  double scale = unit.empty()                 ? 1
                 : unit == "K" || unit == "k" ? 1024.0
                 : unit == "M" || unit == "m" ? 1024.0 * 1024
                 : unit == "G" || unit == "g" ? 1024.0 * 1024 * 1024
                 : unit == "T" || unit == "t" ? 1024.0 * 1024 * 1024 * 1024
                                              : -1;
  if (scale < 0 || !(v > 0)) return InvalidArgument("bad size '" + text + "' (e.g. 4G, 512M)");
  return static_cast<int64_t>(v * scale);
}

Result<nlohmann::json> ParseInitial(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded()) return j;
  auto edn = history::ParseEdnValue(text);
  if (!edn.ok()) return InvalidArgument("bad --initial '" + text + "': not JSON or EDN");
  return *edn;
}

struct Flags {
  std::vector<std::string> files;
  std::string model = "cas-register";
  bool keyed = false;
  std::string checkers = "linearizable";
  std::string time_limit = "60s";
  std::string memory_limit = "4G";
  std::string initial;
  std::string nil_read = "unknown";
  std::string failed_cas = "void";
  int threads = 0;
  bool json = false;
  std::string results;
  bool no_shrink = false;
  std::string consistency = "serializable";
};

// Writes --results, prints the summary line and gives the exit status.
int Finish(const Flags& flags, const nlohmann::json& all, const int counts[3], int unusable,
           checker::Verdict worst) {
  if (!flags.results.empty()) {
    std::ofstream f(flags.results);
    f << (all.size() == 1 ? all[0] : all).dump(2) << "\n";
    if (!f.good()) return ReportError(IoError("cannot write " + flags.results));
  }
  if (!flags.json) {
    std::printf("%zu file(s): %d valid, %d invalid, %d unknown, %d unusable\n", flags.files.size(),
                counts[0], counts[1], counts[2], unusable);
  }
  if (unusable > 0) return kExitCannotRun;
  if (worst == checker::Verdict::kInvalid) return kExitInvalid;
  if (worst == checker::Verdict::kUnknown) return kExitUnknown;
  return kExitValid;
}

// --model list-append / rw-register: the transactional checker, streaming
// each file (a history is never held whole).
int RunTxn(const Flags& flags) {
  checker::txn::TxnOptions options;
  options.workload = flags.model == "list-append" ? checker::txn::Workload::kListAppend
                                                  : checker::txn::Workload::kRwRegister;
  if (!checker::txn::ParseConsistency(flags.consistency, &options.consistency)) {
    return ReportError(
        InvalidArgument("--consistency must be one of read-committed, "
                        "snapshot-isolation, serializable, "
                        "strong-session-serializable, strict-serializable"));
  }
  int counts[3] = {0, 0, 0};
  int unusable = 0;
  checker::Verdict worst = checker::Verdict::kValid;
  nlohmann::json all = nlohmann::json::array();
  for (const std::string& file : flags.files) {
    auto reader = history::OpenHistory(file);
    checker::txn::TxnResult r;
    if (reader.ok()) r = checker::txn::CheckTxnStream(**reader, options);
    if (!reader.ok() || r.input_error) {
      ++unusable;
      const std::string cause = reader.ok() ? file + ": " + r.cause : reader.status().message();
      std::fprintf(stderr, "chaos: %s\n", cause.c_str());
      all.push_back({{"file", file}, {"valid", "unknown"}, {"error", cause}});
      continue;
    }
    nlohmann::json j = r.ToJson();
    j["checker"] = flags.model;
    j["file"] = file;
    worst = checker::Merge(worst, r.verdict);
    counts[static_cast<int>(r.verdict)]++;
    if (flags.json) {
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("%s: %s (%lld txns, %lld edges, %lld ms)\n  %s", file.c_str(),
                  checker::VerdictName(r.verdict), static_cast<long long>(r.stats.txns),
                  static_cast<long long>(r.stats.edges), static_cast<long long>(r.stats.ms),
                  r.Explain().c_str());
    }
    all.push_back(std::move(j));
  }
  return Finish(flags, all, counts, unusable, worst);
}

// One file's linearizability result: JSON, or the verdict line and, unless
// valid, the explanation indented under it.
void PrintLinearizable(const Flags& flags, const std::string& file, const checker::CheckResult& r,
                       const nlohmann::json& j) {
  if (flags.json) {
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("%s: %s (%lld ops, %lld states, %lld ms)\n", file.c_str(),
              checker::VerdictName(r.verdict), static_cast<long long>(r.ops),
              static_cast<long long>(r.stats.states), static_cast<long long>(r.stats.ms));
  if (r.verdict == checker::Verdict::kValid) return;
  std::istringstream in(r.Explain());
  std::string l;
  std::getline(in, l);  // the verdict, already said
  while (std::getline(in, l)) std::printf("  %s\n", l.c_str());
}

// Keyed files this large are streamed (see the top of this file).
constexpr std::uintmax_t kStreamBytes = 16u << 20;

bool Streamable(const std::string& file) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error)) return false;
  const std::uintmax_t size = std::filesystem::file_size(file, error);
  return !error && size >= kStreamBytes;
}

// The linearizability options the flags give; InvalidArgument naming a bad one.
Result<checker::LinearizableOptions> LinearizableOptionsOf(const Flags& flags) {
  checker::LinearizableOptions options;
  options.model = flags.model;
  options.keyed = flags.keyed;
  options.threads = flags.threads;
  options.shrink = !flags.no_shrink;
  CHAOS_ASSIGN_OR_RETURN(options.time_limit_s, ParseSeconds(flags.time_limit));
  CHAOS_ASSIGN_OR_RETURN(options.memory_limit_bytes, ParseBytes(flags.memory_limit));
  if (!flags.initial.empty()) {
    CHAOS_ASSIGN_OR_RETURN(options.initial, ParseInitial(flags.initial));
  }
  if (flags.nil_read != "unknown" && flags.nil_read != "value") {
    return InvalidArgument("--nil-read must be unknown or value");
  }
  options.nil_read =
      flags.nil_read == "value" ? checker::NilRead::kValue : checker::NilRead::kUnknown;
  if (flags.failed_cas != "void" && flags.failed_cas != "mismatch") {
    return InvalidArgument("--failed-cas must be void or mismatch");
  }
  options.failed_cas =
      flags.failed_cas == "mismatch" ? checker::FailedCas::kMismatch : checker::FailedCas::kVoid;
  CHAOS_RETURN_IF_ERROR(checker::ValidateLinearizableOptions(options));
  return options;
}

// One history checked whole by the checkers `names`.
struct WholeCheck {
  checker::CheckerOutput out;  // merged when there are several checkers
  std::string explain;         // the linearizability verdict explained, unless valid
  bool input_error = false;    // the history is unusable: `input_cause` says why
  std::string input_cause;
};

WholeCheck CheckWhole(const history::History& h, const std::vector<std::string>& names,
                      const checker::LinearizableOptions& options) {
  WholeCheck check;
  std::vector<checker::CheckerOutput> outputs;
  for (const std::string& n : names) {
    if (n == "linearizable") {
      checker::CheckResult r = checker::CheckLinearizable(h, options);
      if (r.input_error) {
        check.input_error = true;
        check.input_cause = r.cause;
      }
      if (r.verdict != checker::Verdict::kValid) check.explain += r.Explain();
      outputs.push_back({"linearizable", r.verdict, r.ToJson()});
    } else {
      auto o = checker::RunChecker(n, h, options);
      outputs.push_back(std::move(*o));
    }
  }
  check.out = outputs.size() == 1 ? std::move(outputs[0]) : checker::Compose(std::move(outputs));
  return check;
}

// A history checked whole: JSON, or the verdict line (with the
// linearizability statistics), the explanation indented under it and each
// other checker's verdict.
void PrintWhole(const Flags& flags, const std::string& file, size_t ops, const WholeCheck& check,
                size_t checker_count) {
  const checker::CheckerOutput& out = check.out;
  if (flags.json) {
    std::printf("%s\n", out.result.dump().c_str());
    return;
  }
  std::string line = file + ": " + checker::VerdictName(out.verdict);
  nlohmann::json lin = out.result;
  if (checker_count > 1) {
    lin = out.result["results"].contains("linearizable") ? out.result["results"]["linearizable"]
                                                         : nlohmann::json();
  }
  if (lin.is_object() && lin.contains("stats")) {
    line += " (" + std::to_string(ops) + " ops, " +
            std::to_string(lin["stats"]["states"].get<int64_t>()) + " states, " +
            std::to_string(static_cast<int64_t>(lin["stats"]["ms"].get<double>())) + " ms)";
  }
  std::printf("%s\n", line.c_str());
  if (!check.explain.empty()) {
    std::istringstream in(check.explain);
    std::string l;
    bool first = true;
    while (std::getline(in, l)) {
      if (!first) std::printf("  %s\n", l.c_str());
      first = false;
    }
  }
  const nlohmann::json results =
      out.result.contains("results") ? out.result["results"] : nlohmann::json::object();
  for (const auto& [name, r] : results.items()) {
    if (name == "linearizable") continue;
    std::printf(
        "  %s: %s\n", name.c_str(),
        r["valid"].is_boolean() ? (r["valid"].get<bool>() ? "valid" : "invalid") : "unknown");
  }
}

int Run(const Flags& flags) {
  if (flags.model == "list-append" || flags.model == "rw-register") return RunTxn(flags);
  Result<checker::LinearizableOptions> resolved = LinearizableOptionsOf(flags);
  if (!resolved.ok()) return ReportError(resolved.status());
  const checker::LinearizableOptions& options = *resolved;
  std::vector<std::string> names = SplitCommas(flags.checkers);
  if (names.empty()) return ReportError(InvalidArgument("--checker names no checker"));
  for (const std::string& n : names) {
    auto probe = checker::RunChecker(n, history::History(), options);
    if (!probe.ok()) return ReportError(probe.status());
  }

  int counts[3] = {0, 0, 0};
  int unusable = 0;
  checker::Verdict worst = checker::Verdict::kValid;
  nlohmann::json all = nlohmann::json::array();
  auto refuse = [&](const std::string& file, const std::string& cause) {
    ++unusable;
    all.push_back({{"file", file}, {"valid", "unknown"}, {"error", cause}});
  };
  // Keyed, linearizability alone: each key is checked as soon as its last op
  // is read, and the history is never held whole.
  const bool stream = flags.keyed && names.size() == 1 && names[0] == "linearizable";
  for (const std::string& file : flags.files) {
    if (stream && Streamable(file)) {
      auto r =
          checker::CheckLinearizableStream([&] { return history::OpenHistory(file); }, options);
      if (!r.ok() || r->input_error) {
        const std::string cause = r.ok() ? file + ": " + r->cause : r.status().message();
        std::fprintf(stderr, "chaos: %s\n", cause.c_str());
        refuse(file, cause);
        continue;
      }
      nlohmann::json j = r->ToJson();
      j["file"] = file;
      worst = checker::Merge(worst, r->verdict);
      counts[static_cast<int>(r->verdict)]++;
      PrintLinearizable(flags, file, *r, j);
      all.push_back(std::move(j));
      continue;
    }
    auto h = history::ReadHistory(file);
    if (!h.ok()) {
      std::fprintf(stderr, "chaos: %s\n", h.status().message().c_str());
      refuse(file, h.status().message());
      continue;
    }
    WholeCheck check = CheckWhole(*h, names, options);
    if (check.input_error) {
      std::fprintf(stderr, "chaos: %s: %s\n", file.c_str(), check.input_cause.c_str());
      refuse(file, check.input_cause);
      continue;
    }
    check.out.result["file"] = file;
    worst = checker::Merge(worst, check.out.verdict);
    counts[static_cast<int>(check.out.verdict)]++;
    PrintWhole(flags, file, h->size(), check, names.size());
    all.push_back(std::move(check.out.result));
  }
  return Finish(flags, all, counts, unusable, worst);
}

}  // namespace

void AddCheckCommands(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "check", "Check recorded histories (JSONL or Jepsen EDN) for linearizability and more");
  cmd->add_option("files", flags->files, "history files (.jsonl, .json or .edn)")->required();
  cmd->add_option("--model", flags->model,
                  "register, cas-register, multi-register, mutex, set, fifo-queue, "
                  "unordered-queue (default cas-register); list-append, rw-register: "
                  "transactions (Elle's method)");
  cmd->add_option("--consistency", flags->consistency,
                  "for list-append and rw-register: read-committed, snapshot-isolation, "
                  "serializable (default), strong-session-serializable, strict-serializable");
  cmd->add_flag("--keyed", flags->keyed, "values are [key v]; each key is checked on its own");
  cmd->add_option("--checker", flags->checkers,
                  "comma-separated: linearizable, set, counter, unique-ids, stats, perf "
                  "(default linearizable)");
  cmd->add_option("--time-limit", flags->time_limit, "per file, e.g. 60s, 500ms (default 60s)");
  cmd->add_option("--memory-limit", flags->memory_limit,
                  "for the search's memory, e.g. 4G (default 4G)");
  cmd->add_option("--initial", flags->initial, "the model's initial value, JSON or EDN (nil)");
  cmd->add_option("--nil-read", flags->nil_read,
                  "unknown: an ok read of nil matches anything (Knossos); value: it means nil");
  cmd->add_option("--failed-cas", flags->failed_cas,
                  "void: a failed cas did not happen (Knossos); mismatch: it saw another value");
  cmd->add_option("--threads", flags->threads, "search threads (0 = all cores)");
  cmd->add_flag("--json", flags->json, "print one JSON result per file instead of text");
  cmd->add_option("--results", flags->results, "write the results (results.json) to this file");
  cmd->add_flag("--no-shrink", flags->no_shrink, "do not shrink counterexamples");
  cmd->callback([flags, exit_code] { *exit_code = Run(*flags); });
}

}  // namespace chaos::cli
