// The adapter for chaos's own Paxos register cluster (target/).
#pragma once

#include <memory>

#include "adapters/adapter.h"

namespace chaos::adapters {
// Checks its options: binary=PATH (another chaos-register to upload) must be
// a file.
Result<std::unique_ptr<Adapter>> MakeRegisterAdapter(AdapterContext context);
}  // namespace chaos::adapters
