// CHAOS_CHECK: assertions for programmer errors (broken invariants).
//
// They stay on in every build type, as TigerBeetle's do: a broken invariant in
// a consensus node or a checker must stop the process, not produce a wrong
// verdict. The message names the condition, the place and any numbers given.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace chaos::internal {
[[noreturn]] inline void CheckFailed(const char* condition, const char* file, int line,
                                     const char* detail) {
  std::fprintf(stderr, "chaos: invariant failed at %s:%d: %s%s%s\n", file, line, condition,
               detail[0] ? " — " : "", detail);
  std::fflush(stderr);
  std::abort();
}
}  // namespace chaos::internal

#define CHAOS_CHECK(cond)                                                       \
  do {                                                                          \
    if (!(cond)) ::chaos::internal::CheckFailed(#cond, __FILE__, __LINE__, ""); \
  } while (0)

// CHAOS_CHECK_MSG(a < b, "slot %lld >= limit %lld", (long long)a, (long long)b)
#define CHAOS_CHECK_MSG(cond, ...)                                                 \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      char chaos_check_buf_[512];                                                  \
      std::snprintf(chaos_check_buf_, sizeof chaos_check_buf_, __VA_ARGS__);       \
      ::chaos::internal::CheckFailed(#cond, __FILE__, __LINE__, chaos_check_buf_); \
    }                                                                              \
  } while (0)
