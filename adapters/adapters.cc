// MakeAdapter: the built-in adapters by name, a declarative one by path.
#include "adapters/declarative_adapter.h"
#include "adapters/etcd_adapter.h"
#include "adapters/memory_adapter.h"
#include "adapters/register_adapter.h"

namespace chaos::adapters {

namespace {

// A declarative adapter is named by its file's path.
bool IsPath(const std::string& name) {
  return name.find('/') != std::string::npos ||
         (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0);
}

// The adapter `name` without its workload check.
Result<std::unique_ptr<Adapter>> Make(const std::string& name, AdapterContext context) {
  if (name == "register") return MakeRegisterAdapter(std::move(context));
  if (name == "etcd") return MakeEtcdAdapter(std::move(context));
  if (name == "memory") return MakeMemoryAdapter(std::move(context));
  if (IsPath(name)) {
    CHAOS_ASSIGN_OR_RETURN(DeclarativeSpec spec, LoadDeclarativeSpec(name));
    return MakeDeclarativeAdapter(std::move(spec), std::move(context));
  }
  return InvalidArgument(
      "unknown adapter '" + name +
      "' (known: register, etcd, memory, or the path of a declarative adapter file)");
}

// "the redis adapter (examples/redis.json) does not support the set workload
// (it takes register)".
Status CheckWorkload(const Adapter& adapter, const std::string& name, const std::string& workload) {
  std::set<std::string> known = adapter.Workloads();
  if (known.contains(workload)) return Status::Ok();
  std::string list;
  for (const auto& w : known) list += (list.empty() ? "" : ", ") + w;
  std::string which = adapter.name() + " adapter" + (IsPath(name) ? " (" + name + ")" : "");
  return InvalidArgument("--workload " + workload + ": the " + which + " does not support the " +
                         workload + " workload (it takes " + list + ")");
}

}  // namespace

const char* MemberChangeName(MemberChange change) {
  switch (change) {
    case MemberChange::kLearner:
      return "learner";
    case MemberChange::kPromote:
      return "promote";
    case MemberChange::kRemove:
      return "remove";
  }
  return "?";
}

Status CheckAdapter(const std::string& name, const std::map<std::string, std::string>& options,
                    const std::string& workload) {
  // Creating an adapter checks its options and needs no nodes.
  AdapterContext context;
  context.options = options;
  context.workload = workload;
  return MakeAdapter(name, std::move(context)).status();
}

Result<std::unique_ptr<Adapter>> MakeAdapter(const std::string& name, AdapterContext context) {
  std::string workload = context.workload;
  CHAOS_ASSIGN_OR_RETURN(std::unique_ptr<Adapter> adapter, Make(name, std::move(context)));
  CHAOS_RETURN_IF_ERROR(CheckWorkload(*adapter, name, workload));
  return adapter;
}

}  // namespace chaos::adapters
