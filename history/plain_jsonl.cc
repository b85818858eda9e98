#include "history/plain_jsonl.h"

#include <array>
#include <cstdint>

namespace chaos::history::internal {
namespace {

// Deeper values are left to the general parser (which allows 1,000 levels).
constexpr int kPlainDepthMax = 64;
// Integers of at most this many digits fit in int64 and uint64 alike.
constexpr int kPlainDigitsMax = 18;

// The fields a plain line may have, in the order of their bit in `seen`.
constexpr std::array<std::string_view, 8> kFields = {"index", "time",  "process", "type",
                                                     "f",     "value", "node",    "error"};

// A recursive-descent reader of the plain subset of JSON (see the header).
// Every method returns false, leaving the position anywhere, on anything
// outside the subset.
class PlainParser {
 public:
  explicit PlainParser(std::string_view text) : at_(text.data()), end_(text.data() + text.size()) {}

  bool Object(Op* op) {
    if (!Take('{')) return false;
    unsigned seen = 0;
    if (Take('}')) return false;  // an op without type and process
    do {
      std::string_view key;
      if (!String(&key) || !Take(':')) return false;
      unsigned field = 0;
      while (field < kFields.size() && kFields[field] != key) ++field;
      if (field == kFields.size() || (seen & (1u << field)) != 0) return false;
      seen |= 1u << field;
      Json value;
      if (!Value(&value, 1)) return false;
      if (SetOpField(*op, key, std::move(value)) != nullptr) return false;
    } while (Take(','));
    const unsigned required = (1u << 2) | (1u << 3);  // process and type
    if (!Take('}') || (seen & required) != required) return false;
    SkipSpace();
    return at_ == end_;
  }

 private:
  // JSON's white space, as nlohmann skips it.
  void SkipSpace() {
    while (at_ < end_ && (*at_ == ' ' || *at_ == '\t' || *at_ == '\n' || *at_ == '\r')) ++at_;
  }

  bool Take(char c) {
    SkipSpace();
    if (at_ == end_ || *at_ != c) return false;
    ++at_;
    return true;
  }

  // Printable ASCII between quotes, without escapes.
  bool String(std::string_view* out) {
    if (!Take('"')) return false;
    const char* start = at_;
    while (at_ < end_ && *at_ != '"') {
      const auto c = static_cast<unsigned char>(*at_);
      if (c < 0x20 || c >= 0x80 || c == '\\') return false;
      ++at_;
    }
    if (at_ == end_) return false;
    *out = std::string_view(start, static_cast<size_t>(at_ - start));
    ++at_;
    return true;
  }

  // -?(0|[1-9][0-9]*) of at most kPlainDigitsMax digits, not followed by a
  // fraction or exponent: int64 when negative, uint64 otherwise (nlohmann's
  // number_integer and number_unsigned).
  bool Integer(Json* out) {
    const bool negative = *at_ == '-';
    if (negative) ++at_;
    const char* start = at_;
    uint64_t magnitude = 0;
    while (at_ < end_ && *at_ >= '0' && *at_ <= '9') {
      magnitude = magnitude * 10 + static_cast<uint64_t>(*at_ - '0');
      ++at_;
    }
    const auto digits = at_ - start;
    if (digits == 0 || digits > kPlainDigitsMax || (*start == '0' && digits > 1)) return false;
    if (at_ < end_ && (*at_ == '.' || *at_ == 'e' || *at_ == 'E')) return false;
    *out = negative ? Json(-static_cast<int64_t>(magnitude)) : Json(magnitude);
    return true;
  }

  bool Word(std::string_view word) {
    if (static_cast<size_t>(end_ - at_) < word.size() ||
        std::string_view(at_, word.size()) != word) {
      return false;
    }
    at_ += word.size();
    return true;
  }

  bool Value(Json* out, int depth) {
    SkipSpace();
    if (at_ == end_) return false;
    switch (*at_) {
      case '"': {
        std::string_view s;
        if (!String(&s)) return false;
        *out = Json(std::string(s));
        return true;
      }
      case '[':
        return ++at_, Array(out, depth + 1);
      case '{':
        return ++at_, Members(out, depth + 1);
      case 'n':
        return Word("null") && (*out = Json(), true);
      case 't':
        return Word("true") && (*out = Json(true), true);
      case 'f':
        return Word("false") && (*out = Json(false), true);
      default:
        return (*at_ == '-' || (*at_ >= '0' && *at_ <= '9')) && Integer(out);
    }
  }

  // After '[': the elements and ']'.
  bool Array(Json* out, int depth) {
    if (depth > kPlainDepthMax) return false;
    *out = Json::array();
    if (Take(']')) return true;
    do {
      Json element;
      if (!Value(&element, depth)) return false;
      out->push_back(std::move(element));
    } while (Take(','));
    return Take(']');
  }

  // After '{': the members and '}'. A repeated key keeps its last value, as
  // nlohmann does.
  bool Members(Json* out, int depth) {
    if (depth > kPlainDepthMax) return false;
    *out = Json::object();
    if (Take('}')) return true;
    do {
      std::string_view key;
      Json member;
      if (!String(&key) || !Take(':') || !Value(&member, depth)) return false;
      (*out)[std::string(key)] = std::move(member);
    } while (Take(','));
    return Take('}');
  }

  const char* at_;
  const char* end_;
};

}  // namespace

std::optional<Op> ParsePlainOpLine(std::string_view line) {
  Op op;
  if (!PlainParser(line).Object(&op)) return std::nullopt;
  return op;
}

}  // namespace chaos::history::internal
