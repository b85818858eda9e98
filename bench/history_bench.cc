// Parse speed of the history codecs (EDN and JSONL), in MB/s of file text.
//
//   build/bench/history_bench [ops]     (default 1,000,000 ops)
//
// Writes a generated keyed cas-register history in both formats to a temp
// folder, then reads each back several times through the streaming readers
// (the path `chaos check` and `chaos history` use) and prints the best run.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "history/codec.h"

using namespace chaos::history;

namespace {

History Generate(int64_t n) {
  std::mt19937_64 rng(42);
  History h;
  h.reserve(n);
  int64_t t = 0;
  const char* fs[] = {"read", "write", "cas"};
  for (int64_t i = 0; h.size() + 1 < static_cast<size_t>(n); ++i) {
    Op op;
    op.process = Process::Number(static_cast<int64_t>(rng() % 20));
    op.f = fs[rng() % 3];
    int64_t key = static_cast<int64_t>(rng() % 100);
    Json v = op.f == "cas" ? Json::array({rng() % 5, rng() % 5}) : Json(rng() % 5);
    if (op.f == "read") v = nullptr;
    op.value = Json::array({key, v});
    op.type = OpType::kInvoke;
    op.time_ns = t += 1000 + rng() % 5000;
    op.index = static_cast<int64_t>(h.size());
    h.push_back(op);
    op.type = rng() % 10 == 0 ? OpType::kInfo : OpType::kOk;
    op.time_ns = t += 1000 + rng() % 5000;
    op.index = static_cast<int64_t>(h.size());
    h.push_back(op);
  }
  return h;
}

double BestMbPerSecond(const std::string& path, int64_t expect_ops) {
  double size_mb = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
  double best = 0;
  for (int run = 0; run < 3; ++run) {
    auto start = std::chrono::steady_clock::now();
    auto reader = OpenHistory(path);
    if (!reader.ok()) {
      std::fprintf(stderr, "%s\n", reader.status().ToString().c_str());
      std::exit(1);
    }
    int64_t n = 0;
    while (true) {
      auto op = (*reader)->Next();
      if (!op.ok()) {
        std::fprintf(stderr, "%s\n", op.status().ToString().c_str());
        std::exit(1);
      }
      if (!op->has_value()) break;
      ++n;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (n != expect_ops) {
      std::fprintf(stderr, "read %lld ops, expected %lld\n", (long long)n, (long long)expect_ops);
      std::exit(1);
    }
    best = std::max(best, size_mb / s);
  }
  std::printf("%-6s %8.1f MB file  %8.1f MB/s  (%.2f M ops/s)\n",
              path.substr(path.rfind('.') + 1).c_str(), size_mb, best,
              best / size_mb * static_cast<double>(expect_ops) / 1e6);
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t ops = argc > 1 ? std::atoll(argv[1]) : 1000000;
  auto dir = std::filesystem::temp_directory_path() / "chaos-history-bench";
  std::filesystem::create_directories(dir);
  History h = Generate(ops);
  for (const char* name : {"h.edn", "h.jsonl"}) {
    auto s = WriteHistory((dir / name).string(), h);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
  }
  std::printf("history parse speed, %lld ops, best of 3 (streaming reader, ops built)\n",
              (long long)h.size());
  BestMbPerSecond((dir / "h.edn").string(), static_cast<int64_t>(h.size()));
  BestMbPerSecond((dir / "h.jsonl").string(), static_cast<int64_t>(h.size()));
  std::filesystem::remove_all(dir);
  return 0;
}
