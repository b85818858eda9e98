// Logger: one line per event, "<UTC time> n<id> <level> <text>", to a file
// (--log-file) or stderr. Lines are written whole and flushed, so a node killed
// with SIGKILL leaves every line it logged.
//
// Thread safety: Log may be called from any thread.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>

#include "base/status.h"

namespace chaos::server {

class Logger {
 public:
  Logger() = default;
  ~Logger();
  // Opens `path` for appending ("" = stderr).
  Status Open(const std::string& path, int node_id);
  void Log(const char* level, const std::string& text);
  void Info(const std::string& text) { Log("INFO", text); }
  void Warn(const std::string& text) { Log("WARN", text); }
  void Error(const std::string& text) { Log("ERROR", text); }

 private:
  std::mutex mu_;
  FILE* file_ = stderr;
  int node_id_ = -1;
};

}  // namespace chaos::server
