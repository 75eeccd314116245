// The race faults (FaultInfo::race): each test drives one hand-chosen schedule through the controlled
// backend with a scheduling point at every sync call (Preempt::every_sync_point), or with a spurious
// wakeup, and shows that the faulty kernel ends in a SPEC-violating state while the correct kernel, under
// the very same schedule, does not. The last tests show that every race fault is silent when operations
// run one at a time to their end (with or without scheduling points inside them).
#include <cerrno>

#include "race_helpers.hpp"

using namespace lockstep::impl;
using namespace lockstep::impl::testing;

namespace {

using P = CB::Point;

FaultSet only_if(bool on, Fault f) { return on ? FaultSet{f} : FaultSet{}; }

// switch_check_gap (L3-running, R4). Schedule: H1 and H2 both switch to the unbound lwp A. H1 runs
// until just after it first unlocks the process table, then H2's switch runs to its end, then H1's.
// Correct: H1's switch is complete at that point, so H2's ends in FATAL(L3-running). Fault: H1 has only
// checked; H2 passes the same check and binds A, then H1 binds it too: A is curlwp of two hosts (R4).
TEST(RaceFaults, SwitchCheckGap) {
  for (bool on : {false, true}) {
    SCOPED_TRACE(on ? "fault" : "correct");
    RaceWorld w(only_if(on, Fault::switch_check_gap));
    ::lwp* a = nullptr;
    w.seq(w.a1, [&] {
      ASSERT_EQ(w.k().rfork(w.h1, 0), 0);        // pid 2, lwp A bound to H1
      a = w.k().curlwp(w.h1);
      ASSERT_EQ(w.k().newlwp(w.h1, 2), 0);       // H1 moves to lwp 2 of pid 2: A is unbound
    });
    w.a1.post([&] { w.k().switch_lwp(w.h1, a); });
    ASSERT_TRUE(run_until(w.b(), w.a1.id(), at(P::unlock, "proctable_lock")));
    std::string rule = "?";
    w.seq(w.a2, [&] { rule = fatal_rule([&] { w.k().switch_lwp(w.h2, a); }); });
    ASSERT_TRUE(finished(run_job_thread(w.b(), w.a1), w.a1));
    const Snapshot s = w.k().snapshot();
    const auto a_handle = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(a));
    EXPECT_EQ(s.host(w.h1.id())->curlwp, a_handle);
    if (on) {
      EXPECT_EQ(rule, "");                                  // no FATAL(L3-running) ...
      EXPECT_EQ(s.host(w.h2.id())->curlwp, a_handle);       // ... and A is curlwp of H1 and H2: R4 broken
    } else {
      EXPECT_EQ(rule, "L3-running");
      EXPECT_EQ(s.host(w.h2.id())->curlwp, 0u);
    }
  }
}

// fork_pid_gap (P1, R5). Schedule: H1 and H2 both rfork; H1 runs until just after it first unlocks the
// process table, H2's rfork runs to its end, then H1's. Correct: H1's fork is complete there (pid 2),
// H2 gets pid 3. Fault: H1 has only looked pid 2 up; H2 finds it free too; both children get pid 2,
// and the second insert pushes the first out of the table while nprocs counts both.
TEST(RaceFaults, ForkPidGap) {
  for (bool on : {false, true}) {
    SCOPED_TRACE(on ? "fault" : "correct");
    RaceWorld w(only_if(on, Fault::fork_pid_gap));
    int r1 = -1, r2 = -1;
    w.a1.post([&] { r1 = w.k().rfork(w.h1, 0); });
    ASSERT_TRUE(run_until(w.b(), w.a1.id(), at(P::unlock, "proctable_lock")));
    w.seq(w.a2, [&] { r2 = w.k().rfork(w.h2, 0); });
    ASSERT_TRUE(finished(run_job_thread(w.b(), w.a1), w.a1));
    EXPECT_EQ(r1, 0);
    EXPECT_EQ(r2, 0);
    const Snapshot s = w.k().snapshot();
    EXPECT_EQ(s.host(w.h1.id())->current_pid, 2);
    EXPECT_EQ(s.host(w.h2.id())->current_pid, on ? 2 : 3);  // fault: two live processes with pid 2 (R5)
    EXPECT_EQ(s.nprocs, 4);
    EXPECT_EQ(s.procs.size(), on ? 3u : 4u);                 // fault: nprocs counts a process not in the table (R6)
  }
}

// exit_wakes_early (K2, K8, S5). Schedule: H2 waits for the kthread's exit (blocks); the kthread is
// told to exit and runs until just after it first unlocks its process lock; H2 runs until it blocks or
// finishes; the kthread runs to its end. Correct: the exit is complete at that point, H2 returns 0.
// Fault: the kthread has woken H2 but not yet set ZOMBIE; H2 re-checks, sleeps again, and is never woken:
// the kthread is ZOMBIE and its waiter still blocked (S5).
TEST(RaceFaults, ExitWakesEarly) {
  for (bool on : {false, true}) {
    SCOPED_TRACE(on ? "fault" : "correct");
    RaceWorld w(only_if(on, Fault::exit_wakes_early));
    ::proc* p = w.create_kthread();
    int r = -1;
    ASSERT_EQ(step(w.b(), w.a2, [&] { r = w.k().kthread_wait_exit(w.h2, p, 0); }).thread.object, "kthread2.exit");
    w.st.tell_exit(7);
    ASSERT_TRUE(run_until(w.b(), w.kt, at(P::unlock, "proc2.lock")));
    const CB::RunResult h2 = run_job_thread(w.b(), w.a2);
    EXPECT_EQ(run_to_block(w.b(), w.kt).stop, CB::Stop::exited);
    const Snapshot s = w.k().snapshot();
    EXPECT_EQ(s.proc(2)->kthread->state, KthreadState::zombie);
    EXPECT_EQ(s.proc(2)->kthread->exit_code, 7);
    if (on) {
      EXPECT_EQ(h2.thread.object, "kthread2.exit");             // asleep again ...
      EXPECT_TRUE(w.b().runnable().empty());                    // ... for good: nothing will wake it
      ASSERT_EQ(s.blocked.size(), 1u);
      EXPECT_EQ(s.blocked[0].kind, WaitKind::wait_exit);
      EXPECT_EQ(r, -1);
    } else {
      EXPECT_TRUE(finished(h2, w.a2));
      EXPECT_EQ(r, 0);
      EXPECT_TRUE(s.blocked.empty());
    }
  }
}

// resume_split (K4, S2). Schedule: the kthread is PARKED; H1 resumes it and runs until just after it
// first unlocks the process lock; H2's kthread_suspend(p, 0) runs until it blocks or finishes; H1's
// resume finishes. Correct: the thread is RUNNING at that point, so H2 waits for an acknowledgement.
// Fault: the request is cleared but the thread still PARKED: H2 returns 0 at once, and the thread then
// runs with H2's request and without ever acknowledging it (S2; no order of resume and suspend gives
// a suspend that returned 0 and a RUNNING thread).
TEST(RaceFaults, ResumeSplit) {
  for (bool on : {false, true}) {
    SCOPED_TRACE(on ? "fault" : "correct");
    RaceWorld w(only_if(on, Fault::resume_split));
    ::proc* p = w.create_kthread();
    w.park(p);
    int r1 = -1, r2 = -1;
    w.a1.post([&] { r1 = w.k().kthread_resume(w.h1, p); });
    ASSERT_TRUE(run_until(w.b(), w.a1.id(), at(P::unlock, "proc2.lock")));
    const CB::RunResult h2 = step(w.b(), w.a2, [&] { r2 = w.k().kthread_suspend(w.h2, p, 0); });
    ASSERT_TRUE(finished(run_job_thread(w.b(), w.a1), w.a1));
    EXPECT_EQ(r1, 0);
    const Snapshot s = w.k().snapshot();
    EXPECT_EQ(s.proc(2)->kthread->state, KthreadState::running);
    EXPECT_TRUE(s.proc(2)->kthread->suspend_requested);
    if (on) {
      EXPECT_TRUE(finished(h2, w.a2));
      EXPECT_EQ(r2, 0);  // no acknowledgement after the call began, and the thread is not PARKED
    } else {
      EXPECT_EQ(h2.thread.object, "kthread2.suspend_ack");
      EXPECT_EQ(r2, -1);
    }
  }
}

// reparent_late (L4, R6). Setup: H1 in process 2 (its only lwp), H2 in its child, process 3. Schedule:
// H1 releases its lwp and runs until just after it first unlocks the process table; H2 calls
// newlwp(2) (ESRCH: process 2 is gone) and then getppid. Correct: the release is complete, getppid is 1.
// Fault: process 2 has left the table but its child still points at it: getppid returns 2 after the same
// host saw that 2 does not exist, and a snapshot shows a ppid naming no process (R6).
TEST(RaceFaults, ReparentLate) {
  for (bool on : {false, true}) {
    SCOPED_TRACE(on ? "fault" : "correct");
    RaceWorld w(only_if(on, Fault::reparent_late));
    ::lwp* parent = nullptr;
    ::lwp* child = nullptr;
    w.seq(w.a1, [&] {
      ASSERT_EQ(w.k().rfork(w.h1, 0), 0);  // pid 2
      parent = w.k().curlwp(w.h1);
      ASSERT_EQ(w.k().rfork(w.h1, 0), 0);  // pid 3, child of 2
      child = w.k().curlwp(w.h1);
      w.k().switch_lwp(w.h1, parent);
    });
    w.seq(w.a2, [&] { w.k().switch_lwp(w.h2, child); });
    w.a1.post([&] { w.k().releaselwp(w.h1); });
    ASSERT_TRUE(run_until(w.b(), w.a1.id(), at(P::unlock, "proctable_lock")));
    int e = -1;
    pid_t ppid = -1;
    w.seq(w.a2, [&] {
      e = w.k().newlwp(w.h2, 2);
      ppid = w.k().getppid(w.h2);
    });
    EXPECT_EQ(e, ESRCH);
    EXPECT_EQ(ppid, on ? 2 : 1);
    // H1 is stopped between its critical sections, holding no lock: the state can be looked at.
    EXPECT_FALSE(w.b().any_stopped_holding_locks());
    Snapshot s = w.k().snapshot();
    EXPECT_EQ(s.proc(2), nullptr);
    EXPECT_EQ(s.proc(3)->ppid, on ? 2 : 1);  // fault: a ppid that names no process in the table (R6)
    ASSERT_TRUE(finished(run_job_thread(w.b(), w.a1), w.a1));
    s = w.k().snapshot();
    EXPECT_EQ(s.proc(3)->ppid, 1);
  }
}

// kthread_handle_late (K1). Schedule: H1's kthread_create runs until it stops right after spawning the
// thread; the new thread runs first, reading the handle variable it was created with (what a
// kproc_start body does with its global_procpp). Correct: *newp is already set. Fault: it is still null.
TEST(RaceFaults, KthreadHandleLate) {
  for (bool on : {false, true}) {
    SCOPED_TRACE(on ? "fault" : "correct");
    RaceWorld w(only_if(on, Fault::kthread_handle_late));
    ::proc* published = nullptr;
    auto seen = std::make_shared<::proc*>(reinterpret_cast<::proc*>(1));
    auto inner = w.st.body();
    auto body = [&published, seen, inner] {
      *seen = published;  // the body's first instruction: who am I?
      inner();
    };
    w.a1.post([&] { EXPECT_EQ(w.k().kthread_create(w.h1, body, &published, 0, 0, "kt"), 0); });
    ASSERT_TRUE(run_until(w.b(), w.a1.id(), [](const CB::ThreadInfo& t) { return t.point == P::spawn; }));
    const CB::ThreadId kt = w.last_thread();
    EXPECT_EQ(run_to_block(w.b(), kt).thread.object, "stepper.steps");
    ASSERT_TRUE(finished(run_job_thread(w.b(), w.a1), w.a1));
    ASSERT_NE(published, nullptr);
    EXPECT_EQ(*seen, on ? nullptr : published);  // fault: the thread ran before its handle was stored
  }
}

// park_no_loop (K5, S1). Schedule: the kthread is PARKED; a spurious wakeup of its park; it runs until
// it blocks. Correct: it sleeps again in the park. Fault: it leaves kthread_suspend_check still PARKED and
// does a unit of work (progress while PARKED: S1).
TEST(RaceFaults, ParkNoLoop) {
  for (bool on : {false, true}) {
    SCOPED_TRACE(on ? "fault" : "correct");
    RaceWorld w(only_if(on, Fault::park_no_loop));
    ::proc* p = w.create_kthread();
    w.park(p);
    ASSERT_TRUE(w.b().wake_spuriously(w.kt));
    EXPECT_EQ(w.b().thread(w.kt)->reason, CB::Reason::spurious);
    EXPECT_EQ(run_to_block(w.b(), w.kt).thread.object, on ? "stepper.steps" : "kthread2.park");
    const Snapshot s = w.k().snapshot();
    EXPECT_EQ(s.proc(2)->kthread->state, KthreadState::parked);
    EXPECT_EQ(s.proc(2)->kthread->progress, on ? 1u : 0u);
  }
}

// wait_exit_no_loop (K8). Schedule: H2 waits for the exit of a RUNNING kthread; a spurious wakeup of that
// wait; H2 runs. Correct: it sleeps again. Fault: kthread_wait_exit returns 0 although the thread has not
// exited.
TEST(RaceFaults, WaitExitNoLoop) {
  for (bool on : {false, true}) {
    SCOPED_TRACE(on ? "fault" : "correct");
    RaceWorld w(only_if(on, Fault::wait_exit_no_loop));
    ::proc* p = w.create_kthread();
    int r = -1;
    ASSERT_EQ(step(w.b(), w.a2, [&] { r = w.k().kthread_wait_exit(w.h2, p, 0); }).thread.object, "kthread2.exit");
    ASSERT_TRUE(w.b().wake_spuriously(w.a2.id()));
    const CB::RunResult h2 = run_job_thread(w.b(), w.a2);
    EXPECT_EQ(w.k().snapshot().proc(2)->kthread->state, KthreadState::running);
    if (on) {
      EXPECT_TRUE(finished(h2, w.a2));
      EXPECT_EQ(r, 0);  // "exited", but it is RUNNING
    } else {
      EXPECT_EQ(h2.thread.object, "kthread2.exit");
      EXPECT_EQ(r, -1);
    }
  }
}

// dup_split (P7). H1 and H2 run in one process (one fd table). Schedule: H1's dup(fd) runs until it
// first unlocks the table, then H2's close(fd) runs to its end, then H1's dup. Correct: the dup is
// complete there (a new fd for the description), and the close removes only fd. Fault: the dup has
// only looked fd up; after the close it takes the lowest free fd, fd itself, so the closed description
// comes back under its old number, which no order of an atomic dup and close gives.
TEST(RaceFaults, DupSplit) {
  for (bool on : {false, true}) {
    SCOPED_TRACE(on ? "fault" : "correct");
    RaceWorld w(only_if(on, Fault::dup_split));
    int fd = -1, dupped = -1, closed = -1;
    w.seq(w.a1, [&] {
      ASSERT_EQ(w.k().rfork(w.h1, 0), 0);  // pid 2
      fd = w.k().open(w.h1, "/x", 0x200);
      ASSERT_GE(fd, 0);
    });
    w.seq(w.a2, [&] { ASSERT_EQ(w.k().newlwp(w.h2, 2), 0); });  // H2 in pid 2 too
    const std::string table = "fdtable" + std::to_string(w.k().snapshot().proc(2)->fdtable) + ".lock";
    w.a1.post([&] { dupped = w.k().dup(w.h1, fd); });
    ASSERT_TRUE(run_until(w.b(), w.a1.id(), at(P::unlock, table)));
    w.seq(w.a2, [&] { closed = w.k().close(w.h2, fd); });
    ASSERT_TRUE(finished(run_job_thread(w.b(), w.a1), w.a1));
    EXPECT_EQ(closed, 0);
    if (on) EXPECT_EQ(dupped, fd);  // P7 broken: the closed fd is open again
    else EXPECT_GT(dupped, fd);
  }
}

// open_create_split (P7). H1 and H2 in two processes both open("/n", O_CREAT) of a path that does not
// exist. Schedule: H1's open runs until it first unlocks files_lock, then H2's open runs to its end,
// then H1's. Correct: H1 created /n there, and H2 opens that file. Fault: H1 has only looked /n up; H2
// creates it, then H1 creates a second /n: a write through H2's fd does not show through H1's.
TEST(RaceFaults, OpenCreateSplit) {
  for (bool on : {false, true}) {
    SCOPED_TRACE(on ? "fault" : "correct");
    RaceWorld w(only_if(on, Fault::open_create_split));
    int fd1 = -1, fd2 = -1;
    w.seq(w.a1, [&] { ASSERT_EQ(w.k().rfork(w.h1, 2), 0); });  // pid 2, a fresh table (RFCFDG)
    w.a1.post([&] { fd1 = w.k().open(w.h1, "/n", 0x200); });
    ASSERT_TRUE(run_until(w.b(), w.a1.id(), at(P::unlock, "files_lock")));
    w.seq(w.a2, [&] { fd2 = w.k().open(w.h2, "/n", 0x200); });
    ASSERT_TRUE(finished(run_job_thread(w.b(), w.a1), w.a1));
    ASSERT_GE(fd1, 0);
    ASSERT_GE(fd2, 0);
    std::uint64_t size = 99;
    w.seq(w.a2, [&] { EXPECT_EQ(w.k().write(w.h2, fd2, 5), 5); });
    w.seq(w.a1, [&] { EXPECT_EQ(w.k().fstat(w.h1, fd1, &size), 0); });
    EXPECT_EQ(size, on ? 0u : 5u);  // P7 broken: one path, two files
  }
}

// suspend_stale_clock (K3, S2). Schedule: H1's kthread_suspend(p, 6) runs until just after the target
// lookup unlocks the process table; the clock ticks once; H1's suspend runs until it blocks. Correct:
// the request is made after the tick, under the target's lock, and the wait ends at tick 1 + 6.
// Fault: the clock was read on entry, before the tick: the wait ends at tick 6, a tick before timo
// ticks have passed since the request (a kthread's check between the tick and the request shows the
// request came after the tick).
TEST(RaceFaults, SuspendStaleClock) {
  for (bool on : {false, true}) {
    SCOPED_TRACE(on ? "fault" : "correct");
    RaceWorld w(only_if(on, Fault::suspend_stale_clock));
    ::proc* p = w.create_kthread();
    w.a1.post([&] { w.k().kthread_suspend(w.h1, p, 6); });
    ASSERT_TRUE(run_until(w.b(), w.a1.id(), at(P::unlock, "proctable_lock")));
    w.b().tick(1);
    EXPECT_EQ(run_job_thread(w.b(), w.a1).thread.object, "kthread2.suspend_ack");
    const Snapshot s = w.k().snapshot();
    ASSERT_EQ(s.blocked.size(), 1u);
    EXPECT_TRUE(s.proc(2)->kthread->suspend_requested);
    EXPECT_EQ(s.blocked[0].deadline, on ? 6 : 7);
  }
}

// ---- silent without interleavings ------------------------------------------------------------------

// A story touching every race fault's site, run one operation at a time (each op runs to its end or
// blocks before the next is posted; woken threads then run, earliest first). Returns the results and a
// description of the state after every step.
std::vector<std::string> sequential_story(FaultSet f, CB::Preempt mode) {
  RaceWorld w(f, mode);
  std::vector<std::string> log;
  auto settle = [&] {  // each runnable thread, earliest first, runs until it blocks or exits
    for (auto ids = w.b().runnable(); !ids.empty(); ids = w.b().runnable())
      ASSERT_NE(run_to_block(w.b(), ids.front()).stop, CB::Stop::watchdog);
    log.push_back(describe(w.k().snapshot()));
  };
  auto op = [&](sync::JobThread& a, std::function<void()> job) {
    step(w.b(), a, std::move(job));
    settle();
  };
  auto rec = [&](const std::string& what, long v) { log.push_back(what + " = " + std::to_string(v)); };
  auto fatal_of = [&](const std::string& what, const std::function<void()>& f) {
    log.push_back(what + " -> " + fatal_rule(f));
  };
  ::lwp* l2 = nullptr;
  ::lwp* l3 = nullptr;
  op(w.a1, [&] { rec("rfork", w.k().rfork(w.h1, 0)); l2 = w.k().curlwp(w.h1); });   // pid 2
  op(w.a2, [&] { rec("rfork RFFDG", w.k().rfork(w.h2, 1)); });                       // pid 3
  op(w.a1, [&] { rec("rfork", w.k().rfork(w.h1, 0)); l3 = w.k().curlwp(w.h1); });   // pid 4, child of 2
  op(w.a2, [&] { fatal_of("switch l2", [&] { w.k().switch_lwp(w.h2, l2); }); });
  op(w.a2, [&] { w.k().releaselwp(w.h2); });  // frees 2: 4 is reparented
  op(w.a1, [&] { rec("getppid", w.k().getppid(w.h1)); });
  op(w.a1, [&] { rec("newlwp 3", w.k().newlwp(w.h1, 3)); });
  op(w.a1, [&] { fatal_of("switch l3", [&] { w.k().switch_lwp(w.h1, l3); }); });
  op(w.a1, [&] { fatal_of("switch null", [&] { w.k().switch_lwp(w.h1, nullptr); }); });
  op(w.a1, [&] { rec("open", w.k().open(w.h1, "/f", 0x200)); rec("write", w.k().write(w.h1, 3, 5)); });
  op(w.a1, [&] { rec("dup", w.k().dup(w.h1, 3)); });
  ::proc* seen = nullptr;
  ::proc* p = nullptr;
  auto inner = w.st.body();
  op(w.a1, [&] {
    rec("kthread_create", w.k().kthread_create(w.h1, [&, inner] { seen = p; inner(); }, &p, 0, 0, "kt"));
  });
  const CB::ThreadId kt = w.last_thread();
  settle();  // the kthread starts and waits for its first step
  rec("seen handle", seen == p);
  int sr = -1, wr = -1, rr = -1;
  op(w.a1, [&] { sr = w.k().kthread_suspend(w.h1, p, 0); });
  w.st.grant();
  settle();
  rec("suspend", sr);
  op(w.a2, [&] { rec("suspend parked", w.k().kthread_suspend(w.h2, p, 4)); });
  op(w.a1, [&] { rec("resume", w.k().kthread_resume(w.h1, p)); });
  w.st.grant();
  settle();
  op(w.a2, [&] { wr = w.k().kthread_wait_exit(w.h2, p, 0); });
  w.st.tell_exit(3);
  settle();
  rec("wait_exit", wr);
  op(w.a1, [&] { rr = w.k().kthread_reap(w.h1, p); });
  rec("reap", rr);
  rec("kthread exited", w.b().thread(kt)->state == CB::State::exited);
  return log;
}

TEST(RaceFaults, SilentWhenOperationsRunOneAtATime) {
  for (CB::Preempt mode : {CB::Preempt::none, CB::Preempt::every_sync_point}) {
    const std::vector<std::string> correct = sequential_story({}, mode);
    for (const FaultInfo& fi : all_faults()) {
      if (!fi.race) continue;
      SCOPED_TRACE(std::string(fi.name) + (mode == CB::Preempt::none ? " / none" : " / every_sync_point"));
      const std::vector<std::string> got = sequential_story(FaultSet{fi.fault}, mode);
      ASSERT_EQ(got.size(), correct.size());
      for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], correct[i]) << "entry " << i;
    }
  }
}

TEST(RaceFaults, EveryRaceFaultIsAProjectFaultWithARule) {
  int n = 0;
  for (const FaultInfo& fi : all_faults()) {
    if (!fi.race) continue;
    ++n;
    EXPECT_FALSE(fi.test_only) << fi.name;
    EXPECT_FALSE(fi.rule.empty()) << fi.name;
    EXPECT_EQ(fault_by_name(fi.name), fi.fault);
    bool listed = false;
    for (const FaultInfo& pf : project_faults()) listed = listed || pf.fault == fi.fault;
    EXPECT_TRUE(listed) << fi.name;
  }
  EXPECT_GE(n, 6);
}

}  // namespace
