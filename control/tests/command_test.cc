#include "control/command.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <string>
#include <vector>

namespace chaos::control {
namespace {

// Runs `line` with the local /bin/sh and returns its stdout (test helper).
std::string RunLocalSh(const std::string& line) {
  int pipe_fds[2];
  EXPECT_EQ(pipe(pipe_fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], 1);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(pipe_fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return out;
}

// Proves: plain words stay readable and everything else is single-quoted.
TEST(ShellQuote, PlainWordsStayAndOthersAreQuoted) {
  EXPECT_EQ(ShellQuote("iptables"), "iptables");
  EXPECT_EQ(ShellQuote("10.77.0.12"), "10.77.0.12");
  EXPECT_EQ(ShellQuote("/var/lib/chaos/data-1"), "/var/lib/chaos/data-1");
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellQuote("a b"), "'a b'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote("$(reboot)"), "'$(reboot)'");
  EXPECT_EQ(ShellQuote("A=1"), "'A=1'");
}

// Proves: sh reads every quoted word back byte for byte, for hostile and random text.
TEST(ShellQuote, ShellReadsBackExactlyTheSameBytes) {
  std::vector<std::string> words = {"",    "'",   "''", "\"",    "\\",     "$HOME", "`id`", "a\nb",
                                    "*",   "?",   "~",  "-n",    "!x",     "a;b",   "a|b",  "a&b",
                                    "(x)", "{x}", "#c", " lead", "trail ", "\t",    "é€",   "%s"};
  std::mt19937 rng(42);  // seed printed in the failure message below
  for (int i = 0; i < 200; ++i) {
    std::string w;
    int len = static_cast<int>(rng() % 12);
    for (int j = 0; j < len; ++j) w += static_cast<char>(1 + rng() % 255);
    words.push_back(w);
  }
  for (const auto& w : words) {
    std::string out = RunLocalSh("printf '%s' " + ShellQuote(w));
    EXPECT_EQ(out, w) << "seed 42, word quoted as " << ShellQuote(w);
  }
}

// Proves: a NUL byte, which no shell word can hold, stops the program.
TEST(ShellQuoteDeathTest, NulIsAProgrammerError) {
  EXPECT_DEATH(ShellQuote(std::string_view("a\0b", 3)), "NUL");
}

// Proves: the builder quotes each argument and composes with sh's operators.
TEST(Command, BuildsQuotedLines) {
  EXPECT_EQ(Command("iptables").Args({"-A", "CHAOS", "-s", "10.77.0.12", "-j", "DROP"}).ToString(),
            "iptables -A CHAOS -s 10.77.0.12 -j DROP");
  EXPECT_EQ(Command("echo").Arg("a b").StdoutTo("/tmp/x y").ToString(), "echo 'a b' >'/tmp/x y'");
  EXPECT_EQ(Command("true").Then(Command("false")).ToString(), "{ true; } && { false; }");
  EXPECT_EQ(Command("x").Env("K", "v 1").Cd("/d").ToString(), "env -C /d K='v 1' x");
  EXPECT_EQ(Command("etcd").Daemon("/var/log/etcd.log").ToString(),
            "nohup setsid etcd >>/var/log/etcd.log 2>&1 </dev/null & echo $!");
}

// Proves: composed commands do what sh would do with the same words.
TEST(Command, ComposedCommandsRun) {
  EXPECT_EQ(RunLocalSh(Command("printf").Arg("%s|").Args({"a b", "c'd"}).ToString()), "a b|c'd|");
  EXPECT_EQ(RunLocalSh(Command("false").Or(Command("echo").Arg("or")).ToString()), "or\n");
  EXPECT_EQ(RunLocalSh(Command("echo").Arg("x y").Pipe(Command("tr").Args({" ", "_"})).ToString()),
            "x_y\n");
  EXPECT_EQ(RunLocalSh(Command("sh")
                           .Args({"-c", "printf '%s' \"$K\"; pwd"})
                           .Env("K", "$(no expansion)")
                           .Cd("/")
                           .ToString()),
            "$(no expansion)/\n");
  // Env on a compound command applies to all of it.
  EXPECT_EQ(RunLocalSh(Command("true")
                           .Then(Command("sh").Args({"-c", "printf '%s' \"$V\""}))
                           .Env("V", "both")
                           .ToString()),
            "both");
  EXPECT_EQ(RunLocalSh(Command("false").AndAlways(Command("echo").Arg("after")).ToString()),
            "after\n");
}

}  // namespace
}  // namespace chaos::control
