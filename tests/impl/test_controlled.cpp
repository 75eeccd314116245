// The controlled backend itself: threads run only when scheduled, woken threads wait for the scheduler,
// virtual time moves only by tick(), interleavings are reproducible, and the watchdog bounds run().
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "impl/controlled.hpp"

using namespace lockstep::impl::sync;
using namespace std::chrono_literals;
using CB = ControlledBackend;

namespace {

TEST(Controlled, SpawnedThreadDoesNotRunUntilScheduled) {
  CB b;
  std::atomic<bool> ran{false};
  auto t = b.spawn("a", [&] { ran = true; });
  const auto id = b.threads().back().id;
  EXPECT_EQ(id, 1u);
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(ran.load());
  EXPECT_EQ(b.thread(id)->state, CB::State::runnable);
  EXPECT_EQ(b.thread(id)->reason, CB::Reason::start);
  const auto r = b.run(id);
  EXPECT_EQ(r.stop, CB::Stop::exited);
  EXPECT_TRUE(ran.load());
  t->join();
}

// Two threads appending to a log under a mutex; with a preemption point at every outermost lock the
// control thread chooses the interleaving, and the same choices give the same log.
std::string interleave(const std::vector<int>& script) {
  CB b(CB::Options{.preempt_at_locks = true, .watchdog = 5000ms});
  Mutex m(b, "log");
  std::string log;  // guarded by m
  auto body = [&](char name) {
    return [&, name] {
      for (int i = 0; i < 3; ++i) {
        std::unique_lock l(m);
        log += name;
        log += std::to_string(i);
      }
    };
  };
  auto ta = b.spawn("A", body('A'));
  auto tb = b.spawn("B", body('B'));
  for (int who : script) {
    if (b.thread(who)->state != CB::State::runnable) continue;
    b.run(who);
  }
  b.run_until_quiescent();
  ta->join();
  tb->join();
  return log;
}

TEST(Controlled, InterleavingFollowsTheScript) {
  EXPECT_EQ(interleave({1, 2, 1, 2, 1, 2, 1, 2}), "A0B0A1B1A2B2");
  EXPECT_EQ(interleave({1, 1, 1, 1, 2, 2, 2, 2}), "A0A1A2B0B1B2");
  EXPECT_EQ(interleave({2, 2, 1, 1, 2, 1, 2, 1}), "B0A0B1A1B2A2");
}

TEST(Controlled, SameDecisionsSameOutcome) {
  const std::vector<int> script{1, 2, 2, 1, 1, 2, 1, 2, 2};
  const std::string first = interleave(script);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(interleave(script), first);
}

TEST(Controlled, WokenThreadDoesNotRunUntilScheduled) {
  CB b;
  Mutex m(b, "m");
  CondVar c(b, "c");
  bool flag = false;                 // guarded by m
  std::atomic<bool> after{false};
  auto ta = b.spawn("waiter", [&] {
    std::unique_lock l(m);
    while (!flag) c.wait(l);
    after = true;
  });
  auto tb = b.spawn("waker", [&] {
    std::unique_lock l(m);
    flag = true;
    c.notify_one();
  });
  auto r = b.run(1);
  EXPECT_EQ(r.stop, CB::Stop::blocked);
  EXPECT_EQ(r.thread.reason, CB::Reason::cond);
  EXPECT_EQ(r.thread.object, "c");
  EXPECT_EQ(b.run(2).stop, CB::Stop::exited);
  EXPECT_EQ(b.thread(1)->state, CB::State::runnable);
  EXPECT_EQ(b.thread(1)->reason, CB::Reason::woken);
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(after.load());
  EXPECT_EQ(b.run(1).stop, CB::Stop::exited);
  EXPECT_TRUE(after.load());
  ta->join();
  tb->join();
}

TEST(Controlled, VirtualTimeExpiresTimedWaitsInDeadlineOrder) {
  CB b;
  Mutex m(b, "m");
  CondVar c(b, "c");
  std::vector<WaitStatus> st(4, WaitStatus::notified);
  auto waiter = [&](int i, Ticks deadline) {
    return [&, i, deadline] {
      std::unique_lock l(m);
      st[i] = c.wait_until(l, deadline);
    };
  };
  auto t1 = b.spawn("d10a", waiter(0, 10));
  auto t2 = b.spawn("d5", waiter(1, 5));
  auto t3 = b.spawn("d10b", waiter(2, 10));
  auto t4 = b.spawn("notified", waiter(3, 100));
  for (CB::ThreadId id : {1u, 2u, 3u, 4u}) EXPECT_EQ(b.run(id).stop, CB::Stop::blocked);
  EXPECT_EQ(b.next_deadline(), 5u);
  EXPECT_EQ(b.now(), 0u);
  std::this_thread::sleep_for(10ms);  // real time does not matter
  b.tick(4);
  EXPECT_TRUE(b.runnable().empty());
  b.tick(1);
  EXPECT_EQ(b.runnable(), std::vector<CB::ThreadId>{2});
  b.tick(5);
  EXPECT_EQ(b.runnable(), (std::vector<CB::ThreadId>{2, 1, 3}));  // deadline order, ties by wait start
  EXPECT_EQ(b.thread(1)->reason, CB::Reason::timed_out);
  c.notify_all();  // from the (unregistered) control thread: wakes only the remaining waiter
  EXPECT_EQ(b.thread(4)->reason, CB::Reason::woken);
  b.run_until_quiescent();
  EXPECT_EQ(st[0], WaitStatus::timed_out);
  EXPECT_EQ(st[1], WaitStatus::timed_out);
  EXPECT_EQ(st[2], WaitStatus::timed_out);
  EXPECT_EQ(st[3], WaitStatus::notified);
  for (auto* t : {&t1, &t2, &t3, &t4}) (*t)->join();
}

TEST(Controlled, MutexContentionBlocksAndHandsOver) {
  CB b;
  Mutex m(b, "m"), m2(b, "m2");
  CondVar c(b, "c");
  bool go = false;  // guarded by m2
  std::vector<std::string> order;  // guarded by m
  auto ta = b.spawn("A", [&] {
    std::unique_lock l(m);
    {
      std::unique_lock l2(m2);
      while (!go) c.wait(l2);  // blocks holding m
    }
    order.push_back("A");
  });
  auto tb = b.spawn("B", [&] {
    std::unique_lock l(m);
    order.push_back("B");
  });
  EXPECT_EQ(b.run(1).stop, CB::Stop::blocked);
  auto r = b.run(2);
  EXPECT_EQ(r.stop, CB::Stop::blocked);
  EXPECT_EQ(r.thread.reason, CB::Reason::mutex);
  EXPECT_EQ(r.thread.object, "m");
  EXPECT_TRUE(b.deadlocked());
  {
    std::unique_lock l2(m2);  // the control thread may lock a free mutex
    go = true;
    c.notify_one();
  }
  EXPECT_FALSE(b.deadlocked());
  EXPECT_EQ(b.run(1).stop, CB::Stop::exited);
  EXPECT_EQ(b.thread(2)->reason, CB::Reason::handed_mutex);
  EXPECT_EQ(b.run(2).stop, CB::Stop::exited);
  EXPECT_EQ(order, (std::vector<std::string>{"A", "B"}));
  ta->join();
  tb->join();
}

TEST(Controlled, WatchdogTurnsAHangIntoAReport) {
  CB b;
  std::atomic<bool> release{false};
  auto t = b.spawn("spinner", [&] {
    while (!release.load()) std::this_thread::sleep_for(1ms);  // blocks outside the sync layer
  });
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = b.run(1, 50ms);
  EXPECT_EQ(r.stop, CB::Stop::watchdog);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(b.running(), 1u);
  EXPECT_THROW(b.run(1), std::logic_error);  // still running: no second run
  release = true;
  t->join();
  EXPECT_EQ(b.running(), std::nullopt);
  EXPECT_EQ(b.thread(1)->state, CB::State::exited);
}

TEST(Controlled, UnregisteredThreadThatWouldBlockGetsAnError) {
  CB b;
  Mutex m(b, "m");
  CondVar c(b, "c");
  {
    std::unique_lock l(m);
    EXPECT_THROW(c.wait(l), std::logic_error);
  }
  bool go = false;
  auto t = b.spawn("holder", [&] {
    std::unique_lock l(m);
    while (!go) c.wait(l);
  });
  Mutex other(b, "other");
  auto t2 = b.spawn("holds-other", [&] {
    std::unique_lock l(other);
    std::unique_lock l2(m);  // blocks? no: m is free while holder waits
    go = true;
    c.notify_one();
  });
  EXPECT_EQ(b.run(1).stop, CB::Stop::blocked);
  EXPECT_EQ(b.run(2).stop, CB::Stop::exited);
  b.run_until_quiescent();
  t->join();
  t2->join();
}

TEST(Controlled, ReleaseAllLetsEverythingRun) {
  CB b;
  std::atomic<int> n{0};
  std::vector<std::unique_ptr<ThreadImpl>> ts;
  for (int i = 0; i < 4; ++i) ts.push_back(b.spawn("t" + std::to_string(i), [&] { ++n; }));
  std::this_thread::sleep_for(10ms);
  EXPECT_EQ(n.load(), 0);
  b.release_all();
  for (auto& t : ts) t->join();
  EXPECT_EQ(n.load(), 4);
  EXPECT_TRUE(b.free_running());
}

TEST(Controlled, ExternalBlockOnMutexHeldByStoppedThreadThrows) {
  CB b;
  Mutex held(b, "held");
  Mutex m2(b, "m2");
  CondVar c(b, "c");
  bool go = false;  // guarded by m2
  auto t = b.spawn("holder", [&] {
    std::unique_lock l(held);
    std::unique_lock l2(m2);
    while (!go) c.wait(l2);
  });
  EXPECT_EQ(b.run(1).stop, CB::Stop::blocked);
  EXPECT_THROW(held.lock(), std::logic_error);
  {
    std::unique_lock l2(m2);
    go = true;
    c.notify_one();
  }
  EXPECT_EQ(b.run(1).stop, CB::Stop::exited);
  held.lock();  // free now
  held.unlock();
  t->join();
}

}  // namespace
