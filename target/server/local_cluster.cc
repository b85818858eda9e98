#include "target/server/local_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

extern char** environ;

namespace chaos::server {
namespace {

// Asks the kernel for a free loopback port (bind to port 0), then releases it.
Result<int> FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return IoError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return IoError("cannot bind a loopback port");
  }
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

bool Listening(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

int PortOf(const std::string& address) {
  return std::atoi(address.substr(address.rfind(':') + 1).c_str());
}

}  // namespace

Result<std::unique_ptr<LocalCluster>> LocalCluster::Start(LocalClusterOptions options) {
  if (options.nodes < 1) return InvalidArgument("local cluster needs at least one node");
  std::unique_ptr<LocalCluster> c(new LocalCluster(std::move(options)));
  std::string wipe =
      "rm -rf '" + c->options_.base_dir + "' && mkdir -p '" + c->options_.base_dir + "'";
  if (std::system(wipe.c_str()) != 0) return IoError("cannot prepare " + c->options_.base_dir);
  for (int i = 0; i < c->options_.nodes; ++i) {
    CHAOS_ASSIGN_OR_RETURN(int port, FreePort());
    c->addresses_.push_back("127.0.0.1:" + std::to_string(port));
  }
  c->pids_.assign(static_cast<size_t>(c->options_.nodes), 0);
  for (int i = 0; i < c->options_.nodes; ++i) CHAOS_RETURN_IF_ERROR(c->StartNode(i));
  return c;
}

LocalCluster::~LocalCluster() {
  for (int i = 0; i < options_.nodes; ++i) Kill(i);
}

std::string LocalCluster::log_path(int i) const {
  return options_.base_dir + "/n" + std::to_string(i) + ".log";
}

Status LocalCluster::StartNode(int i) {
  size_t idx = static_cast<size_t>(i);
  if (pids_[idx] > 0) return FailedPrecondition("node " + std::to_string(i) + " is running");
  std::string peers;
  for (size_t k = 0; k < addresses_.size(); ++k) peers += (k ? "," : "") + addresses_[k];
  std::vector<std::string> args = {
      options_.binary, "--id",       std::to_string(i),
      "--peers",       peers,        "--listen",
      addresses_[idx], "--data-dir", options_.base_dir + "/n" + std::to_string(i),
      "--log-file",    log_path(i)};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, options_.binary.c_str(), nullptr, nullptr, argv.data(), environ);
  if (rc != 0) return IoError("cannot start " + options_.binary + ": error " + std::to_string(rc));
  pids_[idx] = pid;
  int port = PortOf(addresses_[idx]);
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.ready_timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Listening(port)) return Status::Ok();
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      pids_[idx] = 0;
      return Unavailable("node " + std::to_string(i) + " exited during startup (see " +
                         log_path(i) + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill(i);
  return Timeout("node " + std::to_string(i) + " did not listen on " + addresses_[idx]);
}

void LocalCluster::Kill(int i) {
  size_t idx = static_cast<size_t>(i);
  if (pids_[idx] <= 0) return;
  ::kill(pids_[idx], SIGKILL);
  int status = 0;
  ::waitpid(pids_[idx], &status, 0);
  pids_[idx] = 0;
}

void LocalCluster::Pause(int i) {
  pid_t pid = pids_[static_cast<size_t>(i)];
  if (pid > 0) ::kill(pid, SIGSTOP);
}

void LocalCluster::Resume(int i) {
  pid_t pid = pids_[static_cast<size_t>(i)];
  if (pid > 0) ::kill(pid, SIGCONT);
}

Status LocalCluster::Terminate(int i) {
  size_t idx = static_cast<size_t>(i);
  if (pids_[idx] <= 0) return Status::Ok();
  ::kill(pids_[idx], SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pids_[idx], &status, WNOHANG) == pids_[idx]) {
      pids_[idx] = 0;
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
      return Internal("node " + std::to_string(i) + " exited with status " +
                      std::to_string(status) + " after SIGTERM");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill(i);
  return Timeout("node " + std::to_string(i) + " did not stop within 5 s of SIGTERM");
}

}  // namespace chaos::server
