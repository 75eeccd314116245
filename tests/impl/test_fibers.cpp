// What fiber mode of the controlled backend must keep that OS threads gave for free: a spin that
// never reaches a scheduling point ends in a watchdog stop (the control continues on another OS
// thread), each fiber has its own thread_slot() and its own C++ exception state, and a stack
// overflow faults on the guard page instead of writing over another fiber's stack.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>

#include "impl/controlled.hpp"

using namespace lockstep::impl::sync;
using namespace std::chrono_literals;
using CB = ControlledBackend;

namespace {


CB::Options fibers(std::chrono::milliseconds watchdog = 5000ms) {
  CB::Options o;
  o.watchdog = watchdog;
  o.preempt = CB::Preempt::every_sync_point;
  o.fibers = true;
  return o;
}

TEST(Fibers, ASpinWithoutSchedulingPointsEndsInAWatchdogStop) {
  CB b(fibers(100ms));
  std::atomic<bool> release{false};
  std::atomic<unsigned long> spins{0};
  auto t = b.spawn("spinner", [&] {
    while (!release.load(std::memory_order_relaxed)) spins.fetch_add(1, std::memory_order_relaxed);  // no sync call at all
  });
  const auto t0 = std::chrono::steady_clock::now();
  const CB::RunResult r = b.run(1);
  EXPECT_EQ(r.stop, CB::Stop::watchdog);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_GT(spins.load(), 0u);
  EXPECT_EQ(b.running(), 1u);
  EXPECT_THROW(b.run(1), std::logic_error);
  // The runaway kept its OS thread and finishes there once released; a join waits for it.
  release = true;
  t->join();
  EXPECT_EQ(b.thread(1)->state, CB::State::exited);
}

TEST(Fibers, EachFiberHasItsOwnThreadSlot) {
  CB b(fibers());
  int a_value = 1, b_value = 2;
  const void* a_saw = nullptr;
  const void* b_saw = nullptr;
  auto ta = b.spawn("a", [&] {
    thread_slot() = &a_value;
    b.yield_point("between");
    a_saw = thread_slot();
  });
  auto tb = b.spawn("b", [&] {
    thread_slot() = &b_value;
    b.yield_point("between");
    b_saw = thread_slot();
  });
  EXPECT_EQ(b.run(1).stop, CB::Stop::preempted);
  EXPECT_EQ(b.run(2).stop, CB::Stop::preempted);
  EXPECT_EQ(thread_slot(), nullptr) << "the control thread's slot is its own";
  EXPECT_EQ(b.run(1).stop, CB::Stop::exited);
  EXPECT_EQ(b.run(2).stop, CB::Stop::exited);
  EXPECT_EQ(a_saw, &a_value);
  EXPECT_EQ(b_saw, &b_value);
  ta->join();
  tb->join();
}

// A fiber stopped inside a catch handler while another throws and catches: each keeps its own
// exception in flight (the C++ runtime keeps it per OS thread).
TEST(Fibers, EachFiberKeepsItsOwnExceptionInFlight) {
  CB b(fibers());
  bool a_still_has_it = false, b_caught = false;
  auto ta = b.spawn("a", [&] {
    try {
      throw std::runtime_error("a's");
    } catch (const std::exception&) {
      b.yield_point("in a's handler");
      try {
        throw;  // rethrows a's own exception, not b's
      } catch (const std::runtime_error& e) {
        a_still_has_it = std::string(e.what()) == "a's";
      }
    }
  });
  auto tb = b.spawn("b", [&] {
    try {
      throw std::logic_error("b's");
    } catch (const std::logic_error&) {
      b.yield_point("in b's handler");
      b_caught = std::uncaught_exceptions() == 0;
    }
  });
  EXPECT_EQ(b.run(1).stop, CB::Stop::preempted);
  EXPECT_EQ(b.run(2).stop, CB::Stop::preempted);
  EXPECT_EQ(b.run(1).stop, CB::Stop::exited);
  EXPECT_EQ(b.run(2).stop, CB::Stop::exited);
  EXPECT_TRUE(a_still_has_it);
  EXPECT_TRUE(b_caught);
  ta->join();
  tb->join();
}

__attribute__((noinline)) int deep(int n) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(n);
  return n == 0 ? frame[0] : deep(n - 1) + frame[0];
}

TEST(FibersDeathTest, AStackOverflowFaultsOnTheGuardPage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        CB::Options o = fibers();
        o.fiber_stack = 64 * 1024;
        CB b(o);
        auto t = b.spawn("deep", [] { (void)deep(1 << 20); });
        b.run(1);
      },
      "");
}

// Free running after release_all(): fibers that can run finish without anyone calling run().
TEST(Fibers, AfterReleaseAllTheFibersRunByThemselves) {
  CB b(fibers());
  Mutex m(b, "m");
  CondVar c(b, "c");
  bool go = false;
  int done = 0;
  std::vector<std::unique_ptr<ThreadImpl>> ts;
  for (int i = 0; i < 3; ++i)
    ts.push_back(b.spawn("w" + std::to_string(i), [&] {
      std::unique_lock l(m);
      while (!go) c.wait(l);
      ++done;
    }));
  for (CB::ThreadId id = 1; id <= 3; ++id) {
    CB::Stop s = CB::Stop::preempted;
    while (s == CB::Stop::preempted) s = b.run(id).stop;  // stopped at sync points on the way
    EXPECT_EQ(s, CB::Stop::blocked);
  }
  b.release_all();
  {
    std::unique_lock l(m);
    go = true;
    c.notify_all();
  }
  for (auto& t : ts) t->join();
  EXPECT_EQ(done, 3);
}

// A fiber that comes back just as the watchdog fires, and whose backend is freed right after: the
// watchdog either takes the control over (the run ends in a watchdog stop) or lets it be, and never
// touches the freed fiber. The sanitizer presets turn a touch into a report (a CI run caught one:
// the claim came after the watchdog had let go of its lock, while it started its successor thread).
// The spin lengths sweep across the watchdog's 5 ms polling period, so some end inside that window.
TEST(Fibers, AFiberBackAtTheWatchdogsDeadlineIsNeverTouchedAfterItsBackendIsGone) {
  int stops[2] = {0, 0};
  for (int i = 0; i < 240; ++i) {
    const auto spin = std::chrono::microseconds(800 + 50 * i);
    CB b(fibers(1ms));
    auto t = b.spawn("spinner", [spin] {
      const auto until = std::chrono::steady_clock::now() + spin;
      while (std::chrono::steady_clock::now() < until) {
      }
    });
    const CB::Stop s = b.run(1).stop;
    ASSERT_TRUE(s == CB::Stop::exited || s == CB::Stop::watchdog) << static_cast<int>(s);
    ++stops[s == CB::Stop::watchdog];
    t->join();  // a runaway ends by itself on its old thread
  }
  // Both outcomes happened, so the sweep did reach the deadline from both sides.
  EXPECT_GT(stops[0], 0);
  EXPECT_GT(stops[1], 0);
}

}  // namespace
