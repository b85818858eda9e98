// Scripted consensus scenarios with expected traces, in the style of etcd
// raft's testdata/: each file in target/core/testdata/ is a list of commands
// ("> command") each followed by the output it must produce. Run with
// CHAOS_REWRITE=1 to rewrite the expected output after reviewing a change.
//
// Commands: cluster N [snapshot=S] [read=log|read-index|lease] [spares=K]; campaign I;
// deliver [COUNT]; settle COUNT (tick + deliver all, silently); drop-to I (drops queued messages to
// I); isolate I; heal; crash I; restart I; tick [COUNT]; write I CLIENT SEQ KEY VALUE; read I
// CLIENT SEQ KEY; now I NS; status; replies; change I CLIENT SEQ KIND NODE [INCARNATION]
// (a membership change proposed at I); wipe I (crash, empty disk, new incarnation); members
// (each node's standing and membership).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "target/core/tests/test_cluster.h"

namespace chaos::core {
namespace {

using testing::Read;
using testing::TestCluster;
using testing::Write;

std::string Describe(const Message& m) {
  std::ostringstream o;
  o << m.from.value << "->" << m.to.value << " " << MessageName(m.body);
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        o << " b=" << ToString(b.ballot);
        if constexpr (std::is_same_v<T, PreVoteReply>) o << (b.granted ? " granted" : " denied");
        if constexpr (std::is_same_v<T, Prepare>) o << " first=" << b.first_slot.value;
        if constexpr (std::is_same_v<T, Promise>) {
          o << (b.ok ? " ok" : " rejected");
          for (const PromiseEntry& e : b.entries) {
            o << " [" << e.slot.value << ":" << ToString(e.ballot) << (e.chosen ? " chosen" : "")
              << " n=" << e.batch.commands.size() << "]";
          }
          if (b.snapshot) o << " snapshot@" << b.snapshot->slot.value;
        }
        if constexpr (std::is_same_v<T, Accept>) {
          o << " slot=" << b.slot.value << " n=" << b.batch.commands.size()
            << " commit=" << b.commit.value;
        }
        if constexpr (std::is_same_v<T, Accepted>) {
          o << " slot=" << b.slot.value << (b.ok ? " ok" : " rejected");
        }
        if constexpr (std::is_same_v<T, Heartbeat>) o << " commit=" << b.commit.value;
        if constexpr (std::is_same_v<T, HeartbeatReply>) {
          o << (b.ok ? " ok" : " rejected") << " prefix=" << b.chosen_prefix.value
            << (b.forgot ? " forgot" : "");
        }
        if constexpr (std::is_same_v<T, Learn>) o << " entries=" << b.entries.size();
        if constexpr (std::is_same_v<T, InstallSnapshot>)
          o << " snapshot@" << b.snapshot.slot.value;
      },
      m.body);
  return o.str();
}

class Script {
 public:
  std::string Run(const std::string& line) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    std::ostringstream out;
    if (cmd == "cluster") {
      int n = 3;
      in >> n;
      Config base;
      int spares = 0;
      std::string opt;
      while (in >> opt) {
        if (opt.rfind("spares=", 0) == 0) spares = std::stoi(opt.substr(7));
        if (opt.rfind("snapshot=", 0) == 0)
          base.snapshot_interval_slots = std::stoll(opt.substr(9));
        if (opt == "read=lease") base.read_mode = ReadMode::kLease;
        if (opt == "read=read-index") base.read_mode = ReadMode::kReadIndex;
      }
      base.max_clock_drift = 0.1;
      cluster_ = std::make_unique<TestCluster>(n, base, spares);
    } else if (cmd == "campaign") {
      int i;
      in >> i;
      c().node(i).Campaign();
      c().Drain(i);
    } else if (cmd == "deliver") {
      int count = 1 << 30;
      in >> count;
      while (count-- > 0 && !c().network().empty()) {
        out << Describe(c().network().front()) << "\n";
        c().DeliverOne();
      }
    } else if (cmd == "drop-to") {
      int i;
      in >> i;
      auto& q = c().network();
      for (auto it = q.begin(); it != q.end();) {
        if (it->to.value == i) {
          out << "dropped " << Describe(*it) << "\n";
          it = q.erase(it);
        } else {
          ++it;
        }
      }
    } else if (cmd == "isolate") {
      int i;
      in >> i;
      c().Isolate(i);
    } else if (cmd == "heal") {
      c().Heal();
    } else if (cmd == "crash") {
      int i;
      in >> i;
      c().Crash(i);
    } else if (cmd == "restart") {
      int i;
      in >> i;
      c().Start(i);
    } else if (cmd == "tick") {
      int count = 1;
      in >> count;
      for (int t = 0; t < count; ++t) {
        for (int i = 0; i < c().size(); ++i) {
          if (!c().up(i)) continue;
          c().node(i).Tick();
          c().Drain(i);
        }
      }
    } else if (cmd == "settle") {  // COUNT rounds of: tick every node, deliver everything
      int count = 1;
      in >> count;
      c().TickAll(count);
    } else if (cmd == "write" || cmd == "read") {
      int i;
      int64_t client, seq, value = 0;
      std::string key;
      in >> i >> client >> seq >> key;
      if (cmd == "write") in >> value;
      c().Propose(i, cmd == "write" ? Write(client, seq, key, value) : Read(client, seq, key));
    } else if (cmd == "change") {
      int i;
      int64_t client, seq, incarnation = 0;
      std::string kind;
      int node;
      in >> i >> client >> seq >> kind >> node;
      in >> incarnation;
      c().Propose(i, testing::Change(client, seq, kind, node, incarnation));
    } else if (cmd == "wipe") {
      int i;
      in >> i;
      c().Wipe(i);
    } else if (cmd == "members") {
      for (int i = 0; i < c().size(); ++i) {
        if (!c().up(i)) {
          out << "n" << i << " down\n";
          continue;
        }
        Core& n = c().node(i);
        out << "n" << i << "@" << c().incarnation(i) << " " << StandingName(n.standing()) << " "
            << ToString(n.members()) << "\n";
      }
    } else if (cmd == "now") {
      int i;
      int64_t ns;
      in >> i >> ns;
      c().node(i).SetNow(ns);
    } else if (cmd == "status") {
      for (int i = 0; i < c().size(); ++i) {
        if (!c().up(i)) {
          out << "n" << i << " down\n";
          continue;
        }
        Core& n = c().node(i);
        out << "n" << i << " " << RoleName(n.role()) << " promised=" << ToString(n.promised())
            << " prefix=" << n.chosen_prefix().value << " applied=" << n.applied().value;
        for (const auto& [k, v] : n.state().snapshot().registers) out << " " << k << "=" << v;
        out << "\n";
      }
      out << "agreement " << (c().agreement_violated() ? "VIOLATED" : "ok") << "\n";
    } else if (cmd == "replies") {
      static const char* kStatus[] = {"ok", "fail", "not-leader", "unknown"};
      for (const Reply& r : c().replies()) {
        out << "client " << r.client_id << " seq " << r.seq << " "
            << kStatus[static_cast<int>(r.status)];
        if (r.value) out << " value=" << *r.value;
        if (r.leader_hint.valid()) out << " hint=" << r.leader_hint.value;
        out << "\n";
      }
      c().replies().clear();
    } else {
      ADD_FAILURE() << "unknown command: " << line;
    }
    return out.str();
  }

 private:
  TestCluster& c() {
    if (!cluster_) cluster_ = std::make_unique<TestCluster>(3);
    return *cluster_;
  }
  std::unique_ptr<TestCluster> cluster_;
};

std::filesystem::path TestdataDir() {
  const char* root = std::getenv("CHAOS_SOURCE_DIR");
  return std::filesystem::path(root ? root : ".") / "target" / "core" / "testdata";
}

void RunFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  Script script;
  std::ostringstream rewritten;
  for (size_t i = 0; i < lines.size();) {
    if (lines[i].rfind("> ", 0) != 0) {  // comments and blank lines before a command
      rewritten << lines[i] << "\n";
      ++i;
      continue;
    }
    std::string command = lines[i].substr(2);
    rewritten << lines[i] << "\n";
    ++i;
    std::string expected;
    while (i < lines.size() && lines[i].rfind("> ", 0) != 0 && lines[i].rfind("#", 0) != 0) {
      if (!lines[i].empty()) expected += lines[i] + "\n";
      ++i;
    }
    std::string got = script.Run(command);
    rewritten << got;
    if (i < lines.size()) rewritten << "\n";
    if (!std::getenv("CHAOS_REWRITE")) {
      EXPECT_EQ(got, expected) << path.filename() << ": > " << command;
    }
  }
  if (std::getenv("CHAOS_REWRITE")) std::ofstream(path) << rewritten.str();
}

// Proves each scripted scenario in testdata/ produces exactly its expected trace.
TEST(ScenarioTest, Testdata) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(TestdataDir())) {
    if (entry.path().extension() != ".txt") continue;
    SCOPED_TRACE(entry.path().filename().string());
    RunFile(entry.path());
    ++files;
  }
  EXPECT_GE(files, 5);
}

}  // namespace
}  // namespace chaos::core
