#include "history/op.h"

#include "history/codec.h"

namespace chaos::history {

const char* OpTypeName(OpType type) {
  switch (type) {
    case OpType::kInvoke:
      return "invoke";
    case OpType::kOk:
      return "ok";
    case OpType::kFail:
      return "fail";
    case OpType::kInfo:
      return "info";
  }
  return "?";
}

std::optional<OpType> ParseOpType(std::string_view name) {
  if (!name.empty() && name[0] == ':') name.remove_prefix(1);
  if (name == "invoke") return OpType::kInvoke;
  if (name == "ok") return OpType::kOk;
  if (name == "fail") return OpType::kFail;
  if (name == "info") return OpType::kInfo;
  return std::nullopt;
}

std::string_view NameOf(const Json& v) {
  if (!v.is_string()) return {};
  std::string_view s = v.get_ref<const std::string&>();
  if (s.size() > 1 && s[0] == ':') s.remove_prefix(1);
  return s;
}

std::optional<int64_t> TimeOf(const Json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (!v.is_number_float()) return std::nullopt;
  double d = v.get<double>();
  // 2^63 is exactly representable; anything at or beyond it (or NaN) is not a time.
  if (!(d > -9223372036854775808.0 && d < 9223372036854775808.0)) return std::nullopt;
  return static_cast<int64_t>(d);
}

std::string Describe(const Op& op) {
  std::string out;
  if (op.index != kAbsent) out += std::to_string(op.index) + " ";
  out += op.process.is_named() ? op.process.name : "p" + std::to_string(op.process.id);
  out += " ";
  out += OpTypeName(op.type);
  out += " ";
  out += op.f;
  out += " ";
  out += EdnOf(op.value);
  if (!op.error.is_null()) out += " error=" + EdnOf(op.error);
  return out;
}

}  // namespace chaos::history
