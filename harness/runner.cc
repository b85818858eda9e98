#include "harness/runner.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "adapters/adapter.h"
#include "base/file.h"
#include "base/strings.h"
#include "checker/online.h"
#include "checker/others.h"
#include "control/on_nodes.h"
#include "control/ssh.h"
#include "generator/generator.h"
#include "generator/swarm.h"
#include "harness/analyze.h"
#include "harness/node_data.h"
#include "history/codec.h"
#include "history/nemesis_op.h"
#include "history/validate.h"
#include "nemesis/nemesis.h"
#include "reports/report.h"

namespace chaos::harness {
namespace {

namespace fs = std::filesystem;
using history::Json;
using history::Op;
using history::OpType;
using history::Process;
using Clock = std::chrono::steady_clock;

std::atomic<bool> g_abort{false};

// Records ops to history.jsonl with index and time, and counts outcomes for
// the progress line.
class Recorder {
 public:
  // `online` (may be null) sees every op recorded, in index order.
  Recorder(std::unique_ptr<history::JsonlWriter> writer, Clock::time_point start,
           checker::OnlineChecker* online)
      : writer_(std::move(writer)), start_(start), online_(online) {}

  int64_t NowNs() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count();
  }

  Status Record(Op& op) {
    std::lock_guard<std::mutex> lock(mu_);
    op.index = next_index_++;
    op.time_ns = NowNs();
    if (op.process.is_named()) {
      // Nemesis ops: invocation and completion are both info, as in Jepsen.
    } else if (op.is_ok()) {
      ++ok_;
    } else if (op.is_fail()) {
      ++fail_;
    } else if (op.is_info()) {
      ++info_;
    }
    Status written = writer_->Append(op);
    if (online_ != nullptr) online_->Add(op);
    return written;
  }
  Status Close() { return writer_->Close(); }
  void Counts(int64_t* ok, int64_t* fail, int64_t* info) {
    std::lock_guard<std::mutex> lock(mu_);
    *ok = ok_;
    *fail = fail_;
    *info = info_;
  }

 private:
  std::mutex mu_;
  std::unique_ptr<history::JsonlWriter> writer_;
  Clock::time_point start_;
  checker::OnlineChecker* online_;
  int64_t next_index_ = 0;
  int64_t ok_ = 0, fail_ = 0, info_ = 0;
};

// Shared state of one phase of workers.
struct Phase {
  std::mutex mu;
  std::condition_variable cv;
  generator::Generator* gen = nullptr;
  int concurrency = 1;
  std::string fault;  // the fault in force, for the progress line
  // The main phase ends early when the runner asks (--stop-on-invalid); the
  // final reads run to their end.
  bool stoppable = false;
};

class Runner {
 public:
  Runner(const RunOptions& options, const control::Inventory& inventory)
      : options_(options), inventory_(inventory) {}

  // Reads top to bottom: what a run does, one step per call.
  Result<RunOutcome> Run();

 private:
  // Before anything is created: the options resolved, the adapter and the
  // nemeses built (each once), a wrong name or fault refused.
  Status ResolveNemesisOptions();
  Status BuildAdapter();
  // --nemesis all: every nemesis the adapter supports, and its clients.
  void ChooseDefaultSchedule();
  Status BuildNemeses();
  // "kill:majority/all" -> nemesis kill, modes {majority, all} (nemesis_modes_).
  Status SplitNemesisModes();
  // The store's run folder, store/latest, chaos.log and test.json.
  Status Prepare();
  // test.json, written when the run starts and again when it ends.
  Status WriteTestJson();
  // Leftover faults healed, the system set up and started, a write accepted.
  Status SetUpSystem();
  Status WaitForCluster();
  // history.jsonl, the online check and the workload.
  Status StartHistory();
  generator::GeneratorPtr NemesisSchedule() const;
  Status RunMainPhase(RunOutcome* outcome);
  Status RunPhase(generator::Generator& gen, double limit_s, bool with_nemesis);
  void ClientWorker(Phase& phase, int thread, int64_t deadline_ns);
  void NemesisWorker(Phase& phase);
  void Progress(Phase& phase, std::atomic<bool>& stop);
  // Records `op`. A failure to record ends the run (logged; the workers
  // stop), for client and nemesis ops alike.
  bool Record(Op& op);
  void HealEverything(const std::string& why);
  Status RecoverAndReadFinally();
  // The keys the online check settled during the run.
  checker::KeyChecks StopOnlineCheck();
  // The history closed, logs downloaded, the system torn down, test.json.
  Status EndOnNodes();
  void DownloadLogs();
  Status CheckHistory(const checker::KeyChecks* online_keys, RunOutcome* outcome);
  // Workers stop asking for ops: an abort, or an early stop of the main phase.
  bool Stopping(const Phase& phase) const { return g_abort || (phase.stoppable && stop_main_); }
  // The online check found `key` invalid.
  void OnInvalidKey(const checker::KeyCheck& key);

  RunOptions options_;
  control::Inventory inventory_;
  std::string run_dir_;
  std::unique_ptr<RunLog> log_;
  std::unique_ptr<control::Nodes> nodes_;
  std::unique_ptr<adapters::Adapter> adapter_;
  nemesis::ProgressWatch progress_;  // before nemeses_, which point at it
  std::vector<std::unique_ptr<nemesis::Nemesis>> nemeses_;
  std::map<std::string, nemesis::Nemesis*> nemesis_by_name_;
  std::map<std::string, std::vector<std::string>> nemesis_modes_;
  std::map<std::string, Json> nemesis_specs_;  // --nemesis-spec, parsed
  bool slow_by_spec_ = false;                  // a partition spec with slow_ms
  std::vector<std::string> pre_heal_;          // nemeses that heal a dead run's leftovers
  std::set<std::string> active_faults_;
  std::mutex faults_mu_;
  std::unique_ptr<Recorder> recorder_;
  generator::Workload workload_;
  Clock::time_point start_;
  std::atomic<int64_t> next_process_{0};
  Json test_json_;
  bool default_schedule_ = false;  // --nemesis all: generator/swarm.h
  std::unique_ptr<checker::OnlineChecker> online_;
  std::atomic<bool> stop_main_{false};
  std::mutex stopped_mu_;
  Json stopped_early_;  // {at_s, key, cause} once the main phase was stopped early
  // {key, at_s, cause} of each key the online check found invalid, in the
  // order found: test.json's online_invalid.
  Json online_invalid_ = Json::array();
};

Result<RunOutcome> Runner::Run() {
  // The adapter and the nemeses first: a wrong name or an unsupported fault
  // is refused before the run creates anything.
  CHAOS_RETURN_IF_ERROR(ResolveNemesisOptions());
  CHAOS_RETURN_IF_ERROR(BuildAdapter());
  CHAOS_RETURN_IF_ERROR(BuildNemeses());
  CHAOS_RETURN_IF_ERROR(Prepare());
  if (default_schedule_) test_json_["schedule"] = "default";
  start_ = Clock::now();
  log_->Line(
      "test " + options_.test_name + " in " + run_dir_ + ", seed " + std::to_string(options_.seed),
      true);
  CHAOS_RETURN_IF_ERROR(SetUpSystem());
  CHAOS_RETURN_IF_ERROR(StartHistory());
  RunOutcome outcome;
  outcome.run_dir = run_dir_;
  outcome.test_name = options_.test_name;
  CHAOS_RETURN_IF_ERROR(RunMainPhase(&outcome));
  HealEverything(g_abort ? "aborted" : stop_main_ ? "stopped early" : "end of test");
  if (!g_abort) CHAOS_RETURN_IF_ERROR(RecoverAndReadFinally());
  checker::KeyChecks online_keys = StopOnlineCheck();
  CHAOS_RETURN_IF_ERROR(EndOnNodes());
  if (!options_.check) {
    outcome.exit_code = g_abort ? 3 : ExitCodeFor(checker::Verdict::kUnknown);
    return outcome;
  }
  CHAOS_RETURN_IF_ERROR(CheckHistory(online_ ? &online_keys : nullptr, &outcome));
  return outcome;
}

void Runner::OnInvalidKey(const checker::KeyCheck& key) {
  const double at_s = static_cast<double>(recorder_->NowNs()) / 1e9;
  char when[32];
  std::snprintf(when, sizeof when, "%.1f", at_s);
  std::lock_guard<std::mutex> lock(stopped_mu_);
  online_invalid_.push_back({{"key", key.key}, {"at_s", at_s}, {"cause", key.cause}});
  const bool stop = options_.stop_on_invalid && !stop_main_;
  log_->Line("online check: key " + key.key.dump() + " is invalid (found at " + when + " s)" +
                 (stop ? "; stopping the run early" : ""),
             true);
  if (!stop) return;
  stopped_early_ = {{"at_s", at_s}, {"key", key.key}, {"cause", key.cause}};
  stop_main_ = true;
}

Status Runner::Prepare() {
  if (options_.concurrency <= 0)
    options_.concurrency = 2 * static_cast<int>(inventory_.nodes.size());
  if (options_.test_name.empty()) {
    // register-partition+kill; the workload only when not the default.
    // A declarative adapter is a path: its file's stem names the test.
    options_.test_name = fs::path(options_.adapter).stem().string();
    // A non-default adapter option is part of what is tested: etcd-serializable-partition.
    // A path (binary=...) by its key and last two segments, so the name
    // stays one folder: register-binary-17-chaos-register-all.
    for (const auto& [key, value] : options_.adapter_options) {
      if (value == "linearizable") continue;
      if (value.find('/') == std::string::npos) {
        options_.test_name += "-" + value;
        continue;
      }
      fs::path p(value);
      std::string parent = p.parent_path().filename().string();
      options_.test_name +=
          "-" + key + (parent.empty() ? "" : "-" + parent) + "-" + p.filename().string();
    }
    if (options_.workload != "register") options_.test_name += "-" + options_.workload;
    std::string faults = default_schedule_ ? "all" : "";
    if (!default_schedule_) {
      for (const auto& n : options_.nemeses) faults += (faults.empty() ? "" : "+") + n;
    }
    options_.test_name += "-" + (faults.empty() ? std::string("none") : faults);
    for (const auto& bug : options_.bugs) options_.test_name += "-bug-" + bug;
  }
  std::string test_dir = options_.store_dir + "/" + options_.test_name;
  run_dir_ = test_dir + "/" + UtcTimestamp(true);
  // Two runs of one test within a second (short runs, test-all) get their own folders.
  for (int n = 2; fs::exists(run_dir_); ++n) {
    run_dir_ = test_dir + "/" + UtcTimestamp(true) + "-" + std::to_string(n);
  }
  std::error_code ec;
  fs::create_directories(run_dir_ + "/nodes", ec);
  if (ec) return IoError(run_dir_ + ": cannot create: " + ec.message());
  // store/latest -> <test>/<time>, set now so a dead run can be analysed.
  std::string latest = options_.store_dir + "/latest";
  fs::remove(latest, ec);
  fs::create_directory_symlink(fs::relative(run_dir_, options_.store_dir), latest, ec);
  log_ = std::make_unique<RunLog>(run_dir_ + "/chaos.log");

  std::vector<std::string> node_names;
  for (const auto& n : inventory_.nodes) node_names.push_back(n.name);
  test_json_ = {{"name", options_.test_name},
                {"adapter", options_.adapter},
                {"workload", options_.workload},
                {"consistency", options_.consistency},
                {"nodes", node_names},
                {"nemeses", options_.nemeses},
                {"nemesis_modes", nemesis_modes_},
                {"nemesis_interval_s", options_.nemesis_interval_s},
                {"nemesis_specs", options_.nemesis_specs},
                {"adapter_options", options_.adapter_options},
                {"concurrency", options_.concurrency},
                {"ops_per_key", options_.ops_per_key},
                {"value_max", options_.value_max ? Json(*options_.value_max) : Json("unique")},
                {"time_limit_s", options_.time_limit_s},
                {"recovery_time_s", options_.recovery_time_s},
                {"seed", options_.seed},
                {"command_line", options_.command_line},
                {"start_time", UtcTimestamp(false)},
                {"bug", options_.bugs.empty() ? Json(nullptr) : Json(options_.bugs)},
                {"read_mode", options_.read_mode},
                {"adapter_options", options_.adapter_options},
                {"op_timeout_ms", options_.op_timeout_ms}};
  return WriteTestJson();
}

Status Runner::WriteTestJson() {
  return WriteFileAtomically(run_dir_ + "/test.json", test_json_.dump(2) + "\n");
}

Status Runner::SplitNemesisModes() {
  for (auto& entry : options_.nemeses) {
    size_t colon = entry.find(':');
    if (colon == std::string::npos) continue;
    std::string name = entry.substr(0, colon);
    std::stringstream in(entry.substr(colon + 1));
    std::string mode;
    while (std::getline(in, mode, '/')) {
      if (!mode.empty()) nemesis_modes_[name].push_back(mode);
    }
    if (nemesis_modes_[name].empty()) {
      return InvalidArgument("--nemesis " + entry + ": no mode after ':'");
    }
    entry = name;
  }
  return Status::Ok();
}

Status Runner::WaitForCluster() {
  // A write that succeeds means a leader is elected and a quorum is up.
  auto deadline = Clock::now() + std::chrono::seconds(60);
  Op probe = generator::Invoke("write", Json::array({-1, 0}));
  std::string last_error;
  for (int attempt = 0; Clock::now() < deadline && !g_abort; ++attempt) {
    auto client = adapter_->OpenClient(inventory_.nodes[attempt % inventory_.nodes.size()],
                                       1'000'000 + attempt);
    if (!client.ok()) return client.status();
    Op done = (*client)->Invoke(probe);
    if (done.is_ok()) return Status::Ok();
    last_error = done.error.is_string() ? done.error.get<std::string>() : done.error.dump();
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  // Timeout, not Unavailable: the nodes were reached, the system did not
  // serve (test-all goes on with its next cell).
  return Timeout("the cluster did not accept a write within 60 s: " + last_error);
}

void Runner::ClientWorker(Phase& phase, int thread, int64_t deadline_ns) {
  const control::NodeInfo& node = inventory_.nodes[thread % inventory_.nodes.size()];
  int64_t process = next_process_.fetch_add(1);
  std::unique_ptr<adapters::Client> client;
  while (!Stopping(phase)) {
    if (client == nullptr) {
      auto c = adapter_->OpenClient(node, process);
      if (!c.ok()) {
        log_->Line("worker " + std::to_string(thread) + ": " + c.status().message());
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        if (recorder_->NowNs() > deadline_ns) return;
        continue;
      }
      client = std::move(*c);
    }
    generator::Context ctx{recorder_->NowNs(), Process::Number(process), thread, phase.concurrency};
    std::unique_lock<std::mutex> lock(phase.mu);
    if (ctx.now_ns > deadline_ns) return;
    generator::Answer answer = phase.gen->Next(ctx);
    if (generator::IsDone(answer)) {
      phase.cv.notify_all();
      return;
    }
    if (generator::IsNotYet(answer)) {
      int64_t at = std::min(std::get<generator::NotYet>(answer).retry_at_ns, deadline_ns);
      int64_t wait_ns = std::clamp<int64_t>(at - recorder_->NowNs(), 0, 1'000'000'000);
      phase.cv.wait_for(lock, std::chrono::nanoseconds(wait_ns));
      continue;
    }
    Op op = std::get<Op>(std::move(answer));
    op.process = Process::Number(process);
    op.type = OpType::kInvoke;
    op.node = node.name;
    lock.unlock();
    phase.cv.notify_all();  // generators may now answer other workers differently
    Clock::time_point invoked = Clock::now();  // at or before the op was sent
    if (!Record(op)) return;
    Op done = client->Invoke(op);
    done.process = op.process;
    done.f = op.f;
    done.node = node.name;
    if (done.is_invoke()) done.type = OpType::kInfo;  // a client must complete
    if (!Record(done)) return;
    if (done.is_ok() && done.f != "read") progress_.Acknowledged(invoked);
    lock.lock();
    ctx.now_ns = recorder_->NowNs();
    phase.gen->Update(done, ctx);
    lock.unlock();
    phase.cv.notify_all();
    if (done.is_info()) {
      // Jepsen: a process whose op is indeterminate never runs again; the
      // worker continues as a fresh process with a fresh client.
      process = next_process_.fetch_add(1);
      client.reset();
    }
  }
}

void Runner::NemesisWorker(Phase& phase) {
  while (!Stopping(phase)) {
    generator::Context ctx{recorder_->NowNs(), Process::Nemesis(), -1, phase.concurrency};
    std::unique_lock<std::mutex> lock(phase.mu);
    generator::Answer answer = phase.gen->Next(ctx);
    if (generator::IsDone(answer)) return;
    if (generator::IsNotYet(answer)) {
      int64_t wait_ns = std::clamp<int64_t>(
          std::get<generator::NotYet>(answer).retry_at_ns - recorder_->NowNs(), 0, 1'000'000'000);
      phase.cv.wait_for(lock, std::chrono::nanoseconds(wait_ns));
      continue;
    }
    lock.unlock();
    phase.cv.notify_all();
    Op op = std::get<Op>(std::move(answer));
    op.process = Process::Nemesis();
    op.type = OpType::kInfo;
    if (!Record(op)) return;
    const std::optional<history::NemesisF> what = history::ParseNemesisF(op.f);
    const bool start = what && what->start;
    const std::string name = what ? what->nemesis : op.f;
    Op done = op;
    auto it = nemesis_by_name_.find(name);
    if (it == nemesis_by_name_.end()) {
      done.error = "no nemesis named " + name;
    } else {
      Result<Json> r = start ? it->second->Start(op.value) : it->second->Stop();
      if (r.ok()) {
        done.value = *r;
      } else {
        done.error = r.status().message();
        log_->Line(op.f + " failed: " + r.status().message(), true);
      }
      std::lock_guard<std::mutex> faults_lock(faults_mu_);
      if (start) {
        active_faults_.insert(name);
      } else {
        active_faults_.erase(name);
      }
      std::string fault;
      for (const auto& f : active_faults_) fault += (fault.empty() ? "" : ",") + f;
      std::lock_guard<std::mutex> phase_lock(phase.mu);
      phase.fault = fault;
    }
    log_->Line(history::Describe(done));
    if (!Record(done)) return;  // the fault stays in active_faults_: healed at the end
    lock.lock();
    phase.gen->Update(done, ctx);
    lock.unlock();
    phase.cv.notify_all();
  }
}

void Runner::Progress(Phase& phase, std::atomic<bool>& stop) {
  bool tty = ::isatty(STDERR_FILENO);
  int64_t last_total = 0;
  auto last = Clock::now();
  int tick = 0;
  while (!stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    if (++tick % (tty ? 4 : 40) != 0) continue;
    int64_t ok, fail, info;
    recorder_->Counts(&ok, &fail, &info);
    double elapsed = static_cast<double>(recorder_->NowNs()) / 1e9;
    double dt = std::chrono::duration<double>(Clock::now() - last).count();
    double rate = static_cast<double>(ok + fail + info - last_total) / std::max(dt, 1e-3);
    last_total = ok + fail + info;
    last = Clock::now();
    std::string fault;
    {
      std::lock_guard<std::mutex> lock(phase.mu);
      fault = phase.fault.empty() ? "none" : phase.fault;
    }
    std::fprintf(stderr,
                 "%s[%5.0fs / %.0fs] ok %lld  fail %lld  info %lld  %6.0f ops/s  fault: %s%s",
                 tty ? "\r\033[K" : "", elapsed, options_.time_limit_s, (long long)ok,
                 (long long)fail, (long long)info, rate, fault.c_str(), tty ? "" : "\n");
  }
  if (tty) std::fprintf(stderr, "\n");
}

Status Runner::RunPhase(generator::Generator& gen, double limit_s, bool with_nemesis) {
  Phase phase;
  phase.gen = &gen;
  phase.concurrency = options_.concurrency;
  phase.stoppable = with_nemesis;  // the main phase
  // A hard stop past the generator's own time limit, for slow final reads.
  int64_t deadline_ns = recorder_->NowNs() + static_cast<int64_t>((limit_s + 30) * 1e9);
  std::atomic<bool> stop_progress{false};
  std::thread progress([&] { Progress(phase, stop_progress); });
  std::vector<std::thread> workers;
  for (int t = 0; t < options_.concurrency; ++t) {
    workers.emplace_back([&, t] { ClientWorker(phase, t, deadline_ns); });
  }
  std::thread nemesis_worker;
  if (with_nemesis) nemesis_worker = std::thread([&] { NemesisWorker(phase); });
  for (auto& w : workers) w.join();
  if (nemesis_worker.joinable()) {
    phase.cv.notify_all();
    nemesis_worker.join();
  }
  stop_progress = true;
  progress.join();
  return Status::Ok();
}

bool Runner::Record(Op& op) {
  Status s = recorder_->Record(op);
  if (s.ok()) return true;
  log_->Line("recording failed: " + s.message(), true);
  g_abort = true;
  return false;
}

void Runner::HealEverything(const std::string& why) {
  // Stop every fault still in force, recorded as nemesis ops, then heal all
  // kinds (idempotent), unrecorded.
  std::set<std::string> active;
  {
    std::lock_guard<std::mutex> lock(faults_mu_);
    active.swap(active_faults_);
  }
  for (const auto& name : active) {
    Op op = generator::Invoke(history::NemesisStopF(name), nullptr);
    op.process = Process::Nemesis();
    op.type = OpType::kInfo;
    // A failed recording ends the run as anywhere else, but every fault is
    // still stopped.
    if (recorder_) (void)Record(op);
    auto r = nemesis_by_name_[name]->Stop();
    Op done = op;
    if (r.ok()) {
      done.value = *r;
    } else {
      done.error = r.status().message();
    }
    if (recorder_) (void)Record(done);
  }
  for (auto& n : nemeses_) {
    Status s = n->Heal();
    if (!s.ok()) log_->Line("healing " + n->name() + " (" + why + ") failed: " + s.message(), true);
  }
  log_->Line("healed every fault (" + why + ")");
}

void Runner::DownloadLogs() {
  if (!adapter_->UsesNodes()) return;
  control::OnAllNodes(inventory_, [&](const control::NodeInfo& node) {
    std::string dir = run_dir_ + "/nodes/" + node.name;
    std::error_code ec;
    fs::create_directories(dir, ec);
    for (const auto& remote : adapter_->LogFiles(node)) {
      std::string local = dir + "/" + fs::path(remote).filename().string();
      Status s = nodes_->Get(node.name)->Download(remote, local, 60'000);
      if (!s.ok()) log_->Line("log " + remote + " from " + node.name + ": " + s.message());
    }
    return Status::Ok();
  });
}

Status Runner::ResolveNemesisOptions() {
  // --nemesis all (a run with no nemesis flag is one): the default schedule
  // (generator/swarm.h) over every fault the adapter supports.
  default_schedule_ =
      std::find(options_.nemeses.begin(), options_.nemeses.end(), "all") != options_.nemeses.end();
  CHAOS_RETURN_IF_ERROR(SplitNemesisModes());
  for (const auto& [name, text] : options_.nemesis_specs) {
    Json spec = Json::parse(text, nullptr, false);
    if (spec.is_discarded() || !spec.is_object()) {
      return InvalidArgument("--nemesis-spec " + name + ": not a JSON object: " + text);
    }
    nemesis_specs_[name] = std::move(spec);
  }
  // A partition spec with slow_ms slows the old leader's disk in the
  // minority-swap: the adapter sets up its disks as for slow-disk.
  auto partition = nemesis_specs_.find("partition");
  slow_by_spec_ = partition != nemesis_specs_.end() && partition->second.contains("slow_ms");
  return Status::Ok();
}

Status Runner::BuildAdapter() {
  nodes_ = std::make_unique<control::Nodes>(inventory_);
  adapters::AdapterContext actx;
  actx.inventory = inventory_;
  actx.nodes = nodes_.get();
  actx.source_dir = options_.source_dir;
  actx.build_dir = options_.build_dir;
  actx.bugs = options_.bugs;
  actx.read_mode = options_.read_mode;
  actx.options = options_.adapter_options;
  actx.workload = options_.workload;
  auto make = [&]() -> Status {
    actx.op_timeout_ms = options_.op_timeout_ms > 0 ? options_.op_timeout_ms : 1000;
    actx.faults = {options_.nemeses.begin(), options_.nemeses.end()};
    if (slow_by_spec_) actx.faults.insert("slow-disk");
    CHAOS_ASSIGN_OR_RETURN(adapter_, adapters::MakeAdapter(options_.adapter, actx));
    return Status::Ok();
  };
  CHAOS_RETURN_IF_ERROR(make());
  if (slow_by_spec_ && !adapter_->SupportedFaults().contains("slow-disk")) {
    return InvalidArgument(
        "--nemesis-spec partition: slow_ms needs the slow-disk fault, which the " +
        adapter_->name() + " adapter does not support");
  }
  if (default_schedule_) {
    // The faults are those the adapter supports: known only now, so the
    // adapter is made again with them in force.
    ChooseDefaultSchedule();
    CHAOS_RETURN_IF_ERROR(make());
  }
  if (options_.op_timeout_ms <= 0) options_.op_timeout_ms = 1000;
  return Status::Ok();
}

void Runner::ChooseDefaultSchedule() {
  options_.nemeses.clear();
  for (const auto& name : nemesis::NemesisNames()) {
    if (adapter_->SupportedFaults().contains(name)) options_.nemeses.push_back(name);
  }
  // Its clients, unless told otherwise: 4 per node with 300 ms op
  // timeouts, so that some keep coming back to a node the schedule cut
  // off or stalled instead of waiting a second per op there (100 ms left
  // thousands of ops info on a loaded machine, and the checker unknown).
  // An adapter without faults (memory) runs without a schedule.
  default_schedule_ = !options_.nemeses.empty();
  if (default_schedule_) {
    if (options_.concurrency <= 0)
      options_.concurrency = 4 * static_cast<int>(inventory_.nodes.size());
    if (options_.op_timeout_ms <= 0) options_.op_timeout_ms = 300;
  }
}

Status Runner::BuildNemeses() {
  // Partition, pause and packet faults heal whatever a dead earlier run left
  // behind (the adapter's Setup resets clocks); only those the adapter
  // supports (a declarative adapter may lack pause). They are built with the
  // requested nemeses, once.
  for (const char* kind : {"partition", "pause", "packet"}) {
    if (adapter_->UsesNodes() && adapter_->SupportedFaults().contains(kind)) {
      pre_heal_.push_back(kind);
    }
  }
  std::vector<std::string> all_names = pre_heal_;
  for (const auto& n : options_.nemeses) {
    if (std::find(all_names.begin(), all_names.end(), n) == all_names.end()) all_names.push_back(n);
  }
  nemesis::NemesisContext nctx{inventory_,    nodes_.get(),       adapter_.get(),
                               options_.seed, options_.build_dir, &progress_};
  CHAOS_ASSIGN_OR_RETURN(nemeses_, nemesis::MakeNemeses(all_names, nctx));
  for (auto& n : nemeses_) nemesis_by_name_[n->name()] = n.get();
  for (const auto& name : options_.nemeses) {  // valid and supported; their modes?
    const nemesis::Nemesis* n = nemesis_by_name_.at(name);
    for (const auto& mode : nemesis_modes_[name]) {
      auto known = n->modes();
      if (std::find(known.begin(), known.end(), mode) == known.end()) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        return InvalidArgument("--nemesis " + name + ":" + mode + ": unknown mode (" + name +
                               " has " + list + ")");
      }
    }
  }
  return Status::Ok();
}

Status Runner::SetUpSystem() {
  if (adapter_->UsesNodes()) CHAOS_RETURN_IF_ERROR(nodes_->ConnectAll());
  for (const auto& kind : pre_heal_) {
    Status s = nemesis_by_name_[kind]->Heal();
    if (!s.ok()) return s.WithContext("healing leftovers before the test");
  }
  log_->Line("setting up " + adapter_->name() + " on " + std::to_string(inventory_.nodes.size()) +
                 " nodes",
             true);
  CHAOS_RETURN_IF_ERROR(control::FirstError(control::OnAllNodes(
      inventory_, [&](const control::NodeInfo& n) { return adapter_->Setup(n); })));
  CHAOS_RETURN_IF_ERROR(control::FirstError(control::OnAllNodes(
      inventory_, [&](const control::NodeInfo& n) { return adapter_->Start(n); })));
  Status ready = WaitForCluster();
  if (!ready.ok()) DownloadLogs();
  return ready;
}

Status Runner::StartHistory() {
  CHAOS_ASSIGN_OR_RETURN(auto writer, history::JsonlWriter::Create(run_dir_ + "/history.jsonl"));
  // The register workload's keys are checked as they complete (the
  // transactional, set and counter workloads are checked after the run).
  if (options_.check && options_.workload == "register") {
    online_ = std::make_unique<checker::OnlineChecker>(
        CheckerOptions(test_json_, options_.checker_time_limit_s),
        [this](const checker::KeyCheck& key) {
          if (key.verdict == checker::Verdict::kInvalid) OnInvalidKey(key);
        });
  }
  recorder_ = std::make_unique<Recorder>(std::move(writer), Clock::now(), online_.get());
  // Where the history's time 0 is on the wall clock: places node log lines
  // (checker "logs") on the history's time line.
  test_json_["history_origin_unix_ns"] = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count();
  generator::WorkloadOptions wopts;
  wopts.seed = options_.seed;
  wopts.concurrency = options_.concurrency;
  wopts.ops_per_key_max = options_.ops_per_key;
  wopts.value_max = options_.value_max;
  CHAOS_ASSIGN_OR_RETURN(workload_, generator::MakeWorkload(options_.workload, wopts));
  return Status::Ok();
}

generator::GeneratorPtr Runner::NemesisSchedule() const {
  if (default_schedule_) {
    return generator::SwarmSchedule(
        options_.seed, std::set<std::string>(options_.nemeses.begin(), options_.nemeses.end()));
  }
  std::vector<generator::FaultStart> faults;
  for (const auto& name : options_.nemeses) {
    auto spec = nemesis_specs_.find(name);
    auto modes = nemesis_modes_.find(name);
    faults.push_back({name, spec == nemesis_specs_.end() ? Json::object() : spec->second,
                      generator::DrawMode(modes == nemesis_modes_.end() ? std::vector<std::string>{}
                                                                        : modes->second)});
  }
  return generator::FixedSchedule(options_.seed, std::move(faults),
                                  static_cast<int64_t>(options_.nemesis_interval_s * 1e9));
}

Status Runner::RunMainPhase(RunOutcome* outcome) {
  const int64_t limit_ns = static_cast<int64_t>(options_.time_limit_s * 1e9);
  auto main_gen = generator::Route(generator::TimeLimit(limit_ns, std::move(workload_.clients)),
                                   generator::TimeLimit(limit_ns, NemesisSchedule()));
  char what[160];
  std::snprintf(what, sizeof what, "running %s for %.0f s with %d clients",
                options_.workload.c_str(), options_.time_limit_s, options_.concurrency);
  log_->Line(what, true);
  const int64_t main_start_ns = recorder_->NowNs();
  CHAOS_RETURN_IF_ERROR(RunPhase(*main_gen, options_.time_limit_s, true));
  int64_t ok = 0, fail = 0, info = 0;
  recorder_->Counts(&ok, &fail, &info);
  outcome->ops_completed = ok + fail + info;
  outcome->main_phase_s = static_cast<double>(recorder_->NowNs() - main_start_ns) / 1e9;
  if (stop_main_) {
    std::lock_guard<std::mutex> lock(stopped_mu_);
    test_json_["stopped_early"] = stopped_early_;
    char line[200];
    std::snprintf(line, sizeof line, "stopped early at %.1f s of %.0f s: key %s is invalid",
                  stopped_early_.value("at_s", 0.0), options_.time_limit_s,
                  stopped_early_["key"].dump().c_str());
    log_->Line(line, true);
    outcome->stopped_early = line;
  }
  return Status::Ok();
}

Status Runner::RecoverAndReadFinally() {
  char what[160];
  std::snprintf(what, sizeof what, "healed; recovering for %.0f s", options_.recovery_time_s);
  log_->Line(what, true);
  auto until = Clock::now() +
               std::chrono::milliseconds(static_cast<int64_t>(options_.recovery_time_s * 1000));
  while (Clock::now() < until && !g_abort) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::vector<int64_t> keys = workload_.keys ? *workload_.keys : std::vector<int64_t>{};
  log_->Line("final reads of " + std::to_string(keys.size()) + " keys", true);
  auto final_gen = workload_.final_reads(keys);
  return RunPhase(*final_gen, 30, false);
}

checker::KeyChecks Runner::StopOnlineCheck() {
  if (!online_) return {};
  online_->Stop();
  log_->Line("online check: " + std::to_string(online_->checked()) +
                 " keys checked during the run, " + std::to_string(online_->skipped()) +
                 " left to the check after it",
             true);
  return online_->Results();
}

Status Runner::EndOnNodes() {
  Status closed = recorder_->Close();
  if (!closed.ok()) log_->Line("history: " + closed.message(), true);
  DownloadLogs();
  if (options_.leave_db_running) {
    log_->Line("leaving " + adapter_->name() + " running on the nodes (--leave-db-running)", true);
  } else {
    control::OnAllNodes(inventory_,
                        [&](const control::NodeInfo& n) { return adapter_->Teardown(n); });
  }
  test_json_["fatal_log_patterns"] = adapter_->FatalLogPatterns();
  test_json_["duration_s"] = std::chrono::duration<double>(Clock::now() - start_).count();
  test_json_["aborted"] = g_abort.load();
  {
    std::lock_guard<std::mutex> lock(stopped_mu_);
    if (!online_invalid_.empty()) test_json_["online_invalid"] = online_invalid_;
  }
  return WriteTestJson();
}

Status Runner::CheckHistory(const checker::KeyChecks* online_keys, RunOutcome* outcome) {
  log_->Line("checking the history", true);
  CHAOS_ASSIGN_OR_RETURN(
      checker::Verdict verdict,
      CheckRunDir(run_dir_, options_.checker_time_limit_s, log_.get(), online_keys));
  outcome->verdict = verdict;
  outcome->exit_code = g_abort ? 3 : ExitCodeFor(verdict);
  // The state the nodes kept is evidence of what went wrong.
  if (verdict == checker::Verdict::kInvalid && adapter_->UsesNodes()) {
    DownloadDataDirs(*adapter_, *nodes_, inventory_, run_dir_, kDataDirBytesMax,
                     [&](const std::string& line) { log_->Line(line, true); });
  }
  return Status::Ok();
}

}  // namespace

int WorstExitCode(int a, int b) {
  if (a >= 3 || b >= 3) return std::max(a, b);
  if (a == 1 || b == 1) return 1;
  return std::max(a, b);
}

void RequestAbort() { g_abort = true; }
bool AbortRequested() { return g_abort; }

std::string ValueMaxText(const std::optional<int64_t>& value_max) {
  return value_max ? std::to_string(*value_max) : "unique";
}

Result<std::optional<int64_t>> ParseValueMax(const std::string& text) {
  if (text == "unique") return std::optional<int64_t>();
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1) {
    return InvalidArgument("value max must be \"unique\" or a whole number >= 1, got '" + text +
                           "'");
  }
  return std::optional<int64_t>(n);
}

Result<RunOutcome> RunTest(const RunOptions& options, const control::Inventory& inventory) {
  if (inventory.nodes.empty()) return InvalidArgument("no nodes to test");
  g_abort = false;
  Runner runner(options, inventory);
  return runner.Run();
}

}  // namespace chaos::harness
