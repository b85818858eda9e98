// A generated 1,000,000-line history: its report renders in bounded time and
// size, with every op counted and the faults drawn.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "reports/report.h"
#include "reports/tests/fixture.h"

namespace chaos::reports {
namespace {
namespace fs = std::filesystem;

// Proves: a million-op run renders, counts all 500,000 client ops, stays under
// 64 MB and takes less than 30 s of CPU to render.
TEST(MillionTest, RendersOneMillionOps) {
  fs::path run = fs::temp_directory_path() / ("chaos-reports-million-" + std::to_string(getpid())) /
                 "register-partition" / "20261128T213300";
  fs::remove_all(run.parent_path().parent_path());
  ASSERT_TRUE(testing::MakeGeneratedRun(run.string(), 1000000, 42, 5, false).ok());
  // CPU time, not wall time: the machine may be shared and busy.
  auto t0 = std::chrono::steady_clock::now();
  std::clock_t c0 = std::clock();
  ASSERT_TRUE(WriteReport(run.string()).ok());
  double cpu_s = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  uintmax_t bytes = fs::file_size(run / "report.html");
  std::printf("1M-op report: %.1f MB in %.2f s (%.2f s of CPU)\n", static_cast<double>(bytes) / 1e6,
              s, cpu_s);
  EXPECT_LT(bytes, 64u << 20);
  EXPECT_LT(cpu_s, 30);
  std::ifstream in(run / "report.html");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string html = ss.str();
  EXPECT_NE(html.find("id=\"op-total\">500000<"), std::string::npos);
  EXPECT_NE(html.find("<g class=\"fault\"><title>partition"), std::string::npos);
  fs::remove_all(run.parent_path().parent_path());
}

}  // namespace
}  // namespace chaos::reports
