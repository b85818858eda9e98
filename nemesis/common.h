// Helpers shared by the nemeses: node lists, running a step on many nodes at
// once, the adapter's leader, and picking a mode from a spec.
//
// Thread safety: OnNodes (control/on_nodes.h) runs `fn` on one thread per
// node; `fn` must only touch that node's session (control::Nodes hands out
// one per node).
#pragma once

#include <random>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "base/check.h"
#include "base/status.h"
#include "control/inventory.h"
#include "control/on_nodes.h"
#include "history/op.h"

namespace chaos::nemesis {

// Every node's name, in inventory order.
std::vector<std::string> NodeNames(const control::Inventory& inventory);

// Runs `fn(node)` on the named nodes at once; the first error in order.
using control::OnNodes;

// The adapter's current leader, or "" when it has none or cannot say.
std::string Leader(adapters::Adapter* adapter);

// The target modes of nemeses that hit nodes: one, minority, majority, all,
// leader (ChooseTargets).
const std::vector<std::string>& TargetModes();

// spec["mode"] when it is a string, else one of `modes` drawn from `rng`.
std::string ModeOf(const history::Json& spec, const std::vector<std::string>& modes,
                   std::mt19937_64& rng);

// The nodes a fault hits: spec[key] (one, minority, majority, all, leader;
// key is "mode" for kill, pause and lose-unsynced, "targets" for nemeses whose
// mode says what to do) or one of those drawn from `rng`; "leader" becomes
// "one" when the adapter knows no leader. `*mode` gets the target mode used.
struct NemesisContext;
Result<std::vector<std::string>> TargetsOf(const history::Json& spec, const char* key,
                                           const NemesisContext& context, std::mt19937_64& rng,
                                           std::string* mode);

// spec[name] when it is an integer, else `fallback`.
int64_t IntField(const history::Json& spec, const char* name, int64_t fallback);

// spec[name] as text (a string as it is, anything else as JSON), else
// `fallback`: what an error message can quote.
std::string TextField(const history::Json& spec, const char* name, std::string fallback);

}  // namespace chaos::nemesis
