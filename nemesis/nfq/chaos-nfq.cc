// chaos-nfq: the packet nemesis's delay, jitter, duplication and reordering,
// for kernels without netem. Runs on a node as a daemon, bound to one NFQUEUE
// queue; iptables sends it only the packets toward the chosen peers
// (nemesis/packet.cc: `-j NFQUEUE --queue-num N --queue-bypass`, so traffic
// flows unimpaired whenever this program is not running).
//
// Each queued packet is held for delay_ms +- jitter_ms (uniform), then
// accepted; with probability `reorder` it is accepted at once instead (so it
// overtakes the held ones, as netem's reorder does); with probability
// `duplicate` a copy is sent as well, through a raw socket with the firewall
// mark --mark, which the nemesis's chain lets pass (so copies are not queued
// again). Loss and rate limits are not done here (iptables statistic, tc).
//
// Bounds: at most --max-held packets are held (more are accepted at once; the
// queue itself fails open when full); the program ends after --max-seconds.
// SIGTERM or SIGINT: every held packet is accepted, then it exits 0.
//
//   chaos-nfq --queue 7 --delay-ms 100 --jitter-ms 10 --duplicate 0.1
//       --reorder 0.2 --mark 0xc4a05 --seed 1 [--max-held 20000] [--max-seconds 3600]
//
// Exit status: 0 stopped by a signal or at --max-seconds, 2 bad flags, 3 the
// queue could not be opened (the message says which call failed).
#include <arpa/inet.h>  // before the netfilter headers (INFRA.md)
#include <linux/netfilter.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <queue>
#include <random>
#include <vector>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Options {
  int queue = 7;
  int64_t delay_ms = 0;
  int64_t jitter_ms = 0;
  double duplicate = 0;
  double reorder = 0;
  uint32_t mark = 0xc4a05;
  uint64_t seed = 1;
  size_t max_held = 20000;
  int64_t max_seconds = 3600;
};

struct Held {
  int64_t release_ms;
  uint64_t order;  // ties release in arrival order
  uint32_t id;
  std::vector<unsigned char> copy;  // a duplicate to send on release (empty: none)
  bool operator>(const Held& o) const {
    return release_ms != o.release_ms ? release_ms > o.release_ms : order > o.order;
  }
};

struct State {
  Options options;
  std::mt19937_64 rng;
  std::priority_queue<Held, std::vector<Held>, std::greater<Held>> held;
  uint64_t arrivals = 0;
  nfq_q_handle* queue = nullptr;
  int raw_socket = -1;
  uint64_t accepted = 0, duplicated = 0, reordered = 0, overflow = 0;
};

double Uniform01(std::mt19937_64& rng) { return std::uniform_real_distribution<double>(0, 1)(rng); }

// Sends a copy of an IPv4 packet (header included) with our mark.
void SendCopy(State& s, const std::vector<unsigned char>& packet) {
  if (packet.size() < sizeof(iphdr)) return;
  iphdr header;
  std::memcpy(&header, packet.data(), sizeof header);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = header.daddr;
  if (sendto(s.raw_socket, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to),
             sizeof to) >= 0) {
    ++s.duplicated;
  }
}

void Release(State& s, const Held& h) {
  nfq_set_verdict(s.queue, h.id, NF_ACCEPT, 0, nullptr);
  ++s.accepted;
  if (!h.copy.empty()) SendCopy(s, h.copy);
}

int OnPacket(nfq_q_handle*, nfgenmsg*, nfq_data* data, void* arg) {
  State& s = *static_cast<State*>(arg);
  nfqnl_msg_packet_hdr* header = nfq_get_msg_packet_hdr(data);
  if (header == nullptr) return 0;
  Held h;
  h.id = ntohl(header->packet_id);
  h.order = s.arrivals++;
  int64_t delay = s.options.delay_ms;
  if (s.options.jitter_ms > 0) {
    delay +=
        std::uniform_int_distribution<int64_t>(-s.options.jitter_ms, s.options.jitter_ms)(s.rng);
  }
  if (s.options.reorder > 0 && Uniform01(s.rng) < s.options.reorder) {
    delay = 0;
    ++s.reordered;
  }
  h.release_ms = NowMs() + std::max<int64_t>(0, delay);
  if (s.options.duplicate > 0 && Uniform01(s.rng) < s.options.duplicate) {
    unsigned char* payload = nullptr;
    int length = nfq_get_payload(data, &payload);
    if (length > 0) h.copy.assign(payload, payload + length);
  }
  if (s.held.size() >= s.options.max_held) {
    ++s.overflow;
    Release(s, h);
    return 0;
  }
  s.held.push(std::move(h));
  return 0;
}

int Fail(const char* what) {
  std::fprintf(stderr, "chaos-nfq: %s failed: %s\n", what, std::strerror(errno));
  return 3;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chaos-nfq: delay, jitter, duplicate and reorder packets of one NFQUEUE queue"};
  State s;
  Options& o = s.options;
  app.add_option("--queue", o.queue, "NFQUEUE queue number")->check(CLI::Range(0, 65535));
  app.add_option("--delay-ms", o.delay_ms, "hold each packet this long")
      ->check(CLI::Range(0, 60'000));
  app.add_option("--jitter-ms", o.jitter_ms, "plus or minus up to this, uniform")
      ->check(CLI::Range(0, 60'000));
  app.add_option("--duplicate", o.duplicate, "probability of sending a copy too")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--reorder", o.reorder, "probability of sending a packet at once")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--mark", o.mark, "firewall mark of the copies (the rules let it pass)");
  app.add_option("--seed", o.seed, "random seed");
  app.add_option("--max-held", o.max_held, "packets held at most; more pass at once")
      ->check(CLI::Range(size_t{1}, size_t{1'000'000}));
  app.add_option("--max-seconds", o.max_seconds, "exit after this long")
      ->check(CLI::Range(int64_t{1}, int64_t{86'400}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  s.rng.seed(o.seed);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);

  s.raw_socket = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (s.raw_socket < 0) return Fail("socket(AF_INET, SOCK_RAW)");
  if (setsockopt(s.raw_socket, SOL_SOCKET, SO_MARK, &o.mark, sizeof o.mark) != 0) {
    return Fail("setsockopt(SO_MARK)");
  }
  nfq_handle* handle = nfq_open();
  if (handle == nullptr) return Fail("nfq_open");
  s.queue = nfq_create_queue(handle, static_cast<uint16_t>(o.queue), &OnPacket, &s);
  if (s.queue == nullptr) return Fail("nfq_create_queue (is another program bound to it?)");
  if (nfq_set_mode(s.queue, NFQNL_COPY_PACKET, 0xffff) < 0) return Fail("nfq_set_mode");
  // Held packets stay in the kernel's queue until their verdict: make room,
  // and let packets through rather than drop them when it is full.
  nfq_set_queue_maxlen(s.queue, static_cast<uint32_t>(o.max_held + 1024));
  nfq_set_queue_flags(s.queue, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
  int fd = nfq_fd(handle);
  int buffer_bytes = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
  std::fprintf(stderr,
               "chaos-nfq: queue %d: delay %lld ms, jitter %lld ms, duplicate %.3f, reorder "
               "%.3f\n",
               o.queue, static_cast<long long>(o.delay_ms), static_cast<long long>(o.jitter_ms),
               o.duplicate, o.reorder);

  std::vector<char> buffer(1 << 17);
  int64_t end_ms = NowMs() + o.max_seconds * 1000;
  while (!g_stop && NowMs() < end_ms) {
    int64_t now = NowMs();
    int timeout = 100;
    if (!s.held.empty()) {
      timeout = static_cast<int>(std::clamp<int64_t>(s.held.top().release_ms - now, 0, 100));
    }
    pollfd p{fd, POLLIN, 0};
    int ready = poll(&p, 1, timeout);
    if (ready < 0 && errno != EINTR) return Fail("poll");
    // Bounded: at most 256 messages per round, so releases are never starved.
    for (int i = 0; ready > 0 && i < 256; ++i) {
      ssize_t n = recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == ENOBUFS) continue;  // the kernel dropped notifications; go on
        break;                           // EAGAIN: drained
      }
      nfq_handle_packet(handle, buffer.data(), static_cast<int>(n));
    }
    now = NowMs();
    while (!s.held.empty() && s.held.top().release_ms <= now) {
      Release(s, s.held.top());
      s.held.pop();
    }
  }
  while (!s.held.empty()) {
    Release(s, s.held.top());
    s.held.pop();
  }
  std::fprintf(
      stderr,
      "chaos-nfq: stopping: %llu accepted, %llu duplicated, %llu reordered, %llu passed "
      "at once (too many held)\n",
      static_cast<unsigned long long>(s.accepted), static_cast<unsigned long long>(s.duplicated),
      static_cast<unsigned long long>(s.reordered), static_cast<unsigned long long>(s.overflow));
  nfq_destroy_queue(s.queue);
  nfq_close(handle);
  close(s.raw_socket);
  return 0;
}
