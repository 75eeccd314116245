// SPEC §3 P1, P2, L3, L4, L5: rump_lwproc(3) on a kernel instance.
#include <cerrno>

#include "kernel_internal.hpp"

namespace lockstep::impl {

// P1. The whole operation holds proctable_lock_ (the new process appears in the table and H's curlwp
// moves to it in one step) and the parent's lock (its uid, fd table, and H's old lwp, which is the
// parent's: H's current process *is* the parent).
int Kernel::rfork(HostContext& h, int flags) {
  if (flags != 0 && flags != kRumpRFFDG && flags != kRumpRFCFDG) return EINVAL;
  std::unique_lock t(proctable_lock_);
  const ProcPtr parent = current_proc(h);
  const pid_t cursor = next_pid_;
  const pid_t pid = alloc_pid_locked();
  if (pid < 0) return EAGAIN;
  if (fault(Fault::fork_pid_gap)) {
    // FAULT fork_pid_gap (breaks P1, R5): the pid is only looked up here (the cursor stays), the table
    // lock is dropped -- as if to allocate the new process, which may sleep -- and the cursor moves
    // when the process is inserted, in a second critical section. A fork in between finds the same
    // pid free, and the later insert replaces the earlier process in the table.
    next_pid_ = cursor;
    t.unlock();
    t.lock();
    next_pid_ = pid >= std::max<pid_t>(2, cfg_.pid_max) ? 2 : pid + 1;
  }
  std::unique_lock pl(parent->lock);
  std::shared_ptr<detail::FdTable> fdt;
  if (flags == kRumpRFCFDG && !fault(Fault::rfcfdg_shares)) {
    fdt = new_fdtable();
  } else if (flags == kRumpRFFDG && !fault(Fault::rffdg_shares)) {
    fdt = copy_fdtable(*parent->fdt);
  } else {
    // Share (flags 0) -- or FAULT rfcfdg_shares / rffdg_shares (breaks P1, P7): the child gets the
    // parent's table instead of a fresh / copied one.
    fdt = parent->fdt;
    fdt->refs.fetch_add(1);
  }
  const ProcPtr child = make_proc_locked(pid, parent->pid, ProcKind::user,
                                         parent->comm.empty() ? "rumproc" : parent->comm, parent->uid,
                                         std::move(fdt));
  LwpPtr l = make_lwp_locked(child, &h);
  // FAULT test_extra_process (test only; breaks P1, R1): a second child with an unbound lwp of its own.
  if (fault(Fault::test_extra_process))
    if (const pid_t extra = alloc_pid_locked(); extra >= 0)
      make_lwp_locked(make_proc_locked(extra, parent->pid, ProcKind::user, child->comm, parent->uid, new_fdtable()), nullptr);
  if (h.cur_) h.cur_->bound_to = 0;  // H switches away from its old lwp, which is the parent's
  h.cur_ = std::move(l);
  return 0;
}

// P2.
int Kernel::newlwp(HostContext& h, pid_t pid) {
  std::unique_lock t(proctable_lock_);
  auto it = procs_.find(pid);
  if (it == procs_.end()) return ESRCH;
  const ProcPtr p = it->second;
  if (p->kind == ProcKind::kthread) return EBUSY;  // a kthread accepts no new lwps
  detail::ProcLockPair locks(p.get(), h.cur_ ? h.cur_->proc.get() : nullptr);
  LwpPtr l = make_lwp_locked(p, &h);
  if (h.cur_) h.cur_->bound_to = 0;
  h.cur_ = std::move(l);
  return 0;
}

// L3. The handle lookup and the binding happen under proctable_lock_; "running" (bound_to) is checked
// and set under the target's process lock, so of two hosts racing to one lwp exactly one wins.
void Kernel::switch_lwp(HostContext& h, ::lwp* target) {
  const char* rule = nullptr;
  std::string why;
  LwpPtr checked;  // FAULT switch_check_gap: the lwp that passed the checks
  {
    std::unique_lock t(proctable_lock_);
    if (target == nullptr) {
      if (!h.cur_) {
        rule = "L3-null-implicit";
        why = "switch(NULL) from the implicit context";
      } else {
        std::unique_lock l(h.cur_->proc->lock);
        h.cur_->bound_to = 0;
        h.cur_.reset();
        return;
      }
    } else {
      const auto v = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(target));
      auto it = (v >> 40) == kid_ ? lwps_.find(v & ((std::uint64_t{1} << 40) - 1)) : lwps_.end();
      if (it == lwps_.end()) {
        rule = "L3-stale";
        why = "switch to an lwp that was released or never issued";
      } else {
        const LwpPtr nl = it->second;
        detail::ProcLockPair locks(nl->proc.get(), h.cur_ ? h.cur_->proc.get() : nullptr);
        if (nl->released && !fault(Fault::freed_lwp_reachable)) {
          rule = "L3-stale";
          why = "switch to a released lwp";
        } else if (nl->bound_to != 0 && !fault(Fault::switch_ignores_running)) {
          // FAULT switch_ignores_running (breaks L3-running, R4): without this check two host threads
          // end up with the same curlwp.
          rule = "L3-running";
          why = "switching to an already running lwp (bound to host " + std::to_string(nl->bound_to) + ")";
        } else if (fault(Fault::switch_check_gap)) {
          checked = nl;  // bound below, after the locks were dropped
        } else {
          if (h.cur_) h.cur_->bound_to = 0;
          nl->bound_to = h.id();
          h.cur_ = nl;
          return;
        }
      }
    }
  }
  if (checked) {
    // FAULT switch_check_gap (breaks L3-running, R4): the binding is made in a second critical
    // section on the strength of the checks made in the first; another host may have bound (or
    // released) the lwp in between, and both hosts then have it as curlwp.
    std::unique_lock t(proctable_lock_);
    detail::ProcLockPair locks(checked->proc.get(), h.cur_ ? h.cur_->proc.get() : nullptr);
    if (h.cur_) h.cur_->bound_to = 0;
    checked->bound_to = h.id();
    h.cur_ = std::move(checked);
    return;
  }
  fatal(rule, std::move(why));
}

// L4. The lwp is freed at once; the last lwp of a user process frees the process with it (R1).
void Kernel::releaselwp(HostContext& h) {
  if (!h.cur_) fatal("L4-implicit", "releasing without a dedicated curlwp");
  std::unique_lock t(proctable_lock_);
  const LwpPtr l = std::move(h.cur_);
  const ProcPtr p = l->proc;
  bool last;
  {
    std::unique_lock pl(p->lock);
    l->released = true;
    l->bound_to = 0;
    std::erase(p->lwps, l);
    p->released_lids.push_back(l->lid);
    // FAULT freed_lwp_reachable (breaks L3-stale, R2): the freed lwp stays findable by its handle.
    if (!fault(Fault::freed_lwp_reachable)) lwps_.erase(l->serial);
    last = p->lwps.empty() && p->kind == ProcKind::user;
  }
  // FAULT release_keeps_proc (breaks L4, R1): a process without lwps stays in the table.
  if (!last || fault(Fault::release_keeps_proc)) return;
  free_proc_locked(p);
  if (fault(Fault::reparent_late) && !fault(Fault::orphans_keep_ppid)) {
    // FAULT reparent_late (breaks L4, R6): free_proc_locked left the children alone; they are
    // reparented only now, in a second critical section. In between their ppid names a process that
    // is no longer in the table (and whose pid a fork may already have reused).
    t.unlock();
    t.lock();
    reparent_children_locked(p->pid);
  }
}

// L5.
::lwp* Kernel::curlwp(HostContext& h) { return h.cur_ ? lwp_handle(*h.cur_) : nullptr; }

}  // namespace lockstep::impl
