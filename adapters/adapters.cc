// MakeAdapter: the built-in adapters by name, a declarative one by path.
#include "adapters/declarative_adapter.h"
#include "adapters/etcd_adapter.h"
#include "adapters/register_adapter.h"

namespace chaos::adapters {

Result<std::unique_ptr<Adapter>> MakeAdapter(const std::string& name, AdapterContext context) {
  if (name == "register") return MakeRegisterAdapter(std::move(context));
  if (name == "etcd") return MakeEtcdAdapter(std::move(context));
  bool is_path = name.find('/') != std::string::npos ||
                 (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0);
  if (is_path) {
    CHAOS_ASSIGN_OR_RETURN(DeclarativeSpec spec, LoadDeclarativeSpec(name));
    return MakeDeclarativeAdapter(std::move(spec), std::move(context));
  }
  return InvalidArgument("unknown adapter '" + name +
                         "' (known: register, etcd, or the path of a declarative adapter file)");
}

}  // namespace chaos::adapters
