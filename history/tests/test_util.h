// Helpers shared by the history tests.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace chaos::history::testing {

// The Knossos corpus in the repository (tests/data/knossos). ctest sets
// CHAOS_SOURCE_DIR; without it the path is relative to the working directory,
// so a missing corpus fails the tests that count its files.
inline std::filesystem::path KnossosDir() {
  const char* src = std::getenv("CHAOS_SOURCE_DIR");
  std::filesystem::path base = src ? src : ".";
  return base / "tests" / "data" / "knossos";
}

inline std::filesystem::path TempDir() {
  auto dir =
      std::filesystem::temp_directory_path() / ("chaos-history-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace chaos::history::testing
