// Kernel::snapshot(): holds proctable_lock_ and every process lock (ascending pid) while it copies the
// state, so it sees no operation half done (every operation that changes the table holds the table
// lock; every lwp/kthread change holds the process lock).
#include <algorithm>

#include "kernel_internal.hpp"

namespace lockstep::impl {

// Caller holds proctable_lock_ and p.lock (or p is REAPED, hence immutable). Fills `s` whole (every
// field set, its lists' storage reused).
//
// The exemption is checked as stated: a REAPED kthread's state was last written under p.lock before
// kthread_reap put p in reaped_ under proctable_lock_, which we hold, so reading it unlocked is safe
// (and it is read only when p.lock is not held).
void Kernel::snap_proc_locked(const detail::Proc& p, ProcSnapshot& s) const {
  LOCKSTEP_ASSERT_HELD(proctable_lock_);
  LOCKSTEP_ASSERT_HELD_OR(p.lock, p.kt && p.kt->state == KthreadState::reaped);
  s.pid = p.pid;
  s.ppid = p.ppid;
  s.comm.assign(p.comm);
  s.kind = p.kind;
  s.uid = p.uid;
  s.fdtable = p.fdt->id;
  s.handle = encode(p.serial);
  s.lwps.clear();
  for (int lid : p.released_lids) s.lwps.push_back(LwpSnapshot{lid, 0, std::nullopt, true});
  for (const auto& l : p.lwps) {
    LwpSnapshot ls{l->lid, encode(l->serial), std::nullopt, l->released};
    if (l->bound_to != 0) ls.bound_to = l->bound_to;
    s.lwps.push_back(ls);
  }
  std::sort(s.lwps.begin(), s.lwps.end(), [](const auto& a, const auto& b) { return a.lid < b.lid; });
  s.kthread.reset();
  if (p.kt) {
    KthreadSnapshot k;
    k.state = p.kt->state;
    k.suspend_requested = p.kt->suspend_requested.load();
    k.progress = p.kt->progress.load();
    k.exit_code = p.kt->exit_code;
    if (k.state == KthreadState::running || k.state == KthreadState::parked) k.host = p.kt->host->id();
    s.kthread = k;
  }
}

Snapshot Kernel::snapshot() const {
  Snapshot s;
  snapshot_into(s);
  return s;
}

// Every list is refilled in place: an element past the old size is default-made, one within it is
// overwritten field by field (snap_proc_locked, the assignments below), so nothing of the last
// snapshot survives into this one.
void Kernel::snapshot_into(Snapshot& s) const {
  s.maxproc = cfg_.maxproc;
  s.now = backend_->now();
  std::unique_lock t(proctable_lock_);
  std::vector<std::unique_lock<sync::Mutex>> locks;
  locks.reserve(procs_.size());
  for (const auto& [pid, p] : procs_) locks.emplace_back(p->lock);  // ascending pid
  s.nprocs = nprocs_;
  std::vector<const detail::FdTable*> tables;
  tables.reserve(procs_.size());
  s.procs.resize(procs_.size());
  std::size_t i = 0;
  for (const auto& [pid, p] : procs_) {
    snap_proc_locked(*p, s.procs[i++]);
    tables.push_back(p->fdt.get());
  }
  s.reaped.resize(reaped_.size());
  i = 0;
  for (const auto& p : reaped_) snap_proc_locked(*p, s.reaped[i++]);
  std::sort(tables.begin(), tables.end());
  tables.erase(std::unique(tables.begin(), tables.end()), tables.end());
  s.fdtables.resize(tables.size());
  i = 0;
  for (const detail::FdTable* ft : tables) {
    FdTableSnapshot& ts = s.fdtables[i++];
    ts.id = ft->id;
    ts.refs = ft->refs.load();
    std::unique_lock<sync::Mutex> l(const_cast<detail::FdTable*>(ft)->lock);
    ts.fds.resize(ft->fds.size());
    std::size_t k = 0;
    for (const auto& [fd, d] : ft->fds) {
      FdSnapshot& f = ts.fds[k++];
      f.fd = fd;
      f.description = d->id;
      f.path.assign(d->file->path);
    }
  }
  std::sort(s.fdtables.begin(), s.fdtables.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  {
    std::unique_lock f(files_lock_);
    s.files.resize(files_.size());
    i = 0;
    for (const auto& [path, file] : files_) {
      s.files[i].path.assign(path);
      s.files[i++].size = file->size.load();
    }
  }
  {
    std::unique_lock h(hosts_lock_);
    s.hosts.resize(hosts_.size());
    i = 0;
    for (const HostContext* hc : hosts_) {
      HostSnapshot& hs = s.hosts[i++];
      hs.id = hc->id();
      hs.name.assign(hc->name());
      hs.kernel_thread = hc->kernel_thread();
      hs.curlwp = 0;
      hs.curlwp_pid.reset();
      hs.curlwp_lid.reset();
      hs.current_pid = 1;
      if (hc->cur_) {  // written only under proctable_lock_, which we hold
        hs.curlwp = encode(hc->cur_->serial);
        hs.curlwp_pid = hc->cur_->proc->pid;
        hs.curlwp_lid = hc->cur_->lid;
        hs.current_pid = hc->cur_->proc->pid;
      }
    }
    std::sort(s.hosts.begin(), s.hosts.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  }
  {
    std::unique_lock w(waits_lock_);
    s.blocked.resize(waits_.size());
    i = 0;
    for (const auto& r : waits_) {
      WaitSnapshot& ws = s.blocked[i++];
      ws.host = r.host;
      ws.host_name.assign(r.host_name);
      ws.kind = r.kind;
      ws.target = r.target;
      ws.target_handle = r.target_handle;
      ws.deadline = r.deadline;
      ws.since = r.since;
    }
  }
  console_into(s.console);
  s.panic.reset();
  if (auto p = panicked()) s.panic = p->rule;
}

}  // namespace lockstep::impl
