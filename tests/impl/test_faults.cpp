// Each injected fault changes behaviour exactly in the way its description says, and only when enabled:
// every test runs the same scenario without the fault (SPEC behaviour) and with it (the bug).
#include <cerrno>
#include <set>
#include <thread>

#include "controlled_helpers.hpp"

using namespace lockstep::impl;
using namespace lockstep::impl::testing;
using namespace std::chrono_literals;

namespace {

KernelConfig with(FaultSet f, int maxproc = 64) {
  KernelConfig c = test_config(maxproc);
  c.faults = f;
  return c;
}

TEST(FaultList, AtLeastTwelveNamedDescribedAndCitingARule) {
  const auto all = all_faults();
  EXPECT_GE(all.size(), 12u);
  std::set<std::string_view> names;
  for (const auto& f : all) {
    EXPECT_TRUE(names.insert(f.name).second) << f.name;
    EXPECT_FALSE(f.description.empty());
    EXPECT_FALSE(f.rule.empty());
    EXPECT_EQ(fault_by_name(f.name), f.fault);
    EXPECT_EQ(&fault_info(f.fault), &f);
  }
}

TEST(FaultList, ParseAndRuntimeSelection) {
  std::string err;
  auto s = FaultSet::parse(" release_keeps_proc, setuid_no_check ,", &err);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->has(Fault::release_keeps_proc));
  EXPECT_TRUE(s->has(Fault::setuid_no_check));
  EXPECT_FALSE(s->has(Fault::rffdg_shares));
  EXPECT_EQ(s->names().size(), 2u);
  EXPECT_FALSE(FaultSet::parse("release_keeps_proc,nonsense", &err));
  EXPECT_NE(err.find("nonsense"), std::string::npos);
  EXPECT_TRUE(FaultSet::parse("")->empty());
  // Off by default; switchable at run time.
  Kernel k{test_config()};
  HostContext h{k};
  EXPECT_TRUE(k.faults().empty());
  ASSERT_EQ(k.rfork(h, 0), 0);
  ASSERT_EQ(k.setuid(h, 5), 0);
  EXPECT_EQ(k.setuid(h, 7), -EPERM);
  k.set_faults({Fault::setuid_no_check});
  EXPECT_EQ(k.setuid(h, 7), 0);
  k.set_faults({});
  EXPECT_EQ(k.setuid(h, 8), -EPERM);
}

// ---- release faults ---------------------------------------------------------------------------------

TEST(Faults, ReleaseKeepsProc) {
  for (bool on : {false, true}) {
    Kernel k{with(on ? FaultSet{Fault::release_keeps_proc} : FaultSet{})};
    HostContext h{k};
    ASSERT_EQ(k.rfork(h, 0), 0);
    k.releaselwp(h);
    const Snapshot s = k.snapshot();
    EXPECT_EQ(s.proc(2) != nullptr, on);  // R1 broken: a process without lwps survives
    EXPECT_EQ(s.nprocs, on ? 3 : 2);
  }
}

TEST(Faults, SwitchIgnoresRunning) {
  for (bool on : {false, true}) {
    Kernel k{with(on ? FaultSet{Fault::switch_ignores_running} : FaultSet{})};
    HostContext h1{k}, h2{k};
    ASSERT_EQ(k.rfork(h1, 0), 0);
    ::lwp* l = k.curlwp(h1);
    EXPECT_EQ(fatal_rule([&] { k.switch_lwp(h2, l); }), on ? "" : "L3-running");
    // R4 broken: two host threads with the same curlwp.
    EXPECT_EQ(k.curlwp(h2) == l, on);
    const Snapshot s = k.snapshot();
    EXPECT_EQ(s.host(h1.id())->curlwp == s.host(h2.id())->curlwp, on);
  }
}

TEST(Faults, FreedLwpReachable) {
  for (bool on : {false, true}) {
    Kernel k{with(on ? FaultSet{Fault::freed_lwp_reachable} : FaultSet{})};
    HostContext h{k};
    ASSERT_EQ(k.rfork(h, 0), 0);
    ASSERT_EQ(k.newlwp(h, 2), 0);
    ::lwp* l = k.curlwp(h);
    k.releaselwp(h);
    EXPECT_EQ(fatal_rule([&] { k.switch_lwp(h, l); }), on ? "" : "L3-stale");
    if (on) {  // R2 broken: a released lwp is curlwp again
      EXPECT_EQ(k.curlwp(h), l);
      EXPECT_EQ(k.getpid(h), 2);
    }
  }
}

TEST(Faults, RfcfdgShares) {
  for (bool on : {false, true}) {
    Kernel k{with(on ? FaultSet{Fault::rfcfdg_shares} : FaultSet{})};
    HostContext h{k};
    ASSERT_EQ(k.rfork(h, 0x02), 0);
    EXPECT_EQ(k.fstat(h, 0, nullptr), on ? 0 : -EBADF);  // the fresh table would be empty
    const Snapshot s = k.snapshot();
    EXPECT_EQ(s.proc(1)->fdtable == s.proc(2)->fdtable, on);
  }
}

TEST(Faults, RffdgShares) {
  for (bool on : {false, true}) {
    Kernel k{with(on ? FaultSet{Fault::rffdg_shares} : FaultSet{})};
    HostContext h{k};
    ASSERT_EQ(k.rfork(h, 0x01), 0);
    ::lwp* child = k.curlwp(h);
    EXPECT_EQ(k.close(h, 0), 0);
    k.switch_lwp(h, nullptr);
    EXPECT_EQ(k.fstat(h, 0, nullptr), on ? -EBADF : 0);  // the copy's close reached the parent
    k.switch_lwp(h, child);
    EXPECT_EQ(k.open(h, "/x", 0x200), 0);
    k.switch_lwp(h, nullptr);
    EXPECT_EQ(k.fstat(h, 0, nullptr), on ? 0 : 0);
    const Snapshot s = k.snapshot();
    EXPECT_EQ(s.proc(1)->fdtable == s.proc(2)->fdtable, on);
  }
}

TEST(Faults, OrphansKeepPpid) {
  for (bool on : {false, true}) {
    Kernel k{with(on ? FaultSet{Fault::orphans_keep_ppid} : FaultSet{})};
    HostContext h{k};
    ASSERT_EQ(k.rfork(h, 0), 0);
    ::lwp* parent = k.curlwp(h);
    ASSERT_EQ(k.rfork(h, 0), 0);
    ::lwp* child = k.curlwp(h);
    k.switch_lwp(h, parent);
    k.releaselwp(h);
    k.switch_lwp(h, child);
    EXPECT_EQ(k.getppid(h), on ? 2 : 1);  // R6 broken: ppid names a process not in the table
    const Snapshot s = k.snapshot();
    EXPECT_EQ(s.proc(s.proc(3)->ppid) == nullptr, on);
  }
}

TEST(Faults, NprocsNotDecremented) {
  for (bool on : {false, true}) {
    Kernel k{with(on ? FaultSet{Fault::nprocs_not_decremented} : FaultSet{})};
    HostContext h{k};
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(k.rfork(h, 0), 0);
      k.releaselwp(h);
    }
    const Snapshot s = k.snapshot();
    EXPECT_EQ(s.procs.size(), 2u);
    EXPECT_EQ(s.nprocs, on ? 5 : 2);  // R6 broken
  }
}

TEST(Faults, PidReuseZombie) {
  for (bool on : {false, true}) {
    Kernel k{with(on ? FaultSet{Fault::pid_reuse_zombie} : FaultSet{})};
    HostContext h{k};
    ::proc* z = nullptr;
    ASSERT_EQ(k.kthread_create(h, [] {}, &z, 0, 0, "z"), 0);  // pid 2, exits at once
    ASSERT_EQ(k.kthread_wait_exit(h, z, 0), 0);
    // Use up 3..30000 so that the allocator wraps to 2.
    for (pid_t want = 3; want <= 30000; ++want) {
      ASSERT_EQ(k.rfork(h, 0), 0);
      ASSERT_EQ(k.getpid(h), want);
      k.releaselwp(h);
    }
    ASSERT_EQ(k.rfork(h, 0), 0);
    // R5 broken: pid 2 handed out again while the zombie is still in the table.
    EXPECT_EQ(k.getpid(h), on ? 2 : 3);
    const Snapshot s = k.snapshot();
    EXPECT_EQ(s.nprocs == static_cast<int>(s.procs.size()), !on);
    EXPECT_EQ(s.proc(2)->kind, on ? ProcKind::user : ProcKind::kthread);
  }
}

TEST(Faults, SetuidNoCheck) {
  for (bool on : {false, true}) {
    Kernel k{with(on ? FaultSet{Fault::setuid_no_check} : FaultSet{})};
    HostContext h{k};
    ASSERT_EQ(k.rfork(h, 0), 0);
    ASSERT_EQ(k.setuid(h, 5), 0);
    EXPECT_EQ(k.setuid(h, 0), on ? 0 : -EPERM);
  }
}

TEST(Faults, SetuidMinusOneUnchanged) {
  for (bool on : {false, true}) {
    Kernel k{with(on ? FaultSet{Fault::setuid_minus_one_unchanged} : FaultSet{})};
    HostContext h{k};
    ASSERT_EQ(k.rfork(h, 0), 0);
    ASSERT_EQ(k.setuid(h, static_cast<uid_t>(-1)), 0);  // root may take any uid (P8)
    EXPECT_EQ(k.getuid(h), on ? 0u : static_cast<uid_t>(-1));
  }
}

// ---- fd faults --------------------------------------------------------------------------------------

TEST(Faults, FdArrayFixed) {
  for (bool on : {false, true}) {
    Kernel k{with(on ? FaultSet{Fault::fd_array_fixed} : FaultSet{})};
    HostContext h{k};
    ASSERT_EQ(k.rfork(h, 0), 0);
    int fd = -1;
    while (fd < 19) ASSERT_GE(fd = k.open(h, "/x", 0x200), 0);
    EXPECT_EQ(k.open(h, "/x", 0x200), on ? -EMFILE : 20);
    EXPECT_EQ(k.dup(h, 0), on ? -EMFILE : 21);
  }
}

// ---- kthread_create faults --------------------------------------------------------------------------

TEST(Faults, CommCutLate) {
  for (bool on : {false, true}) {
    Kernel k{with(on ? FaultSet{Fault::comm_cut_late} : FaultSet{})};
    HostContext h{k};
    ::proc* a = nullptr;
    ::proc* b = nullptr;
    ASSERT_EQ(k.kthread_create(h, [] {}, &a, 0, 0, "twenty_bytes_name_xx"), 0);   // pid 2: MAXCOMLEN + 1 bytes
    ASSERT_EQ(k.kthread_create(h, [] {}, &b, 0, 0, "a_name_longer_than_maxcomlen"), 0);  // pid 3
    const Snapshot s = k.snapshot();
    EXPECT_EQ(s.proc(2)->comm, on ? "twenty_bytes_name_xx" : "twenty_bytes_name_x");
    EXPECT_EQ(s.proc(3)->comm, "a_name_longer_than_");  // cut to MAXCOMLEN either way
  }
}

TEST(Faults, KthreadFlagsLoose) {
  for (bool on : {false, true}) {
    Kernel k{with(on ? FaultSet{Fault::kthread_flags_loose} : FaultSet{})};
    HostContext h{k};
    ::proc* p = nullptr;
    EXPECT_EQ(k.kthread_create(h, [] {}, &p, 1 << 4, 0, "rfproc"), on ? 0 : EINVAL);
    EXPECT_EQ(k.kthread_create(h, [] {}, &p, 1 << 5, 0, "rfmem"), on ? 0 : EINVAL);
    EXPECT_EQ(k.kthread_create(h, [] {}, &p, 1, 0, "other"), EINVAL);  // any other bit still refused
  }
}

// ---- suspend faults ---------------------------------------------------------------------------------

TEST(Faults, ResumeNoWakeup) {
  for (bool on : {false, true}) {
    Kernel k{with(on ? FaultSet{Fault::resume_no_wakeup} : FaultSet{})};
    HostContext h{k};
    auto c = std::make_shared<LoopCtl>();
    ::proc* p = nullptr;
    ASSERT_EQ(k.kthread_create(h, loop_body(c), &p, 0, 0, "kt"), 0);
    ASSERT_EQ(k.kthread_suspend(h, p, 0), 0);
    const auto before = k.snapshot().proc(2)->kthread->progress;
    ASSERT_EQ(k.kthread_resume(h, p), 0);
    Snapshot s = k.snapshot();
    EXPECT_FALSE(s.proc(2)->kthread->suspend_requested);
    // S3 broken: the resume completed, the thread is still PARKED and makes no progress.
    EXPECT_EQ(s.proc(2)->kthread->state, on ? KthreadState::parked : KthreadState::running);
    const bool moved = eventually([&] { return k.snapshot().proc(2)->kthread->progress > before; },
                                  on ? 100ms : 10000ms);
    EXPECT_EQ(moved, !on);
    c->exit = true;
    if (!on) {
      EXPECT_EQ(k.kthread_wait_exit(h, p, 0), 0);
    }
    // (with the fault the parked thread is stopped by the kernel's destructor)
  }
}

TEST(Faults, SuspendTimeoutClears) {
  for (bool on : {false, true}) {
    Kernel k{with(on ? FaultSet{Fault::suspend_timeout_clears} : FaultSet{})};
    HostContext h{k};
    auto c = std::make_shared<LoopCtl>();
    c->check = false;
    ::proc* p = nullptr;
    ASSERT_EQ(k.kthread_create(h, loop_body(c), &p, 0, 0, "kt"), 0);
    EXPECT_EQ(k.kthread_suspend(h, p, 3), EWOULDBLOCK);
    EXPECT_EQ(k.snapshot().proc(2)->kthread->suspend_requested, !on);  // K3: stays set
    c->exit = true;
    EXPECT_EQ(k.kthread_wait_exit(h, p, 0), 0);
  }
}

// Controlled: after the exit step, a K8 waiter is runnable (correct) or still blocked (fault).
TEST(Faults, ExitNoWakeup) {
  for (bool on : {false, true}) {
    ControlledKernel ck({}, on ? FaultSet{Fault::exit_no_wakeup} : FaultSet{});
    CB& b = *ck.backend;
    HostContext host(ck.kernel, "H1");
    Stepper st(b);
    sync::JobThread a(b, "H1");
    run_job_thread(b, a);
    ::proc* p = nullptr;
    step(b, a, [&] { ck.kernel.kthread_create(host, st.body(), &p, 0, 0, "kt"); });
    const auto kt = ck.last_thread();
    int r = -1;
    ASSERT_EQ(step(b, a, [&] { r = ck.kernel.kthread_wait_exit(host, p, 50); }).stop, CB::Stop::blocked);
    st.tell_exit(0);
    EXPECT_EQ(b.run(kt).stop, CB::Stop::exited);
    EXPECT_EQ(b.thread(a.id())->state, on ? CB::State::blocked : CB::State::runnable);  // S5 broken
    // Correct: the exit took the waiter off the wait list; with the fault it still sleeps there.
    EXPECT_EQ(ck.kernel.snapshot().blocked.size(), on ? 1u : 0u);
    if (on) b.tick(50);  // only the deadline ends the wait
    EXPECT_TRUE(finished(run_job_thread(b, a), a));
    EXPECT_EQ(r, 0);
    EXPECT_EQ(ck.kernel.snapshot().now, on ? 50u : 0u);
  }
}

// Controlled: a resume while a suspender waits. Correct: the suspender keeps waiting (K4). FreeBSD 5's
// shared channel: it wakes and returns 0 although the thread never acknowledged (S2 broken).
TEST(Faults, SharedWakeupChannel) {
  for (bool on : {false, true}) {
    ControlledKernel ck({}, on ? FaultSet{Fault::shared_wakeup_channel} : FaultSet{});
    CB& b = *ck.backend;
    HostContext h1(ck.kernel, "H1"), h2(ck.kernel, "H2");
    Stepper st(b);
    sync::JobThread a1(b, "H1"), a2(b, "H2");
    run_job_thread(b, a1);
    run_job_thread(b, a2);
    ::proc* p = nullptr;
    step(b, a1, [&] { ck.kernel.kthread_create(h1, st.body(), &p, 0, 0, "kt"); });
    int r = -1;
    ASSERT_EQ(step(b, a1, [&] { r = ck.kernel.kthread_suspend(h1, p, 20); }).stop, CB::Stop::blocked);
    EXPECT_TRUE(finished(step(b, a2, [&] { ck.kernel.kthread_resume(h2, p); }), a2));
    EXPECT_EQ(b.thread(a1.id())->state, on ? CB::State::runnable : CB::State::blocked);
    if (!on) b.tick(20);
    EXPECT_TRUE(finished(run_job_thread(b, a1), a1));
    EXPECT_EQ(r, on ? 0 : EWOULDBLOCK);
    EXPECT_EQ(ck.kernel.snapshot().proc(2)->kthread->progress, 0u);  // it never ran: no acknowledgement
    st.tell_exit(0);
    b.run_until_quiescent();
  }
}

// Controlled with preemption at locks: the kthread is stopped between "the flag is set" and taking the
// process lock, a resume runs there. Correct: the kthread then sees no request and carries on. Fault:
// it parks anyway, with no request pending, after the resume completed (S3 broken), and acknowledges a
// suspend that was already withdrawn.
TEST(Faults, SuspendCheckLostWakeup) {
  for (bool on : {false, true}) {
    ControlledKernel ck(CB::Options{.preempt_at_locks = true},
                        on ? FaultSet{Fault::suspend_check_lost_wakeup} : FaultSet{});
    CB& b = *ck.backend;
    HostContext h1(ck.kernel, "H1"), h2(ck.kernel, "H2");
    Stepper st(b);
    sync::JobThread a1(b, "H1"), a2(b, "H2");
    run_job_thread(b, a1);
    run_job_thread(b, a2);
    ::proc* p = nullptr;
    step(b, a1, [&] { ck.kernel.kthread_create(h1, st.body(), &p, 0, 0, "kt"); });
    const auto kt = ck.last_thread();
    int r = -1;
    ASSERT_EQ(step(b, a1, [&] { r = ck.kernel.kthread_suspend(h1, p, 20); }).stop, CB::Stop::blocked);
    st.grant();
    // Run the kthread until it is about to take its process lock inside kthread_suspend_check.
    for (int i = 0; i < 10; ++i) {
      auto res = b.run(kt);
      if (res.stop == CB::Stop::preempted && res.thread.object == "proc2.lock") break;
      ASSERT_NE(res.stop, CB::Stop::blocked) << res.thread.object;
    }
    ASSERT_EQ(b.thread(kt)->object, "proc2.lock");
    EXPECT_TRUE(finished(step(b, a2, [&] { ck.kernel.kthread_resume(h2, p); }), a2));
    auto res = b.run(kt);
    while (res.stop == CB::Stop::preempted) res = b.run(kt);
    const Snapshot s = ck.kernel.snapshot();
    EXPECT_FALSE(s.proc(2)->kthread->suspend_requested);
    EXPECT_EQ(res.thread.object, on ? "kthread2.park" : "stepper.steps");
    EXPECT_EQ(s.proc(2)->kthread->state, on ? KthreadState::parked : KthreadState::running);
    EXPECT_EQ(s.proc(2)->kthread->progress, on ? 0u : 1u);
    // The withdrawn suspend: acknowledged by the buggy park, times out otherwise.
    EXPECT_EQ(b.thread(a1.id())->state, on ? CB::State::runnable : CB::State::blocked);
    if (!on) b.tick(20);
    EXPECT_TRUE(finished(run_job_thread(b, a1), a1));
    EXPECT_EQ(r, on ? 0 : EWOULDBLOCK);
    st.tell_exit(0);
    step(b, a2, [&] { ck.kernel.kthread_resume(h2, p); });
    b.run_until_quiescent();
  }
}

TEST(Faults, ParkSpins) {
  for (bool on : {false, true}) {
    ControlledKernel ck(CB::Options{.watchdog = 300ms}, on ? FaultSet{Fault::park_spins} : FaultSet{});
    CB& b = *ck.backend;
    HostContext h1(ck.kernel, "H1"), h2(ck.kernel, "H2");
    Stepper st(b);
    sync::JobThread a1(b, "H1");
    run_job_thread(b, a1);
    ::proc* p = nullptr;
    step(b, a1, [&] { ck.kernel.kthread_create(h1, st.body(), &p, 0, 0, "kt"); });
    const auto kt = ck.last_thread();
    int r = -1;
    ASSERT_EQ(step(b, a1, [&] { r = ck.kernel.kthread_suspend(h1, p, 0); }).stop, CB::Stop::blocked);
    st.grant();
    // Correct: the kthread acknowledges and sleeps (blocks). Faulty: it polls, so its run never ends.
    const CB::RunResult res = b.run(kt);
    EXPECT_EQ(res.stop, on ? CB::Stop::watchdog : CB::Stop::blocked);
    if (on) {
      // Under free running the poll does see a resume: the bug is a livelock only when nothing else runs.
      b.release_all();
      EXPECT_EQ(ck.kernel.kthread_resume(h2, p), 0);
      while (!a1.idle()) std::this_thread::yield();
      EXPECT_EQ(r, 0);
      st.tell_exit(0);
      // Free running, the kthread may still be leaving the Stepper's lock: `st` must outlive that.
      const auto exited = [&] {
        for (const CB::ThreadInfo& t : b.threads())
          if (t.id == kt) return t.state == CB::State::exited;
        return true;
      };
      while (!exited()) std::this_thread::yield();
    } else {
      EXPECT_EQ(res.thread.object, "kthread2.park");
      EXPECT_TRUE(finished(run_job_thread(b, a1), a1));
      EXPECT_EQ(r, 0);
      st.tell_exit(0);
      step(b, a1, [&] { ck.kernel.kthread_resume(h1, p); });
      b.run_until_quiescent();
    }
  }
}

}  // namespace
