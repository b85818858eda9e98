// Proves every Knossos history parses, validates, has the op counts a grep
// gives, and survives EDN -> JSONL -> EDN unchanged, field for field.
#include <gtest/gtest.h>

#include <map>

#include "history/codec.h"
#include "history/tests/test_util.h"
#include "history/validate.h"

namespace chaos::history {
namespace {

std::vector<std::filesystem::path> CorpusFiles() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(testing::KnossosDir())) {
    if (entry.path().extension() == ".edn") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(KnossosCorpusTest, EveryHistoryParsesAndValidates) {
  auto files = CorpusFiles();
  ASSERT_EQ(files.size(), 122u) << "corpus at " << testing::KnossosDir();
  for (const auto& file : files) {
    auto h = ReadHistory(file.string());
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_FALSE(h->empty()) << file;
    auto stats = Validate(*h, file.string());
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
  }
}

TEST(KnossosCorpusTest, OpCountsMatchTheFiles) {
  // Counted independently with grep -o ':type' FILE | wc -l.
  const std::map<std::string, size_t> expected = {
      {"cas-register/bad/bad-analysis.edn", 16},
      {"cas-register/bad/cas-failure.edn", 590},
      {"cas-register/bad/rethink-fail.edn", 500},
      {"cas-register/good/memstress3-12.edn", 608},
      {"mutex/bad/etcd.edn", 1135},
      {"multi-register/good/multi-register.edn", 250},
  };
  for (const auto& [name, count] : expected) {
    auto h = ReadHistory((testing::KnossosDir() / name).string());
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_EQ(h->size(), count) << name;
  }
  auto h = ReadHistory((testing::KnossosDir() / "cas-register/bad/bad-analysis.edn").string());
  ASSERT_TRUE(h.ok());
  const Op& op = (*h)[14];  // the read Knossos cannot linearize
  EXPECT_EQ(op.process, Process::Number(21));
  EXPECT_EQ(op.type, OpType::kOk);
  EXPECT_EQ(op.f, "read");
  EXPECT_EQ(op.value, Json(2));
}

TEST(KnossosCorpusTest, EdnToJsonlToEdnKeepsEveryField) {
  for (const auto& file : CorpusFiles()) {
    auto original = ReadHistory(file.string());
    ASSERT_TRUE(original.ok());
    std::string jsonl;
    for (const Op& op : *original) jsonl += OpToJsonLine(op) + "\n";
    auto via_jsonl = ReadAll(*JsonlReaderFromString(jsonl, "h.jsonl"));
    ASSERT_TRUE(via_jsonl.ok()) << via_jsonl.status().ToString();
    std::string edn = "[";
    for (const Op& op : *via_jsonl) edn += OpToEdn(op) + "\n";
    edn += "]";
    auto back = ReadAll(*EdnReaderFromString(edn, "h.edn"));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_EQ(back->size(), original->size()) << file;
    for (size_t i = 0; i < original->size(); ++i) {
      ASSERT_EQ((*back)[i], (*original)[i])
          << file << " op " << i << ": " << Describe((*original)[i]) << " vs "
          << Describe((*back)[i]);
    }
  }
}

}  // namespace
}  // namespace chaos::history
