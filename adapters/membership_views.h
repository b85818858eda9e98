// How an adapter reads its system's membership (the "membership" fault,
// adapters/adapter.h): every node is asked for its view at once
// (control::AtOnce), each within a deadline of its own, and the view of the
// node that applied the most is the membership. A node cut off or down costs
// its deadline and no more; a node that lags shows an older membership, which
// the freshest view outranks.
//
// Thread safety: stateless.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/status.h"

namespace chaos::adapters {

// The index of the ok view with the greatest applied(view) (the first of
// equals); Unavailable naming every node's error when none answered.
template <typename View, typename Applied>
Result<size_t> FreshestView(const std::vector<Result<View>>& views, Applied applied,
                            const std::string& system) {
  size_t best = views.size();
  std::string errors;
  for (size_t i = 0; i < views.size(); ++i) {
    if (!views[i].ok()) {
      errors += (errors.empty() ? "" : "; ") + views[i].status().message();
    } else if (best == views.size() || applied(*views[i]) > applied(*views[best])) {
      best = i;
    }
  }
  if (best == views.size()) return Unavailable(system + ": no node answered Members: " + errors);
  return best;
}

}  // namespace chaos::adapters
