// `chaos serve` (see serve.h).
#include "reports/serve.h"

#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "reports/report.h"
#include "reports/zip.h"

namespace chaos::reports {
namespace fs = std::filesystem;

namespace {

constexpr uintmax_t kMaxServedFileBytes = 2ULL << 30;

std::string MimeOf(const fs::path& p) {
  std::string ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".png") return "image/png";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".zip") return "application/zip";
  return "text/plain; charset=utf-8";  // logs, jsonl, edn: shown, never run
}

bool HasBadSegment(const std::string& path) {
  if (path.find('\0') != std::string::npos || path.find('\\') != std::string::npos) return true;
  std::stringstream in(path);
  std::string seg;
  while (std::getline(in, seg, '/')) {
    if (seg == "..") return true;
  }
  return false;
}

bool Inside(const std::string& store_real, const fs::path& p) {
  std::string s = p.string();
  return s == store_real || s.rfind(store_real + "/", 0) == 0;
}

void Error(httplib::Response& res, int code, const std::string& text) {
  res.status = code;
  res.set_content(text + "\n", "text/plain; charset=utf-8");
}

}  // namespace

Result<std::string> ResolveStorePath(const std::string& store_real, const std::string& url_path) {
  if (HasBadSegment(url_path)) return FailedPrecondition(url_path + ": outside the store");
  std::string rel = url_path;
  while (!rel.empty() && rel.front() == '/') rel.erase(rel.begin());
  fs::path joined = fs::path(store_real) / rel;
  std::error_code ec;
  if (!fs::exists(joined, ec)) return NotFound(url_path + ": not found");
  fs::path real = fs::canonical(joined, ec);
  if (ec) return NotFound(url_path + ": " + ec.message());
  if (!Inside(store_real, real)) return FailedPrecondition(url_path + ": outside the store");
  return real.string();
}

StoreServer::StoreServer(ServeOptions options) : options_(std::move(options)) {}

StoreServer::~StoreServer() { Stop(); }

Status StoreServer::Start() {
  std::error_code ec;
  fs::path real = fs::canonical(options_.store_dir, ec);
  if (ec || !fs::is_directory(real, ec))
    return NotFound(options_.store_dir + ": no such store folder");
  store_real_ = real.string();
  server_ = std::make_unique<httplib::Server>();
  server_->set_read_timeout(10);
  server_->set_write_timeout(60);
  server_->set_payload_max_length(1 << 20);
  const std::string store = store_real_;
  server_->Get(".*", [store](const httplib::Request& req, httplib::Response& res) {
    const std::string& path = req.path;
    if (path == "/" || path == "/index.html") {
      auto html = RenderIndex(store);
      if (!html.ok()) return Error(res, 500, html.status().message());
      res.set_content(*html, "text/html; charset=utf-8");
      return;
    }
    if (path.rfind("/zip/", 0) == 0) {
      auto dir = ResolveStorePath(store, path.substr(4));
      if (!dir.ok())
        return Error(res, dir.status().code() == StatusCode::kNotFound ? 404 : 403, "not served");
      std::error_code ec;
      if (!fs::is_directory(*dir, ec) || *dir == store) return Error(res, 404, "not a run folder");
      fs::path d(*dir);
      std::string name = d.parent_path().filename().string() + "-" + d.filename().string();
      auto zip = ZipFolder(*dir, name);
      if (!zip.ok()) return Error(res, 500, zip.status().message());
      res.set_header("Content-Disposition", "attachment; filename=\"" + name + ".zip\"");
      res.set_content(std::move(*zip), "application/zip");
      return;
    }
    auto file = ResolveStorePath(store, path);
    if (!file.ok() && file.status().code() != StatusCode::kNotFound)
      return Error(res, 403, "forbidden");
    if (!file.ok()) {
      // A run without a report yet: render one from its files.
      fs::path want = fs::path(path);
      if (want.filename() == "report.html" && !HasBadSegment(path)) {
        auto dir = ResolveStorePath(store, want.parent_path().string());
        if (dir.ok() && fs::is_directory(*dir)) {
          auto html = RenderReport(*dir);
          if (html.ok()) return res.set_content(*html, "text/html; charset=utf-8");
        }
      }
      return Error(res, 404, "not found");
    }
    std::error_code ec;
    if (fs::is_directory(*file, ec)) {
      std::string base = path.back() == '/' ? path : path + "/";
      res.set_redirect(base + "report.html");
      return;
    }
    if (fs::file_size(*file, ec) > kMaxServedFileBytes) return Error(res, 413, "file too large");
    std::ifstream in(*file, std::ios::binary);
    if (!in) return Error(res, 404, "not found");
    std::stringstream ss;
    ss << in.rdbuf();
    res.set_content(ss.str(), MimeOf(*file));
  });
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.bind);
    if (port_ <= 0) return Unavailable("cannot bind " + options_.bind);
  } else {
    if (!server_->bind_to_port(options_.bind, options_.port)) {
      return Unavailable("cannot bind " + options_.bind + ":" + std::to_string(options_.port));
    }
    port_ = options_.port;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return Status::Ok();
}

void StoreServer::Wait() {
  if (thread_.joinable()) thread_.join();
}

void StoreServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace chaos::reports
