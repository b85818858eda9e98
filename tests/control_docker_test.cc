// control/ and docker/ against a real docker cluster of 3 nodes (label "docker").
//
// The environment brings the test cluster (chaos-test) up once, reusing the
// node image (building it if missing), and takes it down at the end.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "adapters/node_process.h"
#include "control/command.h"
#include "control/known_hosts.h"
#include "control/ssh.h"
#include "docker/cluster.h"
#include "docker/process.h"

namespace chaos {
namespace {

namespace fs = std::filesystem;
using control::Command;
using control::Inventory;
using control::Session;
using Clock = std::chrono::steady_clock;

constexpr int kNodes = 3;

Inventory* g_inventory = nullptr;
std::string g_skip_reason;  // set when CHAOS_SKIP_DOCKER=1 and there is no engine

docker::ClusterSpec TestSpec() {
  docker::ClusterSpec spec = docker::ClusterSpec::ForTests(docker::DefaultSourceDir());
  spec.nodes = kNodes;
  return spec;
}

class ClusterEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto version = docker::RunProcess({"docker", "version", "--format", "{{.Server.Version}}"},
                                      {.timeout_ms = 20'000});
    bool engine = version.ok() && version->exit_code == 0;
    if (!engine) {
      std::string why = version.ok() ? docker::FirstLine(version->err) : version.status().message();
      const char* skip = std::getenv("CHAOS_SKIP_DOCKER");
      if (skip != nullptr && std::string(skip) == "1") {
        g_skip_reason = "no docker engine (" + why + ") and CHAOS_SKIP_DOCKER=1";
        return;
      }
      FAIL() << "docker tests need a docker engine, and it is not reachable: " << why
             << " (set CHAOS_SKIP_DOCKER=1 to skip them)";
    }
    auto report = docker::Up(TestSpec(), stderr);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    auto inventory = control::LoadInventory(TestSpec().InventoryPath());
    ASSERT_TRUE(inventory.ok()) << inventory.status().ToString();
    g_inventory = new Inventory(*inventory);
  }
  void TearDown() override {
    if (!g_skip_reason.empty()) return;
    Status down = docker::Down(TestSpec(), stderr);
    EXPECT_TRUE(down.ok()) << down.ToString();
    // Nothing of the test cluster is left: no container, no network.
    auto left = docker::ListOurs();
    ASSERT_TRUE(left.ok()) << left.status().ToString();
    for (const auto& thing : *left) {
      EXPECT_EQ(thing.find(TestSpec().name + "-"), std::string::npos) << "left behind: " << thing;
    }
    delete g_inventory;
    g_inventory = nullptr;
  }
};

class ControlCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!g_skip_reason.empty()) GTEST_SKIP() << g_skip_reason;
    ASSERT_NE(g_inventory, nullptr) << "the cluster did not come up";
  }
  const control::NodeInfo& Node(int i) { return g_inventory->nodes.at(static_cast<size_t>(i - 1)); }
  std::unique_ptr<Session> Open(int i) {
    return std::make_unique<Session>(Node(i), g_inventory->ssh);
  }
  std::string TempPath(const std::string& name) {
    return (fs::temp_directory_path() / ("chaos_docker_test_" + name)).string();
  }
};

std::string LocalSha256(const std::string& path) {
  auto r = docker::RunProcess({"sha256sum", path});
  if (!r.ok()) return "?";
  return r->out.substr(0, 64);
}

// Proves: 200 commands on each node run over one SSH connection, in order, with exact output.
TEST_F(ControlCluster, TwoHundredCommandsPerNodeOverOneSession) {
  std::vector<std::thread> threads;
  std::vector<std::string> failures(kNodes);
  std::vector<int64_t> elapsed_ms(kNodes);
  for (int n = 1; n <= kNodes; ++n) {
    threads.emplace_back([&, n] {
      auto session = Open(n);
      auto start = Clock::now();
      for (int i = 0; i < 200; ++i) {
        auto r = session->Run(Command("echo").Arg("command " + std::to_string(i)), 10'000);
        if (!r.ok() || r->exit_status != 0 || r->out != "command " + std::to_string(i) + "\n") {
          failures[n - 1] = "n" + std::to_string(n) + " command " + std::to_string(i) + ": " +
                            (r.ok() ? r->out + r->err : r.status().message());
          return;
        }
      }
      elapsed_ms[n - 1] =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
      if (session->connect_count() != 1) {
        failures[n - 1] = "connections: " + std::to_string(session->connect_count());
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int n = 0; n < kNodes; ++n) {
    EXPECT_EQ(failures[n], "");
    std::printf("n%d: 200 commands in %lld ms\n", n + 1, static_cast<long long>(elapsed_ms[n]));
  }
}

// Proves: exit status, stdout and stderr come back byte for byte, also large and interleaved.
TEST_F(ControlCluster, ExitStatusStdoutAndStderrComeBackExactly) {
  auto s = Open(1);
  auto r = s->Run(Command("sh").Args(
      {"-c", "printf 'out\\n'; printf 'err: it'\\''s \\001\\377' >&2; exit 42"}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_status, 42);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, std::string("err: it's \001\377"));
  EXPECT_FALSE(r->timed_out);

  // 2 MB on each stream at once: both are read together, nothing stalls.
  auto big = s->Run(Command("sh").Args({"-c",
                                        "head -c 2000000 /dev/zero | tr '\\0' o & "
                                        "head -c 2000000 /dev/zero | tr '\\0' e >&2; wait"}),
                    30'000);
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ(big->exit_status, 0);
  EXPECT_EQ(big->out, std::string(2000000, 'o'));
  EXPECT_EQ(big->err, std::string(2000000, 'e'));

  // A command killed by a signal reports the signal, not a status.
  auto killed = s->Run(Command("sh").Args({"-c", "kill -KILL $$"}));
  ASSERT_TRUE(killed.ok()) << killed.status().ToString();
  EXPECT_EQ(killed->exit_status, -1);
  EXPECT_EQ(killed->exit_signal, "KILL");

  // stdin reaches the command and ends with EOF.
  control::RunOptions with_stdin;
  with_stdin.stdin_data = "line 1\nline 2\n";
  auto wc = s->Run(Command("wc").Arg("-l"), with_stdin);
  ASSERT_TRUE(wc.ok());
  EXPECT_EQ(wc->out, "2\n");

  // Check() turns a failure into one line naming node, status and stderr.
  auto check = s->Check(Command("ls").Arg("/no such dir"));
  ASSERT_FALSE(check.ok());
  EXPECT_NE(check.status().message().find("n1 (127.0.0.1:"), std::string::npos);
  EXPECT_NE(check.status().message().find("exited 2"), std::string::npos);
  EXPECT_EQ(check.status().message().find('\n'), std::string::npos);
}

// Proves: a 10 MB file goes up and comes back over SFTP with the same checksum and mode.
TEST_F(ControlCluster, TenMegabyteUploadAndDownloadKeepTheChecksum) {
  std::string local = TempPath("upload.bin");
  std::string back = TempPath("download.bin");
  {
    std::mt19937_64 rng(7);
    std::ofstream out(local, std::ios::binary);
    for (int i = 0; i < 10 * 1024 * 1024 / 8; ++i) {
      uint64_t v = rng();
      out.write(reinterpret_cast<const char*>(&v), sizeof v);
    }
  }
  std::string sum = LocalSha256(local);
  auto s = Open(2);
  auto start = Clock::now();
  Status up = s->Upload(local, "/tmp/chaos-upload.bin", 0750);
  ASSERT_TRUE(up.ok()) << up.ToString();
  auto up_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  auto remote = s->Check(Command("sha256sum").Arg("/tmp/chaos-upload.bin"));
  ASSERT_TRUE(remote.ok()) << remote.status().ToString();
  EXPECT_EQ(remote->substr(0, 64), sum);
  EXPECT_EQ(*s->Check(Command("stat").Args({"-c", "%a %s", "/tmp/chaos-upload.bin"})),
            "750 10485760\n");
  start = Clock::now();
  Status down = s->Download("/tmp/chaos-upload.bin", back);
  ASSERT_TRUE(down.ok()) << down.ToString();
  auto down_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  EXPECT_EQ(LocalSha256(back), sum);
  std::printf("10 MB: upload %lld ms, download %lld ms\n", static_cast<long long>(up_ms),
              static_cast<long long>(down_ms));
  // Uploading over an existing file replaces it (rename), and errors name the node.
  EXPECT_TRUE(s->Upload(local, "/tmp/chaos-upload.bin").ok());
  Status missing = s->Download("/no/such/file", back);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("n2 (127.0.0.1:"), std::string::npos) << missing.ToString();
  fs::remove(local);
  fs::remove(back);
}

// Proves: a wrong or unknown host key is refused, and the message names the node and fingerprint.
TEST_F(ControlCluster, WrongHostKeyIsRefusedWithItsFingerprint) {
  // n1's real fingerprint, from its key read through docker exec.
  std::string container = TestSpec().ContainerName(1);
  auto fp = docker::RunProcess(
      {"docker", "exec", container, "ssh-keygen", "-l", "-f", "/etc/ssh/ssh_host_ed25519_key.pub"});
  ASSERT_TRUE(fp.ok() && fp->exit_code == 0);
  std::string fingerprint = fp->out.substr(fp->out.find("SHA256:"));
  fingerprint = fingerprint.substr(0, fingerprint.find(' '));

  // A known_hosts that gives n1's address n2's key.
  auto n2_key = docker::RunProcess(
      {"docker", "exec", TestSpec().ContainerName(2), "cat", "/etc/ssh/ssh_host_ed25519_key.pub"});
  ASSERT_TRUE(n2_key.ok());
  auto line = control::FormatKnownHostsLine(Node(1).ssh.host, Node(1).ssh.port, n2_key->out);
  ASSERT_TRUE(line.ok());
  std::string wrong = TempPath("wrong_known_hosts");
  std::ofstream(wrong) << *line;
  control::SshOptions options = g_inventory->ssh;
  options.known_hosts = wrong;
  Session changed(Node(1), options);
  Status st = changed.Connect();
  ASSERT_FALSE(st.ok());
  std::printf("%s\n", st.message().c_str());
  std::string expected_start =
      "n1 (" + Node(1).ssh.ToString() + "): host key ssh-ed25519 " + fingerprint;
  EXPECT_EQ(st.message().rfind(expected_start, 0), 0u) << st.message();
  EXPECT_NE(st.message().find("refused (changed host key)"), std::string::npos);
  // Commands are refused the same way, and nothing ran.
  auto r = changed.Run(Command("touch").Arg("/tmp/should-not-exist"));
  EXPECT_FALSE(r.ok());

  // An empty known_hosts: unknown host, refused with the fingerprint.
  std::ofstream(wrong, std::ios::trunc) << "# empty\n";
  Session unknown(Node(1), options);
  Status st2 = unknown.Connect();
  ASSERT_FALSE(st2.ok());
  std::printf("%s\n", st2.message().c_str());
  EXPECT_NE(st2.message().find(fingerprint), std::string::npos);
  EXPECT_NE(st2.message().find("refused (unknown host)"), std::string::npos);
  fs::remove(wrong);
}

// Proves: a command past its timeout is reported as a timeout and is really gone on the node.
TEST_F(ControlCluster, CommandPastItsTimeoutIsKilledOnTheNode) {
  auto s = Open(3);
  auto start = Clock::now();
  auto r = s->Run(Command("sleep").Arg("1234"), 1500);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->timed_out);
  EXPECT_GE(ms, 1500);
  EXPECT_LT(ms, 5000);
  // A command that ignores TERM is killed two seconds later.
  auto stubborn = s->Run(Command("sh").Args({"-c", "trap '' TERM; sleep 1235; sleep 1235"}), 1000);
  ASSERT_TRUE(stubborn.ok());
  EXPECT_TRUE(stubborn->timed_out);
  auto left = s->Run(Command("pgrep").Args({"-f", "sleep 123[45]"}), 5000);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->exit_status, 1) << "still running on the node: " << left->out;
  // The session is still usable after timeouts.
  EXPECT_EQ(*s->Check(Command("echo").Arg("alive")), "alive\n");
  EXPECT_EQ(s->connect_count(), 1);
}

// Proves: lines run in the session's long-lived shell come back exactly
// (status, stdout without a trailing newline, stderr), many over one shell
// and faster than a channel and exec each; a line past its timeout is killed
// on the node and the shell goes on; a shell that died is reopened for the
// next line, and the line it was running is an error (outcome unknown).
TEST_F(ControlCluster, LinesInOneLongLivedShell) {
  auto s = Open(2);
  control::RunOptions o;
  o.timeout_ms = 5000;
  auto r = s->RunInShell("printf 'out'; printf 'err: it'\\''s\\n' >&2; exit 42", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_status, 42);
  EXPECT_EQ(r->out, "out");
  EXPECT_EQ(r->err, "err: it's\n");
  EXPECT_FALSE(r->timed_out);
  // stdin is /dev/null: a line that reads it does not eat the next line.
  auto cat = s->RunInShell("cat; echo after", o);
  ASSERT_TRUE(cat.ok());
  EXPECT_EQ(cat->out, "after\n");

  auto start = Clock::now();
  for (int i = 0; i < 300; ++i) {
    auto e = s->RunInShell("echo line " + std::to_string(i), o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    ASSERT_EQ(e->out, "line " + std::to_string(i) + "\n");
  }
  auto shell_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  start = Clock::now();
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(s->Run(Command("echo").Arg("x"), 5000).ok());
  auto exec_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  std::printf("300 lines in one shell: %lld ms; 30 commands, one exec each: %lld ms\n",
              static_cast<long long>(shell_ms.count()), static_cast<long long>(exec_ms.count()));
  EXPECT_LT(shell_ms.count() / 300.0, exec_ms.count() / 30.0);
  EXPECT_EQ(s->shell_count(), 1);

  o.timeout_ms = 1000;
  auto slow = s->RunInShell("sleep 1236", o);
  ASSERT_TRUE(slow.ok()) << slow.status().ToString();
  EXPECT_TRUE(slow->timed_out);
  o.timeout_ms = 5000;
  auto left = s->RunInShell("pgrep -f 'sleep 123[6]' || echo none", o);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->out, "none\n");
  EXPECT_EQ(s->shell_count(), 1);

  // The shell itself dies (its pid: the parent of the line's `timeout`).
  auto dead = s->RunInShell("kill -KILL $(ps -o ppid= -p $PPID)", o);
  EXPECT_FALSE(dead.ok());
  auto again = s->RunInShell("echo back", o);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->out, "back\n");
  EXPECT_EQ(s->shell_count(), 2);
  EXPECT_EQ(s->connect_count(), 1);
}

// Proves: STOP and CONT by process name (adapters::SignalProcess, what
// every adapter's Pause and Resume are) stop and continue the process; a
// name that runs nowhere is not an error; KILL ends it.
TEST_F(ControlCluster, StopAndContinueAProcessByName) {
  auto s = Open(3);
  ASSERT_TRUE(
      s->Check(Command("sh").Args({"-c", "setsid sleep 1238 </dev/null >/dev/null 2>&1 &"}), 5000)
          .ok());
  auto state = [&]() -> std::string {
    auto r = s->Run(Command("ps").Args({"-o", "stat=", "-C", "sleep"}), 5000);
    return r.ok() ? r->out : "?";
  };
  ASSERT_TRUE(adapters::SignalProcess(s.get(), "sleep", "STOP").ok());
  EXPECT_EQ(state().substr(0, 1), "T") << state();
  ASSERT_TRUE(adapters::SignalProcess(s.get(), "sleep", "CONT").ok());
  EXPECT_EQ(state().substr(0, 1), "S") << state();
  EXPECT_TRUE(adapters::SignalProcess(s.get(), "no-such-process", "STOP").ok());
  EXPECT_TRUE(adapters::SignalProcess(s.get(), "no-such-process", "CONT").ok());
  ASSERT_TRUE(adapters::SignalProcess(s.get(), "sleep", "KILL").ok());
  EXPECT_EQ(s->Run(Command("pgrep").Args({"-x", "sleep"}), 5000)->exit_status, 1);
  EXPECT_EQ(s->shell_count(), 1);
}

// Proves: one long-lived program (here `sh` reading its stdin) serves 200
// exchanges, each read up to its marker line with its own stdout and
// stderr; a stop judged on stderr, a timeout and an exit end an exchange,
// and after the first two the program's whole process group is gone from
// the node; the next StartProgram starts a new one.
TEST_F(ControlCluster, OneLongLivedProgramServesManyExchanges) {
  auto s = Open(3);
  auto started = s->StartProgram("sh", 60'000);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_TRUE(*started);
  control::ProgramOptions o;
  o.timeout_ms = 5000;
  for (int i = 0; i < 200; ++i) {
    std::string n = std::to_string(i);
    auto r = s->ProgramExchange("echo line " + n + "\necho mark-" + n + "\n", "mark-" + n, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->end, control::ProgramEnd::kMarker) << i;
    ASSERT_EQ(r->out, "line " + n + "\n");
    ASSERT_EQ(r->err, "");
    started = s->StartProgram("sh", 60'000);
    ASSERT_TRUE(started.ok());
    ASSERT_FALSE(*started) << "the running program is kept";
  }
  EXPECT_EQ(s->program_count(), 1);
  auto err = s->ProgramExchange("echo oops >&2; echo x\necho m\n", "m", o);
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->end, control::ProgramEnd::kMarker);
  EXPECT_EQ(err->out, "x\n");
  EXPECT_EQ(err->err, "oops\n");

  // Stopped by its stderr, long before the timeout; the sleep is killed.
  o.stop = [](std::string_view e) { return e.find("refused") != std::string_view::npos; };
  auto t0 = Clock::now();
  auto stopped = s->ProgramExchange("echo refused >&2; sleep 1238\necho m\n", "m", o);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->end, control::ProgramEnd::kStopped);
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(4000));
  auto left = s->Run(Command("sh").Args({"-c", "pgrep -f 'sleep 123[8]' || echo none"}), 5000);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->out, "none\n");

  // A new program; a line past the timeout ends the exchange and the program.
  o.stop = nullptr;
  ASSERT_TRUE(*s->StartProgram("sh", 60'000));
  o.timeout_ms = 1000;
  auto slow = s->ProgramExchange("sleep 1239\necho m\n", "m", o);
  ASSERT_TRUE(slow.ok());
  EXPECT_EQ(slow->end, control::ProgramEnd::kTimedOut);
  left = s->Run(Command("sh").Args({"-c", "pgrep -f 'sleep 123[9]' || echo none"}), 5000);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->out, "none\n");

  // A program that exits; an exchange with none running says so.
  o.timeout_ms = 5000;
  ASSERT_TRUE(*s->StartProgram("sh", 60'000));
  auto exited = s->ProgramExchange("exit 3\necho m\n", "m", o);
  ASSERT_TRUE(exited.ok());
  EXPECT_EQ(exited->end, control::ProgramEnd::kExited);
  auto none = s->ProgramExchange("echo m\n", "m", o);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->end, control::ProgramEnd::kExited);
  EXPECT_EQ(s->program_count(), 3);
  EXPECT_EQ(s->connect_count(), 1);
}

// Proves: unreachable nodes give one line naming node, address and reason, within the timeout.
TEST_F(ControlCluster, UnreachableNodesFailFastWithOneLine) {
  control::SshOptions options = g_inventory->ssh;
  options.connect_timeout_ms = 3000;
  auto expect_one_line = [&](const control::NodeInfo& node, const control::SshOptions& opts,
                             const std::string& reason) {
    Session s(node, opts);
    auto start = Clock::now();
    Status st = s.Connect();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    ASSERT_FALSE(st.ok());
    std::printf("%lld ms: %s\n", static_cast<long long>(ms), st.message().c_str());
    EXPECT_EQ(st.message().find('\n'), std::string::npos);
    EXPECT_EQ(st.message().rfind(node.name + " (" + node.ssh.ToString() + "): ", 0), 0u);
    EXPECT_NE(st.message().find(reason), std::string::npos) << st.message();
    EXPECT_LE(ms, opts.connect_timeout_ms + 1000);
  };

  // Wrong port: nothing listens there.
  control::NodeInfo wrong_port = Node(1);
  wrong_port.ssh.port = TestSpec().port_base + 99;
  expect_one_line(wrong_port, options, "cannot connect");

  // A key the node does not accept.
  std::string key = TempPath("other_key");
  fs::remove(key);
  fs::remove(key + ".pub");
  ASSERT_EQ(
      docker::RunProcess({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key})->exit_code, 0);
  control::SshOptions other_key = options;
  other_key.private_key = key;
  expect_one_line(Node(2), other_key, "refused for user root");

  // A stopped container; a session that was open reconnects once it is back.
  auto kept = Open(3);
  ASSERT_TRUE(kept->Check(Command("true")).ok());
  std::string container = TestSpec().ContainerName(3);
  ASSERT_EQ(docker::RunProcess({"docker", "stop", "-t", "2", container})->exit_code, 0);
  expect_one_line(Node(3), options, "cannot connect");
  auto during = kept->Run(Command("true"), 3000);
  EXPECT_FALSE(during.ok());
  ASSERT_EQ(docker::RunProcess({"docker", "start", container})->exit_code, 0);
  Status back = Status(StatusCode::kUnavailable, "not tried");
  for (int i = 0; i < 50 && !back.ok(); ++i) {
    back = kept->Run(Command("true"), 3000).status();
    if (!back.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(back.ok()) << back.ToString();
  EXPECT_EQ(kept->connect_count(), 2);
  fs::remove(key);
  fs::remove(key + ".pub");
}

// The rules of an iptables-save dump: every -A line and every user chain, per table;
// counters, comments and empty built-in tables (which appear once a table is used) removed.
std::string RulesOnly(const std::string& dump) {
  std::istringstream in(dump);
  std::string line, out, table;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '*') table = line;
    if (line.rfind("-A ", 0) == 0 || (line[0] == ':' && line.find(" - ") != std::string::npos) ||
        (line[0] == ':' && line.size() > 2 && line.back() == '-')) {
      out += table + " " + line.substr(0, line.find(" [")) + "\n";
    }
    if (line.rfind("--", 0) == 0) out += line + "\n";
  }
  return out;
}

// Proves: a DROP rule in our chain cuts n1-n2 TCP both ways, n1-n3 still works, and the
// heal (removing our chain) restores it and leaves docker's own rules untouched.
TEST_F(ControlCluster, PartitionInOurChainCutsOnlyThatPeerAndHealsCleanly) {
  auto n1 = Open(1);
  auto n2 = Open(2);
  auto dump = [&](Session& s) {
    auto nft = s.Check(Command("iptables-save"));
    auto legacy = s.Check(Command("iptables-legacy-save"));
    return RulesOnly((nft.ok() ? *nft : nft.status().message()) + "--legacy--\n" +
                     (legacy.ok() ? *legacy : legacy.status().message()));
  };
  // TCP reachability: connect to sshd on the peer and read its banner.
  auto tcp = [&](Session& from, const std::string& to) {
    auto r = from.Run(Command("timeout").Args(
                          {"2", "bash", "-c", "exec 3<>/dev/tcp/" + to + "/22 && head -c 4 <&3"}),
                      5000);
    return r.ok() && r->exit_status == 0 && r->out == "SSH-";
  };
  std::string before = dump(*n1);
  EXPECT_NE(before.find("DOCKER_OUTPUT"), std::string::npos) << "docker's own rules: " << before;
  ASSERT_TRUE(tcp(*n1, Node(2).address));
  ASSERT_TRUE(tcp(*n1, Node(3).address));

  auto partition =
      Command("iptables")
          .Args({"-N", "CHAOS"})
          .Then(Command("iptables").Args({"-I", "INPUT", "-j", "CHAOS"}))
          .Then(Command("iptables").Args({"-I", "OUTPUT", "-j", "CHAOS"}))
          .Then(Command("iptables").Args({"-A", "CHAOS", "-s", Node(2).address, "-j", "DROP"}))
          .Then(Command("iptables").Args({"-A", "CHAOS", "-d", Node(2).address, "-j", "DROP"}));
  auto applied = n1->Check(partition);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_FALSE(tcp(*n1, Node(2).address));
  EXPECT_FALSE(tcp(*n2, Node(1).address));
  EXPECT_TRUE(tcp(*n1, Node(3).address));
  EXPECT_TRUE(tcp(*n2, Node(3).address));
  // The controller still reaches both sides (it is not on the cluster network's peers).
  EXPECT_TRUE(n1->Check(Command("true")).ok());

  auto heal = Command("iptables")
                  .Args({"-D", "INPUT", "-j", "CHAOS"})
                  .Then(Command("iptables").Args({"-D", "OUTPUT", "-j", "CHAOS"}))
                  .Then(Command("iptables").Args({"-F", "CHAOS"}))
                  .Then(Command("iptables").Args({"-X", "CHAOS"}));
  auto healed = n1->Check(heal);
  ASSERT_TRUE(healed.ok()) << healed.status().ToString();
  EXPECT_TRUE(tcp(*n1, Node(2).address));
  EXPECT_TRUE(tcp(*n2, Node(1).address));
  EXPECT_EQ(dump(*n1), before);
}

// Proves: status sees every node running and reachable over SSH.
TEST_F(ControlCluster, StatusShowsEveryNodeRunningAndReachable) {
  auto states = docker::GetStatus(TestSpec());
  ASSERT_TRUE(states.ok()) << states.status().ToString();
  ASSERT_EQ(states->size(), static_cast<size_t>(kNodes));
  for (const auto& n : *states) {
    EXPECT_EQ(n.state, "running") << n.name;
    EXPECT_EQ(n.ssh, "ok") << n.name;
    EXPECT_EQ(n.system, "not running") << n.name;
  }
}

}  // namespace
}  // namespace chaos

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new chaos::ClusterEnvironment);
  return RUN_ALL_TESTS();
}
