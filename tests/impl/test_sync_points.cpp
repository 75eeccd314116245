// Scheduling points inside operations (ControlledBackend::Preempt::every_sync_point), spurious wakeups as
// a scheduler choice (wake_spuriously), and threads stopped while they hold locks (held,
// any_stopped_holding_locks, snapshot failing fast, teardown).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <stdexcept>

#include "race_helpers.hpp"

using namespace lockstep::impl;
using namespace lockstep::impl::testing;
using namespace std::chrono_literals;

namespace {

using P = CB::Point;
using sync::CondVar;
using sync::Mutex;

CB::Options every() { return CB::Options{.watchdog = 5000ms, .preempt = CB::Preempt::every_sync_point}; }

// ---- the backend -----------------------------------------------------------------------------------

// One thread through each kind of point, in program order; the stops say where it is.
TEST(SyncPoints, EveryKindOfPointStopsTheThread) {
  CB b(every());
  Mutex m1(b, "m1"), m2(b, "m2");
  CondVar c(b, "c");
  std::unique_ptr<sync::ThreadImpl> child;
  auto t = b.spawn("T", [&] {
    {
      std::unique_lock l1(m1);
      std::unique_lock l2(m2);  // a point also while holding m1
      c.notify_one();
    }
    b.yield_point("label");
    child = b.spawn("child", [] {});
  });
  struct Want { P point; const char* object; int held; };
  const std::vector<Want> want{{P::lock, "m1", 0},   {P::lock, "m2", 1},     {P::notify, "c", 2},
                               {P::unlock, "m2", 1}, {P::unlock, "m1", 0},   {P::yield, "label", 0},
                               {P::spawn, "child", 0}};
  for (const Want& w : want) {
    const CB::RunResult r = b.run(1);
    ASSERT_EQ(r.stop, CB::Stop::preempted);
    EXPECT_EQ(r.thread.reason, CB::Reason::preempted);
    EXPECT_EQ(r.thread.point, w.point);
    EXPECT_EQ(r.thread.object, w.object);
    EXPECT_EQ(r.thread.held, w.held);
    EXPECT_EQ(b.any_stopped_holding_locks(), w.held > 0);
  }
  EXPECT_EQ(b.run(1).stop, CB::Stop::exited);
  EXPECT_EQ(b.run(2).stop, CB::Stop::exited);  // the child, runnable since the spawn
  t->join();
  child->join();
}

// The unregistered control thread is never stopped; with Preempt::none nothing is a point; the old
// preempt_at_locks flag still means "before a lock taken while holding none".
TEST(SyncPoints, ModesAndTheOldFlag) {
  EXPECT_EQ((CB::Options{.preempt_at_locks = true}).mode(), CB::Preempt::locks);
  EXPECT_EQ((CB::Options{.preempt_at_locks = true, .preempt = CB::Preempt::every_sync_point}).mode(),
            CB::Preempt::every_sync_point);
  EXPECT_EQ(CB::Options{}.mode(), CB::Preempt::none);
  for (CB::Preempt mode : {CB::Preempt::none, CB::Preempt::locks}) {
    CB b(CB::Options{.preempt = mode});
    Mutex m1(b, "m1"), m2(b, "m2");
    {
      std::unique_lock l(m1);  // the control thread: no stop
      b.yield_point("x");
    }
    int stops = 0;
    auto t = b.spawn("T", [&] {
      std::unique_lock l1(m1);
      std::unique_lock l2(m2);
      b.yield_point("y");
    });
    while (b.run(1).stop == CB::Stop::preempted) ++stops;
    EXPECT_EQ(stops, mode == CB::Preempt::locks ? 1 : 0);
    t->join();
  }
}

TEST(SyncPoints, RealBackendYieldPointIsANoOp) {
  auto b = sync::make_real_backend();
  b->yield_point("anything");
  SUCCEED();
}

// ---- spurious wakeups ----------------------------------------------------------------------------

TEST(SpuriousWakeup, UntimedAndTimedWaitsReturnNotified) {
  for (bool timed : {false, true}) {
    CB b;
    Mutex m(b, "m");
    CondVar c(b, "c");
    std::optional<sync::WaitStatus> got;
    auto t = b.spawn("W", [&] {
      std::unique_lock l(m);
      got = timed ? c.wait_until(l, sync::Ticks{100}) : c.wait(l);
    });
    EXPECT_FALSE(b.wake_spuriously(1));  // not started, not waiting: no change
    ASSERT_EQ(b.run(1).stop, CB::Stop::blocked);
    EXPECT_TRUE(b.wake_spuriously(1));
    EXPECT_FALSE(b.wake_spuriously(1));  // already runnable
    EXPECT_EQ(b.thread(1)->reason, CB::Reason::spurious);
    EXPECT_FALSE(b.next_deadline().has_value());  // off the condition's queue: no timeout pending
    EXPECT_EQ(b.run(1).stop, CB::Stop::exited);
    EXPECT_EQ(got, sync::WaitStatus::notified);
    EXPECT_EQ(b.now(), 0u);
    t->join();
  }
}

TEST(SpuriousWakeup, AThreadBlockedOnAMutexIsNotAffected) {
  CB b;
  Mutex m(b, "m");
  auto t = b.spawn("W", [&] { std::unique_lock l(m); });
  std::unique_lock l(m);  // held by the control thread
  ASSERT_EQ(b.run(1).stop, CB::Stop::blocked);
  EXPECT_FALSE(b.wake_spuriously(1));
  l.unlock();
  EXPECT_EQ(b.run(1).stop, CB::Stop::exited);
  t->join();
}

// The correct kernel does not care: a story that blocks at every kind of kernel wait (suspend with and
// without a timeout, the park, the exit wait with and without a timeout, kproc_shutdown) is run once
// plainly, then under many random schedules with a scheduling point at every sync call, the next thread
// to run picked at random, and spurious wakeups injected at random into threads in condition waits
// (kernel waits, mailboxes, the kthread bodies' step waits). Every result and the state after every step
// must be those of the plain run.
std::vector<std::string> wait_story(std::optional<unsigned> seed) {
  RaceWorld w({}, seed ? CB::Preempt::every_sync_point : CB::Preempt::none);
  std::mt19937 rng(seed.value_or(0));
  std::vector<std::string> log;
  int injected = 0;
  auto settle = [&] {
    int budget = seed ? static_cast<int>(rng() % 6) : 0;
    for (int turns = 0; turns < 100000; ++turns) {
      if (budget > 0 && rng() % 3 == 0) {
        std::vector<CB::ThreadId> waiting;
        for (const CB::ThreadInfo& t : w.b().threads())
          if (t.state == CB::State::blocked && (t.reason == CB::Reason::cond || t.reason == CB::Reason::spurious))
            waiting.push_back(t.id);
        if (!waiting.empty() && w.b().wake_spuriously(waiting[rng() % waiting.size()])) ++injected;
        --budget;
        continue;
      }
      const auto ids = w.b().runnable();
      if (ids.empty()) {
        if (budget > 0) { --budget; continue; }
        break;
      }
      const CB::ThreadId id = seed ? ids[rng() % ids.size()] : ids.front();
      ASSERT_NE(w.b().run(id).stop, CB::Stop::watchdog);
    }
    ASSERT_FALSE(w.b().any_stopped_holding_locks());
    log.push_back(describe(w.k().snapshot()));
  };
  std::vector<long> r(12, -1);  // results, written by the job threads
  auto op = [&](sync::JobThread& a, std::function<void()> job) {
    a.post(std::move(job));
    settle();
  };
  auto rec = [&] {
    std::string s = "results";
    for (long v : r) s += " " + std::to_string(v);
    log.push_back(s);
  };
  ::proc* p = nullptr;
  ::proc* q = nullptr;
  op(w.a1, [&] { r[0] = w.k().kthread_create(w.h1, w.st.body(), &p, 0, 0, "kt"); });
  op(w.a1, [&] { r[1] = w.k().kthread_suspend(w.h1, p, 0); });           // blocks: untimed suspend
  op(w.a2, [&] { r[2] = w.k().kthread_wait_exit(w.h2, p, 5); });         // blocks: timed exit wait
  rec();
  w.st.grant();  // the kthread acknowledges and parks; H1's suspend returns 0
  settle();
  rec();
  w.b().tick(5);  // H2's exit wait times out
  settle();
  rec();
  op(w.a2, [&] { r[3] = w.k().kthread_suspend(w.h2, p, 3); });           // PARKED: 0 at once
  op(w.a1, [&] { r[4] = w.k().kthread_resume(w.h1, p); });
  w.st.grant();  // one unit of work (the request is clear)
  settle();
  op(w.a2, [&] { r[5] = w.k().kthread_suspend(w.h2, p, 3); });           // blocks: timed suspend
  w.b().tick(3);                                                          // ... times out
  settle();
  rec();
  op(w.a1, [&] { r[6] = w.k().kthread_wait_exit(w.h1, p, 0); });         // blocks: untimed exit wait
  w.st.grant();  // the request left by the timeout: it parks again (nobody to acknowledge)
  settle();
  op(w.a2, [&] { r[7] = w.k().kthread_resume(w.h2, p); });
  w.st.tell_exit(9);  // it exits: H1's exit wait returns 0
  settle();
  rec();
  op(w.a2, [&] { r[8] = w.k().kthread_reap(w.h2, p); });
  Stepper st2(w.b());
  op(w.a1, [&] { w.k().kproc_start(w.h1, st2.body(), "kp", &q); r[9] = q != nullptr; });
  op(w.a2, [&] { w.k().kproc_shutdown(w.h2, q, 0); r[10] = 1; });        // blocks until acknowledged
  st2.grant();
  settle();
  rec();
  op(w.a1, [&] { r[11] = w.k().kthread_resume(w.h1, q); });
  st2.tell_exit(0);
  settle();
  rec();
  log.push_back(injected > 0 ? "injected" : "none injected");
  // st2's kthread has exited: nothing uses st2 after this scope.
  return log;
}

TEST(SpuriousWakeup, CorrectKernelSurvivesSpuriousWakeupsAtEveryWait) {
  std::vector<std::string> plain = wait_story(std::nullopt);
  ASSERT_EQ(plain.back(), "none injected");
  plain.pop_back();
  int with_injections = 0;
  for (unsigned seed = 1; seed <= 60; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::vector<std::string> got = wait_story(seed);
    with_injections += got.back() == "injected";
    got.pop_back();
    ASSERT_EQ(got, plain);
  }
  EXPECT_GT(with_injections, 30);
}

// ---- threads stopped holding locks -------------------------------------------------------------------

// H1 is stopped inside rfork, holding the process table lock: the checker's query says so, the
// snapshot fails fast (std::logic_error, never a hang), and once H1 moves on both work again.
TEST(StoppedHolder, SnapshotFailsFastAndTheQueryTellsWhen) {
  RaceWorld w({});
  EXPECT_FALSE(w.b().any_stopped_holding_locks());
  w.a1.post([&] { w.k().rfork(w.h1, 0); });
  ASSERT_TRUE(run_until(w.b(), w.a1.id(), at(P::lock, "proc1.lock")));  // proctable_lock held
  EXPECT_EQ(w.b().thread(w.a1.id())->held, 1);
  EXPECT_TRUE(w.b().any_stopped_holding_locks());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(w.k().snapshot(), std::logic_error);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  ASSERT_TRUE(finished(run_job_thread(w.b(), w.a1), w.a1));
  EXPECT_FALSE(w.b().any_stopped_holding_locks());
  EXPECT_EQ(w.k().snapshot().host(w.h1.id())->current_pid, 2);
}

// A kthread stopped holding its process lock (inside kthread_suspend_check) and the table lock
// (inside kthread_exit) make the snapshot fail fast the same way.
TEST(StoppedHolder, KthreadHoldingItsLocks) {
  RaceWorld w({});
  ::proc* p = w.create_kthread();
  w.st.tell_exit(0);
  ASSERT_TRUE(run_until(w.b(), w.kt, at(P::lock, "proc2.lock")));  // in kthread_exit, under the table lock
  EXPECT_EQ(w.b().thread(w.kt)->held, 1);
  EXPECT_THROW(w.k().snapshot(), std::logic_error);
  ASSERT_TRUE(run_until(w.b(), w.kt, at(P::notify, "kthread2.exit")));  // both locks
  EXPECT_EQ(w.b().thread(w.kt)->held, 2);
  EXPECT_THROW(w.k().snapshot(), std::logic_error);
  EXPECT_EQ(run_to_block(w.b(), w.kt).stop, CB::Stop::exited);
  EXPECT_EQ(w.k().snapshot().proc(2)->kthread->state, KthreadState::zombie);
  (void)p;
}

// Teardown while threads are stopped inside critical sections ends every thread: the world's
// destructor returns (a hang would time the test out). Variant 0: H1 stopped in rfork holding the
// table lock. 1: also H2 blocked on that lock (in kthread_resume). 2: H2 blocked in kthread_suspend,
// and the kthread stopped inside kthread_suspend_check, holding its process lock, about to wake H2.
TEST(StoppedHolder, TeardownEndsEveryThread) {
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant);
    auto w = std::make_unique<RaceWorld>(FaultSet{});
    ::proc* p = w->create_kthread();
    if (variant == 2) {
      w->a2.post([&, p] { w->k().kthread_suspend(w->h2, p, 0); });
      EXPECT_EQ(run_to_block(w->b(), w->a2.id()).thread.object, "kthread2.suspend_ack");
      w->st.grant();
      ASSERT_TRUE(run_until(w->b(), w->kt, at(P::notify, "kthread2.suspend_ack")));
      EXPECT_EQ(w->b().thread(w->kt)->held, 1);
    }
    w->a1.post([&] { w->k().rfork(w->h1, 0); });
    ASSERT_TRUE(run_until(w->b(), w->a1.id(), at(P::lock, "proc1.lock")));
    if (variant == 1) {
      w->a2.post([&, p] { w->k().kthread_resume(w->h2, p); });
      EXPECT_EQ(run_to_block(w->b(), w->a2.id()).thread.object, "proctable_lock");
    }
    EXPECT_TRUE(w->b().any_stopped_holding_locks());
    const auto t0 = std::chrono::steady_clock::now();
    w.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  }
}

}  // namespace
