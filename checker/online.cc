#include "checker/online.h"

#include <utility>

namespace chaos::checker {
namespace {

// The key of a keyed op's value ([key v]), or nullptr when it has none.
const nlohmann::json* KeyOf(const history::Op& op) {
  if (!op.value.is_array() || op.value.size() != 2) return nullptr;
  return &op.value[0];
}

}  // namespace

void KeyTracker::TryComplete(const std::string& id, KeyState& state,
                             std::vector<nlohmann::json>* complete) {
  if (state.complete || state.open > 0 || !state.staying.empty()) return;
  state.complete = true;
  complete->push_back(key_values_[id]);
}

void KeyTracker::Add(const history::Op& op, std::vector<nlohmann::json>* complete) {
  if (!op.is_client()) return;
  if (op.is_invoke()) {
    const nlohmann::json* key = KeyOf(op);
    if (key == nullptr) return;
    const std::string id = key->dump();
    auto latest = latest_key_.find(op.process);
    if (latest != latest_key_.end() && latest->second != id) {
      // This process has moved on from its previous key.
      auto previous = keys_.find(latest->second);
      if (previous != keys_.end()) {
        previous->second.staying.erase(op.process);
        TryComplete(latest->second, previous->second, complete);
      }
    }
    key_values_.try_emplace(id, *key);
    KeyState& state = keys_[id];
    state.open += 1;
    state.staying.insert(op.process);
    latest_key_[op.process] = id;
    return;
  }
  auto latest = latest_key_.find(op.process);
  if (latest == latest_key_.end()) return;
  auto it = keys_.find(latest->second);
  if (it == keys_.end() || it->second.open == 0) return;  // a completion without invocation
  if (op.is_info()) {
    // It may still take effect; its process is retired (a fresh one takes
    // its place), so it will not come back to this key.
    it->second.info = true;
    it->second.staying.erase(op.process);
  }
  it->second.open -= 1;
  TryComplete(latest->second, it->second, complete);
}

bool KeyTracker::IsComplete(const nlohmann::json& key) const {
  auto it = keys_.find(key.dump());
  return it != keys_.end() && it->second.complete;
}

bool KeyTracker::HasInfo(const nlohmann::json& key) const {
  auto it = keys_.find(key.dump());
  return it != keys_.end() && it->second.info;
}

OnlineChecker::OnlineChecker(LinearizableOptions options, OnChecked on_checked)
    : options_(std::move(options)), on_checked_(std::move(on_checked)) {
  options_.threads = 1;
  options_.stop = &stop_;
  worker_ = std::thread([this] { Work(); });
}

OnlineChecker::~OnlineChecker() { Stop(); }

void OnlineChecker::Add(const history::Op& op) {
  if (!op.is_client()) return;
  // The key of a completion is its invocation's, which the tracker knows.
  std::vector<nlohmann::json> complete;
  const nlohmann::json* key = op.is_invoke() ? KeyOf(op) : nullptr;
  std::string id;
  if (key != nullptr) id = key->dump();
  const bool late = key != nullptr && tracker_.IsComplete(*key);
  tracker_.Add(op, &complete);
  if (!op.is_invoke()) {
    // Find the buffer holding this process's invocation: the latest op of
    // the process is the last one appended to some buffer.
    auto it = open_key_.find(op.process);
    if (it == open_key_.end()) return;
    id = it->second;
    open_key_.erase(it);
  } else if (key == nullptr || late) {
    // Not keyed, or a final read of a key already complete.
    return;
  } else {
    open_key_[op.process] = id;
  }
  auto buffer = buffers_.find(id);
  if (op.is_invoke()) buffer = buffers_.try_emplace(id).first;
  if (buffer != buffers_.end()) buffer->second.push_back(op);
  for (const nlohmann::json& k : complete) {
    auto done = buffers_.find(k.dump());
    if (done == buffers_.end()) continue;
    Queued queued{std::move(done->second), tracker_.HasInfo(k)};
    buffers_.erase(done);
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_ || queue_.size() >= kQueuedKeysMax) {
      ++skipped_;
      continue;
    }
    queue_.push_back(std::move(queued));
    cv_.notify_one();
  }
}

void OnlineChecker::Work() {
  while (true) {
    Queued queued;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopped_ || !queue_.empty(); });
      if (stopped_) return;
      queued = std::move(queue_.front());
      queue_.pop_front();
    }
    KeyCheck result = CheckKeyAlone(queued.ops, options_);
    result.key = queued.ops.front().value[0];  // also when every op was dropped (all failed)
    if (result.verdict == Verdict::kUnknown && result.cause == "stopped") return;
    // With an info op only an invalid verdict holds for the whole key (online.h).
    if (queued.info && result.verdict != Verdict::kInvalid) continue;
    if (!queued.info) {
      std::lock_guard<std::mutex> lock(mu_);
      results_[result.key.dump()] = result;
    }
    if (on_checked_) on_checked_(result);
  }
}

void OnlineChecker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    skipped_ += static_cast<int64_t>(queue_.size());
    queue_.clear();
  }
  stop_ = true;
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

KeyChecks OnlineChecker::Results() {
  std::lock_guard<std::mutex> lock(mu_);
  return results_;
}

int64_t OnlineChecker::checked() {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(results_.size());
}

int64_t OnlineChecker::skipped() {
  std::lock_guard<std::mutex> lock(mu_);
  return skipped_;
}

}  // namespace chaos::checker
