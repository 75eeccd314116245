// The impl's SPEC §7 observation (see observe_impl.hpp).
#include "checker/observe_impl.hpp"

#include "instance.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace lockstep::checker {

using namespace lockstep::model;

Observation observe_impl(const Instance& inst, int hosts) {
  std::vector<impl::HostId> ids;
  for (int i = 0; i < hosts; ++i) ids.push_back(inst.hosts[i]->ctx->id());
  return observe_kernel(*inst.kernel, ids, inst.host_index);
}

Observation observe_kernel(const impl::Kernel& k, const std::vector<impl::HostId>& hosts,
                           const std::map<impl::HostId, int>& host_index) {
  return observe_snapshot(k.snapshot(), hosts, host_index);
}

Observation observe_snapshot(const impl::Snapshot& snap, const std::vector<impl::HostId>& hosts,
                             const std::map<impl::HostId, int>& host_index) {
  Observation o;
  auto bound = [&](const std::optional<impl::HostId>& h) -> std::int32_t {
    if (!h) return kUnbound;
    if (const impl::HostSnapshot* hs = snap.host(*h); hs != nullptr && hs->kernel_thread) return kKernelThread;
    auto it = host_index.find(*h);
    return it == host_index.end() ? 1000 + static_cast<std::int32_t>(*h) : it->second;
  };
  std::vector<std::uint64_t> table_keys;
  std::vector<std::vector<std::pair<int, std::uint64_t>>> fd_keys;
  for (const impl::ProcSnapshot& p : snap.procs) {
    ObsProc op;
    op.pid = p.pid;
    op.ppid = p.ppid;
    op.comm = p.comm;
    op.kind = static_cast<ProcKind>(static_cast<int>(p.kind));
    op.uid = p.uid;
    for (const impl::LwpSnapshot& l : p.lwps) op.lwps.push_back(ObsLwp{l.lid, bound(l.bound_to), l.released});
    if (p.kthread) {
      op.kstate = static_cast<KState>(static_cast<int>(p.kthread->state));
      op.suspend_requested = p.kthread->suspend_requested;
      op.progress = p.kthread->progress;
      op.exit_code = p.kthread->exit_code.value_or(0);
    }
    table_keys.push_back(p.fdtable);
    std::vector<std::pair<int, std::uint64_t>> fds;
    if (const impl::FdTableSnapshot* t = snap.fdtable(p.fdtable))
      for (const impl::FdSnapshot& f : t->fds) fds.emplace_back(f.fd, f.description);
    fd_keys.push_back(std::move(fds));
    o.procs.push_back(std::move(op));
  }
  canonicalize_fds(o.procs, table_keys, fd_keys);
  o.nprocs = snap.nprocs;
  for (const impl::HostId id : hosts) {
    ObsHost oh;
    if (const impl::HostSnapshot* hs = snap.host(id)) {
      if (hs->curlwp != 0 && hs->curlwp_pid && hs->curlwp_lid) oh.curlwp = std::pair{*hs->curlwp_pid, *hs->curlwp_lid};
      oh.pid = hs->current_pid;
    }
    o.hosts.push_back(oh);
  }
  for (const impl::WaitSnapshot& w : snap.blocked) {
    if (w.kind == impl::WaitKind::park) continue;  // a parked kthread shows as its state
    auto it = host_index.find(w.host);
    o.blocked.push_back(ObsWait{it == host_index.end() ? 1000 + static_cast<int>(w.host) : it->second,
                                w.kind == impl::WaitKind::suspend ? "kthread_suspend" : "kthread_wait_exit", w.target});
  }
  std::stable_sort(o.blocked.begin(), o.blocked.end(), [](const ObsWait& a, const ObsWait& b) { return a.host < b.host; });
  // One path is one file (SPEC P7: an open of an existing path opens that file). A second file of
  // a path, which a map by path would fold into the first, shows as a file the model lacks: two
  // opens that raced to create a path are seen when they return, not only once a write is lost.
  for (const impl::FileSnapshot& f : snap.files) {
    std::string key = f.path;
    for (int n = 2; o.files.contains(key); ++n) key = fmt::format("{} (file #{} of this path)", f.path, n);
    o.files.emplace(std::move(key), static_cast<std::int64_t>(f.size));
  }
  o.console = snap.console;
  return o;
}

}  // namespace lockstep::checker
