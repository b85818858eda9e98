// Jepsen EDN: a hand-written streaming parser and a writer.
//
// The reader keeps a window of the file in memory and parses one top-level
// element (one op map) at a time. An element cut off by the end of the window
// is parsed again after the window grows, so memory stays proportional to the
// largest element, not to the file. Errors carry line and column.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "history/codec.h"
#include "history/read_chunk.h"

namespace chaos::history {
namespace {

bool IsWhitespace(char c) {
  return c == ' ' || c == ',' || c == '\n' || c == '\t' || c == '\r' || c == '\f';
}

bool IsSymbolChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::strchr(".*+!-_?$%&=<>/:#'", c) != nullptr;
}

// Parses EDN from [p, end). `at_eof` says whether more text may follow the
// window; when it may, running into `end` yields kIncomplete, not an error.
class Parser {
 public:
  enum class Outcome { kOk, kIncomplete, kError };

  Parser(const char* begin, const char* end, bool at_eof)
      : begin_(begin), p_(begin), end_(end), at_eof_(at_eof) {}

  const char* position() const { return p_; }
  void set_position(const char* p) { p_ = p; }
  const char* error_at() const { return error_at_; }
  const std::string& error() const { return error_; }

  // Skips whitespace, commas, comments and #_ discards. kIncomplete if the
  // window ended inside a comment or discard.
  Outcome SkipSpace() {
    while (true) {
      while (p_ < end_ && IsWhitespace(*p_)) ++p_;
      if (p_ == end_) return Outcome::kOk;
      if (*p_ == ';') {
        const char* nl = static_cast<const char*>(std::memchr(p_, '\n', end_ - p_));
        if (nl == nullptr) {
          if (!at_eof_) return Outcome::kIncomplete;
          p_ = end_;
          return Outcome::kOk;
        }
        p_ = nl + 1;
        continue;
      }
      if (*p_ == '#' && p_ + 1 < end_ && p_[1] == '_') {
        p_ += 2;
        Json discarded;
        Outcome o = ParseValue(discarded, 0);
        if (o != Outcome::kOk) return o;
        continue;
      }
      if (*p_ == '#' && p_ + 1 == end_ && !at_eof_) return Outcome::kIncomplete;
      return Outcome::kOk;
    }
  }

  Outcome ParseValue(Json& out, int depth) {
    Outcome o = SkipSpace();
    if (o != Outcome::kOk) return o;
    if (p_ == end_) return EndOfInput("a value");
    if (depth > kMaxNestingDepth) return Error(p_, "nesting deeper than 1000 levels");
    char c = *p_;
    switch (c) {
      case '[':
      case '(': {
        ++p_;
        return ParseSequence(out, c == '[' ? ']' : ')', depth);
      }
      case '{':
        ++p_;
        return ParseMap(out, depth);
      case '"': {
        std::string s;
        o = ParseString(s);
        if (o == Outcome::kOk) out = std::move(s);
        return o;
      }
      case ':':
        return ParseKeyword(out);
      case '\\':
        return ParseCharacter(out);
      case '#':
        return ParseDispatch(out, depth);
      case ']':
      case ')':
      case '}':
        return Error(p_, std::string("unexpected '") + c + "'");
      default:
        break;
    }
    if ((c >= '0' && c <= '9') ||
        ((c == '-' || c == '+') && p_ + 1 < end_ && p_[1] >= '0' && p_[1] <= '9')) {
      return ParseNumber(out);
    }
    if ((c == '-' || c == '+') && p_ + 1 == end_ && !at_eof_) return Outcome::kIncomplete;
    if (IsSymbolChar(c)) return ParseSymbol(out);
    return Error(p_, std::string("unexpected character '") + Printable(c) + "'");
  }

  // Reads a map's keys and values, calling on_entry(key, value) for each.
  template <typename OnEntry>
  Outcome ParseMapEntries(int depth, OnEntry&& on_entry) {
    const char* open = p_ - 1;
    while (true) {
      Outcome o = SkipSpace();
      if (o != Outcome::kOk) return o;
      if (p_ == end_) return EndOfInput("'}' closing the map opened", open);
      if (*p_ == '}') {
        ++p_;
        return Outcome::kOk;
      }
      Json key;
      o = ParseValue(key, depth + 1);
      if (o != Outcome::kOk) return o;
      o = SkipSpace();
      if (o != Outcome::kOk) return o;
      if (p_ == end_) return EndOfInput("a map value", open);
      if (*p_ == '}') return Error(p_, "map has a key without a value");
      Json value;
      o = ParseValue(value, depth + 1);
      if (o != Outcome::kOk) return o;
      on_entry(std::move(key), std::move(value));
    }
  }

  // Reads an op map's entries, sparing allocations on the hot path: keyword
  // keys are handed over as names without the colon, and a keyword value of
  // :type, :f or :process as its name (value == nullptr); any other value is
  // parsed into JSON.
  template <typename OnEntry>
  Outcome ParseOpEntries(OnEntry&& on_entry) {
    const char* open = p_ - 1;
    std::string key_storage;
    while (true) {
      Outcome o = SkipSpace();
      if (o != Outcome::kOk) return o;
      if (p_ == end_) return EndOfInput("'}' closing the map opened", open);
      if (*p_ == '}') {
        ++p_;
        return Outcome::kOk;
      }
      std::string_view name;
      if (*p_ == ':') {
        const char* start = p_++;
        const char* q;
        o = TokenEnd(q);
        if (o != Outcome::kOk) return o;
        if (q == p_) return Error(start, "empty keyword");
        name = std::string_view(p_, q - p_);
        p_ = q;
      } else {
        Json key;
        o = ParseValue(key, 2);
        if (o != Outcome::kOk) return o;
        key_storage = KeyString(key);
        name = key_storage;
      }
      o = SkipSpace();
      if (o != Outcome::kOk) return o;
      if (p_ == end_) return EndOfInput("a map value", open);
      if (*p_ == '}') return Error(p_, "map has a key without a value");
      if (*p_ == ':' && (name == "type" || name == "f" || name == "process")) {
        const char* start = p_++;
        const char* q;
        o = TokenEnd(q);
        if (o != Outcome::kOk) return o;
        if (q == p_) return Error(start, "empty keyword");
        std::string_view keyword(p_, q - p_);
        p_ = q;
        on_entry(name, keyword, nullptr);
        continue;
      }
      Json value;
      o = ParseValue(value, 2);
      if (o != Outcome::kOk) return o;
      on_entry(name, std::string_view(), &value);
    }
  }

 private:
  static std::string Printable(char c) {
    if (c >= 32 && c < 127) return std::string(1, c);
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
    return buf;
  }

  Outcome Error(const char* at, std::string message) {
    error_at_ = at;
    error_ = std::move(message);
    return Outcome::kError;
  }

  Outcome EndOfInput(const std::string& expected, const char* opened = nullptr) {
    if (!at_eof_) return Outcome::kIncomplete;
    if (opened != nullptr) {
      return Error(p_, "end of input: expected " + expected + " at offset " +
                           std::to_string(opened - begin_) + " of this element");
    }
    return Error(p_, "end of input: expected " + expected);
  }

  Outcome ParseSequence(Json& out, char close, int depth) {
    const char* open = p_ - 1;
    out = Json::array();
    while (true) {
      Outcome o = SkipSpace();
      if (o != Outcome::kOk) return o;
      if (p_ == end_)
        return EndOfInput(std::string("'") + close + "' closing the collection", open);
      if (*p_ == close) {
        ++p_;
        return Outcome::kOk;
      }
      if (*p_ == ']' || *p_ == ')' || *p_ == '}') {
        return Error(p_, std::string("'") + *p_ + "' does not close '" + *open + "'");
      }
      Json item;
      o = ParseValue(item, depth + 1);
      if (o != Outcome::kOk) return o;
      out.push_back(std::move(item));
    }
  }

  Outcome ParseMap(Json& out, int depth) {
    out = Json::object();
    return ParseMapEntries(
        depth, [&out](Json key, Json value) { out[KeyString(key)] = std::move(value); });
  }

 public:
  // JSON objects need string keys: strings and keywords stay as they are,
  // anything else is written as its EDN text.
  static std::string KeyString(const Json& key) {
    if (key.is_string()) return key.get<std::string>();
    return EdnOf(key);
  }

 private:
  Outcome ParseString(std::string& out) {
    const char* open = p_;
    ++p_;
    while (true) {
      const char* q = p_;
      while (q < end_ && *q != '"' && *q != '\\') ++q;
      out.append(p_, q);
      p_ = q;
      if (p_ == end_) {
        if (!at_eof_) return Outcome::kIncomplete;
        return Error(open, "unterminated string");
      }
      if (*p_ == '"') {
        ++p_;
        return Outcome::kOk;
      }
      // Escape.
      if (p_ + 1 >= end_) {
        if (!at_eof_) return Outcome::kIncomplete;
        return Error(open, "unterminated string");
      }
      char e = p_[1];
      p_ += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'u': {
          if (end_ - p_ < 4) {
            if (!at_eof_) return Outcome::kIncomplete;
            return Error(p_ - 2, "truncated \\u escape");
          }
          uint32_t cp = 0;
          auto [ptr, ec] = std::from_chars(p_, p_ + 4, cp, 16);
          if (ec != std::errc() || ptr != p_ + 4) return Error(p_ - 2, "bad \\u escape");
          p_ += 4;
          AppendUtf8(out, cp);
          break;
        }
        default:
          return Error(p_ - 2, std::string("unknown escape '\\") + Printable(e) + "' in string");
      }
    }
  }

  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // Reads the extent of a symbol-like token starting at p_.
  Outcome TokenEnd(const char*& token_end) {
    const char* q = p_;
    while (q < end_ && IsSymbolChar(*q)) ++q;
    if (q == end_ && !at_eof_) return Outcome::kIncomplete;
    token_end = q;
    return Outcome::kOk;
  }

  Outcome ParseKeyword(Json& out) {
    const char* start = p_;
    ++p_;
    const char* q;
    Outcome o = TokenEnd(q);
    if (o != Outcome::kOk) return o;
    if (q == p_) return Error(start, "empty keyword");
    out = std::string(start, q);  // keeps the leading ':'
    p_ = q;
    return Outcome::kOk;
  }

  Outcome ParseSymbol(Json& out) {
    const char* q;
    Outcome o = TokenEnd(q);
    if (o != Outcome::kOk) return o;
    std::string_view s(p_, q - p_);
    if (s == "nil") {
      out = nullptr;
    } else if (s == "true") {
      out = true;
    } else if (s == "false") {
      out = false;
    } else {
      out = std::string(s);
    }
    p_ = q;
    return Outcome::kOk;
  }

  Outcome ParseCharacter(Json& out) {
    const char* start = p_;
    ++p_;
    if (p_ == end_) return EndOfInput("a character after '\\'");
    const char* q = p_ + 1;
    while (q < end_ &&
           ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || (*q >= 'A' && *q <= 'F'))) {
      ++q;
    }
    if (q == end_ && !at_eof_) return Outcome::kIncomplete;
    std::string_view name(p_, q - p_);
    std::string value;
    if (name.size() == 1) {
      value = std::string(name);
    } else if (name == "newline") {
      value = "\n";
    } else if (name == "space") {
      value = " ";
    } else if (name == "tab") {
      value = "\t";
    } else if (name == "return") {
      value = "\r";
    } else if (name.size() == 5 && name[0] == 'u') {
      uint32_t cp = 0;
      auto [ptr, ec] = std::from_chars(name.data() + 1, name.data() + 5, cp, 16);
      if (ec != std::errc() || ptr != name.data() + 5) return Error(start, "bad character literal");
      AppendUtf8(value, cp);
    } else {
      // A single character followed by letters: only the first belongs to it.
      q = p_ + 1;
      value = std::string(1, *p_);
    }
    out = std::move(value);
    p_ = q;
    return Outcome::kOk;
  }

  Outcome ParseNumber(Json& out) {
    const char* start = p_;
    const char* q;
    Outcome o = TokenEnd(q);
    if (o != Outcome::kOk) return o;
    std::string_view token(start, q - start);
    p_ = q;
    std::string_view digits = token;
    if (!digits.empty() && (digits.back() == 'N' || digits.back() == 'M')) {
      digits.remove_suffix(1);
    }
    std::string_view unsigned_digits = digits;
    if (!unsigned_digits.empty() && unsigned_digits[0] == '+') unsigned_digits.remove_prefix(1);
    bool is_float = digits.find_first_of(".eE") != std::string_view::npos;
    if (!is_float && token.back() != 'M' && digits.find('/') == std::string_view::npos) {
      int64_t v = 0;
      auto [ptr, ec] = std::from_chars(unsigned_digits.data(),
                                       unsigned_digits.data() + unsigned_digits.size(), v);
      if (ec == std::errc() && ptr == unsigned_digits.data() + unsigned_digits.size()) {
        out = v;
        return Outcome::kOk;
      }
      if (ec != std::errc::result_out_of_range) return Error(start, "malformed number");
      // A big integer: kept as a float, the nearest JSON can hold.
    }
    if (auto slash = digits.find('/'); slash != std::string_view::npos) {
      double n = 0, d = 0;
      auto r1 = std::from_chars(unsigned_digits.data(), digits.data() + slash, n);
      auto r2 = std::from_chars(digits.data() + slash + 1, digits.data() + digits.size(), d);
      if (r1.ec != std::errc() || r2.ec != std::errc() || r1.ptr != digits.data() + slash ||
          r2.ptr != digits.data() + digits.size() || d == 0) {
        return Error(start, "malformed ratio");
      }
      out = n / d;
      return Outcome::kOk;
    }
    double v = 0;
    auto [ptr, ec] =
        std::from_chars(unsigned_digits.data(), unsigned_digits.data() + unsigned_digits.size(), v);
    if (ec != std::errc() || ptr != unsigned_digits.data() + unsigned_digits.size()) {
      return Error(start, "malformed number");
    }
    out = v;
    return Outcome::kOk;
  }

  Outcome ParseDispatch(Json& out, int depth) {
    const char* start = p_;
    if (p_ + 1 >= end_) return EndOfInput("a form after '#'");
    char c = p_[1];
    if (c == '{') {  // a set: kept as an array
      p_ += 2;
      return ParseSequence(out, '}', depth);
    }
    if (c == '#') {  // ##Inf, ##-Inf, ##NaN
      p_ += 2;
      const char* q;
      Outcome o = TokenEnd(q);
      if (o != Outcome::kOk) return o;
      out = "##" + std::string(p_, q);
      p_ = q;
      return Outcome::kOk;
    }
    if (c == '"') {  // a regex: kept as its source text
      ++p_;
      std::string s;
      Outcome o = ParseString(s);
      if (o == Outcome::kOk) out = std::move(s);
      return o;
    }
    if (!(std::isalpha(static_cast<unsigned char>(c)))) {
      return Error(start, std::string("unknown dispatch '#") + Printable(c) + "'");
    }
    // A tagged literal (#inst "...", #uuid "...", #jepsen.history.Op{...}):
    // the value it tags stands for it.
    ++p_;
    const char* q;
    Outcome o = TokenEnd(q);
    if (o != Outcome::kOk) return o;
    p_ = q;
    return ParseValue(out, depth + 1);
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  bool at_eof_;
  const char* error_at_ = nullptr;
  std::string error_;
};

bool IsKeywordText(std::string_view s) {
  if (s.size() < 2 || s[0] != ':' || s[1] == ':' || (s[1] >= '0' && s[1] <= '9')) return false;
  for (size_t i = 1; i < s.size(); ++i) {
    if (!IsSymbolChar(s[i])) return false;
  }
  return true;
}

void AppendEdnString(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void AppendEdn(std::string& out, const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      out += "nil";
      break;
    case Json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      break;
    case Json::value_t::number_integer:
      out += std::to_string(v.get<int64_t>());
      break;
    case Json::value_t::number_unsigned:
      out += std::to_string(v.get<uint64_t>());
      break;
    case Json::value_t::number_float: {
      std::string d = v.dump();
      if (d.find_first_of(".eE") == std::string::npos) d += ".0";
      out += d;
      break;
    }
    case Json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      if (IsKeywordText(s)) {
        out += s;
      } else {
        AppendEdnString(out, s);
      }
      break;
    }
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v) {
        if (!first) out += ' ';
        first = false;
        AppendEdn(out, item);
      }
      out += ']';
      break;
    }
    case Json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) out += ", ";
        first = false;
        if (IsKeywordText(key)) {
          out += key;
        } else {
          AppendEdnString(out, key);
        }
        out += ' ';
        AppendEdn(out, item);
      }
      out += '}';
      break;
    }
    default:
      out += "nil";
      break;
  }
}

// Line and column (from 1) of `offset` in `text`, given the line number of
// the text's first byte.
std::pair<int64_t, int64_t> LineColumn(std::string_view text, size_t offset, int64_t first_line,
                                       int64_t first_column) {
  int64_t line = first_line;
  int64_t column = first_column;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// Streams ops out of an EDN history: a vector or list of maps, or a bare
// sequence of maps.
class EdnReader : public HistoryReader {
 public:
  EdnReader(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  EdnReader(std::string text, std::string name)
      : fd_(-1), name_(std::move(name)), buffer_(std::move(text)), eof_(true) {}
  ~EdnReader() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Result<std::optional<Op>> Next() override {
    if (done_) return std::optional<Op>();
    while (true) {
      Parser parser(buffer_.data() + pos_, buffer_.data() + buffer_.size(), eof_);
      auto step = Step(parser);
      if (step.outcome == Parser::Outcome::kIncomplete) {
        CHAOS_RETURN_IF_ERROR(Refill());
        continue;
      }
      if (step.outcome == Parser::Outcome::kError) {
        return ErrorAt(parser.error_at(), parser.error());
      }
      Advance(parser.position());
      if (!step.op.has_value()) {
        done_ = true;
        return std::optional<Op>();
      }
      ++count_;
      return std::move(step.op);
    }
  }

 private:
  struct StepResult {
    Parser::Outcome outcome = Parser::Outcome::kOk;
    std::optional<Op> op;
  };

  // Parses from the current position: the opening of the history, one op,
  // or its end.
  StepResult Step(Parser& parser) {
    StepResult r;
    r.outcome = parser.SkipSpace();
    if (r.outcome != Parser::Outcome::kOk) return r;
    const char* p = parser.position();
    const char* end = buffer_.data() + buffer_.size();
    if (!started_) {
      if (p == end) {
        if (!eof_) return {Parser::Outcome::kIncomplete, {}};
        return r;  // an empty file: an empty history
      }
      started_ = true;
      if (*p == '[' || *p == '(') {
        close_ = *p == '[' ? ']' : ')';
        parser.set_position(p + 1);
        pos_ = parser.position() - buffer_.data();
        r.outcome = parser.SkipSpace();
        if (r.outcome != Parser::Outcome::kOk) return r;
        p = parser.position();
      }
    }
    if (p == end) {
      if (!eof_) return {Parser::Outcome::kIncomplete, {}};
      if (close_ != 0 && !closed_) {
        return Fail(parser, p,
                    std::string("end of input: expected '") + close_ + "' closing the history");
      }
      return r;
    }
    if (close_ != 0 && *p == close_) {
      if (closed_) return Fail(parser, p, "unexpected text after the history");
      parser.set_position(p + 1);
      pos_ = parser.position() - buffer_.data();
      closed_ = true;
      // Only whitespace and comments may follow.
      r.outcome = parser.SkipSpace();
      if (r.outcome != Parser::Outcome::kOk) return r;
      if (parser.position() != end)
        return Fail(parser, parser.position(), "unexpected text after the history");
      if (!eof_) return {Parser::Outcome::kIncomplete, {}};
      return r;
    }
    if (closed_) return Fail(parser, p, "unexpected text after the history");
    // One op: a map, possibly tagged (#jepsen.history.Op{...}).
    const char* element = p;
    if (*p == '#' && p + 1 < end && std::isalpha(static_cast<unsigned char>(p[1]))) {
      const char* q = p + 1;
      while (q < end && IsSymbolChar(*q)) ++q;
      if (q == end && !eof_) return {Parser::Outcome::kIncomplete, {}};
      while (q < end && IsWhitespace(*q)) ++q;
      p = q;
    }
    if (p == end) {
      if (!eof_) return {Parser::Outcome::kIncomplete, {}};
      return Fail(parser, element, "end of input inside an op");
    }
    if (*p != '{') {
      return Fail(parser, element, "expected an op map '{...}' but found " + std::string(1, *p));
    }
    parser.set_position(p + 1);
    has_type_ = has_process_ = false;
    Op op;
    std::string field_error;
    Json extra;
    r.outcome =
        parser.ParseOpEntries([&](std::string_view name, std::string_view keyword, Json* value) {
          if (!field_error.empty()) return;
          Status s = value != nullptr ? SetField(op, name, std::move(*value), extra)
                                      : SetKeywordField(op, name, keyword);
          if (!s.ok()) field_error = s.message();
        });
    if (r.outcome != Parser::Outcome::kOk) return r;
    if (!field_error.empty()) return Fail(parser, element, field_error);
    if (!extra.is_null()) op.extra = std::move(extra);
    if (!has_type_) return Fail(parser, element, "op has no :type");
    if (!has_process_) return Fail(parser, element, "op has no :process");
    if (op.index == kAbsent) op.index = count_;
    r.op = std::move(op);
    return r;
  }

  Status SetKeywordField(Op& op, std::string_view name, std::string_view keyword) {
    if (name == "type") {
      auto t = ParseOpType(keyword);
      if (!t) return InvalidArgument("unknown op type :" + std::string(keyword));
      op.type = *t;
      has_type_ = true;
    } else if (name == "f") {
      op.f.assign(keyword);
    } else {  // process
      op.process = Process::Named(std::string(keyword));
      has_process_ = true;
    }
    return Status::Ok();
  }

  Status SetField(Op& op, std::string_view name, Json value, Json& extra) {
    if (name == "type") {
      auto t = value.is_string() ? ParseOpType(value.get_ref<const std::string&>())
                                 : std::optional<OpType>();
      if (!t) return InvalidArgument("unknown op type " + EdnOf(value));
      op.type = *t;
      has_type_ = true;
    } else if (name == "process") {
      if (value.is_number_integer()) {
        op.process = Process::Number(value.get<int64_t>());
      } else if (value.is_string() && !NameOf(value).empty()) {
        op.process = Process::Named(std::string(NameOf(value)));
      } else {
        return InvalidArgument("bad :process " + EdnOf(value));
      }
      has_process_ = true;
    } else if (name == "f") {
      if (!value.is_string()) return InvalidArgument("bad :f " + EdnOf(value));
      op.f = std::string(NameOf(value));
    } else if (name == "value") {
      op.value = std::move(value);
    } else if (name == "time") {
      if (!value.is_number()) return InvalidArgument("bad :time " + EdnOf(value));
      auto t = TimeOf(value);
      if (!t) return InvalidArgument("bad :time " + EdnOf(value));
      op.time_ns = *t;
    } else if (name == "index") {
      if (!value.is_number_integer()) return InvalidArgument("bad :index " + EdnOf(value));
      op.index = value.get<int64_t>();
    } else if (name == "node") {
      if (value.is_string()) {
        op.node = std::string(NameOf(value));
      } else if (!value.is_null()) {
        op.node = EdnOf(value);
      }
    } else if (name == "error") {
      op.error = std::move(value);
    } else {
      if (extra.is_null()) extra = Json::object();
      extra[std::string(name)] = std::move(value);
    }
    return Status::Ok();
  }

  StepResult Fail(Parser& parser, const char* at, std::string message) {
    // Reuse the parser's error slot through a tiny parse of nothing.
    error_at_override_ = at;
    error_override_ = std::move(message);
    (void)parser;
    StepResult r;
    r.outcome = Parser::Outcome::kError;
    return r;
  }

  Status ErrorAt(const char* at, const std::string& message) {
    if (error_at_override_ != nullptr) {
      at = error_at_override_;
    }
    std::string text = error_override_.empty() ? message : error_override_;
    size_t offset = at - buffer_.data();
    auto [line, column] = LineColumn(buffer_, offset, line_, column_);
    return InvalidArgument(name_ + ":" + std::to_string(line) + ":" + std::to_string(column) +
                           ": " + text);
  }

  // Moves the window start to `p`, keeping line and column counts.
  void Advance(const char* p) {
    size_t new_pos = p - buffer_.data();
    pos_ = new_pos;
  }

  Status Refill() {
    if (eof_) return Internal(name_ + ": parser asked for more input at end of file");
    // Drop what was consumed, counting its lines.
    if (pos_ > 0) {
      auto [line, column] = LineColumn(buffer_, pos_, line_, column_);
      line_ = line;
      column_ = column;
      buffer_.erase(0, pos_);
      pos_ = 0;
    }
    if (buffer_.size() >= kMaxElementBytes) {
      return InvalidArgument(name_ + ":" + std::to_string(line_) + ":" + std::to_string(column_) +
                             ": an element longer than 16 MiB");
    }
    size_t want = std::max<size_t>(1 << 20, buffer_.size());
    return internal::ReadChunk(fd_, name_, want, buffer_, &eof_);
  }

  int fd_;
  std::string name_;
  std::string buffer_;
  size_t pos_ = 0;
  bool eof_ = false;
  int64_t line_ = 1;
  int64_t column_ = 1;
  bool started_ = false;
  char close_ = 0;
  bool closed_ = false;
  bool done_ = false;
  bool has_type_ = false;
  bool has_process_ = false;
  int64_t count_ = 0;
  const char* error_at_override_ = nullptr;
  std::string error_override_;
};

}  // namespace

Result<Json> ParseEdnValue(std::string_view text) {
  Parser parser(text.data(), text.data() + text.size(), true);
  Json out;
  auto o = parser.ParseValue(out, 0);
  if (o != Parser::Outcome::kOk) {
    return InvalidArgument("offset " + std::to_string(parser.error_at() - text.data()) + ": " +
                           parser.error());
  }
  o = parser.SkipSpace();
  if (o != Parser::Outcome::kOk || parser.position() != text.data() + text.size()) {
    return InvalidArgument("offset " + std::to_string(parser.position() - text.data()) +
                           ": unexpected text after the value");
  }
  return out;
}

std::string EdnOf(const Json& value) {
  std::string out;
  AppendEdn(out, value);
  return out;
}

std::string OpToEdn(const Op& op) {
  std::string out = "{";
  if (op.index != kAbsent) out += ":index " + std::to_string(op.index) + ", ";
  if (op.time_ns != kAbsent) out += ":time " + std::to_string(op.time_ns) + ", ";
  out += ":type :";
  out += OpTypeName(op.type);
  out += ", :process ";
  if (op.process.is_named()) {
    out += IsKeywordText(":" + op.process.name) ? ":" + op.process.name
                                                : "\"" + op.process.name + "\"";
  } else {
    out += std::to_string(op.process.id);
  }
  out += ", :f ";
  if (IsKeywordText(":" + op.f)) {
    out += ":" + op.f;
  } else {
    AppendEdnString(out, op.f);
  }
  out += ", :value ";
  AppendEdn(out, op.value);
  if (op.node) {
    out += ", :node ";
    AppendEdnString(out, *op.node);
  }
  if (!op.error.is_null()) {
    out += ", :error ";
    AppendEdn(out, op.error);
  }
  if (op.extra.is_object()) {
    for (const auto& [key, item] : op.extra.items()) {
      out += ", ";
      out += IsKeywordText(":" + key) ? ":" + key : "\"" + key + "\"";
      out += ' ';
      AppendEdn(out, item);
    }
  }
  out += '}';
  return out;
}

std::unique_ptr<HistoryReader> EdnReaderFromString(std::string text, std::string name) {
  return std::make_unique<EdnReader>(std::move(text), std::move(name));
}

namespace internal {
std::unique_ptr<HistoryReader> OpenEdnFd(int fd, std::string name) {
  return std::make_unique<EdnReader>(fd, std::move(name));
}
}  // namespace internal

}  // namespace chaos::history
