// Kernel::snapshot(): holds proctable_lock_ and every process lock (ascending pid) while it copies the
// state, so it sees no operation half done (every operation that changes the table holds the table
// lock; every lwp/kthread change holds the process lock).
#include <algorithm>
#include <set>

#include "kernel_internal.hpp"

namespace lockstep::impl {

// Caller holds proctable_lock_ and p.lock (or p is REAPED, hence immutable).
//
// The exemption is checked as stated: a REAPED kthread's state was last written under p.lock before
// kthread_reap put p in reaped_ under proctable_lock_, which we hold, so reading it unlocked is safe
// (and it is read only when p.lock is not held).
ProcSnapshot Kernel::snap_proc_locked(const detail::Proc& p) const {
  LOCKSTEP_ASSERT_HELD(proctable_lock_);
  LOCKSTEP_ASSERT_HELD_OR(p.lock, p.kt && p.kt->state == KthreadState::reaped);
  ProcSnapshot s;
  s.pid = p.pid;
  s.ppid = p.ppid;
  s.comm = p.comm;
  s.kind = p.kind;
  s.uid = p.uid;
  s.fdtable = p.fdt->id;
  s.handle = encode(p.serial);
  for (int lid : p.released_lids) s.lwps.push_back(LwpSnapshot{lid, 0, std::nullopt, true});
  for (const auto& l : p.lwps) {
    LwpSnapshot ls{l->lid, encode(l->serial), std::nullopt, l->released};
    if (l->bound_to != 0) ls.bound_to = l->bound_to;
    s.lwps.push_back(ls);
  }
  std::sort(s.lwps.begin(), s.lwps.end(), [](const auto& a, const auto& b) { return a.lid < b.lid; });
  if (p.kt) {
    KthreadSnapshot k;
    k.state = p.kt->state;
    k.suspend_requested = p.kt->suspend_requested.load();
    k.progress = p.kt->progress.load();
    k.exit_code = p.kt->exit_code;
    if (k.state == KthreadState::running || k.state == KthreadState::parked) k.host = p.kt->host->id();
    s.kthread = k;
  }
  return s;
}

Snapshot Kernel::snapshot() const {
  Snapshot s;
  s.maxproc = cfg_.maxproc;
  s.now = backend_->now();
  std::unique_lock t(proctable_lock_);
  std::vector<std::unique_lock<sync::Mutex>> locks;
  locks.reserve(procs_.size());
  for (const auto& [pid, p] : procs_) locks.emplace_back(p->lock);  // ascending pid
  s.nprocs = nprocs_;
  std::set<const detail::FdTable*> tables;
  for (const auto& [pid, p] : procs_) {
    s.procs.push_back(snap_proc_locked(*p));
    tables.insert(p->fdt.get());
  }
  for (const auto& p : reaped_) s.reaped.push_back(snap_proc_locked(*p));
  for (const detail::FdTable* ft : tables) {
    FdTableSnapshot ts;
    ts.id = ft->id;
    ts.refs = ft->refs.load();
    std::unique_lock<sync::Mutex> l(const_cast<detail::FdTable*>(ft)->lock);
    for (const auto& [fd, d] : ft->fds) ts.fds.push_back(FdSnapshot{fd, d->id, d->file->path});
    s.fdtables.push_back(std::move(ts));
  }
  std::sort(s.fdtables.begin(), s.fdtables.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  {
    std::unique_lock f(files_lock_);
    for (const auto& [path, file] : files_) s.files.push_back(FileSnapshot{path, file->size.load()});
  }
  {
    std::unique_lock h(hosts_lock_);
    for (const HostContext* hc : hosts_) {
      HostSnapshot hs;
      hs.id = hc->id();
      hs.name = hc->name();
      hs.kernel_thread = hc->kernel_thread();
      if (hc->cur_) {  // written only under proctable_lock_, which we hold
        hs.curlwp = encode(hc->cur_->serial);
        hs.curlwp_pid = hc->cur_->proc->pid;
        hs.curlwp_lid = hc->cur_->lid;
        hs.current_pid = hc->cur_->proc->pid;
      }
      s.hosts.push_back(std::move(hs));
    }
    std::sort(s.hosts.begin(), s.hosts.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  }
  {
    std::unique_lock w(waits_lock_);
    for (const auto& r : waits_)
      s.blocked.push_back(WaitSnapshot{r.host, r.host_name, r.kind, r.target, r.target_handle, r.deadline, r.since});
  }
  s.console = console();
  if (auto p = panicked()) s.panic = p->rule;
  return s;
}

}  // namespace lockstep::impl
