// Checker "logs": the system's own reports of a safety violation in its
// logs. A run downloads each node's logs into run_dir/nodes/; any line that
// contains one of the adapter's FatalLogPatterns (kept in test.json) makes
// the run invalid, as Jepsen's log-file-pattern checker does.
//
// Thread safety: free functions; they read files and share nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "checker/others.h"

namespace chaos::checker {

// Nanoseconds since the epoch of a log line that starts with an ISO-8601 UTC
// time ("2026-11-29T03:05:59.123456Z ..."), else nullopt.
std::optional<int64_t> LogLineUnixNs(const std::string& line);

// Checker "logs": every line of the node logs downloaded into run_dir/nodes/
// that contains one of `patterns` (the adapter's FatalLogPatterns, which
// test.json keeps). Invalid if any.
CheckerOutput CheckNodeLogs(const std::string& run_dir, const std::vector<std::string>& patterns,
                            std::optional<int64_t> origin_unix_ns);

}  // namespace chaos::checker
