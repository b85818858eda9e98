// MemEnv: the in-memory disk that can lose unsynced data (see env.h).
#include <algorithm>

#include "target/storage/env.h"

namespace chaos::storage {
namespace {
std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}
}  // namespace

class MemEnv::File final : public WritableFile {
 public:
  File(MemEnv* env, std::shared_ptr<Inode> inode, std::string path)
      : env_(env),
        inode_(std::move(inode)),
        path_(std::move(path)),
        generation_(env->generation_) {}
  Status Append(std::string_view data) override {
    std::lock_guard lock(env_->mu_);
    CHAOS_RETURN_IF_ERROR(Valid());
    inode_->data.append(data);
    return Status::Ok();
  }
  Status Sync() override {
    std::lock_guard lock(env_->mu_);
    CHAOS_RETURN_IF_ERROR(Valid());
    inode_->synced = inode_->data;
    ++env_->sync_count_;
    return Status::Ok();
  }
  Status Close() override {
    closed_ = true;
    return Status::Ok();
  }

 private:
  Status Valid() const {
    if (closed_) return IoError("write to closed file " + path_);
    if (generation_ != env_->generation_) return IoError("file lost in power loss: " + path_);
    return Status::Ok();
  }
  MemEnv* env_;
  std::shared_ptr<Inode> inode_;
  std::string path_;
  uint64_t generation_;
  bool closed_ = false;
};

std::shared_ptr<MemEnv::Inode> MemEnv::Lookup(const std::string& path) {
  auto d = dirs_.find(DirName(path));
  if (d == dirs_.end()) return nullptr;
  auto f = d->second.entries.find(BaseName(path));
  return f == d->second.entries.end() ? nullptr : f->second;
}

Result<std::unique_ptr<WritableFile>> MemEnv::NewWritableFile(const std::string& path) {
  std::lock_guard lock(mu_);
  auto d = dirs_.find(DirName(path));
  if (d == dirs_.end()) return NotFound("open " + path + ": no such directory");
  auto inode = Lookup(path);
  if (inode) {
    inode->data.clear();  // O_TRUNC: the truncation itself is not yet synced.
  } else {
    inode = std::make_shared<Inode>();
    d->second.entries[BaseName(path)] = inode;
  }
  return std::unique_ptr<WritableFile>(new File(this, inode, path));
}

Result<std::unique_ptr<WritableFile>> MemEnv::NewAppendableFile(const std::string& path) {
  std::lock_guard lock(mu_);
  auto inode = Lookup(path);
  if (!inode) return NotFound("open " + path + ": no such file");
  return std::unique_ptr<WritableFile>(new File(this, inode, path));
}

Result<std::string> MemEnv::ReadFile(const std::string& path) {
  std::lock_guard lock(mu_);
  auto inode = Lookup(path);
  if (!inode) return NotFound("open " + path + ": no such file");
  return inode->data;
}

Status MemEnv::Truncate(const std::string& path, uint64_t size) {
  std::lock_guard lock(mu_);
  auto inode = Lookup(path);
  if (!inode) return NotFound("truncate " + path + ": no such file");
  if (size < inode->data.size())
    inode->data.resize(size);
  else
    inode->data.append(size - inode->data.size(), '\0');
  return Status::Ok();
}

Status MemEnv::Rename(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  auto inode = Lookup(from);
  if (!inode) return NotFound("rename " + from + ": no such file");
  auto to_dir = dirs_.find(DirName(to));
  if (to_dir == dirs_.end()) return NotFound("rename to " + to + ": no such directory");
  dirs_[DirName(from)].entries.erase(BaseName(from));
  to_dir->second.entries[BaseName(to)] = inode;
  return Status::Ok();
}

Status MemEnv::RemoveFile(const std::string& path) {
  std::lock_guard lock(mu_);
  auto d = dirs_.find(DirName(path));
  if (d == dirs_.end() || d->second.entries.erase(BaseName(path)) == 0) {
    return NotFound("unlink " + path + ": no such file");
  }
  return Status::Ok();
}

Status MemEnv::SyncDir(const std::string& dir) {
  std::lock_guard lock(mu_);
  auto d = dirs_.find(dir);
  if (d == dirs_.end()) return NotFound("fsync directory " + dir + ": no such directory");
  d->second.synced_entries = d->second.entries;
  ++sync_count_;
  return Status::Ok();
}

Result<std::vector<std::string>> MemEnv::ListDir(const std::string& dir) {
  std::lock_guard lock(mu_);
  auto d = dirs_.find(dir);
  if (d == dirs_.end()) return NotFound("opendir " + dir + ": no such directory");
  std::vector<std::string> names;
  for (const auto& [name, inode] : d->second.entries) names.push_back(name);
  return names;  // std::map keeps them sorted.
}

Status MemEnv::CreateDir(const std::string& dir) {
  std::lock_guard lock(mu_);
  // Directories themselves are treated as durable once created: the WAL and
  // snapshot code only ever relies on fsync of the files within them.
  dirs_.try_emplace(dir);
  return Status::Ok();
}

bool MemEnv::FileExists(const std::string& path) {
  std::lock_guard lock(mu_);
  return Lookup(path) != nullptr;
}

Result<uint64_t> MemEnv::FileSize(const std::string& path) {
  std::lock_guard lock(mu_);
  auto inode = Lookup(path);
  if (!inode) return NotFound("stat " + path + ": no such file");
  return static_cast<uint64_t>(inode->data.size());
}

void MemEnv::PowerLoss() {
  std::lock_guard lock(mu_);
  ++generation_;
  for (auto& [name, dir] : dirs_) {
    dir.entries = dir.synced_entries;
    for (auto& [file, inode] : dir.entries) inode->data = inode->synced;
  }
}

void MemEnv::WriteBack() {
  std::lock_guard lock(mu_);
  for (auto& [name, dir] : dirs_) {
    dir.synced_entries = dir.entries;
    for (auto& [file, inode] : dir.entries) inode->synced = inode->data;
  }
}

Status MemEnv::CorruptFile(const std::string& path, std::string contents) {
  std::lock_guard lock(mu_);
  auto inode = Lookup(path);
  if (!inode) return NotFound("corrupt " + path + ": no such file");
  inode->data = contents;
  inode->synced = std::move(contents);
  return Status::Ok();
}

uint64_t MemEnv::sync_count() const {
  std::lock_guard lock(mu_);
  return sync_count_;
}

}  // namespace chaos::storage
