// chaos_cuts: the stalled-leader cuts of default-schedule runs (cuts.h).
//
//   chaos_cuts HISTORY...   for each history.jsonl (or .edn): one line per
//                           cut, tab-separated, then a summary line
//
// Exit status: 0 done, 3 a history that cannot be read.
#include <cstdio>
#include <string>

#include "bench/cuts/cuts.h"
#include "history/codec.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: chaos_cuts HISTORY...\n");
    return 3;
  }
  for (int i = 1; i < argc; ++i) {
    auto history = chaos::history::ReadHistory(argv[i]);
    if (!history.ok()) {
      std::fprintf(stderr, "chaos_cuts: %s\n", history.status().ToString().c_str());
      return 3;
    }
    std::printf("== %s\n%s", argv[i],
                chaos::bench::FormatCuts(chaos::bench::StalledLeaderCuts(*history)).c_str());
  }
  return 0;
}
