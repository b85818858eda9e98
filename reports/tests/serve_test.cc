// `chaos serve` over loopback: the index, a report, a run's zip, and no path
// outside the store.
#include "reports/serve.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "reports/report.h"
#include "reports/tests/fixture.h"

namespace chaos::reports {
namespace {
namespace fs = std::filesystem;

// The status code of a raw request line, sent exactly as written (a client
// library might normalise the path first).
int RawStatus(int port, const std::string& target) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return -1;
  }
  char buf[64] = {0};
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 12) return -1;
  return std::atoi(buf + 9);  // "HTTP/1.1 403 ..."
}

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("chaos-serve-" + std::to_string(getpid()));
    fs::remove_all(root_);
    store_ = root_ / "store";
    run_ = store_ / "bad" / "20261128T213000";
    ASSERT_TRUE(
        testing::MakeKnossosRun(testing::KnossosDir() + "/cas-register/bad/bad-analysis.edn",
                                run_.string(), "bad", 30)
            .ok());
    ASSERT_TRUE(WriteReport(run_.string()).ok());
    ASSERT_TRUE(WriteIndex(store_.string()).ok());
    std::ofstream(root_ / "secret.txt") << "outside";
    fs::create_symlink(root_ / "secret.txt", store_ / "escape.txt");
    fs::create_directory_symlink(run_, store_ / "latest");
    server_ = std::make_unique<StoreServer>(ServeOptions{store_.string(), "127.0.0.1", 0});
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    if (server_) server_->Stop();
    fs::remove_all(root_);
  }
  fs::path root_, store_, run_;
  std::unique_ptr<StoreServer> server_;
};

// Proves: index, report, files and a zip are served on loopback.
TEST_F(ServeTest, ServesIndexReportAndZip) {
  httplib::Client c("127.0.0.1", server_->port());
  c.set_read_timeout(10);
  auto index = c.Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_NE(index->body.find("href=\"bad/20261128T213000/report.html\""), std::string::npos);
  auto report = c.Get("/bad/20261128T213000/report.html");
  ASSERT_TRUE(report);
  EXPECT_EQ(report->status, 200);
  EXPECT_NE(report->body.find("data-verdict=\"invalid\""), std::string::npos);
  auto latest = c.Get("/latest/history.jsonl");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->status, 200);
  auto zip = c.Get("/zip/bad/20261128T213000");
  ASSERT_TRUE(zip);
  EXPECT_EQ(zip->status, 200);
  EXPECT_EQ(zip->get_header_value("Content-Type"), "application/zip");
  EXPECT_EQ(zip->body.substr(0, 4), std::string("PK\x03\x04", 4));
  EXPECT_NE(zip->body.find("bad-20261128T213000/history.jsonl"), std::string::npos);
  EXPECT_NE(zip->body.find("bad-20261128T213000/report.html"), std::string::npos);
  auto missing = c.Get("/bad/none/report.html");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

// Proves: no request reaches a file outside the store, however it is spelled.
TEST_F(ServeTest, RefusesPathsOutsideTheStore) {
  for (const char* target : {"/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                             "/..%2f..%2fetc/passwd", "/bad/../../secret.txt", "/escape.txt",
                             "/zip/../..", "/zip/..%2f..", "//etc/passwd", "/%00/etc/passwd"}) {
    int status = RawStatus(server_->port(), target);
    EXPECT_TRUE(status == 403 || status == 404 || status == 400) << target << " -> " << status;
  }
  EXPECT_EQ(RawStatus(server_->port(), "/bad/20261128T213000/results.json"), 200);
  EXPECT_FALSE(ResolveStorePath(fs::canonical(store_).string(), "/escape.txt").ok());
}

}  // namespace
}  // namespace chaos::reports
