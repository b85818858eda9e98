// chaos-lazyfs: the FUSE front of LazyFs (lazyfs.h) and its control channel.
//
//   chaos-lazyfs <backing-dir> <mountpoint> [--control SOCKET] [--log-file F]
//                [--writeback-ms N] [--foreground]
//       mounts; returns once the mount is in place (unless --foreground).
//       --writeback-ms N: write back files dirty for over N ms, as the
//       kernel does in the background (0, the default: never)
//   chaos-lazyfs ctl SOCKET stat|drop|sync
//       sends one command and prints the one-line JSON reply; exit 1 on error
//
// The control channel is a Unix stream socket: one command line in, one JSON
// line out, then the connection closes. Unmounting (fusermount3 -u, or
// SIGTERM) first syncs everything, as a clean shutdown of a real disk would.
#define FUSE_USE_VERSION 31

#include <fcntl.h>
#include <fuse.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "lazyfs/lazyfs.h"

namespace chaos::lazyfs {
namespace {

LazyFs* g_fs = nullptr;
ino_t g_socket_ino = 0;  // the inode of our control socket, to remove only ours
// A slow disk (control command `slow MS`): every request that writes or
// syncs waits this long first. Requests are served one at a time, so the
// waits queue up behind each other as they do on a disk with one queue.
std::atomic<int64_t> g_slow_ms{0};

// Called first by every writing or syncing request.
void SlowDisk() {
  int64_t ms = g_slow_ms.load(std::memory_order_relaxed);
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

int64_t Fh(const fuse_file_info* fi) { return fi ? static_cast<int64_t>(fi->fh) : -1; }

void Log(const std::string& line) {
  char when[32];
  std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::fprintf(stderr, "%s chaos-lazyfs: %s\n", when, line.c_str());
  std::fflush(stderr);
}

std::string Json(const Counts& c, const char* verb) {
  return std::string("{\"command\":\"") + verb + "\",\"files\":" + std::to_string(c.files) +
         ",\"pages\":" + std::to_string(c.pages) +
         ",\"write_bytes\":" + std::to_string(c.write_bytes) + ",\"ops\":" + std::to_string(c.ops) +
         "}";
}

// ---- FUSE operations: each forwards to g_fs ------------------------------------

void* Init(fuse_conn_info*, fuse_config* cfg) {
  cfg->use_ino = 1;
  cfg->direct_io = 1;  // no kernel page cache: after a drop nothing stale is served
  cfg->entry_timeout = 0;
  cfg->attr_timeout = 0;
  cfg->negative_timeout = 0;
  cfg->hard_remove = 1;  // unlink is unlink (no .fuse_hidden renames)
  return nullptr;
}

void Destroy(void*) {
  Counts done;
  int rc = g_fs->Sync(&done);
  Log("unmounting: " + (rc == 0 ? Json(done, "sync") : std::string(std::strerror(-rc))));
}

int GetAttr(const char* path, struct stat* st, fuse_file_info* fi) {
  return g_fs->GetAttr(path, st, Fh(fi));
}

int ReadDir(const char* path, void* buf, fuse_fill_dir_t fill, off_t, fuse_file_info*,
            fuse_readdir_flags) {
  std::vector<std::string> names;
  int rc = g_fs->ReadDir(path, &names);
  if (rc != 0) return rc;
  for (const auto& n : names) {
    if (fill(buf, n.c_str(), nullptr, 0, static_cast<fuse_fill_dir_flags>(0)) != 0) break;
  }
  return 0;
}

int ReadLink(const char* path, char* buf, size_t size) { return g_fs->ReadLink(path, buf, size); }
int StatFs(const char*, struct statvfs* st) { return g_fs->StatFs(st); }
int Mkdir(const char* path, mode_t mode) {
  SlowDisk();
  return g_fs->Mkdir(path, mode);
}
int Symlink(const char* target, const char* path) { return g_fs->Symlink(target, path); }
int Link(const char* from, const char* to) { return g_fs->Link(from, to); }
int Unlink(const char* path) {
  SlowDisk();
  return g_fs->Unlink(path);
}
int Rmdir(const char* path) {
  SlowDisk();
  return g_fs->Rmdir(path);
}
int Rename(const char* from, const char* to, unsigned int flags) {
  SlowDisk();
  return g_fs->Rename(from, to, flags);
}
int Chmod(const char* path, mode_t mode, fuse_file_info*) { return g_fs->Chmod(path, mode); }
int Chown(const char* path, uid_t uid, gid_t gid, fuse_file_info*) {
  return g_fs->Chown(path, uid, gid);
}
int Utimens(const char* path, const struct timespec ts[2], fuse_file_info*) {
  return g_fs->Utimens(path, ts);
}
int Truncate(const char* path, off_t size, fuse_file_info* fi) {
  if (size < 0) return -EINVAL;
  SlowDisk();
  return g_fs->Truncate(path, static_cast<uint64_t>(size), Fh(fi));
}
int Create(const char* path, mode_t mode, fuse_file_info* fi) {
  SlowDisk();
  return g_fs->Create(path, mode, fi->flags, &fi->fh);
}
int Open(const char* path, fuse_file_info* fi) { return g_fs->OpenFile(path, fi->flags, &fi->fh); }
int Release(const char*, fuse_file_info* fi) { return g_fs->Release(fi->fh); }
int Read(const char*, char* buf, size_t size, off_t off, fuse_file_info* fi) {
  return g_fs->Read(fi->fh, buf, size, static_cast<uint64_t>(off));
}
int Write(const char*, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  SlowDisk();
  return g_fs->Write(fi->fh, buf, size, static_cast<uint64_t>(off));
}
int Fsync(const char*, int, fuse_file_info* fi) {
  SlowDisk();
  return g_fs->Fsync(fi->fh);
}
int FsyncDir(const char* path, int, fuse_file_info*) {
  SlowDisk();
  return g_fs->FsyncDir(path);
}

fuse_operations Operations() {
  fuse_operations ops{};
  ops.init = Init;
  ops.destroy = Destroy;
  ops.getattr = GetAttr;
  ops.readdir = ReadDir;
  ops.readlink = ReadLink;
  ops.statfs = StatFs;
  ops.mkdir = Mkdir;
  ops.symlink = Symlink;
  ops.link = Link;
  ops.unlink = Unlink;
  ops.rmdir = Rmdir;
  ops.rename = Rename;
  ops.chmod = Chmod;
  ops.chown = Chown;
  ops.utimens = Utimens;
  ops.truncate = Truncate;
  ops.create = Create;
  ops.open = Open;
  ops.release = Release;
  ops.read = Read;
  ops.write = Write;
  ops.fsync = Fsync;
  ops.fsyncdir = FsyncDir;
  return ops;
}

// ---- control channel -------------------------------------------------------------

std::string Execute(const std::string& command) {
  if (command == "stat") return Json(g_fs->Stat(), "stat");
  if (command == "drop") {
    std::string reply = Json(g_fs->Drop(), "drop");
    Log(reply);
    return reply;
  }
  if (command == "hold") {
    g_fs->Hold();
    Log("holding background writeback until the next drop or sync");
    return "{\"command\":\"hold\"}";
  }
  if (command == "sync") {
    Counts done;
    int rc = g_fs->Sync(&done);
    if (rc != 0) return std::string("{\"error\":\"sync: ") + std::strerror(-rc) + "\"}";
    std::string reply = Json(done, "sync");
    Log(reply);
    return reply;
  }
  if (command.rfind("slow ", 0) == 0) {
    char* end = nullptr;
    long long ms = std::strtoll(command.c_str() + 5, &end, 10);
    if (end == command.c_str() + 5 || *end != '\0' || ms < 0 || ms > 60'000) {
      return "{\"error\":\"slow takes a delay in ms, 0..60000\"}";
    }
    g_slow_ms.store(ms);
    Log(ms > 0 ? "slow disk: every write and sync waits " + std::to_string(ms) + " ms"
               : std::string("slow disk: off"));
    return "{\"command\":\"slow\",\"slow_ms\":" + std::to_string(ms) + "}";
  }
  return "{\"error\":\"unknown command (stat, hold, drop, sync, slow MS)\"}";
}

sockaddr_un Address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  return addr;
}

void Serve(int listener) {
  for (;;) {
    int c = accept(listener, nullptr, nullptr);
    if (c < 0) {
      if (errno == EINTR) continue;
      Log(std::string("control socket: accept: ") + std::strerror(errno));
      return;
    }
    // One short line; a client that sends nothing for 5 s is dropped.
    timeval timeout{5, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    std::string line;
    char ch;
    while (line.size() < 64 && read(c, &ch, 1) == 1 && ch != '\n') line += ch;
    std::string reply = Execute(line) + "\n";
    if (write(c, reply.data(), reply.size()) < 0) Log("control socket: reply lost");
    close(c);
  }
}

int Listen(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    std::fprintf(stderr, "chaos-lazyfs: control socket path too long: %s\n", path.c_str());
    return -1;
  }
  unlink(path.c_str());
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr = Address(path);
  if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(s, 8) != 0) {
    std::fprintf(stderr, "chaos-lazyfs: control socket %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return -1;
  }
  struct stat st;
  if (stat(path.c_str(), &st) == 0) g_socket_ino = st.st_ino;
  return s;
}

int Control(const std::string& path, const std::string& command) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr = Address(path);
  if (s < 0 || connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::fprintf(stderr, "chaos-lazyfs ctl: cannot connect to %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return 1;
  }
  timeval timeout{30, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string line = command + "\n";
  if (write(s, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    std::fprintf(stderr, "chaos-lazyfs ctl: cannot send to %s\n", path.c_str());
    return 1;
  }
  std::string reply;
  char buf[256];
  ssize_t n;
  while ((n = read(s, buf, sizeof(buf))) > 0) reply.append(buf, static_cast<size_t>(n));
  close(s);
  if (reply.empty()) {
    std::fprintf(stderr, "chaos-lazyfs ctl: no reply from %s\n", path.c_str());
    return 1;
  }
  std::fputs(reply.c_str(), stdout);
  return reply.find("\"error\"") == std::string::npos ? 0 : 1;
}

int Usage() {
  std::fprintf(stderr,
               "usage: chaos-lazyfs <backing-dir> <mountpoint> [--control SOCKET] "
               "[--log-file FILE] [--writeback-ms N] [--foreground]\n"
               "       chaos-lazyfs ctl SOCKET stat|hold|drop|sync|'slow MS'\n");
  return 2;
}

int Mount(int argc, char** argv) {
  std::vector<std::string> positional;
  std::string control, log_file;
  int64_t writeback_ms = 0;
  bool foreground = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--control" || a == "--log-file") && i + 1 < argc) {
      (a == "--control" ? control : log_file) = argv[++i];
    } else if (a == "--writeback-ms" && i + 1 < argc) {
      writeback_ms = std::strtoll(argv[++i], nullptr, 10);
      if (writeback_ms < 0) return Usage();
    } else if (a == "--foreground") {
      foreground = true;
    } else if (!a.empty() && a[0] != '-') {
      positional.push_back(a);
    } else {
      return Usage();
    }
  }
  if (positional.size() != 2) return Usage();
  // fuse_daemonize changes to / and points stderr at /dev/null: open the log
  // now, and make every path absolute.
  for (std::string* p : {&positional[0], &positional[1], &control, &log_file}) {
    if (!p->empty()) *p = std::filesystem::absolute(*p).lexically_normal().string();
  }
  int log_fd = -1;
  if (!log_file.empty() &&
      (log_fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
    std::fprintf(stderr, "chaos-lazyfs: log file %s: %s\n", log_file.c_str(), std::strerror(errno));
    return 1;
  }
  static LazyFs fs;
  int rc = fs.Open(positional[0]);
  if (rc != 0) {
    std::fprintf(stderr, "chaos-lazyfs: backing directory %s: %s\n", positional[0].c_str(),
                 std::strerror(-rc));
    return 1;
  }
  g_fs = &fs;
  int listener = -1;
  if (!control.empty() && (listener = Listen(control)) < 0) return 1;

  std::vector<std::string> args = {"chaos-lazyfs", "-o", "fsname=chaos-lazyfs,subtype=lazyfs"};
  if (geteuid() == 0) args.back() += ",allow_other";
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(cargs.size()), cargs.data());
  fuse_operations ops = Operations();
  fuse* f = fuse_new(&fargs, &ops, sizeof(ops), nullptr);
  if (f == nullptr) return 1;
  if (fuse_mount(f, positional[1].c_str()) != 0) {
    fuse_destroy(f);
    return 1;
  }
  // Returns in the parent only once the mount is in place: callers may use it.
  if (fuse_daemonize(foreground ? 1 : 0) != 0) return 1;
  if (log_fd >= 0) {
    dup2(log_fd, STDERR_FILENO);
    close(log_fd);
  }
  fuse_session* se = fuse_get_session(f);
  if (fuse_set_signal_handlers(se) != 0) return 1;
  Log("mounted " + positional[0] + " on " + positional[1] +
      (control.empty() ? "" : ", control " + control));
  if (listener >= 0) std::thread(Serve, listener).detach();
  if (writeback_ms > 0) {
    std::thread([writeback_ms] {
      for (;;) {
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::max<int64_t>(writeback_ms / 4, 10)));
        g_fs->Writeback(writeback_ms);
      }
    }).detach();
  }
  rc = fuse_loop(f);  // one request at a time; LazyFs locks anyway
  fuse_remove_signal_handlers(se);
  fuse_unmount(f);
  fuse_destroy(f);
  // The socket path may already belong to a newer mount: remove only ours.
  struct stat st;
  if (listener >= 0 && stat(control.c_str(), &st) == 0 && st.st_ino == g_socket_ino) {
    unlink(control.c_str());
  }
  Log("stopped");
  return rc == 0 ? 0 : 1;
}

}  // namespace
}  // namespace chaos::lazyfs

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "ctl") {
    if (argc < 4) return chaos::lazyfs::Usage();
    std::string command = argv[3];  // `ctl SOCKET slow 40` and `ctl SOCKET 'slow 40'` alike
    for (int i = 4; i < argc; ++i) command += std::string(" ") + argv[i];
    return chaos::lazyfs::Control(argv[2], command);
  }
  return chaos::lazyfs::Mount(argc, argv);
}
