// Running a local program (the docker CLI, ssh-keygen, the image script) as a
// subprocess from an argv array: no shell, so no text is ever re-parsed.
//
// Thread safety: RunProcess may be called from several threads at once.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace chaos::docker {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal if killed by a signal
  std::string out;
  std::string err;
  bool timed_out = false;
};

struct ProcessOptions {
  int timeout_ms = 60'000;
  // Pass the child's stderr straight to ours (progress of long builds) instead
  // of capturing it.
  bool inherit_stderr = false;
};

// Runs argv[0] (looked up in PATH) with the arguments argv[1..]. At the
// timeout the child's process group is killed (SIGKILL) and timed_out is set.
// An error means the program could not be started at all.
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                 const ProcessOptions& options = {});

// "docker network rm chaos-net" for messages: the argv joined by spaces.
std::string JoinArgv(const std::vector<std::string>& argv);

// The first line of `text` without trailing blanks ("" if none).
std::string FirstLine(const std::string& text);

}  // namespace chaos::docker
