// Proves when a key counts as complete online (no op open on it and every
// process moved on; an info op keeps it open to the end), that a key checked
// alone plus later reads gives the whole check's answer, and that the
// streaming check of a file equals the whole-history check.
#include "checker/online.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "checker/checker.h"
#include "checker/tests/test_util.h"
#include "history/codec.h"

namespace chaos::checker {
namespace {

using history::History;
using history::Op;
using history::OpType;
using testing::Add;
using testing::KnossosDir;
using testing::MakeOp;
using Json = nlohmann::json;

std::vector<Json> Feed(KeyTracker& t, int64_t process, OpType type, const char* f, Json value) {
  std::vector<Json> complete;
  t.Add(MakeOp(process, type, f, std::move(value)), &complete);
  return complete;
}

TEST(KeyTracker, CompleteOnlyWhenNothingOpenAndEveryProcessMovedOn) {
  KeyTracker t;
  EXPECT_TRUE(Feed(t, 1, OpType::kInvoke, "write", Json::array({0, 1})).empty());
  EXPECT_TRUE(Feed(t, 2, OpType::kInvoke, "read", Json::array({0, nullptr})).empty());
  EXPECT_TRUE(Feed(t, 1, OpType::kOk, "write", Json::array({0, 1})).empty());
  // Process 1 moves on; process 2 still has its read open on key 0.
  EXPECT_TRUE(Feed(t, 1, OpType::kInvoke, "write", Json::array({1, 2})).empty());
  EXPECT_TRUE(Feed(t, 2, OpType::kOk, "read", Json::array({0, 1})).empty());
  // Nothing open on key 0, but process 2 has not left it: it may invoke again.
  EXPECT_FALSE(t.IsComplete(0));
  EXPECT_EQ(Feed(t, 2, OpType::kInvoke, "read", Json::array({1, nullptr})), std::vector<Json>{0});
  EXPECT_TRUE(t.IsComplete(0));
  EXPECT_FALSE(t.IsComplete(1));
}

// Proves a process that got info no longer holds its key open (it is
// retired; a fresh process takes its place) and the key is marked.
TEST(KeyTracker, AKeyWithAnInfoOpCompletesMarked) {
  KeyTracker t;
  Feed(t, 2, OpType::kInvoke, "read", Json::array({0, nullptr}));
  Feed(t, 2, OpType::kOk, "read", Json::array({0, nullptr}));
  Feed(t, 1, OpType::kInvoke, "write", Json::array({0, 1}));
  EXPECT_TRUE(Feed(t, 1, OpType::kInfo, "write", Json::array({0, 1})).empty());
  EXPECT_FALSE(t.IsComplete(0));  // process 2 may still invoke on key 0
  EXPECT_EQ(Feed(t, 2, OpType::kInvoke, "write", Json::array({1, 3})), std::vector<Json>{0});
  EXPECT_TRUE(t.IsComplete(0));
  EXPECT_TRUE(t.HasInfo(0));
  EXPECT_FALSE(t.HasInfo(1));
}

TEST(KeyTracker, AFailedOpClosesAndNemesisOpsAreIgnored) {
  KeyTracker t;
  Feed(t, 1, OpType::kInvoke, "cas", Json::array({0, Json::array({1, 2})}));
  Op nemesis = MakeOp(0, OpType::kInfo, "start-partition", nullptr);
  nemesis.process = history::Process::Nemesis();
  std::vector<Json> complete;
  t.Add(nemesis, &complete);
  Feed(t, 1, OpType::kFail, "cas", Json::array({0, Json::array({1, 2})}));
  EXPECT_EQ(Feed(t, 1, OpType::kInvoke, "read", Json::array({1, nullptr})), std::vector<Json>{0});
}

// A keyed history as `chaos run` makes: `groups` keys at a time, each key a
// real register run by a few processes with overlapping ops, some info.
History Generated(uint64_t seed, int keys, int groups, int calls_per_key, bool lose_writes) {
  std::mt19937_64 rng(seed);
  History h;
  int64_t next_process = 0;
  // Three processes per group, kept from one key to the next (a process
  // that got info is replaced).
  std::vector<int64_t> slot_process(static_cast<size_t>(groups * 3));
  for (auto& p : slot_process) p = next_process++;
  for (int first = 0; first < keys; first += groups) {
    struct Lane {
      size_t slot;
      int key;
      int left;
    };
    std::vector<Lane> lanes;
    std::map<int, Json> reg;
    for (int k = first; k < std::min(keys, first + groups); ++k) {
      for (int p = 0; p < 3; ++p) {
        lanes.push_back({static_cast<size_t>((k - first) * 3 + p), k, calls_per_key / 3});
      }
    }
    // Invoke all, then complete in a random order: overlapping ops.
    while (true) {
      std::vector<size_t> live;
      for (size_t i = 0; i < lanes.size(); ++i) {
        if (lanes[i].left > 0) live.push_back(i);
      }
      if (live.empty()) break;
      std::shuffle(live.begin(), live.end(), rng);
      live.resize(std::min<size_t>(live.size(), 4));
      std::vector<std::pair<size_t, Op>> done;
      for (size_t i : live) {
        Lane& l = lanes[i];
        const int64_t process = slot_process[l.slot];
        --l.left;
        const int kind = static_cast<int>(rng() % 3);
        Json& r = reg[l.key];
        if (kind == 0) {
          Add(h, process, OpType::kInvoke, "read", Json::array({l.key, nullptr}));
          done.push_back({i, MakeOp(process, OpType::kOk, "read", Json::array({l.key, r}))});
        } else {
          const int v = static_cast<int>(rng() % 4);
          Add(h, process, OpType::kInvoke, "write", Json::array({l.key, v}));
          const bool info = rng() % 20 == 0;
          if (!(lose_writes && rng() % 10 == 0)) r = v;
          done.push_back({i, MakeOp(process, info ? OpType::kInfo : OpType::kOk, "write",
                                    Json::array({l.key, v}))});
        }
      }
      for (auto& [i, op] : done) {
        op.index = static_cast<int64_t>(h.size());
        const bool info = op.is_info();
        h.push_back(std::move(op));
        if (info) slot_process[lanes[i].slot] = next_process++;
      }
    }
  }
  return h;
}

LinearizableOptions Keyed() {
  LinearizableOptions o;
  o.keyed = true;
  o.model = "cas-register";
  o.nil_read = NilRead::kValue;
  o.stop_on_first_invalid = false;
  o.shrink = false;
  return o;
}

Json WithoutStats(Json per_key) {
  for (auto& [k, v] : per_key.items()) v.erase("states");
  return per_key;
}

TEST(OnlineChecker, ChecksCompleteKeysAndTheWholeCheckReusesThem) {
  for (bool lose : {false, true}) {
    History h = Generated(lose ? 7 : 5, 40, 3, 30, lose);
    // Final reads of every key after the run, as the runner does them.
    int64_t reader = 100000;
    for (int k = 0; k < 40; ++k) {
      Add(h, reader, OpType::kInvoke, "read", Json::array({k, nullptr}));
      // A read that fails changes nothing; ok reads carry some value.
      Add(h, reader, OpType::kOk, "read", Json::array({k, k % 4 == 0 ? Json() : Json(k % 4)}));
    }
    std::atomic<int> invalid{0};
    OnlineChecker online(Keyed(), [&](const KeyCheck& k) {
      if (k.verdict == Verdict::kInvalid) ++invalid;
    });
    for (const Op& op : h) online.Add(op);
    // Let the background thread drain before stopping it: until the count
    // of keys checked stays put for 200 ms (at most 10 s).
    for (int i = 0, still = 0; i < 1000 && still < 20; ++i) {
      const int64_t before = online.checked();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      still = online.checked() == before ? still + 1 : 0;
    }
    online.Stop();
    KeyChecks checked = online.Results();
    // Keys with an info op and the last keys (nobody moved on) are left out.
    EXPECT_GE(checked.size(), 5u) << "lose " << lose;
    CheckResult whole = CheckLinearizable(h, Keyed());
    CheckResult reused = CheckLinearizable(h, Keyed(), &checked);
    EXPECT_EQ(VerdictName(whole.verdict), std::string(VerdictName(reused.verdict)));
    EXPECT_EQ(WithoutStats(whole.per_key), WithoutStats(reused.per_key)) << "lose " << lose;
    EXPECT_EQ(whole.cause, reused.cause);
    if (lose) {
      EXPECT_EQ(whole.verdict, Verdict::kInvalid);
    }
  }
}

// Proves a key with an info op is checked online for an invalid verdict
// only: a stale read beside an info write is reported, and neither that key
// nor a valid key with an info op is kept for reuse after the run.
TEST(OnlineChecker, AKeyWithAnInfoOpCountsOnlyWhenInvalid) {
  History h;
  // Key 0: write 1 ok, an info write of 2, then a read of 3 that nothing wrote.
  Add(h, 2, OpType::kInvoke, "read", Json::array({0, nullptr}));
  Add(h, 2, OpType::kOk, "read", Json::array({0, nullptr}));
  Add(h, 1, OpType::kInvoke, "write", Json::array({0, 1}));
  Add(h, 1, OpType::kOk, "write", Json::array({0, 1}));
  Add(h, 1, OpType::kInvoke, "write", Json::array({0, 2}));
  Add(h, 1, OpType::kInfo, "write", Json::array({0, 2}));
  Add(h, 2, OpType::kInvoke, "read", Json::array({0, nullptr}));
  Add(h, 2, OpType::kOk, "read", Json::array({0, 3}));
  // Key 1: a write that ended info, alone: valid so far.
  Add(h, 3, OpType::kInvoke, "write", Json::array({1, 5}));
  Add(h, 3, OpType::kInfo, "write", Json::array({1, 5}));
  // Process 2 moves on: key 0 is complete.
  Add(h, 2, OpType::kInvoke, "read", Json::array({2, nullptr}));
  std::mutex mu;
  std::vector<Json> invalid;
  OnlineChecker online(Keyed(), [&](const KeyCheck& k) {
    std::lock_guard lock(mu);
    EXPECT_EQ(k.verdict, Verdict::kInvalid);
    invalid.push_back(k.key);
  });
  for (const Op& op : h) online.Add(op);
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard lock(mu);
      if (!invalid.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // key 1's check too
  online.Stop();
  std::lock_guard lock(mu);
  EXPECT_EQ(invalid, std::vector<Json>{0});
  EXPECT_TRUE(online.Results().empty());
}

TEST(CheckKeyAlone, FinalStatesAreEveryEndingOfAValidKey) {
  History h;
  // Two concurrent writes: either may be last.
  Add(h, 1, OpType::kInvoke, "write", Json::array({0, 1}));
  Add(h, 2, OpType::kInvoke, "write", Json::array({0, 2}));
  Add(h, 1, OpType::kOk, "write", Json::array({0, 1}));
  Add(h, 2, OpType::kOk, "write", Json::array({0, 2}));
  KeyCheck k = CheckKeyAlone(h, Keyed());
  EXPECT_EQ(k.verdict, Verdict::kValid);
  EXPECT_EQ(k.calls, 2);
  EXPECT_EQ(k.last_index, 3);
  std::sort(k.final_states.begin(), k.final_states.end());
  EXPECT_EQ(k.final_states, (std::vector<Json>{1, 2}));
  // A later read of 1, of 2, of nil: the whole check agrees with the reuse.
  for (Json read : {Json(1), Json(2), Json()}) {
    History more = h;
    Add(more, 3, OpType::kInvoke, "read", Json::array({0, nullptr}));
    Add(more, 3, OpType::kOk, "read", Json::array({0, read}));
    KeyChecks checked = {{"0", k}};
    CheckResult whole = CheckLinearizable(more, Keyed());
    CheckResult reused = CheckLinearizable(more, Keyed(), &checked);
    EXPECT_EQ(whole.verdict, reused.verdict) << read;
    EXPECT_EQ(WithoutStats(whole.per_key), WithoutStats(reused.per_key)) << read;
    EXPECT_EQ(whole.verdict, read.is_null() ? Verdict::kInvalid : Verdict::kValid) << read;
  }
}

// Proves the whole check names the key the online check found invalid in
// its counterexample, even where another invalid key would be searched
// first (more calls) and stop it.
TEST(CheckLinearizable, NamesTheKeyFoundInvalidOnlineFirst) {
  History h;
  // Key 0: a write of 1, then a read of nil (lost), early.
  Add(h, 1, OpType::kInvoke, "write", Json::array({0, 1}));
  Add(h, 1, OpType::kOk, "write", Json::array({0, 1}));
  Add(h, 1, OpType::kInvoke, "read", Json::array({0, nullptr}));
  Add(h, 1, OpType::kOk, "read", Json::array({0, nullptr}));
  // Key 1: more calls, its lost write shown only at the end.
  for (int v = 1; v <= 4; ++v) {
    Add(h, 2, OpType::kInvoke, "write", Json::array({1, v}));
    Add(h, 2, OpType::kOk, "write", Json::array({1, v}));
  }
  Add(h, 2, OpType::kInvoke, "read", Json::array({1, nullptr}));
  Add(h, 2, OpType::kOk, "read", Json::array({1, 2}));
  LinearizableOptions o = Keyed();
  o.stop_on_first_invalid = true;
  o.threads = 1;
  CheckResult alone = CheckLinearizable(h, o);
  ASSERT_EQ(alone.verdict, Verdict::kInvalid);
  EXPECT_EQ(alone.counterexample["op"]["value"][0], 1);  // the bigger key, searched first

  History key0(h.begin(), h.begin() + 4);
  KeyCheck online = CheckKeyAlone(key0, Keyed());
  ASSERT_EQ(online.verdict, Verdict::kInvalid);
  KeyChecks checked = {{"0", online}};
  CheckResult whole = CheckLinearizable(h, o, &checked);
  ASSERT_EQ(whole.verdict, Verdict::kInvalid);
  EXPECT_EQ(whole.counterexample["op"]["value"][0], 0);
  EXPECT_EQ(whole.counterexample["op"]["index"], 3) << whole.counterexample.dump();
}

std::string WriteTemp(const History& h, const std::string& name) {
  std::string path = (std::filesystem::temp_directory_path() / name).string();
  EXPECT_TRUE(history::WriteHistory(path, h).ok());
  return path;
}

CheckResult Stream(const std::string& path, const LinearizableOptions& o) {
  auto r = CheckLinearizableStream([&] { return history::OpenHistory(path); }, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : CheckResult{};
}

TEST(CheckLinearizableStream, EqualsTheWholeCheckOnGeneratedKeyedHistories) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    History h = Generated(seed, 25, 4, 24, seed % 2 == 0);
    const std::string path = WriteTemp(h, "chaos_stream_" + std::to_string(seed) + ".jsonl");
    CheckResult whole = CheckLinearizable(h, Keyed());
    CheckResult streamed = Stream(path, Keyed());
    EXPECT_EQ(whole.verdict, streamed.verdict) << seed;
    EXPECT_EQ(whole.ops, streamed.ops);
    EXPECT_EQ(WithoutStats(whole.per_key), WithoutStats(streamed.per_key)) << seed;
    EXPECT_EQ(whole.cause, streamed.cause) << seed;
    std::filesystem::remove(path);
  }
}

TEST(CheckLinearizableStream, NamesTheSameBadOpAsTheWholeCheck) {
  History h;
  Add(h, 1, OpType::kInvoke, "write", Json::array({0, 1}));
  Add(h, 1, OpType::kInvoke, "write", Json::array({0, 2}));
  const std::string path = WriteTemp(h, "chaos_stream_bad.jsonl");
  CheckResult whole = CheckLinearizable(h, Keyed());
  CheckResult streamed = Stream(path, Keyed());
  EXPECT_TRUE(streamed.input_error);
  EXPECT_EQ(whole.cause, streamed.cause);
  std::filesystem::remove(path);
}

TEST(CheckLinearizableStream, EqualsTheWholeCheckOnTheKnossosCorpus) {
  const int files = testing::ForEachKnossosHistory([](const std::string& file, bool) {
    LinearizableOptions o = testing::KnossosOptionsFor(file);
    o.time_limit_s = 60;
    const std::string path = KnossosDir() + "/" + file;
    auto h = history::ReadHistory(path);
    ASSERT_TRUE(h.ok()) << file;
    CheckResult whole = CheckLinearizable(*h, o);
    CheckResult streamed = Stream(path, o);
    EXPECT_EQ(whole.verdict, streamed.verdict) << file;
    EXPECT_EQ(whole.cause, streamed.cause) << file;
    EXPECT_EQ(whole.ops, streamed.ops) << file;
    EXPECT_EQ(whole.counterexample.is_null(), streamed.counterexample.is_null()) << file;
    if (!whole.counterexample.is_null()) {
      EXPECT_EQ(whole.counterexample["op"], streamed.counterexample["op"]) << file;
    }
  });
  EXPECT_GE(files, 120) << KnossosDir();
}

}  // namespace
}  // namespace chaos::checker
