// Integration tests of chaos-register as real processes on 127.0.0.1.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "adapters/register_adapter.h"
#include "checker/checker.h"
#include "target/proto/register.grpc.pb.h"
#include "target/proto/register_client.h"
#include "target/server/local_cluster.h"

namespace chaos::server {
namespace {

using history::Json;
using history::Op;
using history::OpType;
using history::Process;
using Clock = std::chrono::steady_clock;

std::string TestDir(const std::string& name) {
  const char* base = std::getenv("CHAOS_TEST_TMP");
  return std::string(base ? base : "/tmp") + "/" + name + "-" + std::to_string(::getpid());
}

std::unique_ptr<LocalCluster> StartCluster(const std::string& name,
                                           std::vector<std::string> extra = {}) {
  LocalClusterOptions o;
  o.binary = CHAOS_REGISTER_BIN;
  o.base_dir = TestDir(name);
  o.extra_args = std::move(extra);
  auto c = LocalCluster::Start(o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

// Records a history as workers run; thread-safe.
class Recorder {
 public:
  explicit Recorder(Clock::time_point start) : start_(start) {}
  void Add(int64_t process, OpType type, const std::string& f, Json value) {
    std::lock_guard lock(mu_);
    Op op;
    op.index = static_cast<int64_t>(ops_.size());
    op.time_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count();
    op.process = Process::Number(process);
    op.type = type;
    op.f = f;
    op.value = std::move(value);
    ops_.push_back(std::move(op));
  }
  history::History Take() {
    std::lock_guard lock(mu_);
    return ops_;
  }

 private:
  std::mutex mu_;
  Clock::time_point start_;
  history::History ops_;
};

Json OptValue(const std::optional<int64_t>& v) { return v ? Json(*v) : Json(nullptr); }

struct Counts {
  std::atomic<int64_t> ok{0}, fail{0}, info{0};
  std::atomic<int64_t> ok_writes_after_full_restart{0};
};

// One worker: a sequence of logical processes (a new one after every info),
// each with its own client id, doing reads, writes and cas on a few keys.
void Worker(int worker, const std::vector<std::string>& addresses, Recorder* rec,
            std::atomic<bool>* stop, std::atomic<bool>* after_restart, Counts* counts) {
  std::mt19937_64 rng(static_cast<uint64_t>(worker) * 7919 + 1);
  int64_t process = worker;
  const int64_t workers = 100;  // process numbers: worker + k * workers
  std::unique_ptr<RegisterClient> client;
  while (!stop->load()) {
    if (!client) {
      RegisterClientOptions o;
      o.addresses = addresses;
      std::rotate(o.addresses.begin(), o.addresses.begin() + (worker % addresses.size()),
                  o.addresses.end());
      o.client_id = process + 1;
      o.timeout_ms = 1000;
      client = std::move(RegisterClient::Create(o)).value();
    }
    std::string key = "k" + std::to_string(rng() % 3);
    int kind = static_cast<int>(rng() % 3);
    OpResult r;
    std::string f;
    if (kind == 0) {
      f = "read";
      rec->Add(process, OpType::kInvoke, f, Json::array({key, nullptr}));
      r = client->Get(key);
    } else if (kind == 1) {
      f = "write";
      int64_t v = static_cast<int64_t>(rng() % 5);
      rec->Add(process, OpType::kInvoke, f, Json::array({key, v}));
      r = client->Put(key, v);
      r.value = v;
    } else {
      f = "cas";
      int64_t from = static_cast<int64_t>(rng() % 5), to = static_cast<int64_t>(rng() % 5);
      Json v = Json::array({key, Json::array({from, to})});
      rec->Add(process, OpType::kInvoke, f, v);
      r = client->Cas(key, from, to);
      if (r.outcome == Outcome::kOk) r.value.reset();
      rec->Add(process,
               r.outcome == Outcome::kOk     ? OpType::kOk
               : r.outcome == Outcome::kFail ? OpType::kFail
                                             : OpType::kInfo,
               f, v);
    }
    if (f != "cas") {
      Json v = Json::array(
          {key, f == "read" ? (r.outcome == Outcome::kOk ? OptValue(r.value) : Json(nullptr))
                            : Json(*r.value)});
      rec->Add(process,
               r.outcome == Outcome::kOk     ? OpType::kOk
               : r.outcome == Outcome::kFail ? OpType::kFail
                                             : OpType::kInfo,
               f, v);
    }
    if (r.outcome == Outcome::kOk) {
      ++counts->ok;
      if (f != "read" && after_restart->load()) ++counts->ok_writes_after_full_restart;
    } else if (r.outcome == Outcome::kFail) {
      ++counts->fail;
    } else {
      ++counts->info;
      process += workers;  // Jepsen: a process that saw info never issues again
      client.reset();
    }
  }
}

int LeaderOf(LocalCluster& cluster) {
  // The leader is the node that answers a read with ok (log reads go through it).
  RegisterClientOptions o;
  o.addresses = cluster.addresses();
  o.client_id = 999999;
  o.timeout_ms = 2000;
  auto client = std::move(RegisterClient::Create(o)).value();
  for (int attempt = 0; attempt < 20; ++attempt) {
    OpResult r = client->Get("k0");
    if (r.outcome == Outcome::kOk) {
      for (int i = 0; i < cluster.size(); ++i) {
        if (cluster.addresses()[static_cast<size_t>(i)] == r.node) return i;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return -1;
}

class RegisterClusterReadMode : public ::testing::TestWithParam<std::string> {};

// Proves no acknowledged write is lost and the history stays linearizable while the leader is
// SIGKILLed and restarted, then all three nodes are, in each read mode.
TEST_P(RegisterClusterReadMode, LinearizableThroughLeaderKillAndFullRestart) {
  // Small snapshot and segment sizes, so restarts load snapshot files and the WAL is compacted.
  std::vector<std::string> args = {
      "--snapshot-wal-bytes", "65536", "--wal-segment-bytes", "32768", "--read-mode", GetParam()};
  if (GetParam() == "lease") {
    args.push_back("--max-clock-drift");
    args.push_back("0.01");
  }
  auto cluster = StartCluster("kill-" + GetParam(), args);
  ASSERT_TRUE(cluster);
  Recorder rec(Clock::now());
  std::atomic<bool> stop{false}, after_restart{false};
  Counts counts;
  std::vector<std::thread> workers;
  for (int w = 0; w < 8; ++w) {
    workers.emplace_back(Worker, w, cluster->addresses(), &rec, &stop, &after_restart, &counts);
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  int leader = LeaderOf(*cluster);
  ASSERT_GE(leader, 0) << "no leader answered";
  int64_t ok_before_kill = counts.ok.load();
  cluster->Kill(leader);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_TRUE(cluster->StartNode(leader).ok());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (int i = 0; i < cluster->size(); ++i) cluster->Kill(i);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (int i = 0; i < cluster->size(); ++i) ASSERT_TRUE(cluster->StartNode(i).ok());
  after_restart = true;
  std::this_thread::sleep_for(std::chrono::seconds(3));
  stop = true;
  for (auto& t : workers) t.join();

  // Final reads by a fresh process: every acknowledged write must be visible.
  RegisterClientOptions o;
  o.addresses = cluster->addresses();
  o.client_id = 424242;
  o.timeout_ms = 2000;
  auto reader = std::move(RegisterClient::Create(o)).value();
  for (int k = 0; k < 3; ++k) {
    std::string key = "k" + std::to_string(k);
    for (int attempt = 0; attempt < 10; ++attempt) {
      rec.Add(5000 + attempt * 10 + k, OpType::kInvoke, "read", Json::array({key, nullptr}));
      OpResult r = reader->Get(key);
      if (r.outcome == Outcome::kOk) {
        rec.Add(5000 + attempt * 10 + k, OpType::kOk, "read",
                Json::array({key, OptValue(r.value)}));
        break;
      }
      rec.Add(5000 + attempt * 10 + k, r.outcome == Outcome::kFail ? OpType::kFail : OpType::kInfo,
              "read", Json::array({key, nullptr}));
      o.client_id += 1;
      reader = std::move(RegisterClient::Create(o)).value();
    }
  }
  history::History h = rec.Take();
  {
    std::ofstream out(TestDir("kill-" + GetParam()) + "/history.txt");
    for (const auto& op : h) out << history::Describe(op) << "\n";
  }
  std::printf(
      "ops: %zu lines, ok %lld, fail %lld, info %lld, ok before kill %lld, ok writes after "
      "full restart %lld\n",
      h.size(), static_cast<long long>(counts.ok.load()),
      static_cast<long long>(counts.fail.load()), static_cast<long long>(counts.info.load()),
      static_cast<long long>(ok_before_kill),
      static_cast<long long>(counts.ok_writes_after_full_restart.load()));
  // The test must have exercised the cluster on both sides of the faults.
  EXPECT_GT(ok_before_kill, 50);
  EXPECT_GT(counts.ok_writes_after_full_restart.load(), 10);

  checker::LinearizableOptions opts;
  opts.model = "cas-register";
  opts.keyed = true;
  opts.nil_read = checker::NilRead::kValue;  // absent reads as absent, never as a value
  opts.time_limit_s = 60;
  checker::CheckResult result = checker::CheckLinearizable(h, opts);
  EXPECT_EQ(result.verdict, checker::Verdict::kValid) << result.Explain();

  // Canary: the same history with one read of a value nobody wrote must be invalid,
  // or the check above proves nothing.
  h.push_back(Op{static_cast<int64_t>(h.size()),
                 h.back().time_ns + 1,
                 Process::Number(9999),
                 OpType::kInvoke,
                 "read",
                 Json::array({"k0", nullptr}),
                 {},
                 nullptr,
                 nullptr});
  h.push_back(Op{static_cast<int64_t>(h.size()),
                 h.back().time_ns + 1,
                 Process::Number(9999),
                 OpType::kOk,
                 "read",
                 Json::array({"k0", 77}),
                 {},
                 nullptr,
                 nullptr});
  EXPECT_EQ(checker::CheckLinearizable(h, opts).verdict, checker::Verdict::kInvalid);
}

INSTANTIATE_TEST_SUITE_P(Modes, RegisterClusterReadMode,
                         ::testing::Values("log", "read-index", "lease"));

grpc::Status CallPut(const std::string& address, const register_api::PutRequest& req,
                     register_api::Reply* reply) {
  auto stub = register_api::Client::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  return stub->Put(&ctx, req, reply);
}

// Proves malformed and oversized requests get a clear gRPC error and change nothing, and the absent
// key reads as absent.
// Proves an op whose first attempt goes to a stopped leader completes at the
// new leader within its deadline: one attempt at one node gets a third of the
// op's time, and the followers' hints naming the stopped node are passed over.
TEST(RegisterCluster, AStoppedLeaderTakesOneAttemptNotTheWholeOp) {
  auto cluster = StartCluster("stopped-leader");
  ASSERT_TRUE(cluster);
  int leader = LeaderOf(*cluster);
  ASSERT_GE(leader, 0);
  const std::string stopped = cluster->addresses()[static_cast<size_t>(leader)];
  RegisterClientOptions o;
  o.addresses = cluster->addresses();
  o.client_id = 7;
  o.timeout_ms = 3000;
  auto client = std::move(RegisterClient::Create(o)).value();
  OpResult first = client->Put("k", 1);
  ASSERT_EQ(first.outcome, Outcome::kOk) << first.error;
  ASSERT_EQ(first.node, stopped);  // the client now starts its ops there
  cluster->Pause(leader);
  OpResult second = client->Put("k", 2);
  OpResult read = client->Get("k");
  cluster->Resume(leader);
  ASSERT_EQ(second.outcome, Outcome::kOk) << second.error;
  EXPECT_NE(second.node, stopped);
  ASSERT_EQ(read.outcome, Outcome::kOk) << read.error;
  EXPECT_EQ(read.value, 2);
}

// Proves the client's membership calls: Members answers with the node's own
// incarnation; a voter removed through ChangeMembers (sent to any node, it
// reaches the leader) leaves every view; it comes back as a learner at its
// incarnation and is promoted once it has caught up.
TEST(RegisterCluster, MembershipChangesThroughTheClient) {
  auto cluster = StartCluster("membership");
  ASSERT_TRUE(cluster);
  ASSERT_GE(LeaderOf(*cluster), 0);
  RegisterClientOptions o;
  o.addresses = cluster->addresses();
  o.client_id = 9;
  o.timeout_ms = 3000;
  auto client = std::move(RegisterClient::Create(o)).value();
  ASSERT_EQ(client->Put("k", 1).outcome, Outcome::kOk);
  auto members_at = [&](int i) {
    RegisterClientOptions one = o;
    one.addresses = {cluster->addresses()[static_cast<size_t>(i)]};
    one.client_id = 100 + i;
    return std::move(RegisterClient::Create(one)).value()->Members();
  };
  auto node2 = members_at(2);
  ASSERT_TRUE(node2.ok()) << node2.status().message();
  EXPECT_EQ(node2->node, 2);
  EXPECT_GT(node2->incarnation, 1);
  EXPECT_EQ(node2->voters.size(), 3u);

  // A change refused (another in flight: the leader pins incarnations after
  // its election; a learner not caught up) is asked again, within 10 s.
  auto change = [&](const std::string& kind, int64_t incarnation) {
    OpResult r;
    for (auto deadline = Clock::now() + std::chrono::seconds(10); Clock::now() < deadline;) {
      r = client->ChangeMembers(kind, 2, incarnation);
      if (r.outcome == Outcome::kOk) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return r;
  };
  OpResult removed = change("remove", 0);
  ASSERT_EQ(removed.outcome, Outcome::kOk) << removed.error;
  auto after = members_at(LeaderOf(*cluster));
  ASSERT_TRUE(after.ok());
  for (const auto& m : after->voters) EXPECT_NE(m.node, 2);
  OpResult learner = change("learner", node2->incarnation);
  ASSERT_EQ(learner.outcome, Outcome::kOk) << learner.error;
  OpResult promoted = change("promote", 0);
  ASSERT_EQ(promoted.outcome, Outcome::kOk) << promoted.error;
  bool voter = false;
  for (auto deadline = Clock::now() + std::chrono::seconds(5); !voter && Clock::now() < deadline;) {
    auto view = members_at(2);
    for (const auto& m : view.ok() ? view->voters : std::vector<MembersView::Member>{}) {
      voter = voter || (m.node == 2 && m.incarnation == node2->incarnation);
    }
    if (!voter) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(voter) << "node 2 is not a voter at its incarnation in its own view";
  EXPECT_EQ(client->Put("k", 2).outcome, Outcome::kOk);
}

// Proves the register adapter's Leader() names the node that leads, and,
// while that node is stopped, its successor once the others elect one.
TEST(RegisterCluster, TheAdapterNamesTheLeaderAndThenItsSuccessor) {
  auto cluster = StartCluster("adapter-leader");
  ASSERT_TRUE(cluster);
  int leader = LeaderOf(*cluster);
  ASSERT_GE(leader, 0);
  adapters::AdapterContext context;
  for (int i = 0; i < cluster->size(); ++i) {
    const std::string& address = cluster->addresses()[static_cast<size_t>(i)];
    control::NodeInfo node;
    node.name = "n" + std::to_string(i + 1);
    node.address = address.substr(0, address.rfind(':'));
    node.client = {node.address, std::stoi(address.substr(address.rfind(':') + 1))};
    context.inventory.nodes.push_back(node);
  }
  auto made = adapters::MakeRegisterAdapter(std::move(context));
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  std::unique_ptr<adapters::Adapter> adapter = std::move(*made);
  // Polls Leader() until `done` holds of its answer (bounded), returns the last answer.
  auto poll = [&](auto done) {
    std::string named;
    for (int attempt = 0; attempt < 200; ++attempt) {
      auto r = adapter->Leader();
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      named = r.ok() && r->has_value() ? **r : "";
      if (done(named)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return named;
  };
  const std::string first = "n" + std::to_string(leader + 1);
  EXPECT_EQ(poll([&](const std::string& n) { return n == first; }), first);
  cluster->Pause(leader);
  std::string successor = poll([&](const std::string& n) { return !n.empty() && n != first; });
  cluster->Resume(leader);
  EXPECT_FALSE(successor.empty());
  EXPECT_NE(successor, first);
}

TEST(RegisterCluster, BadRequestsAreRefusedAndChangeNothing) {
  auto cluster = StartCluster("bad");
  ASSERT_TRUE(cluster);
  RegisterClientOptions o;
  o.addresses = cluster->addresses();
  o.client_id = 1;
  o.timeout_ms = 3000;
  auto client = std::move(RegisterClient::Create(o)).value();
  OpResult absent = client->Get("never-written");
  ASSERT_EQ(absent.outcome, Outcome::kOk) << absent.error;
  EXPECT_FALSE(absent.value.has_value());
  int leader = LeaderOf(*cluster);
  ASSERT_GE(leader, 0);
  const std::string& addr = cluster->addresses()[static_cast<size_t>(leader)];

  register_api::PutRequest req;
  register_api::Reply reply;
  req.set_client_id(0);  // invalid
  req.set_seq(1);
  req.set_key("x");
  req.set_value(5);
  grpc::Status s = CallPut(addr, req, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("client_id"), std::string::npos);
  req.set_client_id(77);
  req.set_key("");  // empty key
  EXPECT_EQ(CallPut(addr, req, &reply).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_key(std::string(5000, 'k'));  // oversized
  s = CallPut(addr, req, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  req.set_key("x");
  req.set_seq(-4);
  EXPECT_EQ(CallPut(addr, req, &reply).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Bytes that are not a PutRequest at all get a gRPC error, not a crash.
  {
    grpc::GenericStub generic(grpc::CreateChannel(addr, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    const char garbage[] = "\xff\xff\xff\xff\x0f not protobuf";
    grpc::Slice slice(garbage, sizeof garbage - 1);
    grpc::ByteBuffer request(&slice, 1), response;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
    generic.UnaryCall(&ctx, "/chaos.register_api.Client/Put", grpc::StubOptions(), &request,
                      &response, [&](grpc::Status st) {
                        std::lock_guard lock(mu);
                        status = st;
                        done = true;
                        cv.notify_all();
                      });
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return done; }));
    // gRPC itself refuses a request that does not parse, before any handler runs.
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
    std::printf("garbage request: %d %s\n", static_cast<int>(status.error_code()),
                status.error_message().c_str());
  }
  // Nothing changed: x is still absent.
  OpResult x = client->Get("x");
  ASSERT_EQ(x.outcome, Outcome::kOk);
  EXPECT_FALSE(x.value.has_value());
  // And a good request works, with cas failures reporting the current value.
  ASSERT_EQ(client->Put("x", 3).outcome, Outcome::kOk);
  OpResult cas = client->Cas("x", 4, 5);
  EXPECT_EQ(cas.outcome, Outcome::kFail);
  EXPECT_EQ(cas.value, std::optional<int64_t>(3));
  EXPECT_EQ(client->Cas("x", 3, 5).outcome, Outcome::kOk);
  EXPECT_EQ(client->Get("x").value, std::optional<int64_t>(5));
  // SIGTERM stops every node cleanly (exit 0).
  for (int i = 0; i < cluster->size(); ++i) EXPECT_TRUE(cluster->Terminate(i).ok());
}

// Proves SIGTERM stops every node cleanly (exit 0) and promptly while clients are mid-request.
TEST(RegisterCluster, SigtermUnderLoadStopsCleanly) {
  auto cluster = StartCluster("sigterm");
  ASSERT_TRUE(cluster);
  Recorder rec(Clock::now());
  std::atomic<bool> stop{false}, after_restart{false};
  Counts counts;
  std::vector<std::thread> workers;
  for (int w = 0; w < 8; ++w) {
    workers.emplace_back(Worker, w, cluster->addresses(), &rec, &stop, &after_restart, &counts);
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_GT(counts.ok.load(), 0);
  for (int i = 0; i < cluster->size(); ++i) {
    auto t0 = Clock::now();
    Status s = cluster->Terminate(i);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 3.0) << "node " << i;
  }
  stop = true;
  for (auto& t : workers) t.join();
}

int RunNode(const std::string& args, std::string* output) {
  // Bounded: a node that wrongly starts serving is stopped (exit 124), not waited for.
  std::string cmd = "timeout 20 " + std::string(CHAOS_REGISTER_BIN) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  output->clear();
  while (std::fgets(buf, sizeof buf, p)) *output += buf;
  int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Proves a data directory from another cluster or with a corrupted snapshot stops the node with a
// message naming the file.
TEST(RegisterCluster, ForeignOrCorruptDataDirectoryStopsTheNode) {
  std::string dir = TestDir("datadir");
  std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str());
  std::string out;
  // First boot on an unused port creates IDENTITY; SIGTERM-free: use a bad
  // peer list to make it exit right after recovery is impossible, so instead
  // create the identity by starting and stopping the node.
  LocalClusterOptions o;
  o.binary = CHAOS_REGISTER_BIN;
  o.base_dir = dir + "/c";
  o.nodes = 1;
  auto one = LocalCluster::Start(o);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  std::string addr = (*one)->addresses()[0];
  ASSERT_TRUE((*one)->Terminate(0).ok());
  std::string data = o.base_dir + "/n0";
  int rc = RunNode("--id 0 --peers " + addr + " --listen " + addr + " --data-dir " + data +
                       " --cluster-id another-cluster",
                   &out);
  EXPECT_EQ(rc, 3) << out;
  EXPECT_NE(out.find(data + "/IDENTITY"), std::string::npos) << out;
  EXPECT_NE(out.find("another-cluster"), std::string::npos) << out;

  std::string snap = data + "/snap/snapshot-00000000000000000005.snap";
  { std::ofstream(snap) << "CHSNAP01 this is not a snapshot"; }
  rc = RunNode("--id 0 --peers " + addr + " --listen " + addr + " --data-dir " + data, &out);
  EXPECT_EQ(rc, 3) << out;
  EXPECT_NE(out.find(snap), std::string::npos) << out;
}

// Proves a WAL whose synced bytes changed (a bit flipped in a record with log
// after it) stops the node, naming the file and offset on stderr and in its
// log, instead of cutting the log there and forgetting acknowledged records.
TEST(RegisterCluster, CorruptedWalRecordStopsTheNodeAndTheLogSaysWhy) {
  LocalClusterOptions o;
  o.binary = CHAOS_REGISTER_BIN;
  o.base_dir = TestDir("walflip");
  o.nodes = 1;
  auto one = LocalCluster::Start(o);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  std::string addr = (*one)->addresses()[0];
  RegisterClientOptions co;
  co.addresses = (*one)->addresses();
  co.client_id = 4242;
  co.timeout_ms = 2000;
  auto client = std::move(RegisterClient::Create(co)).value();
  int written = 0;
  for (int attempt = 0; attempt < 50 && written < 5; ++attempt) {
    if (client->Put("k", written + 1).outcome == Outcome::kOk) {
      ++written;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_EQ(written, 5);
  ASSERT_TRUE((*one)->Terminate(0).ok());
  std::string data = o.base_dir + "/n0";
  std::string wal = data + "/wal/wal-00000000000000000001.log";
  std::string bytes;
  {
    std::ifstream in(wal, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(bytes.size(), 64u);
  bytes[10] = static_cast<char>(bytes[10] ^ 0x04);  // inside the first record's payload
  { std::ofstream(wal, std::ios::binary | std::ios::trunc) << bytes; }
  std::string log = o.base_dir + "/flip.log";
  std::string out;
  int rc = RunNode(
      "--id 0 --peers " + addr + " --listen " + addr + " --data-dir " + data + " --log-file " + log,
      &out);
  EXPECT_EQ(rc, 3) << out;
  EXPECT_NE(out.find(wal + ": corrupted at byte 0: checksum mismatch"), std::string::npos) << out;
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("refusing to start: " + wal + ": corrupted at byte 0"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace chaos::server
