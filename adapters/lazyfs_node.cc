#include "adapters/lazyfs_node.h"

#include <filesystem>

#include "control/command.h"

namespace chaos::adapters {

using control::Command;

LazyfsPaths LazyfsPathsFor(const std::string& data_dir) {
  std::string base = std::filesystem::path(data_dir).filename().string();
  return {data_dir, data_dir + ".lazy", data_dir + ".lazyfs.sock",
          "/var/log/chaos/lazyfs-" + base + ".log"};
}

Status InstallLazyfs(control::Session* session, const std::string& build_dir) {
  std::string binary = build_dir + "/lazyfs/chaos-lazyfs";
  if (!std::filesystem::exists(binary)) {
    return NotFound("lazy file system binary " + binary + " is missing (build it with ./chaos)");
  }
  CHAOS_RETURN_IF_ERROR(
      session->Check(Command("mkdir").Args({"-p", "/opt/chaos", "/var/log/chaos"})).status());
  return session->Upload(binary, kLazyfsBinary, 0755);
}

Status UnmountLazyfs(control::Session* session, const std::string& data_dir) {
  // $1 is the mount point. A clean unmount first (the system is stopped);
  // a lazy one if something still holds it. Then wait, bounded, for the
  // daemon serving it to exit, so a new mount never races the old one.
  static const char* kScript =
      "grep -q \"^chaos-lazyfs $1 \" /proc/mounts || exit 0\n"
      "fusermount3 -u \"$1\" 2>/dev/null || fusermount3 -u -z \"$1\" || exit 1\n"
      "i=0; while grep -q \"^chaos-lazyfs $1 \" /proc/mounts && [ $i -lt 50 ]; do\n"
      "  sleep 0.1; i=$((i+1)); done\n"
      "i=0; while pgrep -f \"^/opt/chaos/chaos-lazyfs $1.lazy \" >/dev/null && [ $i -lt 50 ]; do\n"
      "  sleep 0.1; i=$((i+1)); done\n";
  auto r = session->Run(Command("sh").Args({"-c", kScript, "sh", data_dir}), 20'000);
  if (!r.ok()) return r.status();
  if (!r->ok()) {
    return Internal(session->node().name + ": cannot unmount the lazy file system on " + data_dir +
                    ": " + r->err);
  }
  return Status::Ok();
}

Status MountLazyfs(control::Session* session, const std::string& data_dir, int64_t writeback_ms) {
  LazyfsPaths p = LazyfsPathsFor(data_dir);
  Command cmd("rm");
  cmd.Args({"-rf", p.mount, p.backing, p.socket})
      .Then(Command("mkdir").Args({"-p", p.mount, p.backing, "/var/log/chaos"}))
      .Then(Command(kLazyfsBinary)
                .Args({p.backing, p.mount, "--control", p.socket, "--log-file", p.log,
                       "--writeback-ms", std::to_string(writeback_ms)}));
  auto r = session->Check(cmd, 20'000);
  if (!r.ok()) return r.status().WithContext("mounting the lazy file system on " + data_dir);
  return Status::Ok();
}

namespace {

Result<history::Json> ParseReply(control::Session* session, const std::string& command,
                                 const std::string& out) {
  history::Json reply = history::Json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (reply.is_discarded() || !reply.is_object()) {
    return Internal(session->node().name + ": lazy file system " + command +
                    " replied with something that is not JSON: " + out);
  }
  return reply;
}

}  // namespace

Result<history::Json> LazyfsControl(control::Session* session, const std::string& data_dir,
                                    const std::string& command) {
  LazyfsPaths p = LazyfsPathsFor(data_dir);
  CHAOS_ASSIGN_OR_RETURN(std::string out,
                         session->Check(Command(kLazyfsBinary).Args({"ctl", p.socket, command})));
  return ParseReply(session, command, out);
}

Status LazyfsHold(control::Session* session, const std::string& data_dir) {
  CHAOS_ASSIGN_OR_RETURN(history::Json reply, LazyfsControl(session, data_dir, "hold"));
  if (!reply.contains("command")) {
    return Internal(session->node().name + ": lazy file system hold replied " + reply.dump());
  }
  return Status::Ok();
}

Result<history::Json> LazyfsCrash(control::Session* session, const std::string& data_dir,
                                  const std::string& nonce) {
  // $1 canary path, $2 its contents, $3 the lazyfs binary, $4 its socket.
  // Prints the drop's JSON reply, then "lost" or "kept".
  static const char* kScript =
      "printf %s \"$2\" >\"$1\" || exit 1\n"
      "\"$3\" ctl \"$4\" drop || exit 1\n"
      "if [ -s \"$1\" ]; then echo kept; else echo lost; fi\n"
      "rm -f \"$1\"\n";
  LazyfsPaths p = LazyfsPathsFor(data_dir);
  std::string canary = data_dir + "/.chaos-lazyfs-canary";
  CHAOS_ASSIGN_OR_RETURN(std::string out,
                         session->Check(Command("sh").Args(
                             {"-c", kScript, "sh", canary, nonce, kLazyfsBinary, p.socket})));
  size_t newline = out.find('\n');
  if (newline == std::string::npos) {
    return Internal(session->node().name + ": lazy file system crash printed: " + out);
  }
  CHAOS_ASSIGN_OR_RETURN(history::Json reply, ParseReply(session, "drop", out.substr(0, newline)));
  reply["canary_lost"] = out.compare(newline + 1, 4, "lost") == 0;
  return reply;
}

}  // namespace chaos::adapters
