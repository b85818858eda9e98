// The declarative adapter: an Adapter driven by a declarative adapter file
// (adapters/declarative_spec.h has the format). Lifecycle lines run on the
// nodes over the runner's SSH sessions; each client runs its op commands on
// its own node over an SSH connection of its own, so client ops never queue
// behind the nemesis's commands on the runner's session.
//
// Thread safety: as adapters/adapter.h.
#pragma once

#include <memory>
#include <string>

#include "adapters/adapter.h"
#include "adapters/declarative_spec.h"

namespace chaos::adapters {

std::unique_ptr<Adapter> MakeDeclarativeAdapter(DeclarativeSpec spec, AdapterContext context);

}  // namespace chaos::adapters
