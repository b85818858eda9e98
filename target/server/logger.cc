#include "target/server/logger.h"

#include <cerrno>
#include <cstring>
#include <ctime>

#include "target/server/clock.h"

namespace chaos::server {

Logger::~Logger() {
  if (file_ != stderr && file_ != nullptr) std::fclose(file_);
}

Status Logger::Open(const std::string& path, int node_id) {
  node_id_ = node_id;
  if (path.empty()) return Status::Ok();
  FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) return IoError("open log file " + path + ": " + std::strerror(errno));
  file_ = f;
  return Status::Ok();
}

void Logger::Log(const char* level, const std::string& text) {
  int64_t ns = WallNowNs();
  std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>((ns % 1'000'000'000) / 1000));
  std::lock_guard lock(mu_);
  std::fprintf(file_, "%s n%d %s %s\n", stamp, node_id_, level, text.c_str());
  std::fflush(file_);
}

}  // namespace chaos::server
