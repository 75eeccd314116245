// The kernel over the controlled backend, driven as the checker will drive it: job threads acting as host
// threads, kthread bodies stepped one iteration at a time, virtual time moved by tick().
#include <cerrno>
#include <set>

#include "controlled_helpers.hpp"

using namespace lockstep::impl;
using namespace lockstep::impl::testing;

namespace {

struct World {
  explicit World(CB::Options o = {}, FaultSet f = {}) : ck(o, f), h1(b(), "H1"), stepper(b()) {
    first_run = run_job_thread(b(), h1);  // the job thread starts and waits for its first job
  }
  CB& b() { return *ck.backend; }
  sync::Backend& b_base() { return *ck.backend; }
  Kernel& k() { return ck.kernel; }
  ControlledKernel ck;
  sync::JobThread h1;
  Stepper stepper;
  CB::RunResult first_run{};
  std::unique_ptr<HostContext> host1 = std::make_unique<HostContext>(ck.kernel, "H1");
  ::proc* p = nullptr;
  CB::ThreadId kt = 0;

  void create() {
    int r = -1;
    auto res = step(b(), h1, [&] { r = k().kthread_create(*host1, stepper.body(), &p, 0, 0, "kt"); });
    ASSERT_TRUE(finished(res, h1));
    ASSERT_EQ(r, 0);
    kt = ck.last_thread();
  }
  ~World() {
    // Let everything finish: the body exits, the job thread stops.
    stepper.tell_exit(0);
    b().run_until_quiescent();
    host1.reset();
  }
};

TEST(ControlledKernel, SuspendBlocksUntilTheKthreadAcknowledges) {
  World w;
  EXPECT_TRUE(finished(w.first_run, w.h1));
  w.create();
  // The kthread exists but has not run: registered, runnable, no progress.
  EXPECT_EQ(w.b().thread(w.kt)->reason, CB::Reason::start);
  EXPECT_EQ(w.k().snapshot().proc(2)->kthread->progress, 0u);

  int r = -1;
  auto res = step(w.b(), w.h1, [&] { r = w.k().kthread_suspend(*w.host1, w.p, 0); });
  EXPECT_EQ(res.stop, CB::Stop::blocked);
  EXPECT_EQ(res.thread.object, "kthread2.suspend_ack");
  Snapshot s = w.k().snapshot();
  ASSERT_EQ(s.blocked.size(), 1u);
  EXPECT_EQ(s.blocked[0].kind, WaitKind::suspend);
  EXPECT_EQ(s.blocked[0].host, w.host1->id());
  EXPECT_EQ(s.blocked[0].target, 2);
  EXPECT_TRUE(s.proc(2)->kthread->suspend_requested);

  // The kthread runs one iteration: it acknowledges and parks.
  w.stepper.grant();
  res = w.b().run(w.kt);  // starts, takes the step: suspend_check parks
  EXPECT_EQ(res.stop, CB::Stop::blocked);
  EXPECT_EQ(res.thread.object, "kthread2.park");
  s = w.k().snapshot();
  EXPECT_EQ(s.proc(2)->kthread->state, KthreadState::parked);
  EXPECT_EQ(s.proc(2)->kthread->progress, 0u);
  // The suspender was woken but has not run yet: the acknowledgement took it off the wait list (as
  // wakeup(9) takes sleepers off the sleep queue), so a snapshot before it runs shows only the park.
  // (Real threads take snapshots at such moments: a woken caller still listed would be a blocked
  // caller the model no longer has.)
  EXPECT_EQ(w.b().thread(w.h1.id())->state, CB::State::runnable);
  ASSERT_EQ(s.blocked.size(), 1u);
  EXPECT_EQ(s.blocked[0].kind, WaitKind::park);
  EXPECT_EQ(r, -1);
  res = w.b().run(w.h1.id());
  EXPECT_TRUE(finished(res, w.h1));
  EXPECT_EQ(r, 0);

  // Resume: RUNNING at once (S3), but the thread does not move until scheduled.
  res = step(w.b(), w.h1, [&] { r = w.k().kthread_resume(*w.host1, w.p); });
  EXPECT_TRUE(finished(res, w.h1));
  EXPECT_EQ(r, 0);
  s = w.k().snapshot();
  EXPECT_EQ(s.proc(2)->kthread->state, KthreadState::running);
  EXPECT_FALSE(s.proc(2)->kthread->suspend_requested);
  EXPECT_EQ(w.b().thread(w.kt)->reason, CB::Reason::woken);
  EXPECT_EQ(s.proc(2)->kthread->progress, 0u);
  EXPECT_TRUE(s.blocked.empty()) << "the resume took the parked thread off the wait list before it runs";
  res = w.b().run(w.kt);  // finishes the iteration, waits for the next step
  EXPECT_EQ(res.thread.object, "stepper.steps");
  EXPECT_EQ(w.k().snapshot().proc(2)->kthread->progress, 1u);
}

TEST(ControlledKernel, SuspendTimesOutOnlyWhenVirtualTimeReachesTheDeadline) {
  World w;
  w.create();
  int r = -1;
  auto res = step(w.b(), w.h1, [&] { r = w.k().kthread_suspend(*w.host1, w.p, 10); });
  ASSERT_EQ(res.stop, CB::Stop::blocked);
  EXPECT_EQ(res.thread.deadline, 10u);
  EXPECT_EQ(w.k().snapshot().blocked.at(0).deadline, 10u);
  w.b().tick(9);
  EXPECT_EQ(w.b().thread(w.h1.id())->state, CB::State::blocked);
  w.b().tick(1);
  EXPECT_EQ(w.b().thread(w.h1.id())->state, CB::State::runnable);
  EXPECT_TRUE(finished(w.b().run(w.h1.id()), w.h1));
  EXPECT_EQ(r, EWOULDBLOCK);
  const Snapshot s = w.k().snapshot();
  EXPECT_TRUE(s.proc(2)->kthread->suspend_requested);  // stays set (K3)
  EXPECT_TRUE(s.blocked.empty());
  EXPECT_EQ(s.now, 10u);
  // The thread parks at its next check.
  w.stepper.grant();
  EXPECT_EQ(w.b().run(w.kt).thread.object, "kthread2.park");
}

TEST(ControlledKernel, ExitWakesWaiterAndReapFreesThePid) {
  World w;
  w.create();
  int r = -1;
  auto res = step(w.b(), w.h1, [&] { r = w.k().kthread_wait_exit(*w.host1, w.p, 0); });
  ASSERT_EQ(res.stop, CB::Stop::blocked);
  EXPECT_EQ(res.thread.object, "kthread2.exit");
  EXPECT_EQ(w.k().snapshot().blocked.size(), 1u);
  w.stepper.tell_exit(3);
  EXPECT_EQ(w.b().run(w.kt).stop, CB::Stop::exited);
  const Snapshot s = w.k().snapshot();
  EXPECT_EQ(s.proc(2)->kthread->state, KthreadState::zombie);
  EXPECT_EQ(s.proc(2)->kthread->exit_code, 3);
  EXPECT_EQ(w.b().thread(w.h1.id())->state, CB::State::runnable);
  EXPECT_TRUE(s.blocked.empty()) << "the exit took its waiter off the wait list before the waiter runs";
  EXPECT_TRUE(finished(w.b().run(w.h1.id()), w.h1));
  EXPECT_EQ(r, 0);
  res = step(w.b(), w.h1, [&] { r = w.k().kthread_reap(*w.host1, w.p); });
  EXPECT_EQ(r, 0);
  EXPECT_EQ(w.k().snapshot().nprocs, 2);
}

// A plain-value fingerprint of a snapshot without instance-specific handle values.
std::string fingerprint(const Snapshot& s) {
  std::string f = "n" + std::to_string(s.nprocs) + " t" + std::to_string(s.now);
  for (const auto& p : s.procs) {
    f += " p" + std::to_string(p.pid) + "/" + std::to_string(p.ppid);
    if (p.kthread)
      f += std::string(":") + to_string(p.kthread->state) + (p.kthread->suspend_requested ? "+" : "-") +
           std::to_string(p.kthread->progress);
    for (const auto& l : p.lwps) f += " l" + std::to_string(l.lid) + (l.bound_to ? "b" : "") + (l.released ? "r" : "");
  }
  for (const auto& w : s.blocked) f += std::string(" w:") + to_string(w.kind) + std::to_string(w.target);
  for (const auto& c : s.console) f += " c:" + c;
  return f;
}

// The same decisions give the same trace of states.
std::vector<std::string> scripted_run() {
  World w(CB::Options{.preempt_at_locks = true});
  std::vector<std::string> trace;
  w.create();
  int r1 = -1, r2 = -1;
  w.h1.post([&] {
    r1 = w.k().kthread_suspend(*w.host1, w.p, 5);
    r2 = w.k().kthread_resume(*w.host1, w.p);
  });
  w.stepper.grant(3);
  // Fixed decisions: alternate between the job thread and the kthread, ticking now and then.
  for (int i = 0; i < 40; ++i) {
    const auto ids = w.b().runnable();
    if (ids.empty()) {
      w.b().tick(1);
    } else {
      const CB::ThreadId pick = ids[static_cast<std::size_t>(i) % ids.size()];
      w.b().run(pick);
    }
    trace.push_back(fingerprint(w.k().snapshot()));
  }
  trace.push_back("r1=" + std::to_string(r1) + " r2=" + std::to_string(r2));
  return trace;
}

TEST(ControlledKernel, SameScheduleSameTrace) {
  const auto first = scripted_run();
  // The schedule does something: several distinct states, and both calls completed.
  EXPECT_GT(std::set<std::string>(first.begin(), first.end()).size(), 4u);
  EXPECT_TRUE(first.back() == "r1=0 r2=0" || first.back() == "r1=" + std::to_string(EWOULDBLOCK) + " r2=0")
      << first.back();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(scripted_run(), first);
}

// Two job threads race to switch to one lwp: whoever the scheduler runs first wins, the other is FATAL.
TEST(ControlledKernel, SwitchRaceHasExactlyOneWinnerInEitherOrder) {
  for (int order = 0; order < 2; ++order) {
    ControlledKernel ck;
    sync::JobThread a(*ck.backend, "A"), b(*ck.backend, "B");
    ck.backend->run(a.id());
    ck.backend->run(b.id());
    HostContext h0(ck.kernel, "H0"), ha(ck.kernel, "HA"), hb(ck.kernel, "HB");
    ::lwp* l = nullptr;
    sync::JobThread setup(*ck.backend, "setup");
    ck.backend->run(setup.id());
    step(*ck.backend, setup, [&] {
      ck.kernel.rfork(h0, 0);
      l = ck.kernel.curlwp(h0);
      ck.kernel.switch_lwp(h0, nullptr);
    });
    std::string ra = "ok", rb = "ok";
    a.post([&] { ra = fatal_rule([&] { ck.kernel.switch_lwp(ha, l); }); });
    b.post([&] { rb = fatal_rule([&] { ck.kernel.switch_lwp(hb, l); }); });
    if (order == 0) {
      ck.backend->run(a.id());
      ck.backend->run(b.id());
      EXPECT_EQ(ra, "");
      EXPECT_EQ(rb, "L3-running");
    } else {
      ck.backend->run(b.id());
      ck.backend->run(a.id());
      EXPECT_EQ(rb, "");
      EXPECT_EQ(ra, "L3-running");
    }
  }
}

}  // namespace
