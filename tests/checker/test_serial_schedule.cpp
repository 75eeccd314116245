// The host's serial schedule (checker/sut/host/serial.cpp) on its own: the participants are this
// test's threads, and the real pthread calls it makes for itself are libc's (lockstep-sut-host
// finds them with dlsym; here nothing is interposed, so they are the plain calls).
#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "serial.hpp"

namespace lockstep::checker::sut {
int real_mutex_lock(pthread_mutex_t* m) { return pthread_mutex_lock(m); }
int real_mutex_unlock(pthread_mutex_t* m) { return pthread_mutex_unlock(m); }
int real_cond_wait(pthread_cond_t* c, pthread_mutex_t* m) { return pthread_cond_wait(c, m); }
int real_cond_broadcast(pthread_cond_t* c) { return pthread_cond_broadcast(c); }
int real_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m, const timespec* abstime) { return pthread_cond_timedwait(c, m, abstime); }
}  // namespace lockstep::checker::sut

namespace {

using namespace lockstep::checker::sut;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

timespec realtime_in(std::chrono::nanoseconds d) {
  timespec t{};
  clock_gettime(CLOCK_REALTIME, &t);
  const long long end = t.tv_sec * 1'000'000'000LL + t.tv_nsec + d.count();
  return timespec{static_cast<time_t>(end / 1'000'000'000LL), static_cast<long>(end % 1'000'000'000LL)};
}

void wait_for(const std::atomic<bool>& flag) {
  while (!flag.load()) std::this_thread::sleep_for(100us);
}

// How long B waited for a mutex that A released inside a condition wait, in one trial:
// - A, a participant, holds m and begins a condition wait on it (serial_wait_begins: the baton goes
//   on), but reaches the real wait, which releases m, only 100 ms later;
// - C takes the baton, passes it to B and queues for it again;
// - B tries m (held), becomes Blocked, tries again (still held) and hands the baton to C, the one
//   queued; C ends its call and nobody holds the baton;
// - A's real wait releases m, which no hook of the host sees.
// B must get m soon after; before kBlockedPoll it waited for an unlock through the host, which came
// only when A's wait ended (here after B's trial, up to 2 s later: a call that looked deadlocked).
std::chrono::milliseconds blocked_wait_across_a_condition_wait() {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
  std::atomic<bool> a_waits{false}, b_done{false};
  std::chrono::milliseconds b_waited{-1};
  std::thread a([&] {
    serial_enter();
    EXPECT_EQ(serial_mutex_lock(&m), 0);
    serial_wait_begins(&m);
    a_waits = true;
    std::this_thread::sleep_for(100ms);
    const timespec until = realtime_in(2s);
    while (!b_done.load() && pthread_cond_timedwait(&cv, &m, &until) != ETIMEDOUT) {
    }
    serial_wait_ended();
    pthread_mutex_unlock(&m);
    serial_mutex_unlocked(&m);
    serial_leave();
  });
  wait_for(a_waits);
  std::thread b;
  std::thread c([&] {
    serial_enter();
    b = std::thread([&] {
      serial_enter();
      const auto t0 = Clock::now();
      EXPECT_EQ(serial_mutex_lock(&m), 0);
      b_waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
      b_done = true;
      pthread_mutex_unlock(&m);
      serial_mutex_unlocked(&m);
      serial_leave();
      pthread_cond_broadcast(&cv);
    });
    std::this_thread::sleep_for(1ms);  // B queues meanwhile
    serial_step_away();                // the baton to B
    serial_come_back();                // C queued again, given the baton by B
    serial_leave();
  });
  c.join();
  b.join();
  a.join();
  return b_waited;
}

TEST(SerialSchedule, ACallBlockedOnAMutexGetsItWhenAConditionWaitReleasesIt) {
  setenv("LOCKSTEP_SUT_SCHEDULE", "serial", 1);
  setenv("LOCKSTEP_SUT_SWITCH_PROB", "0", 1);
  setenv("LOCKSTEP_SUT_WINDOW_PROB", "0", 1);
  char error[256] = "";
  ASSERT_TRUE(configure_serial_from_env(error, sizeof error)) << error;
  // The interleaving above is what the sleeps make likely, not certain (the host's watchdog may move
  // the baton first): five trials, each of which must end soon.
  for (int trial = 0; trial < 5; ++trial) {
    const std::chrono::milliseconds waited = blocked_wait_across_a_condition_wait();
    EXPECT_LT(waited, 1000ms) << "trial " << trial << ": B waited " << waited.count() << " ms for a mutex free since A's condition wait began";
    std::printf("trial %d: B waited %lld ms\n", trial, static_cast<long long>(waited.count()));
  }
}

}  // namespace
