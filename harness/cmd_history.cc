// chaos history convert|stats: move histories between JSONL and Jepsen EDN,
// and summarise them.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "harness/commands.h"
#include "history/codec.h"
#include "history/validate.h"

namespace chaos::cli {
namespace {

using history::Format;

// Streams IN to OUT one op at a time through a temp file renamed at the end,
// so a failed conversion never leaves a half-written OUT.
Status Convert(const std::string& in, const std::string& out) {
  CHAOS_ASSIGN_OR_RETURN(auto reader, history::OpenHistory(in));
  CHAOS_ASSIGN_OR_RETURN(Format format, history::FormatOfPath(out));
  std::string tmp = out + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return IoError(tmp + ": cannot create: " + std::strerror(errno));
  Status status;
  int64_t n = 0;
  if (format == Format::kEdn) std::fputs("[", f);
  while (status.ok()) {
    auto next = reader->Next();
    if (!next.ok()) {
      status = next.status();
      break;
    }
    if (!next->has_value()) break;
    const history::Op& op = **next;
    std::string line = format == Format::kEdn ? history::OpToEdn(op) : history::OpToJsonLine(op);
    if (format == Format::kEdn && n > 0) std::fputs("\n ", f);
    std::fputs(line.c_str(), f);
    if (format == Format::kJsonl) std::fputc('\n', f);
    ++n;
  }
  if (format == Format::kEdn) std::fputs("]\n", f);
  if (std::fflush(f) != 0 || ::fsync(fileno(f)) != 0) {
    if (status.ok()) status = IoError(tmp + ": write failed: " + std::strerror(errno));
  }
  std::fclose(f);
  if (status.ok() && std::rename(tmp.c_str(), out.c_str()) != 0) {
    status = IoError(out + ": rename failed: " + std::strerror(errno));
  }
  if (!status.ok()) {
    std::remove(tmp.c_str());
    return status;
  }
  std::printf("converted %lld ops: %s -> %s\n", static_cast<long long>(n), in.c_str(), out.c_str());
  return Status::Ok();
}

Status Stats(const std::string& path, bool json) {
  CHAOS_ASSIGN_OR_RETURN(auto reader, history::OpenHistory(path));
  history::Validator validator;
  Status shape;
  int64_t position = 0;
  while (true) {
    CHAOS_ASSIGN_OR_RETURN(auto op, reader->Next());
    if (!op) break;
    Status s = validator.Add(*op, path + " op " + std::to_string(position++));
    // Keep counting after a shape error; report the first one.
    if (!s.ok() && shape.ok()) shape = s;
  }
  const history::HistoryStats& st = validator.Finish();
  double duration_s = st.min_time_ns == history::kAbsent
                          ? 0.0
                          : static_cast<double>(st.max_time_ns - st.min_time_ns) / 1e9;
  if (json) {
    history::Json j;
    j["file"] = path;
    j["ops"] = st.ops;
    j["by_f_and_type"] = st.by_f_and_type;
    j["processes"] = st.processes.size();
    std::vector<std::string> crashed;
    for (const auto& p : st.crashed) crashed.push_back(p.ToString());
    j["crashed_processes"] = crashed;
    j["duration_s"] = duration_s;
    j["time_backwards"] = st.time_backwards;
    j["valid_shape"] = shape.ok();
    if (!shape.ok()) j["shape_error"] = shape.message();
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s\n", path.c_str());
    std::printf("  ops                %lld\n", static_cast<long long>(st.ops));
    std::printf("  processes          %zu (%zu crashed)\n", st.processes.size(), st.crashed.size());
    std::printf("  duration           %.3f s\n", duration_s);
    if (st.time_backwards > 0) {
      std::printf("  time goes backwards %lld times\n", static_cast<long long>(st.time_backwards));
    }
    std::printf("  %-16s %8s %8s %8s %8s\n", "f", "invoke", "ok", "fail", "info");
    for (const auto& [f, types] : st.by_f_and_type) {
      auto get = [&types](const char* t) {
        auto it = types.find(t);
        return static_cast<long long>(it == types.end() ? 0 : it->second);
      };
      std::printf("  %-16s %8lld %8lld %8lld %8lld\n", f.empty() ? "(none)" : f.c_str(),
                  get("invoke"), get("ok"), get("fail"), get("info"));
    }
  }
  return shape;
}

}  // namespace

void AddHistoryCommands(CLI::App& app, int* exit_code) {
  auto* history = app.add_subcommand("history", "Convert and summarise histories");
  history->require_subcommand(1);

  auto* convert = history->add_subcommand(
      "convert", "Convert a history between JSONL and Jepsen EDN (by extension)");
  static std::string in, out;
  convert->add_option("IN", in, "history to read (.jsonl or .edn)")->required();
  convert->add_option("OUT", out, "history to write (.jsonl or .edn)")->required();
  convert->callback([exit_code] {
    Status s = Convert(in, out);
    *exit_code = s.ok() ? kExitValid : ReportError(s);
  });

  auto* stats = history->add_subcommand(
      "stats", "Ops by f and type, processes, crashed processes, duration; checks the shape");
  static std::string file;
  static bool json = false;
  stats->add_option("FILE", file, "history (.jsonl or .edn)")->required();
  stats->add_flag("--json", json, "print JSON");
  stats->callback([exit_code] {
    Status s = Stats(file, json);
    *exit_code = s.ok() ? kExitValid : ReportError(s);
  });
}

}  // namespace chaos::cli
