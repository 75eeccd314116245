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
  Observation o;
  observe_snapshot_into(inst.kernel->snapshot(), ids, inst.host_index, o, /*deadlines=*/true);  // as observe_impl_into
  return o;
}

void observe_impl_into(const Instance& inst, int hosts, impl::Snapshot& snap, Observation& out) {
  thread_local std::vector<impl::HostId> ids;
  ids.clear();
  for (int i = 0; i < hosts; ++i) ids.push_back(inst.hosts[i]->ctx->id());
  inst.kernel->snapshot_into(snap);
  // The instance's clock is the controlled scheduler's, which moves only by the program's ticks as
  // the model's does: its deadlines are in the model's ticks.
  observe_snapshot_into(snap, ids, inst.host_index, out, /*deadlines=*/true);
}

Observation observe_kernel(const impl::Kernel& k, const std::vector<impl::HostId>& hosts,
                           const std::map<impl::HostId, int>& host_index) {
  return observe_snapshot(k.snapshot(), hosts, host_index);
}

Observation observe_snapshot(const impl::Snapshot& snap, const std::vector<impl::HostId>& hosts,
                             const std::map<impl::HostId, int>& host_index) {
  Observation o;
  observe_snapshot_into(snap, hosts, host_index, o);
  return o;
}

void observe_snapshot_into(const impl::Snapshot& snap, const std::vector<impl::HostId>& hosts,
                           const std::map<impl::HostId, int>& host_index, Observation& o, bool deadlines) {
  auto bound = [&](const std::optional<impl::HostId>& h) -> std::int32_t {
    if (!h) return kUnbound;
    if (const impl::HostSnapshot* hs = snap.host(*h); hs != nullptr && hs->kernel_thread) return kKernelThread;
    auto it = host_index.find(*h);
    return it == host_index.end() ? 1000 + static_cast<std::int32_t>(*h) : it->second;
  };
  // The fd keys of each process, for canonicalize_fds; kept per thread from call to call.
  thread_local std::vector<std::uint64_t> table_keys;
  thread_local std::vector<std::vector<std::pair<int, std::uint64_t>>> fd_keys;
  table_keys.clear();
  fd_keys.resize(snap.procs.size());
  o.procs.resize(snap.procs.size());
  for (std::size_t i = 0; i < snap.procs.size(); ++i) {
    const impl::ProcSnapshot& p = snap.procs[i];
    ObsProc& op = o.procs[i];
    op.pid = p.pid;
    op.ppid = p.ppid;
    op.comm.assign(p.comm);
    op.kind = static_cast<ProcKind>(static_cast<int>(p.kind));
    op.uid = p.uid;
    op.lwps.clear();
    for (const impl::LwpSnapshot& l : p.lwps) op.lwps.push_back(ObsLwp{l.lid, bound(l.bound_to), l.released});
    const ObsProc blank;
    op.kstate = blank.kstate;
    op.suspend_requested = blank.suspend_requested;
    op.progress = blank.progress;
    op.exit_code = blank.exit_code;
    if (p.kthread) {
      op.kstate = static_cast<KState>(static_cast<int>(p.kthread->state));
      op.suspend_requested = p.kthread->suspend_requested;
      op.progress = p.kthread->progress;
      op.exit_code = p.kthread->exit_code.value_or(0);
    }
    table_keys.push_back(p.fdtable);
    std::vector<std::pair<int, std::uint64_t>>& fds = fd_keys[i];
    fds.clear();
    if (const impl::FdTableSnapshot* t = snap.fdtable(p.fdtable))
      for (const impl::FdSnapshot& f : t->fds) fds.emplace_back(f.fd, f.description);
  }
  // canonicalize_fds sets each process's fdtable and fds.
  canonicalize_fds(o.procs, table_keys, fd_keys);
  o.nprocs = snap.nprocs;
  o.hosts.resize(hosts.size());
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    ObsHost& oh = o.hosts[i];
    oh = ObsHost{};
    if (const impl::HostSnapshot* hs = snap.host(hosts[i])) {
      if (hs->curlwp != 0 && hs->curlwp_pid && hs->curlwp_lid) oh.curlwp = std::pair{*hs->curlwp_pid, *hs->curlwp_lid};
      oh.pid = hs->current_pid;
    }
  }
  o.blocked.clear();
  for (const impl::WaitSnapshot& w : snap.blocked) {
    if (w.kind == impl::WaitKind::park) continue;  // a parked kthread shows as its state
    auto it = host_index.find(w.host);
    o.blocked.push_back(ObsWait{it == host_index.end() ? 1000 + static_cast<int>(w.host) : it->second,
                                w.kind == impl::WaitKind::suspend ? "kthread_suspend" : "kthread_wait_exit", w.target, deadlines,
                                deadlines && w.deadline ? std::optional<Tick>(*w.deadline) : std::nullopt});
  }
  std::stable_sort(o.blocked.begin(), o.blocked.end(), [](const ObsWait& a, const ObsWait& b) { return a.host < b.host; });
  // One path is one file (SPEC P7: an open of an existing path opens that file). A second file of
  // a path, which a map by path would fold into the first, shows as a file the model lacks: two
  // opens that raced to create a path are seen when they return, not only once a write is lost.
  o.files.clear();
  for (const impl::FileSnapshot& f : snap.files) {
    std::string key = f.path;
    for (int n = 2; o.files.contains(key); ++n) key = fmt::format("{} (file #{} of this path)", f.path, n);
    o.files.emplace(std::move(key), static_cast<std::int64_t>(f.size));
  }
  o.console.resize(snap.console.size());
  for (std::size_t i = 0; i < snap.console.size(); ++i) o.console[i].assign(snap.console[i]);
}

}  // namespace lockstep::checker
