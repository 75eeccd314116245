// sync::Mutex::held() under both backends, and the lock assertions built on it (impl/assert.hpp):
// a `*_locked` function entered without its lock aborts, naming the lock and the place, in builds where
// the assertions are on (Debug, sanitizers, LOCKSTEP_LOCK_ASSERTS=ON); elsewhere they compile to nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "impl/assert.hpp"
#include "impl/controlled.hpp"
#include "impl/sync.hpp"
// Kernel-private, for one real `*_locked` function (FdTable::lowest_free_locked) that needs no Kernel.
#include "../../impl/src/kernel_internal.hpp"

using namespace lockstep::impl;
using namespace std::chrono_literals;
using CB = sync::ControlledBackend;

namespace {

// What another OS thread sees.
bool held_elsewhere(const sync::Mutex& m) {
  bool r = true;
  std::thread([&] { r = m.held(); }).join();
  return r;
}

// ---- held(), real backend ---------------------------------------------------------------------------

TEST(MutexHeld, RealOwnerOnly) {
  auto b = sync::make_real_backend();
  sync::Mutex m(*b, "m");
  EXPECT_EQ(m.name(), "m");
  EXPECT_FALSE(m.held());
  {
    std::unique_lock l(m);
    EXPECT_TRUE(m.held());
    EXPECT_FALSE(held_elsewhere(m));
  }
  EXPECT_FALSE(m.held());
  EXPECT_FALSE(held_elsewhere(m));
}

TEST(MutexHeld, RealAnotherThreadOwns) {
  auto b = sync::make_real_backend();
  sync::Mutex m(*b, "m");
  std::atomic<int> phase{0};
  bool inside = false;
  std::thread t([&] {
    std::unique_lock l(m);
    inside = m.held();
    phase = 1;
    while (phase.load() != 2) std::this_thread::yield();
  });
  while (phase.load() != 1) std::this_thread::yield();
  EXPECT_FALSE(m.held());
  phase = 2;
  t.join();
  EXPECT_TRUE(inside);
  EXPECT_FALSE(m.held());
}

// A condition wait gives the mutex up (another thread then owns it) and takes it back: after the wait
// the waiter owns it again.
TEST(MutexHeld, RealAcrossConditionWait) {
  auto b = sync::make_real_backend();
  sync::Mutex m(*b, "m");
  sync::CondVar cv(*b, "cv");
  bool waiting = false, go = false;  // guarded by m
  bool after_wait = false;
  std::thread t([&] {
    std::unique_lock l(m);
    waiting = true;
    while (!go) cv.wait(l);
    after_wait = m.held();
  });
  for (;;) {
    std::unique_lock l(m);
    if (waiting) {
      EXPECT_TRUE(m.held());  // the waiter gave it up; we own it now
      go = true;
      cv.notify_all();
      break;
    }
  }
  t.join();
  EXPECT_TRUE(after_wait);
  EXPECT_FALSE(m.held());
}

// ---- held(), controlled backend ---------------------------------------------------------------------

// The control thread is unregistered ("external"): it may lock free mutexes and gets a record of its own.
TEST(MutexHeld, ControlledExternalOwnerOnly) {
  CB b;
  sync::Mutex m(b, "m");
  EXPECT_EQ(m.name(), "m");
  EXPECT_FALSE(m.held());  // never touched the backend: no record, not the owner
  {
    std::unique_lock l(m);
    EXPECT_TRUE(m.held());
    EXPECT_FALSE(held_elsewhere(m));
  }
  EXPECT_FALSE(m.held());
}

TEST(MutexHeld, ControlledRegisteredThread) {
  CB b;
  sync::Mutex mine(b, "mine"), theirs(b, "theirs");
  std::unique_lock held_by_control(theirs);
  bool owns_mine = false, owns_theirs = true;
  auto t = b.spawn("T", [&] {
    std::unique_lock l(mine);
    owns_mine = mine.held();
    owns_theirs = theirs.held();
    std::unique_lock l2(theirs);  // blocks: the control thread holds it
  });
  const auto id = b.threads().back().id;
  auto r = b.run(id);
  ASSERT_EQ(r.stop, CB::Stop::blocked);
  EXPECT_EQ(r.thread.object, "theirs");
  EXPECT_TRUE(owns_mine);
  EXPECT_FALSE(owns_theirs);
  EXPECT_FALSE(mine.held());   // T owns it, T is stopped
  EXPECT_TRUE(theirs.held());
  held_by_control.unlock();    // handed over to T
  EXPECT_FALSE(theirs.held());
  r = b.run(id);
  EXPECT_EQ(r.stop, CB::Stop::exited);
  t->join();
  EXPECT_FALSE(mine.held());
}

TEST(MutexHeld, ControlledAcrossConditionWait) {
  CB b;
  sync::Mutex m(b, "m");
  sync::CondVar cv(b, "cv");
  bool go = false;  // guarded by m
  bool after_wait = false;
  auto t = b.spawn("T", [&] {
    std::unique_lock l(m);
    while (!go) cv.wait(l);
    after_wait = m.held();
  });
  const auto id = b.threads().back().id;
  ASSERT_EQ(b.run(id).stop, CB::Stop::blocked);  // in the wait: it gave m up
  {
    std::unique_lock l(m);
    EXPECT_TRUE(m.held());
    go = true;
    cv.notify_all();
  }
  EXPECT_EQ(b.run(id).stop, CB::Stop::exited);
  t->join();
  EXPECT_TRUE(after_wait);
}

// ---- the assertions ---------------------------------------------------------------------------------

class LockAssert : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

std::shared_ptr<sync::Backend> backend(bool controlled) {
  if (controlled) return std::make_shared<CB>();
  return sync::make_real_backend();
}

TEST_F(LockAssert, PassWhenHeld) {
  for (bool controlled : {false, true}) {
    auto b = backend(controlled);
    sync::Mutex m(*b, "proctable_lock");
    std::unique_lock l(m);
    LOCKSTEP_ASSERT_HELD(m);
    LOCKSTEP_ASSERT_HELD_OR(m, false);
    detail::FdTable t(*b, 7);
    std::unique_lock tl(t.lock);
    EXPECT_EQ(t.lowest_free_locked(), 0);
  }
  std::mutex sm;
  std::unique_lock sl(sm);
  LOCKSTEP_ASSERT_GUARDS(sl, sm);
}

TEST_F(LockAssert, ExemptionIsEvaluatedOnlyWithoutTheLock) {
  auto b = sync::make_real_backend();
  sync::Mutex m(*b, "m");
  int evaluated = 0;
  auto exempt = [&] { ++evaluated; return true; };
  LOCKSTEP_ASSERT_HELD_OR(m, exempt());  // not held, exempt: passes
  EXPECT_EQ(evaluated, kLockAssertsEnabled ? 1 : 0);
  std::unique_lock l(m);
  LOCKSTEP_ASSERT_HELD_OR(m, exempt());
  EXPECT_EQ(evaluated, kLockAssertsEnabled ? 1 : 0);
}

TEST_F(LockAssert, DisabledBuildsEvaluateNothing) {
  if (kLockAssertsEnabled) GTEST_SKIP() << "lock assertions are on in this build";
  auto b = sync::make_real_backend();
  sync::Mutex m(*b, "m");
  detail::FdTable t(*b, 7);
  EXPECT_EQ(t.lowest_free_locked(), 0);  // no lock, no check
  LOCKSTEP_ASSERT_HELD(m);
  LOCKSTEP_ASSERT_HELD_OR(m, false);
}

TEST_F(LockAssert, NotHeldAborts) {
  if (!kLockAssertsEnabled) GTEST_SKIP() << "lock assertions are off in this build (not Debug, no sanitizer)";
  for (bool controlled : {false, true}) {
    SCOPED_TRACE(controlled ? "controlled backend" : "real backend");
    auto b = backend(controlled);
    sync::Mutex m(*b, "proctable_lock");
    EXPECT_DEATH(LOCKSTEP_ASSERT_HELD(m),
                 "lock assertion failed: m \\(\"proctable_lock\"\\) is not held by the calling thread at "
                 ".*test_lock_asserts\\.cpp:[0-9]+ in ");
    EXPECT_DEATH(LOCKSTEP_ASSERT_HELD_OR(m, 1 + 1 == 3),
                 "m \\(\"proctable_lock\"\\) is not held by the calling thread and not \\(1 \\+ 1 == 3\\)");
  }
}

// Held by another thread is not held.
TEST_F(LockAssert, HeldByAnotherThreadAborts) {
  if (!kLockAssertsEnabled) GTEST_SKIP() << "lock assertions are off in this build (not Debug, no sanitizer)";
  EXPECT_DEATH(
      {
        auto b = sync::make_real_backend();
        sync::Mutex m(*b, "files_lock");
        std::unique_lock l(m);
        std::thread([&] { LOCKSTEP_ASSERT_HELD(m); }).join();
      },
      "m \\(\"files_lock\"\\) is not held by the calling thread");
}

// A real `*_locked` function of the kernel entered without its lock.
TEST_F(LockAssert, LockedFunctionWithoutItsLockAborts) {
  if (!kLockAssertsEnabled) GTEST_SKIP() << "lock assertions are off in this build (not Debug, no sanitizer)";
  for (bool controlled : {false, true}) {
    SCOPED_TRACE(controlled ? "controlled backend" : "real backend");
    auto b = backend(controlled);
    detail::FdTable t(*b, 7);
    EXPECT_DEATH(t.lowest_free_locked(),
                 "lock assertion failed: lock \\(\"fdtable7\\.lock\"\\) is not held by the calling thread at "
                 ".*kernel_internal\\.hpp:[0-9]+ in lowest_free_locked");
  }
}

TEST_F(LockAssert, GuardOfAnotherMutexAborts) {
  if (!kLockAssertsEnabled) GTEST_SKIP() << "lock assertions are off in this build (not Debug, no sanitizer)";
  std::mutex a, other;
  std::unique_lock l(other);
  EXPECT_DEATH(LOCKSTEP_ASSERT_GUARDS(l, a), "lock assertion failed: a \\(\"std::mutex, through l\"\\) is not held");
  std::unique_lock none(a, std::defer_lock);
  EXPECT_DEATH(LOCKSTEP_ASSERT_GUARDS(none, a), "a \\(\"std::mutex, through none\"\\) is not held");
}

}  // namespace
