// chaos-register: one node of the Paxos-backed register cluster.
//
//   chaos-register --id 0 --peers 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003
//       --listen 127.0.0.1:7001 --data-dir /var/lib/chaos-register
//
// SIGTERM or SIGINT stops it cleanly. Exit status: 0 stopped cleanly, 2 bad
// flags, 3 could not start (the message names the file or address), 70 a WAL
// fsync failed, 71 the replica diverged.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "target/server/node.h"

int main(int argc, char** argv) {
  CLI::App app{"chaos-register: one node of the Paxos-backed register cluster"};
  chaos::server::NodeOptions options;
  std::string peers;
  std::string read_mode = "read-index";
  std::vector<std::string> bugs;
  app.add_option("--id", options.id, "this node's id: its index in --peers")->required();
  app.add_option("--peers", peers, "every node's host:port, comma-separated, in id order")
      ->required();
  app.add_option("--listen", options.listen, "host:port to serve clients and peers on")->required();
  app.add_option("--data-dir", options.data_dir, "directory for the WAL and snapshots")->required();
  app.add_option("--read-mode", read_mode, "log | read-index | lease");
  app.add_option("--max-clock-drift", options.max_clock_drift,
                 "bound on any clock's rate error, e.g. 0.01 (lease reads need > 0)")
      ->check([](const std::string& text) -> std::string {
        // What the core requires (target/core: a lease that still ends first).
        double d = std::strtod(text.c_str(), nullptr);
        return d >= 0 && d < 0.5 ? "" : "must be in [0, 0.5), got " + text;
      });
  app.add_option("--bug", bugs, "switch on a known mistake (for validating the toolkit)");
  app.add_option("--log-file", options.log_file, "append the node's log here (default stderr)");
  app.add_option("--cluster-id", options.cluster_id, "cluster name (default: the --peers list)");
  app.add_option("--tick-ms", options.tick_ms, "ms per consensus tick")->check(CLI::Range(1, 1000));
  app.add_option("--election-ticks", options.election_timeout_ticks,
                 "election timeout in ticks (randomized up to twice this)")
      ->check(CLI::Range(3, 10000));
  app.add_option("--snapshot-wal-bytes", options.snapshot_wal_bytes,
                 "write a snapshot file once the WAL grew this much since the last one")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app.add_option("--wal-segment-bytes", options.wal_segment_bytes, "WAL segment size")
      ->check(CLI::Range(uint64_t{1024}, uint64_t{1} << 40));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto mode = chaos::server::ParseReadMode(read_mode);
  if (!mode.ok()) {
    std::fprintf(stderr, "chaos-register: %s\n", mode.status().message().c_str());
    return 2;
  }
  options.read_mode = *mode;
  for (const auto& b : bugs) {
    chaos::Status s = chaos::server::EnableBug(b, &options.bugs);
    if (!s.ok()) {
      std::fprintf(stderr, "chaos-register: %s\n", s.message().c_str());
      return 2;
    }
  }
  auto parsed = chaos::server::ParsePeers(peers);
  if (!parsed.ok()) {
    std::fprintf(stderr, "chaos-register: %s\n", parsed.status().message().c_str());
    return 2;
  }
  options.peers = *parsed;

  // Signals are taken by one thread with sigwait, never by an async handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  chaos::server::Node node(options);
  chaos::Status s = node.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "chaos-register: %s\n", s.message().c_str());
    return 3;
  }
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    node.RequestStop();
  });
  s = node.Run();
  // Run only returns after RequestStop, so the signal thread has finished.
  signal_thread.join();
  if (!s.ok()) {
    std::fprintf(stderr, "chaos-register: %s\n", s.message().c_str());
    return 3;
  }
  return 0;
}
