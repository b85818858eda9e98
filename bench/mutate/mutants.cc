#include "bench/mutate/mutants.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <regex>
#include <utility>

namespace chaos::mutate {
namespace {

bool IsIdent(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char n = s[++i];
      out += n == 't' ? '\t' : n == 'n' ? '\n' : n;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Byte offsets of each line's start.
std::vector<size_t> LineStarts(const std::string& text) {
  std::vector<size_t> starts{0};
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') starts.push_back(i + 1);
  }
  return starts;
}

// The offset of the bracket matching the one at `open`, or npos.
size_t MatchingParen(const std::string& blank, size_t open) {
  int depth = 0;
  for (size_t i = open; i < blank.size(); ++i) {
    if (blank[i] == '(') ++depth;
    if (blank[i] == ')' && --depth == 0) return i;
  }
  return std::string::npos;
}

// Splits `args` at commas outside brackets.
std::vector<std::string> TopLevelArgs(const std::string& args) {
  std::vector<std::string> out(1);
  int depth = 0;
  for (char c : args) {
    if (c == '(' || c == '[' || c == '{' || c == '<') ++depth;
    if (c == ')' || c == ']' || c == '}' || c == '>') --depth;
    if (c == ',' && depth == 0) {
      out.emplace_back();
      continue;
    }
    out.back() += c;
  }
  return out;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

struct Scanner {
  const std::string& file;
  const std::string& text;
  std::string blank;
  std::vector<size_t> starts;
  std::vector<Mutant> out;

  void Add(size_t offset, std::string op, std::string original, std::string replacement) {
    auto it = std::upper_bound(starts.begin(), starts.end(), offset);
    size_t line = static_cast<size_t>(it - starts.begin());  // 1-based
    Mutant m;
    m.file = file;
    m.line = static_cast<int>(line);
    m.column = static_cast<int>(offset - starts[line - 1] + 1);
    m.op = std::move(op);
    m.original = std::move(original);
    m.replacement = std::move(replacement);
    m.function = FunctionAt(line);
    out.push_back(std::move(m));
  }

  // The nearest definition above `line` (1-based) that starts at column 1,
  // as clang-format leaves every function definition in these files:
  // `Type Class::Name(args) {` gives "Class::Name".
  std::string FunctionAt(size_t line) const {
    for (size_t l = line; l-- > 0;) {
      size_t b = starts[l];
      size_t e = l + 1 < starts.size() ? starts[l + 1] - 1 : blank.size();
      std::string s = blank.substr(b, e - b);
      if (s.empty() || !IsIdent(s[0]) || s.back() == ';') continue;
      size_t paren = s.find('(');
      if (paren == std::string::npos || s.rfind("namespace", 0) == 0) continue;
      size_t name_end = paren, name_begin = paren;
      while (name_begin > 0 &&
             (IsIdent(s[name_begin - 1]) || s[name_begin - 1] == ':' || s[name_begin - 1] == '~')) {
        --name_begin;
      }
      if (name_begin == name_end) continue;
      return s.substr(name_begin, name_end - name_begin);
    }
    return "";
  }

  bool PreprocessorLine(size_t offset) const {
    auto it = std::upper_bound(starts.begin(), starts.end(), offset);
    size_t begin = *(it - 1);
    size_t first = blank.find_first_not_of(" \t", begin);
    return first != std::string::npos && blank[first] == '#';
  }

  // Binary operators written with a space on each side.
  void Operators() {
    static const std::vector<std::pair<std::string, std::string>> kRor = {
        {" < ", " <= "}, {" <= ", " < "},  {" > ", " >= "},
        {" >= ", " > "}, {" == ", " != "}, {" != ", " == "}};
    static const std::vector<std::pair<std::string, std::string>> kOthers = {
        {" && ", " || "}, {" || ", " && "}, {" + ", " - "},
        {" - ", " + "},   {" += ", " -= "}, {" -= ", " += "}};
    auto scan = [&](const auto& table, const char* op_for_ror) {
      for (const auto& [from, to] : table) {
        for (size_t at = blank.find(from); at != std::string::npos; at = blank.find(from, at + 1)) {
          if (PreprocessorLine(at)) continue;
          std::string op = op_for_ror != nullptr                ? op_for_ror
                           : (from == " && " || from == " || ") ? "lcr"
                                                                : "aor";
          Add(at + 1, op, Trim(from), Trim(to));
        }
      }
    };
    scan(kRor, "ror");
    scan(kOthers, nullptr);
  }

  void Words() {
    static const std::vector<std::pair<std::string, std::string>> kWords = {
        {"true", "false"},
        {"false", "true"},
        {"std::min(", "std::max("},
        {"std::max(", "std::min("}};
    for (const auto& [from, to] : kWords) {
      for (size_t at = blank.find(from); at != std::string::npos; at = blank.find(from, at + 1)) {
        if (at > 0 && (IsIdent(blank[at - 1]) || blank[at - 1] == ':')) continue;
        size_t end = at + from.size();
        if (from.back() != '(' && end < blank.size() && IsIdent(blank[end])) continue;
        if (PreprocessorLine(at)) continue;
        Add(at, from.back() == '(' ? "minmax" : "bool", from, to);
      }
    }
  }

  void Constants() {
    for (size_t i = 0; i < blank.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(blank[i]))) continue;
      if (i > 0 && (IsIdent(blank[i - 1]) || blank[i - 1] == '.' || blank[i - 1] == '\'')) {
        while (i < blank.size() && (IsIdent(blank[i]) || blank[i] == '\'')) ++i;
        continue;
      }
      size_t end = i;
      while (end < blank.size() && std::isdigit(static_cast<unsigned char>(blank[end]))) ++end;
      size_t suffix = end;
      while (suffix < blank.size() && std::string("uUlL").find(blank[suffix]) != std::string::npos)
        ++suffix;
      bool plain = suffix >= blank.size() ||
                   (!IsIdent(blank[suffix]) && blank[suffix] != '.' && blank[suffix] != '\'');
      if (plain && !PreprocessorLine(i) && end - i <= 18) {
        std::string digits = blank.substr(i, end - i);
        std::string rest = blank.substr(end, suffix - end);
        long long v = std::atoll(digits.c_str());
        Add(i, "const+1", digits + rest, std::to_string(v + 1) + rest);
        if (v > 0) Add(i, "const-1", digits + rest, std::to_string(v - 1) + rest);
      }
      i = suffix;
    }
  }

  void NegateIfs() {
    for (size_t at = blank.find("if ("); at != std::string::npos; at = blank.find("if (", at + 1)) {
      if (at > 0 && IsIdent(blank[at - 1])) continue;
      size_t open = at + 3;
      size_t close = MatchingParen(blank, open);
      if (close == std::string::npos) continue;
      std::string cond = text.substr(open, close - open + 1);  // "(...)"
      Add(open, "negate-if", cond, "(!" + cond + ")");
    }
  }

  void SwapArgs() {
    static const std::regex kSimple(
        R"(^[A-Za-z_][A-Za-z0-9_:.\[\]]*(->[A-Za-z_][A-Za-z0-9_]*)*(\(\))?$|^[0-9]+$)");
    static const std::vector<std::string> kKeywords = {"if",     "for",    "while", "switch",
                                                       "return", "sizeof", "catch"};
    for (size_t open = blank.find('('); open != std::string::npos;
         open = blank.find('(', open + 1)) {
      if (open == 0 || !IsIdent(blank[open - 1])) continue;
      size_t name_begin = open;
      while (name_begin > 0 && IsIdent(blank[name_begin - 1])) --name_begin;
      std::string name = blank.substr(name_begin, open - name_begin);
      if (std::find(kKeywords.begin(), kKeywords.end(), name) != kKeywords.end()) continue;
      size_t close = MatchingParen(blank, open);
      if (close == std::string::npos) continue;
      std::string inside = blank.substr(open + 1, close - open - 1);
      if (inside.find('\n') != std::string::npos) continue;
      std::vector<std::string> args = TopLevelArgs(inside);
      if (args.size() != 2) continue;
      std::string a = Trim(args[0]), b = Trim(args[1]);
      if (a == b || !std::regex_match(a, kSimple) || !std::regex_match(b, kSimple)) continue;
      if (PreprocessorLine(open)) continue;
      Add(open, "swap-args", text.substr(open, close - open + 1), "(" + b + ", " + a + ")");
    }
  }

  // A whole-line statement that changes state: an assignment, an increment
  // or a call, not a declaration, a return or a control statement.
  void DeleteStatements() {
    static const std::regex kDeclaration(
        R"(^(const |static |constexpr )*[A-Za-z_][A-Za-z0-9_:<>,]*[&*]? +[&*]?[A-Za-z_][A-Za-z0-9_]*( *[=;({\[]| *$).*)");
    static const std::vector<std::string> kSkip = {"return",  "break",  "continue", "case",
                                                   "default", "goto",   "throw",    "co_",
                                                   "using",   "typedef"};
    for (size_t line = 0; line + 1 < starts.size(); ++line) {
      size_t begin = starts[line], end = starts[line + 1] - 1;
      std::string raw = blank.substr(begin, end - begin);
      std::string s = Trim(raw);
      if (s.empty() || s.back() != ';' || s[0] == '#' || s[0] == '}') continue;
      if (!(IsIdent(s[0]) || s[0] == '*' || s.rfind("++", 0) == 0 || s.rfind("--", 0) == 0))
        continue;
      bool skip = false;
      for (const auto& k : kSkip) skip |= s.rfind(k, 0) == 0;
      if (skip || std::regex_match(s, kDeclaration)) continue;
      bool changes = s.find(" = ") != std::string::npos || s.find("++") != std::string::npos ||
                     s.find("--") != std::string::npos || s.find(" += ") != std::string::npos ||
                     s.find(" -= ") != std::string::npos || s.find(" |= ") != std::string::npos ||
                     (s.size() >= 2 && s.compare(s.size() - 2, 2, ");") == 0);
      if (!changes) continue;
      // The previous non-blank line must end a statement or open a block, so
      // this line is a statement of its own, not the tail of a longer one.
      std::string prev;
      for (size_t p = line; p-- > 0 && prev.empty();) {
        prev = Trim(blank.substr(starts[p], starts[p + 1] - 1 - starts[p]));
      }
      if (!prev.empty() && std::string(";{}:").find(prev.back()) == std::string::npos) continue;
      size_t first = begin + raw.find_first_not_of(" \t");
      Add(first, "delete-statement", text.substr(first, s.size()), "");
    }
  }
};

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::string Mutant::ToListing() const {
  return Escape(file) + "\t" + std::to_string(line) + "\t" + std::to_string(column) + "\t" + op +
         "\t" + Escape(original) + "\t" + Escape(replacement) + "\t" + Escape(function);
}

bool Mutant::FromListing(const std::string& row, Mutant* out) {
  std::vector<std::string> f(1);
  for (char c : row) {
    if (c == '\t') {
      f.emplace_back();
    } else {
      f.back() += c;
    }
  }
  if (f.size() != 7) return false;
  out->file = Unescape(f[0]);
  out->line = std::atoi(f[1].c_str());
  out->column = std::atoi(f[2].c_str());
  out->op = f[3];
  out->original = Unescape(f[4]);
  out->replacement = Unescape(f[5]);
  out->function = Unescape(f[6]);
  return out->line > 0 && out->column > 0 && !out->original.empty();
}

std::string BlankCommentsAndLiterals(const std::string& text) {
  std::string out = text;
  size_t i = 0, n = text.size();
  auto blank_to = [&](size_t end) {
    for (; i < end && i < n; ++i) {
      if (out[i] != '\n') out[i] = ' ';
    }
  };
  while (i < n) {
    char c = text[i];
    if (c == '/' && i + 1 < n && text[i + 1] == '/') {
      size_t end = text.find('\n', i);
      blank_to(end == std::string::npos ? n : end);
    } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
      size_t end = text.find("*/", i + 2);
      blank_to(end == std::string::npos ? n : end + 2);
    } else if (c == 'R' && i + 1 < n && text[i + 1] == '"' && (i == 0 || !IsIdent(text[i - 1]))) {
      size_t paren = text.find('(', i + 2);
      if (paren == std::string::npos) {
        ++i;
        continue;
      }
      std::string close = ")" + text.substr(i + 2, paren - i - 2) + "\"";
      size_t end = text.find(close, paren);
      ++i;  // keep the R
      blank_to(end == std::string::npos ? n : end + close.size());
    } else if (c == '"' || (c == '\'' && (i == 0 || !IsIdent(text[i - 1])))) {
      size_t j = i + 1;
      while (j < n && text[j] != c && text[j] != '\n') j += text[j] == '\\' ? 2 : 1;
      blank_to(std::min(n, j + 1));
    } else {
      ++i;
    }
  }
  return out;
}

std::vector<Mutant> FindMutants(const std::string& file, const std::string& text) {
  Scanner s{file, text, BlankCommentsAndLiterals(text), LineStarts(text), {}};
  s.Operators();
  s.Words();
  s.Constants();
  s.NegateIfs();
  s.SwapArgs();
  s.DeleteStatements();
  std::stable_sort(s.out.begin(), s.out.end(), [](const Mutant& a, const Mutant& b) {
    return std::tie(a.line, a.column, a.op, a.replacement) <
           std::tie(b.line, b.column, b.op, b.replacement);
  });
  return std::move(s.out);
}

bool Apply(const Mutant& m, const std::string& text, std::string* out) {
  std::vector<size_t> starts = LineStarts(text);
  if (m.line < 1 || static_cast<size_t>(m.line) > starts.size()) return false;
  size_t at = starts[m.line - 1] + static_cast<size_t>(m.column - 1);
  if (at > text.size() || text.compare(at, m.original.size(), m.original) != 0) return false;
  *out = text.substr(0, at) + m.replacement + text.substr(at + m.original.size());
  return true;
}

void Shuffle(std::vector<Mutant>* mutants, uint64_t seed) {
  uint64_t state = seed;
  for (size_t i = mutants->size(); i > 1; --i) {
    size_t j = static_cast<size_t>(SplitMix64(&state) % i);
    std::swap((*mutants)[i - 1], (*mutants)[j]);
  }
}

}  // namespace chaos::mutate
