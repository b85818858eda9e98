// chaos report RUN: re-renders a stored run's report.html (and the store's
// index) from its files. chaos serve: serves the store over HTTP, on
// 127.0.0.1 unless --bind says otherwise, until SIGINT or SIGTERM.
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "harness/commands.h"
#include "reports/report.h"
#include "reports/serve.h"

namespace chaos::cli {
namespace {
namespace fs = std::filesystem;

struct ReportFlags {
  std::string run;
  std::string store = "store";
};

struct ServeFlags {
  std::string store = "store";
  std::string bind = "127.0.0.1";
  int port = 8080;
};

// RUN is a run folder, or a path under the store ("latest", "<test>/<run>").
Result<std::string> FindRun(const ReportFlags& f) {
  std::error_code ec;
  for (const fs::path& p : {fs::path(f.run), fs::path(f.store) / f.run}) {
    if (fs::is_directory(p, ec)) return p.string();
  }
  return NotFound(f.run + ": no such run folder (nor " + (fs::path(f.store) / f.run).string() +
                  ")");
}

int RunReport(const ReportFlags& f) {
  auto run = FindRun(f);
  if (!run.ok()) return ReportError(run.status());
  Status s = reports::WriteReport(*run);
  if (!s.ok()) return ReportError(s);
  std::printf("%s\n", (fs::path(*run) / "report.html").string().c_str());
  // The run's store is two levels up (store/<test>/<run>); refresh its index.
  std::error_code ec;
  fs::path store = fs::canonical(*run, ec).parent_path().parent_path();
  if (!ec && fs::exists(store / "index.html", ec)) {
    Status i = reports::WriteIndex(store.string());
    if (!i.ok()) std::fprintf(stderr, "chaos: index not refreshed: %s\n", i.message().c_str());
  }
  return kExitValid;
}

int RunServe(const ServeFlags& f) {
  if (f.port < 0 || f.port > 65535) return ReportError(InvalidArgument("--port must be 0..65535"));
  // Block the stop signals before the server's threads start, so that only
  // sigwait below receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  reports::StoreServer server({f.store, f.bind, f.port});
  Status s = server.Start();
  if (!s.ok()) return ReportError(s);
  if (f.bind != "127.0.0.1" && f.bind != "localhost" && f.bind != "::1") {
    std::fprintf(stderr, "chaos: warning: serving %s to anyone who can reach %s\n", f.store.c_str(),
                 f.bind.c_str());
  }
  std::printf("serving %s at http://%s:%d/ (Ctrl-C stops)\n", f.store.c_str(), f.bind.c_str(),
              server.port());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  server.Stop();
  return kExitValid;
}

}  // namespace

void AddReportCommands(CLI::App& app, int* exit_code) {
  auto report = std::make_shared<ReportFlags>();
  auto* r = app.add_subcommand("report", "Re-render a stored run's report.html from its files");
  r->add_option("run", report->run, "run folder, or a path under --store (e.g. latest)")
      ->required();
  r->add_option("--store", report->store, "the store folder (default store)");
  r->callback([report, exit_code] { *exit_code = RunReport(*report); });

  auto serve = std::make_shared<ServeFlags>();
  auto* s =
      app.add_subcommand("serve", "Serve the store's index, reports, files and zips over HTTP");
  s->add_option("--port", serve->port, "TCP port (default 8080; 0 picks a free one)");
  s->add_option("--bind", serve->bind, "address to listen on (default 127.0.0.1)");
  s->add_option("--store", serve->store, "the store folder (default store)");
  s->callback([serve, exit_code] { *exit_code = RunServe(*serve); });
}

}  // namespace chaos::cli
