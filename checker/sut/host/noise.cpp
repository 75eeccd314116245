// The SUT's pthread synchronisation, seen from lockstep-sut-host (noise.hpp says why).
//
// No function-local statics and no allocation here: these run inside every lock of the process,
// before main and inside the C++ runtime's own guards, where either could recurse.
#include "noise.hpp"

#include "host_env.hpp"
#include "next_symbol.hpp"
#include "serial.hpp"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstring>

namespace lockstep::checker::sut {
namespace {

// Thresholds as fractions of 2^64 (0: never); written once before any thread starts.
std::uint64_t g_delay_threshold = 0, g_spurious_threshold = 0;
int g_max_delay_us = 200;
std::uint64_t g_seed = 1;
std::atomic<std::uint64_t> g_threads{0};

thread_local bool tl_quiet = false;
thread_local bool tl_seeded = false;
thread_local std::uint64_t tl_rng = 0;

std::uint64_t next_random() {
  if (!tl_seeded) {
    tl_rng = g_seed * 0x9E3779B97F4A7C15ULL + g_threads.fetch_add(1, std::memory_order_relaxed) + 1;
    tl_seeded = true;
  }
  // splitmix64
  std::uint64_t z = (tl_rng += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// A participant of serial scheduling is never delayed: the host switches it out instead.
bool noisy() { return g_delay_threshold != 0 && !tl_quiet && !serial_scheduled(); }

void maybe_delay() {
  if (!noisy() || next_random() >= g_delay_threshold) return;
  const std::uint64_t r = next_random();
  if ((r & 1) == 0) {
    sched_yield();
    return;
  }
  const timespec nap{0, static_cast<long>(1 + (r >> 1) % static_cast<std::uint64_t>(g_max_delay_us)) * 1000};
  nanosleep(&nap, nullptr);
}

bool spurious_now() { return g_spurious_threshold != 0 && !tl_quiet && next_random() < g_spurious_threshold; }


std::atomic<MutexFn> g_lock{nullptr}, g_unlock{nullptr};
std::atomic<CondFn> g_signal{nullptr}, g_broadcast{nullptr};
std::atomic<WaitFn> g_wait{nullptr};
std::atomic<TimedWaitFn> g_timedwait{nullptr};
std::atomic<ClockWaitFn> g_clockwait{nullptr};

// A spurious wake-up: the mutex dropped, a delay, the mutex taken again, as if notified.
// Under serial scheduling the drop and the retake are the participant's own sync points, so the
// baton may move in between (serial.hpp).
int spurious_wakeup(pthread_mutex_t* m) {
  if (serial_scheduled()) {
    pthread_mutex_unlock(m);
    return pthread_mutex_lock(m);
  }
  real_mutex_unlock(m);
  sched_yield();
  return real_mutex_lock(m);
}

}  // namespace

bool configure_noise_from_env(char* error, unsigned long error_len) {
  double delay = 0, spurious = 0;
  long max_delay_us = g_max_delay_us;
  if (!probability_env("LOCKSTEP_SUT_DELAY_PROB", delay, false, error, error_len) ||
      !probability_env("LOCKSTEP_SUT_SPURIOUS_PROB", spurious, false, error, error_len) ||
      !microseconds_env("LOCKSTEP_SUT_MAX_DELAY_US", max_delay_us, error, error_len))
    return false;
  g_max_delay_us = static_cast<int>(max_delay_us);
  if (const char* v = getenv("LOCKSTEP_DELAY_SEED"); v != nullptr && *v != '\0') g_seed = strtoull(v, nullptr, 10);
  g_delay_threshold = threshold(delay);
  g_spurious_threshold = threshold(spurious);
  return true;
}

void set_quiet(bool quiet) { tl_quiet = quiet; }

int real_mutex_lock(pthread_mutex_t* m) { return next_symbol(g_lock, "pthread_mutex_lock")(m); }
int real_mutex_unlock(pthread_mutex_t* m) { return next_symbol(g_unlock, "pthread_mutex_unlock")(m); }
int real_cond_wait(pthread_cond_t* c, pthread_mutex_t* m) { return next_symbol(g_wait, "pthread_cond_wait")(c, m); }
int real_cond_broadcast(pthread_cond_t* c) { return next_symbol(g_broadcast, "pthread_cond_broadcast")(c); }
int real_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m, const timespec* abstime) {
  return next_symbol(g_timedwait, "pthread_cond_timedwait")(c, m, abstime);
}

}  // namespace lockstep::checker::sut

using namespace lockstep::checker::sut;

// Each: serial scheduling's switch point for a participant (serial.hpp), else noise (a delay).
extern "C" int pthread_mutex_lock(pthread_mutex_t* m) {
  if (serial_scheduled()) return serial_mutex_lock(m);
  maybe_delay();
  return real_mutex_lock(m);
}

extern "C" int pthread_mutex_unlock(pthread_mutex_t* m) {
  const int r = real_mutex_unlock(m);
  serial_mutex_unlocked(m);
  maybe_delay();
  return r;
}

extern "C" int pthread_cond_signal(pthread_cond_t* c) {
  serial_switch_point();
  maybe_delay();
  return next_symbol(g_signal, "pthread_cond_signal")(c);
}

extern "C" int pthread_cond_broadcast(pthread_cond_t* c) {
  serial_switch_point();
  maybe_delay();
  return real_cond_broadcast(c);
}

// A participant's condition wait gives the baton away for the real wait and queues again after it.
extern "C" int pthread_cond_wait(pthread_cond_t* c, pthread_mutex_t* m) {
  if (spurious_now()) return spurious_wakeup(m);
  serial_wait_begins(m);
  const int r = real_cond_wait(c, m);
  serial_wait_ended();
  return r;
}

extern "C" int pthread_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m, const timespec* abstime) {
  if (spurious_now()) return spurious_wakeup(m);
  serial_wait_begins(m);
  const int r = real_cond_timedwait(c, m, abstime);
  serial_wait_ended();
  return r;
}

// std::condition_variable's wait_for / wait_until on the steady clock.
extern "C" int pthread_cond_clockwait(pthread_cond_t* c, pthread_mutex_t* m, clockid_t clock, const timespec* abstime) {
  if (spurious_now()) return spurious_wakeup(m);
  serial_wait_begins(m);
  const int r = next_symbol(g_clockwait, "pthread_cond_clockwait")(c, m, clock, abstime);
  serial_wait_ended();
  return r;
}
