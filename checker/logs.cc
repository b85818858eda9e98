#include "checker/logs.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

namespace chaos::checker {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::optional<int64_t> LogLineUnixNs(const std::string& line) {
  std::tm tm{};
  int fraction_start = 0;
  if (line.size() < 20 || line[4] != '-' || line[10] != 'T') return std::nullopt;
  if (std::sscanf(line.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &fraction_start) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  int64_t ns = static_cast<int64_t>(timegm(&tm)) * 1'000'000'000;
  size_t i = static_cast<size_t>(fraction_start);
  if (i < line.size() && line[i] == '.') {
    int64_t scale = 100'000'000;
    for (++i; i < line.size() && std::isdigit(static_cast<unsigned char>(line[i])); ++i) {
      ns += (line[i] - '0') * scale;
      scale /= 10;
    }
  }
  return ns;
}

CheckerOutput CheckNodeLogs(const std::string& run_dir, const std::vector<std::string>& patterns,
                            std::optional<int64_t> origin_unix_ns) {
  constexpr size_t kMatchesMax = 50;
  Json matches = Json::array();
  int64_t count = 0;
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::recursive_directory_iterator it(run_dir + "/nodes", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_regular_file(ec)) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::ifstream in(path);
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
      for (const auto& pattern : patterns) {
        if (line.find(pattern) == std::string::npos) continue;
        ++count;
        if (matches.size() < kMatchesMax) {
          Json m = {{"file", fs::relative(path, run_dir).string()},
                    {"line", number},
                    {"text", line.substr(0, 1000)},
                    {"pattern", pattern}};
          std::optional<int64_t> at = LogLineUnixNs(line);
          // The node's own clock: under the clock nemesis this time is skewed.
          if (at && origin_unix_ns) m["time_ns"] = *at - *origin_unix_ns;
          matches.push_back(std::move(m));
        }
        break;
      }
    }
  }
  Json result = {{"checker", "logs"},
                 {"patterns", patterns},
                 {"files", files.size()},
                 {"count", count},
                 {"matches", matches}};
  Verdict verdict = count == 0 ? Verdict::kValid : Verdict::kInvalid;
  if (count > 0) {
    // The earliest match (by its own time stamp) is the one to show first.
    std::stable_sort(matches.begin(), matches.end(), [](const Json& a, const Json& b) {
      return a.value("time_ns", INT64_MAX) < b.value("time_ns", INT64_MAX);
    });
    result["matches"] = matches;
    const Json& first = matches[0];
    result["cause"] =
        "the system reported a safety violation itself: " + first["file"].get<std::string>() + ":" +
        std::to_string(first["line"].get<int64_t>()) + ": " + first["text"].get<std::string>();
  }
  result["valid"] = VerdictJson(verdict);
  return CheckerOutput{"logs", verdict, std::move(result)};
}

}  // namespace chaos::checker
