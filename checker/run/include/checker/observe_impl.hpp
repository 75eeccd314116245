// The observation adapter: the impl's state, read through Kernel::snapshot(), in the terms of SPEC
// §7 that the model's state is observed in (hosts by index, fds canonicalised, waits by host), so
// the two compare field by field.
#pragma once
#include <map>
#include <vector>

#include "checker/observation.hpp"
#include "impl/kernel.hpp"

namespace lockstep::checker {

// `hosts[i]` is the kernel's id of host Hi (the observation shows those, in that order);
// `host_index` maps every host thread the checker drives (the reaper too) to its index, so that a
// binding or a wait by a host it does not list still has a name (1000 + the kernel's id otherwise).
// Atomic with respect to kernel operations (Kernel::snapshot).
Observation observe_kernel(const impl::Kernel& k, const std::vector<impl::HostId>& hosts,
                           const std::map<impl::HostId, int>& host_index);
// The same, of a snapshot already taken.
Observation observe_snapshot(const impl::Snapshot& snap, const std::vector<impl::HostId>& hosts,
                             const std::map<impl::HostId, int>& host_index);
// The same into `out`, whose storage is reused (a lockstep run observes after every step): every
// field is set, nothing of what `out` held before survives. With `deadlines`, each blocked caller's
// deadline is said: only where the kernel's clock is the model's (the controlled scheduler's ticks),
// not under real time.
void observe_snapshot_into(const impl::Snapshot& snap, const std::vector<impl::HostId>& hosts,
                           const std::map<impl::HostId, int>& host_index, Observation& out, bool deadlines = false);

}  // namespace lockstep::checker
