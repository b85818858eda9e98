// The names of nemesis ops: a fault starts with f "start-<nemesis>" (value:
// the spec) and stops with "stop-<nemesis>" (value: null). The schedules
// (generator/) write them, the runner performs them and the report draws
// fault windows from them; this is the one place that spells them.
//
// Thread safety: free functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace chaos::history {

inline std::string NemesisStartF(std::string_view nemesis) {
  return "start-" + std::string(nemesis);
}
inline std::string NemesisStopF(std::string_view nemesis) { return "stop-" + std::string(nemesis); }

// What a nemesis op's f says: which nemesis, and whether it starts or stops.
struct NemesisF {
  bool start = false;
  std::string nemesis;
};

// Null when `f` is neither "start-<nemesis>" nor "stop-<nemesis>".
inline std::optional<NemesisF> ParseNemesisF(std::string_view f) {
  for (const auto& [prefix, start] :
       {std::pair{std::string_view("start-"), true}, std::pair{std::string_view("stop-"), false}}) {
    if (f.substr(0, prefix.size()) == prefix) {
      return NemesisF{start, std::string(f.substr(prefix.size()))};
    }
  }
  return std::nullopt;
}

}  // namespace chaos::history
