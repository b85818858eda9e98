// JSON Lines: one op per line, our native history format; and the pieces
// shared by both formats (opening, reading whole histories, writing).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "history/codec.h"
#include "history/plain_jsonl.h"
#include "history/read_chunk.h"

namespace chaos::history {

namespace internal {
std::unique_ptr<HistoryReader> OpenEdnFd(int fd, std::string name);
}  // namespace internal

namespace {

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Deepest nesting of [ and { in a JSON text (outside strings). nlohmann's
// parser is not recursive, but a limit keeps hostile input cheap and gives a
// clear message.
int JsonDepth(std::string_view text) {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

void AppendField(std::string& out, const char* name, const Json& value) {
  out += ",\"";
  out += name;
  out += "\":";
  out += value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

class JsonlReader : public HistoryReader {
 public:
  JsonlReader(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  JsonlReader(std::string text, std::string name)
      : fd_(-1), name_(std::move(name)), buffer_(std::move(text)), eof_(true) {}
  ~JsonlReader() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Result<std::optional<Op>> Next() override {
    while (true) {
      std::string_view line;
      CHAOS_ASSIGN_OR_RETURN(bool have, NextLine(line));
      if (!have) return std::optional<Op>();
      // Blank lines are allowed (a trailing newline, hand-edited files).
      size_t first = line.find_first_not_of(" \t\r");
      if (first == std::string_view::npos) continue;
      std::optional<Op> plain = internal::ParsePlainOpLine(line);
      if (plain) return Numbered(std::move(*plain));
      std::string where = name_ + ":" + std::to_string(line_number_);
      if (JsonDepth(line) > kMaxNestingDepth) {
        return InvalidArgument(where + ": nesting deeper than 1000 levels");
      }
      Json j;
      try {
        j = Json::parse(line);
      } catch (const Json::parse_error& e) {
        // e.byte is the 1-based position in the line.
        return InvalidArgument(where + ":" + std::to_string(e.byte) +
                               ": malformed JSON: " + ShortMessage(e.what()));
      } catch (const Json::exception& e) {
        // A number too large for a double (out_of_range 406), found by
        // jsonl_fuzz on 2026-12-07.
        return InvalidArgument(where + ": malformed JSON: " + ShortMessage(e.what()));
      }
      CHAOS_ASSIGN_OR_RETURN(Op op, OpFromJson(j, where));
      return Numbered(std::move(op));
    }
  }

 private:
  // `op`, given its position as index when it has none.
  std::optional<Op> Numbered(Op op) {
    if (op.index == kAbsent) op.index = count_;
    ++count_;
    return op;
  }

  static std::string ShortMessage(const char* what) {
    // nlohmann: "[json.exception.parse_error.101] parse error at line 1, column 5: <why>"
    std::string s(what);
    size_t colon = s.find(": ");
    return colon == std::string::npos ? s : s.substr(colon + 2);
  }

  // The next line without its newline; false at the end of the input.
  Result<bool> NextLine(std::string_view& line) {
    while (true) {
      const char* start = buffer_.data() + pos_;
      size_t available = buffer_.size() - pos_;
      const char* nl =
          static_cast<const char*>(std::memchr(start + scanned_, '\n', available - scanned_));
      if (nl != nullptr) {
        line = std::string_view(start, nl - start);
        pos_ += line.size() + 1;
        scanned_ = 0;
        ++line_number_;
        return true;
      }
      scanned_ = available;
      if (available > kMaxElementBytes) {
        return InvalidArgument(name_ + ":" + std::to_string(line_number_ + 1) +
                               ": line longer than 16 MiB");
      }
      if (eof_) {
        if (available == 0) return false;
        line = std::string_view(start, available);
        pos_ = buffer_.size();
        scanned_ = 0;
        ++line_number_;
        return true;
      }
      CHAOS_RETURN_IF_ERROR(Refill());
    }
  }

  Status Refill() {
    if (pos_ > 0) {
      buffer_.erase(0, pos_);
      pos_ = 0;
    }
    size_t want = 1 << 20;
    return internal::ReadChunk(fd_, name_, want, buffer_, &eof_);
  }

  int fd_;
  std::string name_;
  std::string buffer_;
  size_t pos_ = 0;
  size_t scanned_ = 0;  // bytes after pos_ known to hold no newline
  bool eof_ = false;
  int64_t line_number_ = 0;
  int64_t count_ = 0;
};

Status WriteAll(int fd, const std::string& path, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(path + ": write failed: " + std::strerror(errno));
    }
    data.remove_prefix(n);
  }
  return Status::Ok();
}

}  // namespace

Result<Format> FormatOfPath(const std::string& path) {
  if (EndsWith(path, ".jsonl") || EndsWith(path, ".json") || EndsWith(path, ".ndjson")) {
    return Format::kJsonl;
  }
  if (EndsWith(path, ".edn")) return Format::kEdn;
  return InvalidArgument(path + ": unknown history format (expected .jsonl or .edn)");
}

std::string OpToJsonLine(const Op& op) {
  std::string out = "{\"index\":" + std::to_string(op.index);
  if (op.time_ns != kAbsent) out += ",\"time\":" + std::to_string(op.time_ns);
  if (op.process.is_named()) {
    AppendField(out, "process", Json(op.process.name));
  } else {
    out += ",\"process\":" + std::to_string(op.process.id);
  }
  out += ",\"type\":\"";
  out += OpTypeName(op.type);
  out += '"';
  AppendField(out, "f", Json(op.f));
  AppendField(out, "value", op.value);
  if (op.node) AppendField(out, "node", Json(*op.node));
  if (!op.error.is_null()) AppendField(out, "error", op.error);
  if (op.extra.is_object()) {
    for (const auto& [key, item] : op.extra.items()) AppendField(out, key.c_str(), item);
  }
  out += '}';
  return out;
}

Json OpToJson(const Op& op) { return Json::parse(OpToJsonLine(op)); }

namespace internal {

const char* SetOpField(Op& op, std::string_view key, Json value) {
  if (key == "type") {
    auto t = value.is_string() ? ParseOpType(value.get_ref<const std::string&>())
                               : std::optional<OpType>();
    if (!t) return "unknown op type";
    op.type = *t;
  } else if (key == "process") {
    if (value.is_number_integer()) {
      op.process = Process::Number(value.get<int64_t>());
    } else if (value.is_string() && !NameOf(value).empty()) {
      op.process = Process::Named(std::string(NameOf(value)));
    } else {
      return "bad process";
    }
  } else if (key == "f") {
    if (!value.is_string()) return "bad f";
    op.f = std::string(NameOf(value));
  } else if (key == "value") {
    op.value = std::move(value);
  } else if (key == "time") {
    std::optional<int64_t> t = value.is_number() ? TimeOf(value) : std::nullopt;
    if (!t) return "bad time";
    op.time_ns = *t;
  } else if (key == "index") {
    if (!value.is_number_integer()) return "bad index";
    op.index = value.get<int64_t>();
  } else if (key == "node") {
    if (value.is_string()) {
      op.node = std::move(value.get_ref<std::string&>());
    } else if (!value.is_null()) {
      op.node = value.dump();
    }
  } else if (key == "error") {
    op.error = std::move(value);
  } else {
    if (op.extra.is_null()) op.extra = Json::object();
    op.extra[std::string(key)] = std::move(value);
  }
  return nullptr;
}

}  // namespace internal

Result<Op> OpFromJson(const Json& j, const std::string& where) {
  if (!j.is_object()) return InvalidArgument(where + ": an op must be a JSON object");
  Op op;
  bool has_type = false, has_process = false;
  for (const auto& [raw_key, value] : j.items()) {
    std::string_view key = raw_key;
    if (!key.empty() && key[0] == ':') key.remove_prefix(1);
    if (const char* bad = internal::SetOpField(op, key, value)) {
      return InvalidArgument(where + ": " + bad + " " + value.dump());
    }
    has_type = has_type || key == "type";
    has_process = has_process || key == "process";
  }
  if (!has_type) return InvalidArgument(where + ": op has no type");
  if (!has_process) return InvalidArgument(where + ": op has no process");
  return op;
}

Result<std::unique_ptr<HistoryReader>> OpenHistory(const std::string& path) {
  CHAOS_ASSIGN_OR_RETURN(Format format, FormatOfPath(path));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError(path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(path + ": is a directory, not a history file");
  }
  if (format == Format::kEdn) return internal::OpenEdnFd(fd, path);
  return std::unique_ptr<HistoryReader>(std::make_unique<JsonlReader>(fd, path));
}

std::unique_ptr<HistoryReader> JsonlReaderFromString(std::string text, std::string name) {
  return std::make_unique<JsonlReader>(std::move(text), std::move(name));
}

Result<History> ReadAll(HistoryReader& reader) {
  History history;
  while (true) {
    CHAOS_ASSIGN_OR_RETURN(std::optional<Op> op, reader.Next());
    if (!op) return history;
    history.push_back(std::move(*op));
  }
}

Result<History> ReadHistory(const std::string& path) {
  CHAOS_ASSIGN_OR_RETURN(auto reader, OpenHistory(path));
  return ReadAll(*reader);
}

// ---- JsonlWriter ----

Result<std::unique_ptr<JsonlWriter>> JsonlWriter::Create(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return IoError(path + ": cannot create: " + std::strerror(errno));
  return std::unique_ptr<JsonlWriter>(new JsonlWriter(fd, path));
}

JsonlWriter::JsonlWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
  syncer_ = std::thread([this] { SyncLoop(); });
}

JsonlWriter::~JsonlWriter() { (void)Close(); }

Status JsonlWriter::Append(const Op& op) {
  std::string line = OpToJsonLine(op);
  line += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return FailedPrecondition(path_ + ": append after close");
  if (!error_.ok()) return error_;
  // One write per line: a killed controller leaves whole lines in the page
  // cache, which survives the process.
  Status s = WriteAll(fd_, path_, line);
  if (!s.ok()) {
    error_ = s;
    return s;
  }
  dirty_ = true;
  return Status::Ok();
}

Status JsonlWriter::SyncLocked() {
  if (!dirty_) return Status::Ok();
  if (::fsync(fd_) != 0) {
    error_ = IoError(path_ + ": fsync failed: " + std::strerror(errno));
    return error_;
  }
  dirty_ = false;
  return Status::Ok();
}

void JsonlWriter::SyncLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!closed_) {
    cv_.wait_for(lock, std::chrono::milliseconds(100));
    if (closed_) break;
    (void)SyncLocked();  // a failure is kept in error_ and returned by Append/Close
  }
}

Status JsonlWriter::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return error_;
    closed_ = true;
    (void)SyncLocked();
  }
  cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();
  if (::close(fd_) != 0 && error_.ok()) {
    error_ = IoError(path_ + ": close failed: " + std::strerror(errno));
  }
  return error_;
}

Status WriteHistory(const std::string& path, const History& history) {
  CHAOS_ASSIGN_OR_RETURN(Format format, FormatOfPath(path));
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IoError(tmp + ": cannot create: " + std::strerror(errno));
  std::string chunk;
  Status status;
  if (format == Format::kEdn) chunk += "[";
  for (size_t i = 0; i < history.size() && status.ok(); ++i) {
    if (format == Format::kEdn) {
      if (i > 0) chunk += "\n ";
      chunk += OpToEdn(history[i]);
    } else {
      chunk += OpToJsonLine(history[i]);
      chunk += '\n';
    }
    if (chunk.size() > (1 << 20)) {
      status = WriteAll(fd, tmp, chunk);
      chunk.clear();
    }
  }
  if (format == Format::kEdn) chunk += "]\n";
  if (status.ok()) status = WriteAll(fd, tmp, chunk);
  if (status.ok() && ::fsync(fd) != 0)
    status = IoError(tmp + ": fsync failed: " + std::strerror(errno));
  ::close(fd);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = IoError(path + ": rename failed: " + std::strerror(errno));
  }
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
}

}  // namespace chaos::history
