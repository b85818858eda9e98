// Helpers shared by the history tests.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace chaos::history::testing {

// The Knossos corpus shipped beside the repository (../shared/data/knossos).
inline std::filesystem::path KnossosDir() {
  const char* src = std::getenv("CHAOS_SOURCE_DIR");
  std::filesystem::path base = src ? src : ".";
  std::filesystem::path dir = base / ".." / "shared" / "data" / "knossos";
  if (std::filesystem::exists(dir)) return dir;
  return "/work/shared/data/knossos";
}

inline std::filesystem::path TempDir() {
  auto dir =
      std::filesystem::temp_directory_path() / ("chaos-history-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace chaos::history::testing
