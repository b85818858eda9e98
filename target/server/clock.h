// The node's only access to time. Two readings, both here so that nothing else
// in the server calls a clock:
//   WallNowNs():   system_clock. Fed to the core for lease reads and used for log
//                  timestamps. libfaketime (the clock nemesis) reaches it.
//   SteadyNowNs(): steady_clock. Paces ticks and bounds waits, so a clock bump
//                  does not stall the event loop or fire a burst of ticks.
// Thread safety: both are safe to call from any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace chaos::server {

inline int64_t WallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace chaos::server
