// Op and History: the one vocabulary of chaos.
//
// An Op is one line of a history with Jepsen's meaning. `type` is invoke, ok,
// fail (it certainly did not happen) or info (unknown: it may have happened at
// any time after its invocation, or never). A process that gets info never
// issues another op. Nemesis ops carry the named process "nemesis".
//
// Values are JSON values (nlohmann::json). Jepsen's EDN has keywords; a
// keyword inside a value, error or extra field is held as a string with a
// leading colon (":x"), so EDN -> JSON -> EDN gives back the same keyword.
// Keyed workloads use the value [key, v] (Jepsen's independent workloads).
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chaos::history {

using Json = nlohmann::json;

enum class OpType : uint8_t { kInvoke, kOk, kFail, kInfo };

const char* OpTypeName(OpType type);
std::optional<OpType> ParseOpType(std::string_view name);  // "invoke", "ok", ...

// A Jepsen logical process: an integer, or a name such as "nemesis".
struct Process {
  int64_t id = 0;    // meaningful when name is empty
  std::string name;  // non-empty for a named process

  static Process Number(int64_t id) { return Process{id, {}}; }
  static Process Named(std::string name) { return Process{0, std::move(name)}; }
  static Process Nemesis() { return Named("nemesis"); }

  bool is_named() const { return !name.empty(); }
  bool is_nemesis() const { return name == "nemesis"; }
  std::string ToString() const { return is_named() ? name : std::to_string(id); }
  bool operator==(const Process&) const = default;
  auto operator<=>(const Process&) const = default;
};

inline constexpr int64_t kAbsent = -1;

struct Op {
  int64_t index = kAbsent;    // position in the history; kAbsent when unknown
  int64_t time_ns = kAbsent;  // ns since test start (monotonic); kAbsent when unknown
  Process process;
  OpType type = OpType::kInvoke;
  std::string f;  // the function: "read", "write", "cas", "start", ...
  Json value;     // null when nil or absent
  std::optional<std::string> node;
  Json error;  // null when absent
  Json extra;  // object of any other fields, kept as they are; null when none

  bool is_invoke() const { return type == OpType::kInvoke; }
  bool is_ok() const { return type == OpType::kOk; }
  bool is_fail() const { return type == OpType::kFail; }
  bool is_info() const { return type == OpType::kInfo; }
  bool is_client() const { return !process.is_named(); }

  bool operator==(const Op&) const = default;
};

using History = std::vector<Op>;

// Keywords in values: ":x" <-> EDN :x.
inline bool IsKeyword(const Json& v) {
  return v.is_string() && v.get_ref<const std::string&>().size() > 1 &&
         v.get_ref<const std::string&>()[0] == ':';
}
// "x" for ":x" and for "x": how models compare names written either way.
std::string_view NameOf(const Json& v);

// A time field as ns: an integer, or a finite float within int64's range
// (converting anything else would be undefined); nullopt otherwise.
std::optional<int64_t> TimeOf(const Json& v);

// One op as a compact human line: "12 p3 ok cas [1 2]".
std::string Describe(const Op& op);

}  // namespace chaos::history
