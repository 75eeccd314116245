// SPEC §4 through the C++ API on the real backend: K1-K9 success paths and each failure they name.
#include <cerrno>

#include "helpers.hpp"

using namespace lockstep::impl;
using namespace lockstep::impl::testing;
using namespace std::chrono_literals;

namespace {

constexpr int kRFFDG = 1 << 2, kRFCFDG = 1 << 12;

class Kthread : public ::testing::Test {
 protected:
  ::proc* spawn(std::shared_ptr<LoopCtl> c, const char* name = "kt") {
    ::proc* p = nullptr;
    EXPECT_EQ(k.kthread_create(h, loop_body(std::move(c)), &p, 0, 0, name), 0);
    return p;
  }
  std::uint64_t progress(::proc* p) {
    auto s = k.snapshot();
    return s.proc(k.proc_pid(p))->kthread->progress;
  }
  void finish(std::shared_ptr<LoopCtl> c, ::proc* p) {
    c->exit = true;
    k.kthread_resume(h, p);
    EXPECT_EQ(k.kthread_wait_exit(h, p, 0), 0);
  }
  Kernel k{test_config(64, 1ms)};
  HostContext h{k, "H1"};
};

// K1 + K2 + K8 + K9: create, exit, wait, reap.
TEST_F(Kthread, CreateExitWaitReap) {
  auto c = std::make_shared<LoopCtl>();
  ::proc* p = spawn(c, "worker");
  ASSERT_NE(p, nullptr);
  const pid_t pid = k.proc_pid(p);
  EXPECT_EQ(pid, 2);
  Snapshot s = k.snapshot();
  const ProcSnapshot* kp = s.proc(pid);
  ASSERT_NE(kp, nullptr);
  EXPECT_EQ(kp->kind, ProcKind::kthread);
  EXPECT_EQ(kp->ppid, 0);
  EXPECT_EQ(kp->comm, "worker");
  EXPECT_EQ(kp->kthread->state, KthreadState::running);
  EXPECT_EQ(s.nprocs, 3);
  EXPECT_EQ(kp->handle, reinterpret_cast<std::uintptr_t>(p));
  c->code = 7;
  c->exit = true;
  EXPECT_EQ(k.kthread_wait_exit(h, p, 0), 0);
  s = k.snapshot();
  kp = s.proc(pid);
  ASSERT_NE(kp, nullptr);  // a zombie stays in the table until reaped
  EXPECT_EQ(kp->kthread->state, KthreadState::zombie);
  EXPECT_EQ(kp->kthread->exit_code, 7);
  EXPECT_EQ(kp->ppid, 1);
  ASSERT_EQ(kp->lwps.size(), 1u);
  EXPECT_TRUE(kp->lwps[0].released);
  EXPECT_EQ(s.nprocs, 3);
  EXPECT_EQ(k.kthread_wait_exit(h, p, 0), 0);  // zombie: 0 at once
  EXPECT_EQ(k.kthread_reap(h, p), 0);
  s = k.snapshot();
  EXPECT_EQ(s.proc(pid), nullptr);
  EXPECT_EQ(s.nprocs, 2);
  ASSERT_EQ(s.reaped.size(), 1u);
  EXPECT_EQ(s.reaped[0].kthread->state, KthreadState::reaped);
  // REAPED: ESRCH everywhere (K3, K4, K8, K9).
  EXPECT_EQ(k.kthread_reap(h, p), ESRCH);
  EXPECT_EQ(k.kthread_wait_exit(h, p, 0), ESRCH);
  EXPECT_EQ(k.kthread_suspend(h, p, 1), ESRCH);
  EXPECT_EQ(k.kthread_resume(h, p), ESRCH);
  EXPECT_EQ(k.proc_pid(p), -1);
}

// K1: the new process copies process 0's uid and fd table; comm is truncated to MAXCOMLEN.
TEST_F(Kthread, CreateCopiesProcessZeroAndTruncatesName) {
  auto c = std::make_shared<LoopCtl>();
  ::proc* p = nullptr;
  ASSERT_EQ(k.kthread_create(h, loop_body(c), &p, kRFFDG, 0, "a_very_long_kthread_name_indeed"), 0);
  const Snapshot s = k.snapshot();
  const ProcSnapshot* kp = s.proc(k.proc_pid(p));
  EXPECT_EQ(kp->comm, "a_very_long_kthread");
  EXPECT_EQ(kp->comm.size(), 19u);
  EXPECT_EQ(kp->uid, 0u);
  EXPECT_NE(kp->fdtable, s.proc(0)->fdtable);
  EXPECT_TRUE(s.fdtable(kp->fdtable)->fds.empty());
  finish(c, p);
}

// K1 failures: flag validation.
TEST_F(Kthread, CreateRejectsBadFlags) {
  ::proc* p = nullptr;
  auto body = [] {};
  EXPECT_EQ(k.kthread_create(h, body, &p, kRFCFDG, 0, "x"), EINVAL);
  EXPECT_EQ(k.kthread_create(h, body, &p, kRFCFDG | kRFFDG, 0, "x"), EINVAL);
  EXPECT_EQ(k.kthread_create(h, body, &p, 1, 0, "x"), EINVAL);
  EXPECT_EQ(k.kthread_create(h, body, &p, 1 << 5, 0, "x"), EINVAL);
  EXPECT_EQ(p, nullptr);
  EXPECT_EQ(k.snapshot().nprocs, 2);
}

// K1 failure: EAGAIN at maxproc (zombies count; rfork is not limited).
TEST(KthreadLimits, EagainAtMaxproc) {
  Kernel k{test_config(4)};
  HostContext h{k};
  auto c = std::make_shared<LoopCtl>();
  ::proc *a = nullptr, *b = nullptr, *x = nullptr;
  ASSERT_EQ(k.kthread_create(h, loop_body(c), &a, 0, 0, "a"), 0);
  ASSERT_EQ(k.kthread_create(h, loop_body(c), &b, 0, 0, "b"), 0);
  EXPECT_EQ(k.kthread_create(h, loop_body(c), &x, 0, 0, "x"), EAGAIN);
  EXPECT_EQ(x, nullptr);
  EXPECT_EQ(k.rfork(h, 0), 0);  // rump does not enforce maxproc
  EXPECT_EQ(k.snapshot().nprocs, 5);
  k.releaselwp(h);
  c->exit = true;
  EXPECT_EQ(k.kthread_wait_exit(h, a, 0), 0);
  EXPECT_EQ(k.kthread_create(h, loop_body(c), &x, 0, 0, "x"), EAGAIN);  // zombie still counted
  EXPECT_EQ(k.kthread_reap(h, a), 0);
  c->exit = false;
  EXPECT_EQ(k.kthread_create(h, loop_body(c), &x, 0, 0, "x"), 0);
  c->exit = true;
  EXPECT_EQ(k.kthread_wait_exit(h, b, 0), 0);
  EXPECT_EQ(k.kthread_wait_exit(h, x, 0), 0);
}

// K1: *newp is set before the new thread runs, and the body knows itself.
TEST_F(Kthread, NewpSetBeforeBodyRuns) {
  static ::proc* global = nullptr;
  static std::atomic<int> seen{0};
  global = nullptr;
  seen = 0;
  ::proc* p = nullptr;
  ASSERT_EQ(k.kthread_create(h, [] {
    const KthreadSelf* s = this_kthread();
    seen = (global != nullptr && global == s->proc) ? 1 : 2;
    s->kernel.kthread_exit(s->host, 0);
  }, &global, 0, 0, "g"), 0);
  p = global;
  EXPECT_EQ(k.kthread_wait_exit(h, p, 0), 0);
  EXPECT_EQ(seen.load(), 1);
}

// K3 acknowledged, S1 (no progress while PARKED), K4 resume.
TEST_F(Kthread, SuspendAcknowledgedThenResume) {
  auto c = std::make_shared<LoopCtl>();
  ::proc* p = spawn(c);
  ASSERT_TRUE(eventually([&] { return progress(p) > 0; }));
  EXPECT_EQ(k.kthread_suspend(h, p, 0), 0);
  Snapshot s = k.snapshot();
  const ProcSnapshot* kp = s.proc(k.proc_pid(p));
  EXPECT_EQ(kp->kthread->state, KthreadState::parked);
  EXPECT_TRUE(kp->kthread->suspend_requested);
  ASSERT_EQ(s.blocked.size(), 1u);
  EXPECT_EQ(s.blocked[0].kind, WaitKind::park);
  const auto frozen = kp->kthread->progress;
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(progress(p), frozen);
  // Suspending a PARKED thread returns 0 at once.
  EXPECT_EQ(k.kthread_suspend(h, p, 1), 0);
  EXPECT_EQ(k.kthread_resume(h, p), 0);
  s = k.snapshot();
  kp = s.proc(k.proc_pid(p));
  EXPECT_EQ(kp->kthread->state, KthreadState::running);  // at once (S3)
  EXPECT_FALSE(kp->kthread->suspend_requested);
  EXPECT_TRUE(eventually([&] { return progress(p) > frozen; }));
  finish(c, p);
}

// K3 timed out: the flag stays set, and the thread parks at its next check.
TEST_F(Kthread, SuspendTimesOutWithFlagStillSet) {
  auto c = std::make_shared<LoopCtl>();
  c->check = false;  // the body does not check for a while
  ::proc* p = spawn(c);
  EXPECT_EQ(k.kthread_suspend(h, p, 5), EWOULDBLOCK);
  Snapshot s = k.snapshot();
  EXPECT_TRUE(s.proc(k.proc_pid(p))->kthread->suspend_requested);
  EXPECT_EQ(s.proc(k.proc_pid(p))->kthread->state, KthreadState::running);
  EXPECT_TRUE(s.blocked.empty());
  c->check = true;
  EXPECT_TRUE(eventually([&] { return kstate(k, k.proc_pid(p)) == KthreadState::parked; }));
  finish(c, p);
}

// K4: resume of a thread that is not suspended returns 0 and changes nothing else.
TEST_F(Kthread, ResumeOfNonSuspendedIsZero) {
  auto c = std::make_shared<LoopCtl>();
  ::proc* p = spawn(c);
  EXPECT_EQ(k.kthread_resume(h, p), 0);
  EXPECT_EQ(kstate(k, k.proc_pid(p)), KthreadState::running);
  EXPECT_FALSE(k.snapshot().proc(k.proc_pid(p))->kthread->suspend_requested);
  finish(c, p);
}

// K3 / K4 / K8 / K9 on processes that are not kthreads: EINVAL with no change (S4).
TEST_F(Kthread, NonKthreadsAreEinval) {
  ASSERT_EQ(k.rfork(h, 0), 0);
  ::proc* user = k.proc_handle(2);
  ::proc* freed = k.proc_handle(2);
  ASSERT_NE(user, nullptr);
  std::vector<::proc*> targets{k.proc_handle(0), k.proc_handle(1), user, k.never_issued_proc(), nullptr};
  const Snapshot before = k.snapshot();
  for (::proc* t : targets) {
    EXPECT_EQ(k.kthread_suspend(h, t, 1), EINVAL);
    EXPECT_EQ(k.kthread_resume(h, t), EINVAL);
    EXPECT_EQ(k.kthread_wait_exit(h, t, 1), EINVAL);
    EXPECT_EQ(k.kthread_reap(h, t), EINVAL);
  }
  EXPECT_EQ(k.snapshot().nprocs, before.nprocs);
  k.releaselwp(h);  // the user process is freed: still "not a kthread"
  EXPECT_EQ(k.kthread_suspend(h, freed, 1), EINVAL);
  EXPECT_EQ(k.kthread_resume(h, freed), EINVAL);
  EXPECT_EQ(k.kthread_wait_exit(h, freed, 1), EINVAL);
  EXPECT_EQ(k.kthread_reap(h, freed), EINVAL);
}

// Negative timo: EINVAL with no change.
TEST_F(Kthread, NegativeTimoIsEinval) {
  auto c = std::make_shared<LoopCtl>();
  ::proc* p = spawn(c);
  EXPECT_EQ(k.kthread_suspend(h, p, -1), EINVAL);
  EXPECT_FALSE(k.snapshot().proc(k.proc_pid(p))->kthread->suspend_requested);
  EXPECT_EQ(k.kthread_wait_exit(h, p, -5), EINVAL);
  finish(c, p);
}

// K8: a wait with a timeout ends in EWOULDBLOCK while the thread runs; K9: reap of a live one is EBUSY.
TEST_F(Kthread, WaitExitTimesOutAndReapOfLiveIsEbusy) {
  auto c = std::make_shared<LoopCtl>();
  ::proc* p = spawn(c);
  EXPECT_EQ(k.kthread_wait_exit(h, p, 3), EWOULDBLOCK);
  EXPECT_EQ(k.kthread_reap(h, p), EBUSY);
  EXPECT_EQ(k.kthread_suspend(h, p, 0), 0);
  EXPECT_EQ(k.kthread_reap(h, p), EBUSY);  // PARKED
  EXPECT_EQ(kstate(k, k.proc_pid(p)), KthreadState::parked);
  finish(c, p);
  EXPECT_EQ(k.kthread_reap(h, p), 0);
}

// K5 failure: suspend_check on another process.
TEST_F(Kthread, SuspendCheckOnAnotherProcessIsFatal) {
  auto c = std::make_shared<LoopCtl>();
  ::proc* victim = spawn(c, "victim");
  static std::atomic<int> outcome{0};
  outcome = 0;
  ::proc* p = nullptr;
  ASSERT_EQ(k.kthread_create(h, [victim] {
    const KthreadSelf* s = this_kthread();
    try {
      s->kernel.kthread_suspend_check(s->host, victim);
      outcome = 1;
    } catch (const Panic& e) {
      outcome = e.rule() == "K5-other" ? 2 : 3;
    }
    s->kernel.kthread_exit(s->host, 0);
  }, &p, 0, 0, "bad"), 0);
  EXPECT_EQ(k.kthread_wait_exit(h, p, 0), 0);
  EXPECT_EQ(outcome.load(), 2);
  // ... and from a host thread that is not a kthread at all.
  EXPECT_EQ(fatal_rule([&] { k.kthread_suspend_check(h, victim); }), "K5-other");
  finish(c, victim);
}

// K2 by a thread that is not a kthread.
TEST_F(Kthread, ExitFromNonKthreadIsFatal) {
  EXPECT_EQ(fatal_rule([&] { k.kthread_exit(h, 1); }), "K2-not-kthread");
}

// A body that returns: FreeBSD 5's "exited prematurely", exit code 0.
TEST_F(Kthread, BodyReturningExitsPrematurely) {
  ::proc* p = nullptr;
  ASSERT_EQ(k.kthread_create(h, [] {}, &p, 0, 0, "quitter"), 0);
  EXPECT_EQ(k.kthread_wait_exit(h, p, 0), 0);
  const Snapshot s = k.snapshot();
  EXPECT_EQ(s.proc(2)->kthread->exit_code, 0);
  ASSERT_EQ(s.console.size(), 1u);
  EXPECT_EQ(s.console[0], "Kernel thread \"quitter\" (pid 2) exited prematurely.");
}

// K6.
TEST_F(Kthread, KprocStartCreatesNamedKthread) {
  auto c = std::make_shared<LoopCtl>();
  ::proc* p = nullptr;
  k.kproc_start(h, loop_body(c), "syncer", &p);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(k.snapshot().proc(k.proc_pid(p))->comm, "syncer");
  finish(c, p);
}

TEST(KthreadLimits, KprocStartFailureIsK6Panic) {
  Kernel k{test_config(2)};
  HostContext h{k};
  ::proc* p = nullptr;
  EXPECT_EQ(fatal_rule([&] { k.kproc_start(h, [] {}, "nope", &p); }), "K6-panic");
}

// K7: console lines, stopped / timed out / EINVAL -> stopped (S6).
TEST_F(Kthread, KprocShutdownStopped) {
  auto c = std::make_shared<LoopCtl>();
  ::proc* p = spawn(c, "bufdaemon");
  k.kproc_shutdown(h, p, 0);
  const Snapshot s = k.snapshot();
  ASSERT_EQ(s.console.size(), 2u);
  EXPECT_EQ(s.console[0], "Waiting (max 60 seconds) for system process `bufdaemon' to stop...");
  EXPECT_EQ(s.console[1], "stopped");
  EXPECT_EQ(s.proc(k.proc_pid(p))->kthread->state, KthreadState::parked);
  finish(c, p);
}

TEST(KthreadShutdown, KprocShutdownTimedOut) {
  Kernel k{test_config(64, std::chrono::microseconds(50))};  // 6000 ticks = 0.3 s
  HostContext h{k};
  auto c = std::make_shared<LoopCtl>();
  c->check = false;
  ::proc* p = nullptr;
  ASSERT_EQ(k.kthread_create(h, loop_body(c), &p, 0, 0, "stubborn"), 0);
  k.kproc_shutdown(h, p, 0);
  auto con = k.console();
  ASSERT_EQ(con.size(), 2u);
  EXPECT_EQ(con[0], "Waiting (max 60 seconds) for system process `stubborn' to stop...");
  EXPECT_EQ(con[1], "timed out");
  c->exit = true;
  EXPECT_EQ(k.kthread_wait_exit(h, p, 0), 0);
}

TEST_F(Kthread, KprocShutdownOfNonKthreadSaysStopped) {
  k.kproc_shutdown(h, k.proc_handle(1), 0);
  const auto con = k.console();
  ASSERT_EQ(con.size(), 2u);
  EXPECT_EQ(con[0], "Waiting (max 60 seconds) for system process `' to stop...");
  EXPECT_EQ(con[1], "stopped");
}

// K2/S5: every waiter returns 0 at the exit; a pending suspender is not woken by it (times out).
TEST_F(Kthread, ExitWakesWaitersButNotSuspenders) {
  auto c = std::make_shared<LoopCtl>();
  c->check = false;
  ::proc* p = spawn(c);
  std::atomic<int> w1{-1}, w2{-1}, sus{-1};
  std::thread a([&] { HostContext x{k}; w1 = k.kthread_wait_exit(x, p, 0); });
  std::thread b([&] { HostContext x{k}; w2 = k.kthread_wait_exit(x, p, 0); });
  std::thread d([&] { HostContext x{k}; sus = k.kthread_suspend(x, p, 200); });
  ASSERT_TRUE(eventually([&] { return k.snapshot().blocked.size() == 3; }));
  const auto t0 = std::chrono::steady_clock::now();
  c->exit = true;
  a.join();
  b.join();
  EXPECT_EQ(w1.load(), 0);
  EXPECT_EQ(w2.load(), 0);
  d.join();
  EXPECT_EQ(sus.load(), EWOULDBLOCK);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
}

// Kernel teardown stops parked and running kthreads.
TEST(KthreadTeardown, DestroyingKernelStopsKthreads) {
  auto c = std::make_shared<LoopCtl>();
  {
    Kernel k{test_config()};
    HostContext h{k};
    ::proc *a = nullptr, *b = nullptr;
    ASSERT_EQ(k.kthread_create(h, loop_body(c), &a, 0, 0, "a"), 0);
    ASSERT_EQ(k.kthread_create(h, loop_body(c), &b, 0, 0, "b"), 0);
    ASSERT_EQ(k.kthread_suspend(h, a, 0), 0);
  }
  SUCCEED();
}

}  // namespace
