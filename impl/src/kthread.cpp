// SPEC §4 K1-K9: FreeBSD 5 kernel threads on real (or scheduler-controlled) threads.
//
// Per kthread: Proc::lock guards its state, request flag, acknowledgement count and exit code; three
// conditions hang off that lock -- park_cv (the parked thread), ack_cv (suspenders), exit_cv (K8
// waiters). Separate conditions, unlike FreeBSD 5's single &p->p_siglist channel; see the fault
// shared_wakeup_channel for what the shared channel does.
#include <cerrno>

#include "kernel_internal.hpp"

namespace lockstep::impl {
namespace {

// Thrown by kthread_exit to unwind the body back to kthread_main. Not derived from std::exception, so
// `catch (const std::exception&)` in a body does not swallow it.
struct KthreadExitUnwind {};
// Thrown out of a kernel wait of a kthread when its Kernel is being destroyed.
struct KernelShutdown {};

// The calling kthread's view of itself: per registered thread, also when threads are fibers.
const KthreadSelf* self_of_caller() { return static_cast<const KthreadSelf*>(sync::thread_slot()); }

}  // namespace

const KthreadSelf* this_kthread() { return self_of_caller(); }

detail::Proc& Kernel::self_kthread(HostContext& self, const char* op) {
  if (self.kthread_ == nullptr || self_of_caller() == nullptr || &self_of_caller()->host != &self || &self_of_caller()->kernel != this)
    fatal("K2-not-kthread", std::string(op) + " called by a thread that is not that kthread");
  return *self.kthread_;
}

// K1.
int Kernel::kthread_create(HostContext& h, std::function<void()> body, ::proc** newp, int flags, int /*pages*/,
                           std::string_view name) {
  (void)h;  // the creator does not matter: the parent is process 0
  // FAULT kthread_flags_loose (breaks K1): RFPROC (1<<4) and RFMEM (1<<5) pass as if harmless.
  const int allowed = fault(Fault::kthread_flags_loose) ? kRFFDG | (1 << 4) | (1 << 5) : kRFFDG;
  if ((flags & kRFCFDG) != 0 || (flags & ~allowed) != 0) return EINVAL;
  ProcPtr p;
  {
    std::unique_lock t(proctable_lock_);
    // FAULT test_extra_kthread (test only; breaks K1): maxproc is not enforced.
    if (nprocs_ >= cfg_.maxproc && !fault(Fault::test_extra_kthread)) return EAGAIN;
    const pid_t pid = alloc_pid_locked();
    if (pid < 0) return EAGAIN;
    uid_t uid;
    std::shared_ptr<detail::FdTable> fdt;
    {
      std::unique_lock l0(proc0_->lock);
      uid = proc0_->uid;
      fdt = copy_fdtable(*proc0_->fdt);  // RFFDG is implied: a copy of process 0's table
    }
    // FAULT comm_cut_late (breaks K1): the name is cut only when longer than sizeof(p_comm).
    const std::size_t keep = fault(Fault::comm_cut_late) && name.size() == kMaxComLen + 1 ? name.size() : kMaxComLen;
    p = make_proc_locked(pid, 0, ProcKind::kthread, std::string(name.substr(0, keep)), uid, std::move(fdt));
    p->kt = std::make_unique<detail::Kthread>(*backend_, pid);
    p->kt->body = std::move(body);
    p->kt->host.reset(new HostContext(*this, "kthread" + std::to_string(pid), p.get()));
    // Its lwp (lid 1) is bound to its own kernel-owned host thread while RUNNING/PARKED.
    p->kt->host->cur_ = make_lwp_locked(p, p->kt->host.get());
    p->kt->handle = proc_handle_locked(p);
  }
  const bool handle_late = fault(Fault::kthread_handle_late);
  if (newp != nullptr && !handle_late) *newp = p->kt->handle;  // before the new thread runs its first instruction
  {
    // threads_lock_ is held until the handle is stored, so a reaper always finds it to join.
    std::unique_lock l(threads_lock_);
    p->kt->thread = backend_->spawn("kthread" + std::to_string(p->pid) + " " + p->comm, [this, p] { kthread_main(p); });
  }
  // FAULT kthread_handle_late (breaks K1): *newp is stored after the new thread was started; a body
  // that reads it first thing (kproc_start's global_procpp) may find it still unset.
  if (newp != nullptr && handle_late) *newp = p->kt->handle;
  return 0;
}

void Kernel::kthread_main(ProcPtr p) {
  const KthreadSelf self{*this, *p->kt->host, p->kt->handle};
  sync::thread_slot() = &self;
  yield("kthread_main.dying");
  if (!dying_.load()) {
    try {
      p->kt->body();
      // FreeBSD 5 fork_exit(): a kthread must not return from its function.
      console_append("Kernel thread \"" + p->comm + "\" (pid " + std::to_string(p->pid) + ") exited prematurely.");
      kthread_exit(*p->kt->host, 0);
    } catch (const KthreadExitUnwind&) {
    } catch (const KernelShutdown&) {
    } catch (const Panic&) {
      // Recorded by fatal(); the instance is dead. The thread just ends.
    } catch (const std::exception& e) {
      // A body that throws (FreeBSD has no exceptions to throw) kills the instance like a panic; the
      // thread must not take the whole process down with it.
      std::unique_lock l(panic_lock_);
      if (!panic_) panic_ = PanicInfo{"K1-body-threw", e.what()};
    }
  }
  sync::thread_slot() = nullptr;
}

// K2.
void Kernel::kthread_exit(HostContext& self, int ecode) {
  detail::Proc& p = self_kthread(self, "kthread_exit");
  {
    std::unique_lock t(proctable_lock_);
    p.ppid = 1;  // reparented to init
    if (fault(Fault::exit_wakes_early)) {
      // FAULT exit_wakes_early (breaks K2, K8, S5): the waiters are woken in a critical section of
      // their own, before the state changes below. A waiter that re-checks in between still sees
      // RUNNING and sleeps again, and nobody wakes it after.
      std::unique_lock l(p.lock);
      p.kt->exit_cv.notify_all();
    }
    std::unique_lock l(p.lock);
    detail::Kthread& kt = *p.kt;
    kt.state = KthreadState::zombie;
    kt.exit_code = ecode;
    // Its host thread is gone: the lwp is released (the process stays, ZOMBIE, until reaped).
    const LwpPtr lwp = std::move(self.cur_);
    lwp->released = true;
    lwp->bound_to = 0;
    std::erase(p.lwps, lwp);
    p.released_lids.push_back(lwp->lid);
    lwps_.erase(lwp->serial);
    // FAULT pid_reuse_zombie (breaks R5, P1): the pid goes back to the allocator now, not at reap.
    if (fault(Fault::pid_reuse_zombie)) p.pid_forgotten = true;
    // FAULT exit_no_wakeup (breaks K2, K8, S5): waiters for the exit keep sleeping.
    if (!fault(Fault::exit_no_wakeup) && !fault(Fault::exit_wakes_early)) {
      kt.exit_cv.notify_all();
      wake_waits(WaitKind::wait_exit, p);
    }
    // A suspender still waiting is not woken (K2): it times out.
  }
  unregister_host(self);
  throw KthreadExitUnwind{};
}

// Resolves a kthread handle: EINVAL if it does not name a kthread (the kind is checked before REAPED,
// and a never-issued handle is "not a kthread"). REAPED is checked by the caller under the proc lock.
int Kernel::kthread_target(::proc* p, ProcPtr* out) {
  std::unique_lock t(proctable_lock_);
  ProcKind kind{};
  ProcPtr pp = lookup_proc_locked(p, &kind);
  if (!pp || kind != ProcKind::kthread) return EINVAL;
  *out = std::move(pp);
  return 0;
}

// K3.
int Kernel::kthread_suspend(HostContext& h, ::proc* p, int timo) {
  if (timo < 0) return EINVAL;
  // FAULT suspend_stale_clock (breaks K3, S2): the clock read on entry, before the lookup and the
  // lock, as this function once did.
  const sync::Ticks early = fault(Fault::suspend_stale_clock) ? backend_->now() : 0;
  ProcPtr t;
  if (int e = kthread_target(p, &t)) return e;
  std::unique_lock l(t->lock);
  detail::Kthread& kt = *t->kt;
  if (kt.state == KthreadState::reaped) return ESRCH;
  // The deadline is read in the critical section that makes the request: K3's `start` is the
  // request's instant. Read before the lock, a tick could pass between the two, and the wait would
  // time out a tick before timo ticks had passed since the request (no linearization allows that;
  // found by `lockstep stress` on real threads).
  const sync::Ticks now = fault(Fault::suspend_stale_clock) ? early : backend_->now();
  const std::optional<sync::Ticks> deadline = sync::deadline_after(now, timo);
  kt.suspend_requested.store(true);
  if (kt.state == KthreadState::parked) return 0;
  const std::uint64_t start = kt.acks;
  const auto wait = wait_begin(h, WaitKind::suspend, *t, deadline, now);
  int r;
  if (fault(Fault::shared_wakeup_channel)) {
    // FAULT shared_wakeup_channel (breaks K3, S2): FreeBSD 5 does
    //   return (msleep(&p->p_siglist, &p->p_mtx, PPAUSE | PDROP, "suspkt", timo));
    // one sleep on the channel that kthread_resume() also wakes up: any wakeup is taken for an
    // acknowledgement.
    r = kt.ack_cv.wait_until(l, deadline) == sync::WaitStatus::timed_out ? EWOULDBLOCK : 0;
  } else {
    for (;;) {
      if (kt.acks > start) { r = 0; break; }
      if (dying_.load()) { r = EINTR; break; }
      if (kt.ack_cv.wait_until(l, deadline) == sync::WaitStatus::timed_out) {
        // Under real time an acknowledgement may race the deadline; either outcome is allowed (§5).
        r = kt.acks > start ? 0 : EWOULDBLOCK;
        break;
      }
    }
  }
  // FAULT suspend_timeout_clears (breaks K3): the request is withdrawn when the wait times out.
  if (r == EWOULDBLOCK && fault(Fault::suspend_timeout_clears)) kt.suspend_requested.store(false);
  wait_end(wait);
  return r;
}

// K4.
int Kernel::kthread_resume(HostContext& /*h*/, ::proc* p) {
  ProcPtr t;
  if (int e = kthread_target(p, &t)) return e;
  std::unique_lock l(t->lock);
  detail::Kthread& kt = *t->kt;
  if (kt.state == KthreadState::reaped) return ESRCH;
  kt.suspend_requested.store(false);
  if (fault(Fault::resume_split)) {
    // FAULT resume_split (breaks K4, S2): the request is cleared in one critical section and the
    // thread unparked in another. A suspend in between sets a new request, finds the thread still
    // PARKED and returns 0 at once; the thread then runs on with that request and no acknowledgement.
    l.unlock();
    l.lock();
  }
  // FAULT resume_no_wakeup (breaks K4, S3): the request is cleared but the parked thread sleeps on.
  if (kt.state == KthreadState::parked && !fault(Fault::resume_no_wakeup)) {
    kt.state = KthreadState::running;  // it leaves PARKED now, before it can acknowledge again (S3)
    kt.park_cv.notify_all();
    wake_waits(WaitKind::park, *t);
  }
  // (FAULT shared_wakeup_channel: the wakeup on the one channel also reaches pending suspenders.)
  if (fault(Fault::shared_wakeup_channel)) kt.ack_cv.notify_all();
  // FAULT test_extra_wakeup (test only; breaks K8): the resume also reaches the exit waiters.
  if (fault(Fault::test_extra_wakeup)) kt.exit_cv.notify_all();
  return 0;
}

// K5.
void Kernel::kthread_suspend_check(HostContext& self, ::proc* p) {
  if (self.kthread_ == nullptr || self.kthread_->kt->handle != p || self_of_caller() == nullptr || &self_of_caller()->host != &self)
    fatal("K5-other", "kthread_suspend_check on a process other than the calling kthread");
  detail::Proc& me = *self.kthread_;
  detail::Kthread& kt = *me.kt;
  if (dying_.load()) throw KernelShutdown{};  // dying_: the teardown exemption of the yield rule
  const bool lost_wakeup = fault(Fault::suspend_check_lost_wakeup);
  // FAULT suspend_check_lost_wakeup (breaks K5, S3): the flag is tested before taking the lock, and
  // the thread then parks without testing it again; a resume between the two is lost.
  if (lost_wakeup) yield("suspend_check.flag");  // an unlocked read of shared state
  if (lost_wakeup && !kt.suspend_requested.load()) return;
  std::unique_lock l(me.lock);
  if (!lost_wakeup && !kt.suspend_requested.load()) return;
  // Acknowledge: every suspender waiting now returns 0.
  ++kt.acks;
  // FAULT test_missing_wakeup (test only; breaks K5, S2): the suspenders are not woken.
  if (!fault(Fault::test_missing_wakeup)) {
    kt.ack_cv.notify_all();
    wake_waits(WaitKind::suspend, me);
  }
  kt.state = KthreadState::parked;  // suspend_requested stays set while PARKED
  const auto wait = wait_begin(self, WaitKind::park, me, std::nullopt, backend_->now());
  if (fault(Fault::park_spins)) {
    // FAULT park_spins (breaks K5, §5): polls for the resume instead of sleeping on park_cv. It
    // still works when another thread can take the lock in between, but it never blocks: under a
    // scheduler that runs one thread at a time nobody else runs, and the kernel livelocks.
    while (kt.state == KthreadState::parked && !dying_.load()) {
      l.unlock();
      l.lock();
    }
  }
  if (fault(Fault::park_no_loop)) {
    // FAULT park_no_loop (breaks K5, S1): one sleep instead of a loop on the state. Only a resume
    // notifies park_cv, after it set RUNNING -- but a spurious wakeup returns with the thread still
    // PARKED, and it goes on to do work while PARKED.
    if (kt.state == KthreadState::parked && !dying_.load()) kt.park_cv.wait(l);
  } else {
    while (kt.state == KthreadState::parked && !dying_.load()) kt.park_cv.wait(l);
  }
  wait_end(wait);
  if (dying_.load()) throw KernelShutdown{};
}

// K6.
void Kernel::kproc_start(HostContext& h, std::function<void()> func, std::string_view arg0,
                         ::proc** global_procpp) {
  const int e = kthread_create(h, std::move(func), global_procpp, 0, 0, arg0);
  if (e != 0) fatal("K6-panic", "kproc_start: " + std::string(arg0) + ": error " + std::to_string(e));
}

// K7.
void Kernel::kproc_shutdown(HostContext& h, ::proc* p, int /*howto*/) {
  std::string name;
  {
    std::unique_lock t(proctable_lock_);
    // The process the handle names, even one that has been freed since (SPEC K7 prints its comm).
    if (const ProcHandleEntry* e = handle_entry_locked(p)) name = e->comm;
  }
  console_append("Waiting (max 60 seconds) for system process `" + name + "' to stop...");
  const int r = kthread_suspend(h, p, 60 * kHz);
  console_append(r == EWOULDBLOCK ? "timed out" : "stopped");
}

// K8.
int Kernel::kthread_wait_exit(HostContext& h, ::proc* p, int timo) {
  if (timo < 0) return EINVAL;
  ProcPtr t;
  if (int e = kthread_target(p, &t)) return e;
  std::unique_lock l(t->lock);
  detail::Kthread& kt = *t->kt;
  if (kt.state == KthreadState::reaped) return ESRCH;
  if (kt.state == KthreadState::zombie) return 0;
  // Read with the state, in one critical section (as in kthread_suspend).
  // FAULT test_late_deadline (test only): the deadline is armed a tick late, an off-by-one a real
  // clock hides as latency (run --sut compares the armed timeout, SUT.md).
  const int armed = fault(Fault::test_late_deadline) && timo > 0 ? timo + 1 : timo;
  const sync::Ticks now = backend_->now();
  const std::optional<sync::Ticks> deadline = sync::deadline_after(now, armed);
  const auto wait = wait_begin(h, WaitKind::wait_exit, *t, deadline, now);
  int r;
  if (fault(Fault::test_extra_wakeup) || fault(Fault::wait_exit_no_loop)) {
    // FAULT test_extra_wakeup: any wake-up is taken for the exit.
    // FAULT wait_exit_no_loop (breaks K8): one sleep instead of a loop on the state, so a spurious
    // wakeup returns 0 while the thread still runs.
    r = kt.exit_cv.wait_until(l, deadline) == sync::WaitStatus::timed_out ? EWOULDBLOCK : 0;
    wait_end(wait);
    return r;
  }
  for (;;) {
    if (kt.state == KthreadState::zombie || kt.state == KthreadState::reaped) { r = 0; break; }
    if (dying_.load()) { r = EINTR; break; }
    if (kt.exit_cv.wait_until(l, deadline) == sync::WaitStatus::timed_out) {
      r = kt.state == KthreadState::zombie || kt.state == KthreadState::reaped ? 0 : EWOULDBLOCK;
      break;
    }
  }
  wait_end(wait);
  return r;
}

// K9.
int Kernel::kthread_reap(HostContext& /*h*/, ::proc* p) {
  std::unique_lock t(proctable_lock_);
  ProcKind kind{};
  ProcPtr pp = lookup_proc_locked(p, &kind);
  if (!pp || kind != ProcKind::kthread) return EINVAL;
  {
    std::unique_lock l(pp->lock);
    detail::Kthread& kt = *pp->kt;
    if (kt.state == KthreadState::reaped) return ESRCH;
    if (kt.state != KthreadState::zombie) return EBUSY;
    kt.state = KthreadState::reaped;
  }
  free_proc_locked(pp);
  reaped_.push_back(pp);
  t.unlock();
  join_kthread(*pp);
  return 0;
}

// The OS thread of an exited kthread is gone or about to be (it only unwinds to kthread_main and
// returns); joining it here keeps no finished thread unjoined (the C API's kernel is never destroyed).
void Kernel::join_kthread(detail::Proc& p) {
  std::unique_ptr<sync::ThreadImpl> th;
  {
    std::unique_lock l(threads_lock_);
    th = std::move(p.kt->thread);
  }
  if (th) th->join();
}

void Kernel::kthread_progress(HostContext& self) {
  detail::Proc& me = self_kthread(self, "kthread_progress");
  // FAULT test_body_stuck (test only): the work unit sleeps for ever on a condition of its own, which
  // no notify (not even interrupt_waits at teardown) ever reaches.
  if (fault(Fault::test_body_stuck)) {
    sync::Mutex m(*backend_, "kthread" + std::to_string(me.pid) + ".stuck");
    sync::CondVar cv(*backend_, "kthread" + std::to_string(me.pid) + ".stuck");
    std::unique_lock l(m);
    for (;;) cv.wait(l);
  }
  // FAULT test_kthread_panics (test only): the work unit panics.
  if (fault(Fault::test_kthread_panics)) fatal("K5-work-panic", "a kthread's work unit panicked (injected)");
  // FAULT test_thread_exits_early (test only; breaks K2): the OS thread unwinds out of the body without
  // kthread_exit, so the process stays RUNNING with nobody to run it.
  if (fault(Fault::test_thread_exits_early)) throw KthreadExitUnwind{};
  yield("kthread_progress");  // progress is written without a lock (snapshot reads it under me.lock)
  me.kt->progress.fetch_add(1);
}

}  // namespace lockstep::impl
