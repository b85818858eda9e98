// Stalled-leader cuts read from a history (cuts.h).
#include "bench/cuts/cuts.h"

#include <algorithm>
#include <map>
#include <set>

#include "history/nemesis_op.h"
#include "history/pairing.h"

namespace chaos::bench {
namespace {

using history::History;
using history::Json;
using history::Op;

constexpr int64_t kNsPerMs = 1'000'000;

struct Call {
  const Op* invoke;
  const Op* ok;
};

std::string ServedBy(const Op& op) {
  if (!op.extra.is_object()) return "";
  auto it = op.extra.find("served_by");
  return it != op.extra.end() && it->is_string() ? it->get<std::string>() : "";
}

// The key of a keyed op ([key, value]); one key for all of an unkeyed one.
std::string KeyOf(const Op& op) {
  if (op.value.is_array() && op.value.size() == 2) return op.value[0].dump();
  return "";
}

bool IsWrite(const Op& op) { return op.f == "write" || op.f == "cas"; }

std::string StallOf(const Json& spec) {
  if (!spec.is_object() || !spec.contains("stall_ms")) return "none";
  std::string wake = spec.value("wake", std::string("time"));
  if (wake != "time") return wake;
  return "time " + spec["stall_ms"].dump();
}

// The one node of the smallest group, or "" when that group is larger.
std::string IsolatedNode(const Json& done) {
  if (!done.is_object() || !done.contains("groups") || !done["groups"].is_array()) return "";
  const Json* smallest = nullptr;
  for (const Json& g : done["groups"]) {
    if (g.is_array() && (smallest == nullptr || g.size() < smallest->size())) smallest = &g;
  }
  if (smallest == nullptr || smallest->size() != 1 || !(*smallest)[0].is_string()) return "";
  return (*smallest)[0].get<std::string>();
}

std::vector<Call> OkCalls(const History& history) {
  std::vector<Call> calls;
  history::Pairing<const Op*> open;
  for (const Op& op : history) {
    if (!op.is_client()) continue;
    if (op.is_invoke()) {
      open.Invoke(op.process, &op);
      continue;
    }
    const Op* invoke = nullptr;
    if (open.Complete(op.process, &invoke) && op.is_ok()) calls.push_back({invoke, &op});
  }
  return calls;
}

Cut Measure(const std::vector<Call>& calls, Cut cut, int64_t start_ns, int64_t end_ns) {
  auto ms = [&](int64_t ns) { return (ns - start_ns) / kNsPerMs; };
  std::optional<int64_t> first_write_ns;
  for (const Call& c : calls) {
    int64_t done = c.ok->time_ns;
    if (done <= start_ns || done >= end_ns) continue;
    if (ServedBy(*c.ok) == cut.old_leader) {
      cut.old_last_ok_ms = std::max(cut.old_last_ok_ms.value_or(0), ms(done));
    } else if (IsWrite(*c.ok) && (!first_write_ns || done < *first_write_ns)) {
      first_write_ns = done;
    }
  }
  if (!first_write_ns) return cut;
  cut.first_write_ms = ms(*first_write_ns);
  // Keys another node acknowledged a write of, and when first, since the cut.
  std::map<std::string, int64_t> written;
  for (const Call& c : calls) {
    if (!IsWrite(*c.ok) || ServedBy(*c.ok) == cut.old_leader) continue;
    if (c.ok->time_ns <= start_ns || c.ok->time_ns >= end_ns) continue;
    auto [it, inserted] = written.try_emplace(KeyOf(*c.ok), c.ok->time_ns);
    if (!inserted) it->second = std::min(it->second, c.ok->time_ns);
  }
  for (const Call& c : calls) {
    if (c.ok->f != "read" || ServedBy(*c.ok) != cut.old_leader) continue;
    if (c.invoke->time_ns <= *first_write_ns || c.ok->time_ns >= end_ns) continue;
    ++cut.reads_after_write;
    auto it = written.find(KeyOf(*c.ok));
    if (it != written.end() && it->second < c.invoke->time_ns) ++cut.reads_on_written_key;
  }
  return cut;
}

}  // namespace

std::vector<Cut> StalledLeaderCuts(const History& history) {
  std::vector<Call> calls = OkCalls(history);
  std::vector<const Op*> nemesis;
  for (const Op& op : history) {
    if (op.process.is_nemesis()) nemesis.push_back(&op);
  }
  std::vector<Cut> cuts;
  for (size_t i = 0; i < nemesis.size(); ++i) {
    const Op& start = *nemesis[i];
    if (start.f != history::NemesisStartF("partition") || !start.value.is_object() ||
        start.value.value("period", std::string()) != "stalled-leader") {
      continue;
    }
    // The runner records a nemesis op twice: the invocation (the spec,
    // with its period) and the completion (what was done).
    const Op* done = nullptr;
    const Op* stop = nullptr;
    for (size_t j = i + 1; j < nemesis.size() && stop == nullptr; ++j) {
      if (done == nullptr && nemesis[j]->f == history::NemesisStartF("partition")) {
        done = nemesis[j];
      } else if (done != nullptr && nemesis[j]->f == history::NemesisStopF("partition")) {
        stop = nemesis[j];
      }
    }
    if (done == nullptr) continue;
    Cut cut;
    cut.old_leader = IsolatedNode(done->value);
    if (cut.old_leader.empty()) continue;
    cut.stall = StallOf(start.value);
    cut.at_ms = start.time_ns / kNsPerMs;
    cut.applied_ms = (done->time_ns - start.time_ns) / kNsPerMs;
    if (done->value.contains("stalled_ms")) {
      cut.stalled_ms = done->value["stalled_ms"].get<int64_t>();
    }
    int64_t end_ns = stop != nullptr ? stop->time_ns : INT64_MAX;
    cuts.push_back(Measure(calls, std::move(cut), start.time_ns, end_ns));
  }
  return cuts;
}

std::string FormatCuts(const std::vector<Cut>& cuts) {
  auto opt = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "-"; };
  std::string out =
      "at_s\told\tstall\tapplied_ms\tstalled_ms\tfirst_write_ms\told_last_ok_ms\treads_after\t"
      "on_written_key\n";
  std::vector<int64_t> firsts;
  int with_reads = 0;
  for (const Cut& c : cuts) {
    out += std::to_string(c.at_ms / 1000) + "\t" + c.old_leader + "\t" + c.stall + "\t" +
           std::to_string(c.applied_ms) + "\t" + opt(c.stalled_ms) + "\t" + opt(c.first_write_ms) +
           "\t" + opt(c.old_last_ok_ms) + "\t" + std::to_string(c.reads_after_write) + "\t" +
           std::to_string(c.reads_on_written_key) + "\n";
    if (c.first_write_ms) firsts.push_back(*c.first_write_ms);
    if (c.reads_after_write > 0) ++with_reads;
  }
  std::sort(firsts.begin(), firsts.end());
  out += "cuts " + std::to_string(cuts.size()) + ", with a write elsewhere " +
         std::to_string(firsts.size()) + " (median " +
         (firsts.empty() ? std::string("-") : std::to_string(firsts[firsts.size() / 2])) +
         " ms), with old-leader reads after it " + std::to_string(with_reads) + "\n";
  return out;
}

}  // namespace chaos::bench
