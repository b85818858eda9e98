// The node's only access to time. Two readings, both here so that nothing else
// in the server calls a clock:
//   WallNowNs():   system_clock. Fed to the core for lease reads and used for log
//                  timestamps. libfaketime (the clock nemesis) reaches it.
//   SteadyNowNs(): steady_clock. Paces ticks and bounds waits, so a clock bump
//                  does not stall the event loop or fire a burst of ticks.
// LeaseClock turns WallNowNs() readings into the non-decreasing time the core
// needs for leases; ClockWatch notices when the wall clock is moved against
// the steady one and says so in the log (proof that a skew reached us).
// Thread safety: WallNowNs and SteadyNowNs are safe to call from any thread;
// a LeaseClock or ClockWatch belongs to one thread (the node's loop).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

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

// The lease time fed to the core: the wall clock, made non-decreasing.
//
// Steps forward pass through: they only shorten leases. A step back (an
// operator, NTP, the clock nemesis) would stretch a lease measured on the wall
// clock by the size of the step, so it is absorbed: across the reading where
// the wall clock went back, lease time advances by the steady clock's elapsed
// time (real time, also across a SIGSTOP), and from there at the wall clock's
// rate again. A wrong rate (drift) cannot be seen from the wall clock alone;
// the core bounds it with --max-clock-drift (target/core: LeaseNs).
class LeaseClock {
 public:
  // Lease time for wall reading `wall_ns` taken at steady time `steady_ns`.
  // `*stepped_back_ns` is how far the wall clock went back since the last
  // reading (0 when it did not).
  int64_t Now(int64_t wall_ns, int64_t steady_ns, int64_t* stepped_back_ns) {
    *stepped_back_ns = 0;
    int64_t lease_ns = wall_ns + correction_ns_;
    if (started_ && lease_ns < last_lease_ns_) {
      int64_t floor_ns = last_lease_ns_ + (steady_ns - last_steady_ns_);
      *stepped_back_ns = last_lease_ns_ - lease_ns;
      correction_ns_ += floor_ns - lease_ns;
      lease_ns = floor_ns;
    }
    started_ = true;
    last_lease_ns_ = lease_ns;
    last_steady_ns_ = steady_ns;
    return lease_ns;
  }

 private:
  bool started_ = false;
  int64_t correction_ns_ = 0;
  int64_t last_lease_ns_ = 0;
  int64_t last_steady_ns_ = 0;
};

// How far the wall clock has moved against the steady clock since the node
// started (a skew of +5000 ms after a 5 s bump; growing by 450 ms a second
// under a x0.55 drift). Observe() returns a line for the log when the skew
// changed by at least `report_ms` since the last line, else "".
class ClockWatch {
 public:
  explicit ClockWatch(int64_t report_ms = 250) : report_ns_(report_ms * 1'000'000) {}

  std::string Observe(int64_t wall_ns, int64_t steady_ns) {
    if (!started_) {
      started_ = true;
      wall0_ns_ = wall_ns;
      steady0_ns_ = steady_ns;
      return "";
    }
    int64_t skew_ns = (wall_ns - wall0_ns_) - (steady_ns - steady0_ns_);
    int64_t change_ns = skew_ns - reported_ns_;
    if (change_ns < report_ns_ && change_ns > -report_ns_) return "";
    reported_ns_ = skew_ns;
    return "clock: wall clock skew " + Signed(skew_ns / 1'000'000) +
           " ms against the steady clock since start (wall now " +
           std::to_string(wall_ns / 1'000'000) + " ms since the epoch)";
  }

 private:
  static std::string Signed(int64_t v) { return (v >= 0 ? "+" : "") + std::to_string(v); }

  int64_t report_ns_;
  bool started_ = false;
  int64_t wall0_ns_ = 0;
  int64_t steady0_ns_ = 0;
  int64_t reported_ns_ = 0;
};

}  // namespace chaos::server
