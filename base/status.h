// Status and Result<T>: how operating errors travel in chaos.
//
// Operating errors (disk, network, SSH, parsing, bad user input) are returned
// as values, never thrown across our own interfaces. A Status is either ok or
// carries a code and one human-readable line that names what and where
// ("history.edn:12:4: unterminated string"). Result<T> holds a T or a non-ok
// Status. Programmer errors (broken invariants) use CHAOS_CHECK instead, which
// stops the process in every build type.
//
// Thread safety: values; no shared state.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace chaos {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad user input: flags, files, histories
  kNotFound,
  kIoError,      // disk or file system
  kUnavailable,  // network, unreachable node
  kTimeout,
  kResourceExhausted,  // a budget ran out
  kFailedPrecondition,
  kInternal,
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid argument: <message>" or "ok".
  std::string ToString() const;

  // Prefixes the message with context ("reading store/x: ...").
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status NotFound(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
inline Status IoError(std::string m) { return Status(StatusCode::kIoError, std::move(m)); }
inline Status Unavailable(std::string m) { return Status(StatusCode::kUnavailable, std::move(m)); }
inline Status Timeout(std::string m) { return Status(StatusCode::kTimeout, std::move(m)); }
inline Status ResourceExhausted(std::string m) {
  return Status(StatusCode::kResourceExhausted, std::move(m));
}
inline Status FailedPrecondition(std::string m) {
  return Status(StatusCode::kFailedPrecondition, std::move(m));
}
inline Status Internal(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }

// Holds a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) {  // NOLINT: implicit by design
    if (std::get<Status>(data_).ok()) {
      std::fprintf(stderr, "chaos: Result constructed from an ok Status\n");
      std::abort();
    }
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(data_);
  }
  T& value() & { return CheckedValue(); }
  const T& value() const& { return const_cast<Result*>(this)->CheckedValue(); }
  T&& value() && { return std::move(CheckedValue()); }
  T& operator*() & { return CheckedValue(); }
  const T& operator*() const& { return const_cast<Result*>(this)->CheckedValue(); }
  T* operator->() { return &CheckedValue(); }
  const T* operator->() const { return &const_cast<Result*>(this)->CheckedValue(); }

 private:
  T& CheckedValue() {
    if (!ok()) {
      std::fprintf(stderr, "chaos: value() of a failed Result: %s\n",
                   std::get<Status>(data_).ToString().c_str());
      std::abort();
    }
    return std::get<T>(data_);
  }
  std::variant<T, Status> data_;
};

}  // namespace chaos

// Returns the Status of an expression from the enclosing function if not ok.
#define CHAOS_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::chaos::Status chaos_status_ = (expr);        \
    if (!chaos_status_.ok()) return chaos_status_; \
  } while (0)

#define CHAOS_CONCAT_INNER(a, b) a##b
#define CHAOS_CONCAT(a, b) CHAOS_CONCAT_INNER(a, b)
// CHAOS_ASSIGN_OR_RETURN(auto x, MakeX()); returns the Status if not ok.
#define CHAOS_ASSIGN_OR_RETURN(lhs, expr) \
  CHAOS_ASSIGN_OR_RETURN_IMPL(CHAOS_CONCAT(chaos_result_, __LINE__), lhs, expr)
#define CHAOS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
