// Internal pieces shared by the report and the index: the page's inline CSS
// and scripts, base64, JSON safe inside <script>, and atomic file writes.
//
// Thread safety: constants and pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"

namespace chaos::reports {

extern const char kReportCss[];
// Runs first: records window errors and console.error into #chaos-errors, so
// a test (and a person) can see that the page's own script broke.
extern const char kErrorTrapJs[];
// The timeline: decodes the embedded op data and draws what is on screen.
extern const char kTimelineJs[];

std::string Base64(std::string_view bytes);
std::string ScriptJson(const nlohmann::json& j);

}  // namespace chaos::reports
