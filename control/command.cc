#include "control/command.h"

#include "base/check.h"

namespace chaos::control {
namespace {

bool IsPlainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '/' || c == '=' || c == ':' || c == '@' || c == '%' || c == '+' ||
         c == ',' || c == '-';
}

bool IsVariableName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

}  // namespace

std::string ShellQuote(std::string_view text) {
  CHAOS_CHECK_MSG(text.find('\0') == std::string_view::npos,
                  "a NUL byte at offset %zu cannot be passed to a shell", text.find('\0'));
  if (text.empty()) return "''";
  bool plain = true;
  for (char c : text) plain = plain && IsPlainChar(c);
  // '=' is plain except at the start of the first word, where sh would read an
  // assignment; quoting it everywhere keeps the rule simple.
  if (plain && text.find('=') == std::string_view::npos) return std::string(text);
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

Command::Command(std::string_view program) : line_(ShellQuote(program)) {}

Command& Command::Arg(std::string_view arg) {
  line_ += ' ';
  line_ += ShellQuote(arg);
  return *this;
}

Command& Command::Args(const std::vector<std::string>& args) {
  for (const auto& a : args) Arg(a);
  return *this;
}

Command& Command::Env(std::string_view name, std::string_view value) {
  CHAOS_CHECK_MSG(IsVariableName(name), "not a variable name: %.*s", static_cast<int>(name.size()),
                  name.data());
  MakeSimple();
  env_words_.push_back(std::string(name) + "=" + ShellQuote(value));
  return *this;
}

Command& Command::Cd(std::string_view dir) {
  MakeSimple();
  // Options of env come before its assignments.
  env_words_.insert(env_words_.begin(), {"-C", ShellQuote(dir)});
  return *this;
}

Command& Command::Sudo(std::string_view user) {
  MakeSimple();
  line_ = "sudo -n -u " + ShellQuote(user) + " " + ToString();
  env_words_.clear();
  return *this;
}

Command& Command::StdoutTo(std::string_view path, bool append) {
  line_ += append ? " >>" : " >";
  line_ += ShellQuote(path);
  return *this;
}

Command& Command::StderrTo(std::string_view path, bool append) {
  line_ += append ? " 2>>" : " 2>";
  line_ += ShellQuote(path);
  return *this;
}

Command& Command::StderrToStdout() {
  line_ += " 2>&1";
  return *this;
}

Command& Command::StdinFrom(std::string_view path) {
  line_ += " <";
  line_ += ShellQuote(path);
  return *this;
}

Command& Command::Then(const Command& next) {
  Join("&&", next);
  return *this;
}

Command& Command::Or(const Command& next) {
  Join("||", next);
  return *this;
}

Command& Command::AndAlways(const Command& next) {
  Join(";", next);
  return *this;
}

Command& Command::Pipe(const Command& next) {
  Join("|", next);
  return *this;
}

Command& Command::Daemon(std::string_view log_path) {
  MakeSimple();
  // nohup, setsid and env exec the program in turn, so $! is the daemon's pid.
  line_ =
      "nohup setsid " + ToString() + " >>" + ShellQuote(log_path) + " 2>&1 </dev/null & echo $!";
  env_words_.clear();
  simple_ = false;
  return *this;
}

std::string Command::ToString() const {
  if (env_words_.empty()) return line_;
  std::string out = "env";
  for (const auto& w : env_words_) out += " " + w;
  return out + " " + line_;
}

void Command::MakeSimple() {
  if (simple_) return;
  line_ = "sh -c " + ShellQuote(line_);
  simple_ = true;
}

void Command::Join(const char* op, const Command& next) {
  std::string left = ToString();
  line_ = "{ " + left + "; } " + op + " { " + next.ToString() + "; }";
  env_words_.clear();
  simple_ = false;
}

}  // namespace chaos::control
