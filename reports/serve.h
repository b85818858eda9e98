// StoreServer: `chaos serve`, an HTTP server for a store folder (cpp-httplib).
//
// Serves, for GET only:
//   /  and /index.html        the index of every run, rendered per request
//   /<test>/<run>/            redirects to the run's report.html
//   /<test>/<run>/report.html the stored report, or one rendered on the fly
//   /<any file under store>   the file (text, JSON, logs, HTML, PNG)
//   /zip/<test>/<run>         a stored ZIP of the run folder
// It never serves anything outside the store: a path with a ".." segment, a
// backslash or a NUL gets 403, and a path whose real location (symlinks
// resolved) is outside the store's real location gets 403 too; a missing file
// gets 404. It binds to 127.0.0.1 unless told otherwise.
//
// Thread safety: Start, Wait and Stop from one controlling thread; requests
// are served on cpp-httplib's thread pool and only read the store.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "base/status.h"

namespace httplib {
class Server;
}

namespace chaos::reports {

struct ServeOptions {
  std::string store_dir = "store";
  std::string bind = "127.0.0.1";
  int port = 8080;  // 0: any free port (tests)
};

class StoreServer {
 public:
  explicit StoreServer(ServeOptions options);
  ~StoreServer();
  StoreServer(const StoreServer&) = delete;
  StoreServer& operator=(const StoreServer&) = delete;

  // Binds and starts serving on a background thread.
  Status Start();
  // The bound port (after Start).
  int port() const { return port_; }
  // Blocks until Stop is called (from a signal handler's thread or another).
  void Wait();
  void Stop();

 private:
  ServeOptions options_;
  std::string store_real_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

// The file a URL path names under `store_real` (a canonical path), or
// PermissionDenied-like FailedPrecondition ("outside the store") / NotFound.
// Exposed for tests.
Result<std::string> ResolveStorePath(const std::string& store_real, const std::string& url_path);

}  // namespace chaos::reports
