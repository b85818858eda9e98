// What every chaos binary's main shares: errors as one line, the command
// line, the build folder, and parsing with CLI11.
#include <cstdio>
#include <filesystem>

#include "harness/commands.h"

namespace chaos::cli {

int ReportError(const Status& status) {
  std::fprintf(stderr, "chaos: %s\n", status.message().c_str());
  return kExitCannotRun;
}

std::string& CommandLine() {
  static std::string line;
  return line;
}

std::string BuildDir() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "build" : exe.parent_path().string();
}

int ParseAndRun(CLI::App& app, int argc, char** argv, const int* exit_code) {
  for (int i = 0; i < argc; ++i) {
    CommandLine() += (i == 0 ? std::string("chaos") : " " + std::string(argv[i]));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, exit 3: a wrong flag is input the command cannot run with.
    std::fprintf(stderr, "chaos: %s (see chaos --help)\n", e.what());
    return kExitCannotRun;
  }
  return *exit_code;
}

}  // namespace chaos::cli
