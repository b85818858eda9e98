// Reading and writing histories: JSON Lines (our native format) and Jepsen EDN.
//
// Readers stream: they hold one op (for EDN, one top-level element) in memory
// at a time, so a history larger than memory can be converted or checked.
// Every error names the file, the line and column (or byte offset) and the
// problem, in one line. Input limits (a line or element of at most 16 MiB,
// nesting at most 1,000 deep) turn hostile input into errors, never crashes.
//
// Thread safety: a reader or writer is used by one thread, except
// JsonlWriter, whose Append may be called from many threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"
#include "history/op.h"

namespace chaos::history {

inline constexpr size_t kMaxElementBytes = 16u << 20;
inline constexpr int kMaxNestingDepth = 1000;

enum class Format { kJsonl, kEdn };
// By extension: .jsonl/.json -> JSONL, .edn -> EDN.
Result<Format> FormatOfPath(const std::string& path);

// ---- JSON Lines ----
Json OpToJson(const Op& op);
// One JSONL line (no newline), fields in a fixed, readable order.
std::string OpToJsonLine(const Op& op);
// `where` prefixes error messages ("history.jsonl:12").
Result<Op> OpFromJson(const Json& j, const std::string& where);

// ---- EDN values ----
// Parses one EDN value from text (keywords become ":name" strings).
Result<Json> ParseEdnValue(std::string_view text);
std::string EdnOf(const Json& value);
std::string OpToEdn(const Op& op);

// A streaming reader of either format.
class HistoryReader {
 public:
  virtual ~HistoryReader() = default;
  // The next op, std::nullopt at the end, or an error naming the place.
  virtual Result<std::optional<Op>> Next() = 0;
};

Result<std::unique_ptr<HistoryReader>> OpenHistory(const std::string& path);
// Readers over text in memory (tests and fuzzers); `name` appears in errors.
std::unique_ptr<HistoryReader> JsonlReaderFromString(std::string text, std::string name);
std::unique_ptr<HistoryReader> EdnReaderFromString(std::string text, std::string name);

// Reads a whole history. Ops without an index get their position.
Result<History> ReadHistory(const std::string& path);
Result<History> ReadAll(HistoryReader& reader);

// Appends ops to a JSONL file as they happen: each line is written at once
// (a killed controller loses nothing written), and fsync runs at least every
// 100 ms while there are unsynced lines, and on Close.
class JsonlWriter {
 public:
  static Result<std::unique_ptr<JsonlWriter>> Create(const std::string& path);
  ~JsonlWriter();
  Status Append(const Op& op);
  Status Close();

 private:
  JsonlWriter(int fd, std::string path);
  void SyncLoop();
  Status SyncLocked();

  int fd_;
  std::string path_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = false;
  bool closed_ = false;
  Status error_;
  std::thread syncer_;
};

// Writes a whole history in the format its path names.
Status WriteHistory(const std::string& path, const History& history);

}  // namespace chaos::history
