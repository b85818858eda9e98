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

}  // namespace

Status CheckAdapter(const std::string& name, const std::map<std::string, std::string>& options) {
  if (name == "memory") return Status::Ok();
  if (name == "register" || name == "etcd") {
    // The etcd adapter checks its options on creation; it needs no nodes for that.
    if (name == "register") return Status::Ok();
    AdapterContext context;
    context.options = options;
    return MakeEtcdAdapter(std::move(context)).status();
  }
  if (IsPath(name)) return LoadDeclarativeSpec(name).status();
  return MakeAdapter(name, AdapterContext()).status();
}

Result<std::unique_ptr<Adapter>> MakeAdapter(const std::string& name, AdapterContext context) {
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

}  // namespace chaos::adapters
