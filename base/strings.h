// Small string helpers shared by the CLI and the harness.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

namespace chaos {

// "a,b,,c" -> {"a", "b", "c"}: empty items are dropped.
std::vector<std::string> SplitCommas(const std::string& text);
// {"a", "b"} -> "a,b".
std::string JoinCommas(const std::vector<std::string>& items);
// The current UTC time: "20261129T003522" (compact) or "2026-11-29T00:35:22Z".
std::string UtcTimestamp(bool compact);

}  // namespace chaos
