// chaos_mutate: lists and applies mutants of C++ files (bench/mutate/README.md).
//
//   chaos_mutate list [--seed S] FILE...   every mutant of the files, in the
//                                           seed's order: "id<TAB>listing row"
//   chaos_mutate apply ROOT < ROW           applies one listing row (with or
//                                           without its id) to ROOT/file
//   chaos_mutate page --results TSV [--blackbox JSON] [--title T] --out HTML
//                     [--markdown MD]       the run's page from run.sh's
//                                           results and blackbox.sh's test-all
//                                           summary; MD: the cluster's rows
//
// Run from the repository root: FILE paths are kept as given and resolved
// against ROOT by apply. Exit status: 0 done, 3 bad input (a file that
// cannot be read, a row that does not parse or whose original text is not
// at its place, a results file that does not parse).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "base/file.h"
#include "bench/mutate/mutants.h"
#include "bench/mutate/report.h"

namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "chaos_mutate: %s\n", what.c_str());
  return 3;
}

int List(int argc, char** argv) {
  uint64_t seed = 1;
  std::vector<std::string> files;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      files.push_back(argv[i]);
    }
  }
  if (files.empty()) return Fail("list: name at least one file");
  std::vector<chaos::mutate::Mutant> all;
  for (const auto& f : files) {
    std::string text;
    if (!ReadFile(f, &text)) return Fail(f + ": cannot read");
    auto found = chaos::mutate::FindMutants(f, text);
    all.insert(all.end(), found.begin(), found.end());
  }
  chaos::mutate::Shuffle(&all, seed);
  for (size_t i = 0; i < all.size(); ++i) {
    std::printf("%zu\t%s\n", i + 1, all[i].ToListing().c_str());
  }
  return 0;
}

int ApplyRow(int argc, char** argv) {
  if (argc != 3) return Fail("usage: chaos_mutate apply ROOT < ROW");
  std::string root = argv[2];
  std::string row;
  if (!std::getline(std::cin, row)) return Fail("apply: no row on standard input");
  // A row from `list` starts with its id; a bare listing row has 7 fields.
  size_t tabs = static_cast<size_t>(std::count(row.begin(), row.end(), '\t'));
  if (tabs == 7) row = row.substr(row.find('\t') + 1);
  chaos::mutate::Mutant m;
  if (!chaos::mutate::Mutant::FromListing(row, &m)) return Fail("apply: malformed row: " + row);
  std::string path = root + "/" + m.file;
  std::string text, mutated;
  if (!ReadFile(path, &text)) return Fail(path + ": cannot read");
  if (!chaos::mutate::Apply(m, text, &mutated)) {
    return Fail(path + ":" + std::to_string(m.line) + ":" + std::to_string(m.column) +
                ": the original text is not there (a listing of another version?)");
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << mutated;
  if (!out.flush()) return Fail(path + ": cannot write");
  return 0;
}

int Page(int argc, char** argv) {
  std::string results, blackbox, title = "mutation testing of target/core", out, markdown;
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return Fail("page: " + flag + " needs a value");
    std::string value = argv[++i];
    if (flag == "--results") {
      results = value;
    } else if (flag == "--blackbox") {
      blackbox = value;
    } else if (flag == "--title") {
      title = value;
    } else if (flag == "--out") {
      out = value;
    } else if (flag == "--markdown") {
      markdown = value;
    } else {
      return Fail("page: unknown flag " + flag);
    }
  }
  if (results.empty() || out.empty()) return Fail("page: --results and --out are required");
  std::string tsv, summary_text;
  if (!ReadFile(results, &tsv)) return Fail(results + ": cannot read");
  nlohmann::json summary;
  if (!blackbox.empty()) {
    if (!ReadFile(blackbox, &summary_text)) return Fail(blackbox + ": cannot read");
    summary = nlohmann::json::parse(summary_text, nullptr, false);
    if (summary.is_discarded()) return Fail(blackbox + ": not JSON");
  }
  auto html = chaos::mutate::RenderMutationPage(tsv, summary, title);
  if (!html.ok()) return Fail(results + ": " + html.status().message());
  chaos::Status written = chaos::WriteFileAtomically(out, *html);
  if (!written.ok()) return Fail(written.message());
  if (markdown.empty()) return 0;
  auto md = chaos::mutate::RenderBlackboxMarkdown(tsv, summary);
  if (!md.ok()) return Fail(results + ": " + md.status().message());
  written = chaos::WriteFileAtomically(markdown, *md);
  if (!written.ok()) return Fail(written.message());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "list") == 0) return List(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "apply") == 0) return ApplyRow(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "page") == 0) return Page(argc, argv);
  return Fail(
      "usage: chaos_mutate list [--seed S] FILE... | chaos_mutate apply ROOT < ROW | chaos_mutate "
      "page --results TSV [--blackbox JSON] [--title T] --out HTML [--markdown MD]");
}
