// Clock skew per process with libfaketime: what an adapter and the clock
// nemesis (nemesis/clock.cc) agree on.
//
// An adapter whose system can take the "clock" fault starts it with
// UnderFaketime(): libfaketime is preloaded and reads the node's control file
// kFaketimeFile, which the clock nemesis rewrites atomically (temp file, then
// rename: a half-written file kills the process). Settings, measured in
// docs/docker-engine.md:
//   FAKETIME_DONT_FAKE_MONOTONIC=1  only the wall clock moves; without it the
//                                   monotonic clock is put on the wall-clock
//                                   scale and condition-variable waits hang.
//   FAKETIME_CACHE_DURATION=1       the file is re-read at most once a second
//                                   (a read costs ~70 ns instead of ~20 us), so
//                                   a change reaches the system within ~1 s.
//   FAKETIME_XRESET=1               a rate ("+0 x0.55") applies from the moment
//                                   it is read, not from the process start.
// File contents the nemesis writes: "+1.250" / "-0.500" (offset in seconds),
// "+0 x0.55" (run at 0.55 of real speed from now on). A rate stays until a
// write names another: ending a drift takes "+0 x1" (the drift so far is kept
// as an offset) and then, once the system has read it, "+0".
//
// Not reached by libfaketime: static binaries, raw syscalls, Go programs (they
// read the vDSO): an adapter for those must not declare "clock".
#pragma once

#include <string>

#include "control/command.h"

namespace chaos::adapters {

inline constexpr const char* kFaketimeDir = "/run/chaos";
inline constexpr const char* kFaketimeFile = "/run/chaos/faketime";
inline constexpr const char* kLibFaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

// `command` with libfaketime preloaded and pointed at kFaketimeFile.
inline control::Command UnderFaketime(control::Command command) {
  command.Env("LD_PRELOAD", kLibFaketime)
      .Env("FAKETIME_TIMESTAMP_FILE", kFaketimeFile)
      .Env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
      .Env("FAKETIME_CACHE_DURATION", "1")
      .Env("FAKETIME_XRESET", "1");
  return command;
}

// Writes `contents` to the control file atomically (temp file, then rename).
inline control::Command WriteFaketime(const std::string& contents) {
  std::string tmp = std::string(kFaketimeFile) + ".tmp";
  return control::Command("mkdir")
      .Args({"-p", kFaketimeDir})
      .Then(control::Command("printf").Args({"%s\\n", contents}).StdoutTo(tmp))
      .Then(control::Command("mv").Args({"-f", tmp, kFaketimeFile}));
}

}  // namespace chaos::adapters
