// Serial scheduling of a foreign SUT's calls (serial.hpp says why and how).
//
// One host mutex (g_m) guards the baton and every participant's state; participants wait for the
// baton on one condition (g_turn), broadcast at each hand-over: there are at most a few dozen.
// Everything here uses the real pthread calls (next_symbol.hpp), never the interposed ones, and
// allocates nothing: it runs inside the SUT's locks.
#include "serial.hpp"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <atomic>
#include <cstdio>

#include "host_env.hpp"
#include "next_symbol.hpp"

namespace lockstep::checker::sut {
namespace {

constexpr int kSlots = 128;
constexpr int kNone = -1;

enum class St : std::uint8_t {
  Free,     // slot unused
  Queued,   // wants the baton
  Holding,  // has it
  Blocked,  // wants a busy mutex (on): queued again when it is unlocked
  Away,     // runs without the baton: in a real wait, or set free by the watchdog
};

struct Slot {
  St st = St::Free;
  pthread_mutex_t* on = nullptr;
};

bool g_enabled = false;  // serial or mixed
bool g_mixed = false;
std::atomic<bool> g_serial_phase{true};  // in mixed mode, whether this phase is serial (written under g_m)
std::uint64_t g_switch_threshold = 0;  // fraction of 2^64
std::uint64_t g_window_threshold = 0;  // fraction of 2^64
long long g_window_ns = 1'000'000;
pthread_mutex_t g_m = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t g_turn = PTHREAD_COND_INITIALIZER;
Slot g_slot[kSlots];
int g_holder = kNone;
long long g_held_since_ns = 0;  // when the holder got the baton or last reached a sync point
std::uint64_t g_rng = 1;
std::atomic<int> g_blocked{0};  // Blocked slots: an unlock looks at the slots only when there are some
thread_local int tl_slot = kNone;

long long now_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1'000'000'000LL + t.tv_nsec;
}

// The instant `ns` from now on g_turn's clock (CLOCK_REALTIME, a condition's default), for its
// timed waits.
timespec turn_clock_in(long long ns) {
  timespec t{};
  clock_gettime(CLOCK_REALTIME, &t);
  const long long end = t.tv_sec * 1'000'000'000LL + t.tv_nsec + ns;
  return timespec{static_cast<time_t>(end / 1'000'000'000LL), static_cast<long>(end % 1'000'000'000LL)};
}

std::uint64_t next_random() {  // splitmix64, under g_m
  std::uint64_t z = (g_rng += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

struct Guard {
  Guard() { real_mutex_lock(&g_m); }
  ~Guard() { real_mutex_unlock(&g_m); }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
};

// A queued slot other than `except`, at random (kNone: none). Under g_m.
int pick(int except) {
  int n = 0;
  for (int i = 0; i < kSlots; ++i) n += i != except && g_slot[i].st == St::Queued ? 1 : 0;
  if (n == 0) return kNone;
  int k = static_cast<int>(next_random() % static_cast<std::uint64_t>(n));
  for (int i = 0; i < kSlots; ++i)
    if (i != except && g_slot[i].st == St::Queued && k-- == 0) return i;
  return kNone;
}

// The baton to `s` (kNone: to nobody, the next to queue takes it). Under g_m.
void grant(int s) {
  g_holder = s;
  if (s != kNone) {
    g_slot[s].st = St::Holding;
    g_held_since_ns = now_ns();
  }
  real_cond_broadcast(&g_turn);
}

// `s` queues; it takes the baton at once if nobody has it. Under g_m.
void queue(int s) {
  if (g_slot[s].st == St::Blocked) g_blocked.fetch_sub(1);
  g_slot[s].st = St::Queued;
  g_slot[s].on = nullptr;
  if (g_holder == kNone) grant(s);
}

// Waits until `s` holds the baton, or until the watchdog set it free (a thread given the baton can
// take longer than kStallLimit to wake on a loaded machine: it then runs free, as a stalled holder
// does, until its next sync point queues it again). Under g_m (released while waiting).
void wait_turn(int s) {
  while (g_holder != s && g_slot[s].st != St::Away) real_cond_wait(&g_turn, &g_m);
}

// Waits, Blocked on a mutex, until `s` holds the baton (or was set free). The unlock of that mutex
// through this host queues `s` again; but a condition wait releases its mutex inside the real call,
// after serial_wait_begins looked for the slots blocked on it, and no hook sees that release. A slot
// that became Blocked in between (its second try still found the mutex held) would wait for an
// unlock that never comes, the baton passing among the others, and its call would look deadlocked:
// so a Blocked slot queues itself again every kBlockedPoll, and tries the mutex once it has the
// baton. Under g_m (released while waiting).
void wait_turn_blocked(int s) {
  while (g_holder != s && g_slot[s].st != St::Away) {
    const timespec until = turn_clock_in(std::chrono::nanoseconds(kBlockedPoll).count());
    if (real_cond_timedwait(&g_turn, &g_m, &until) == ETIMEDOUT && g_slot[s].st == St::Blocked) queue(s);
  }
}

// The holder `s` lets the baton go on (to a queued participant, or nobody). Under g_m.
void pass_on(int s) {
  if (g_holder == s) grant(pick(s));
}

// The holder `s` hands the baton to `other` and queues for it again. Under g_m.
void hand_over(int s, int other) {
  g_slot[s].st = St::Queued;
  grant(other);
  wait_turn(s);
}

// Mutex `m` has been released: the participants blocked on it queue again. Under g_m.
void release_blocked_on(pthread_mutex_t* m) {
  if (g_blocked.load() == 0) return;
  for (int i = 0; i < kSlots; ++i)
    if (g_slot[i].st == St::Blocked && g_slot[i].on == m) queue(i);
}

// The calling participant holds the baton when this returns (queueing for it if it was away), or
// was set free meanwhile.
bool ensure_holding(int s) {
  if (!g_serial_phase.load(std::memory_order_relaxed)) return false;
  if (g_holder == s) return true;
  queue(s);
  wait_turn(s);
  return g_holder == s;
}

// The holder `s` has just dropped a lock. If another call is queued the baton goes to it; else the
// holder stays out for up to g_window_ns, and the first call to arrive meanwhile takes the baton and
// runs inside the gap. Under g_m.
void open_window(int s) {
  if (const int other = pick(s); other != kNone) {
    hand_over(s, other);
    return;
  }
  g_slot[s].st = St::Away;
  grant(kNone);
  const timespec until = turn_clock_in(g_window_ns);
  while (g_holder == kNone)
    if (real_cond_timedwait(&g_turn, &g_m, &until) == ETIMEDOUT) break;
  ensure_holding(s);
}

// Mixed mode's next phase: serial or free, for 100..500 ms. Going free sets every participant free
// (as the watchdog sets a stalled one free) and lets calls enter free; going serial queues them again
// at their next sync point. Under g_m.
void next_phase(long long now, long long& phase_ends) {
  phase_ends = now + static_cast<long long>(100 + next_random() % 401) * 1'000'000LL;
  const bool serial = !g_serial_phase.load(std::memory_order_relaxed);
  g_serial_phase.store(serial, std::memory_order_relaxed);
  if (serial) return;
  for (Slot& slot : g_slot)
    if (slot.st != St::Free) {
      if (slot.st == St::Blocked) g_blocked.fetch_sub(1);
      slot.st = St::Away;
      slot.on = nullptr;
    }
  grant(kNone);
}

void* watchdog(void*) {
  const long long limit = std::chrono::nanoseconds(kStallLimit).count();
  long long phase_ends = now_ns() + 300'000'000LL;
  for (;;) {
    const timespec nap{0, 500'000};
    nanosleep(&nap, nullptr);
    Guard g;
    if (g_mixed && now_ns() >= phase_ends) next_phase(now_ns(), phase_ends);
    if (g_holder == kNone || now_ns() - g_held_since_ns < limit) continue;
    const int next = pick(g_holder);
    if (next == kNone) continue;  // nobody waits for it: let it be
    g_slot[g_holder].st = St::Away;
    grant(next);
  }
  return nullptr;
}

}  // namespace

bool configure_serial_from_env(char* error, unsigned long error_len) {
  const char* mode = getenv("LOCKSTEP_SUT_SCHEDULE");
  if (mode != nullptr && *mode != '\0' && strcmp(mode, "free") != 0 && strcmp(mode, "serial") != 0 && strcmp(mode, "mixed") != 0) {
    snprintf(error, error_len, "LOCKSTEP_SUT_SCHEDULE=%s: expected serial, mixed or free", mode);
    return false;
  }
  double p = 0.1, w = 0.3;
  long window_us = 1000;
  if (!probability_env("LOCKSTEP_SUT_SWITCH_PROB", p, true, error, error_len) ||
      !probability_env("LOCKSTEP_SUT_WINDOW_PROB", w, true, error, error_len) ||
      !microseconds_env("LOCKSTEP_SUT_WINDOW_US", window_us, error, error_len))
    return false;
  g_window_ns = window_us * 1000LL;
  g_window_threshold = threshold(w);
  if (const char* v = getenv("LOCKSTEP_DELAY_SEED"); v != nullptr && *v != '\0') g_rng = strtoull(v, nullptr, 10) * 0x2545F4914F6CDD1DULL + 7;
  g_switch_threshold = threshold(p);
  g_mixed = mode != nullptr && strcmp(mode, "mixed") == 0;
  g_enabled = g_mixed || (mode != nullptr && strcmp(mode, "serial") == 0);
  if (g_enabled) {
    pthread_t t;
    if (pthread_create(&t, nullptr, watchdog, nullptr) != 0) {
      snprintf(error, error_len, "LOCKSTEP_SUT_SCHEDULE=serial: cannot start the watchdog thread");
      return false;
    }
    pthread_detach(t);
  }
  return true;
}

bool serial_scheduled() { return tl_slot != kNone && g_serial_phase.load(std::memory_order_relaxed); }

void serial_enter() {
  if (!g_enabled || tl_slot != kNone) return;
  Guard g;
  if (!g_serial_phase.load(std::memory_order_relaxed)) return;  // a call that begins in a free phase runs free to its end
  for (int i = 0; i < kSlots; ++i)
    if (g_slot[i].st == St::Free) {
      tl_slot = i;
      break;
    }
  if (tl_slot == kNone) return;  // more threads than slots: this one runs free
  queue(tl_slot);
  wait_turn(tl_slot);
}

void serial_leave() {
  if (tl_slot == kNone) return;
  Guard g;
  const int s = tl_slot;
  if (g_slot[s].st == St::Blocked) g_blocked.fetch_sub(1);
  g_slot[s].st = St::Free;
  g_slot[s].on = nullptr;
  if (g_holder == s) grant(pick(s));
  tl_slot = kNone;
}

void serial_step_away() {
  if (tl_slot == kNone) return;
  Guard g;
  g_slot[tl_slot].st = St::Away;
  pass_on(tl_slot);
}

void serial_come_back() {
  if (tl_slot == kNone) return;
  Guard g;
  ensure_holding(tl_slot);
}

void serial_switch_point() {
  if (tl_slot == kNone) return;
  Guard g;
  const int s = tl_slot;
  if (!ensure_holding(s)) return;
  g_held_since_ns = now_ns();
  if (next_random() >= g_switch_threshold) return;
  if (const int other = pick(s); other != kNone) hand_over(s, other);
}

int serial_mutex_lock(pthread_mutex_t* m) {
  serial_switch_point();
  const int s = tl_slot;
  for (;;) {
    const int r = pthread_mutex_trylock(m);
    if (r != EBUSY) return r;
    Guard g;
    if (!ensure_holding(s)) {  // set free: it takes the mutex as a free thread does
      real_mutex_unlock(&g_m);
      const int locked = real_mutex_lock(m);
      real_mutex_lock(&g_m);
      return locked;
    }
    // Blocked first, then try again: an unlock between the failed try and now has either been seen
    // by this try or will find the slot Blocked (serial_mutex_unlocked takes g_m after the real unlock).
    g_slot[s].st = St::Blocked;
    g_slot[s].on = m;
    g_blocked.fetch_add(1);
    if (pthread_mutex_trylock(m) == 0) {
      g_blocked.fetch_sub(1);
      g_slot[s].st = St::Holding;
      g_slot[s].on = nullptr;
      return 0;
    }
    const int other = pick(s);
    if (other != kNone) {
      grant(other);
      wait_turn_blocked(s);
      continue;
    }
    // No participant could unlock it: its owner runs without the baton (away in a wait, set free, or
    // not a participant). Let the baton go, nap, and try again.
    g_blocked.fetch_sub(1);
    g_slot[s].st = St::Away;
    g_slot[s].on = nullptr;
    grant(kNone);
    real_mutex_unlock(&g_m);
    const timespec nap{0, 20'000};
    nanosleep(&nap, nullptr);
    real_mutex_lock(&g_m);
    ensure_holding(s);
  }
}

void serial_mutex_unlocked(pthread_mutex_t* m) {
  if (!g_enabled || (tl_slot == kNone && g_blocked.load() == 0)) return;
  Guard g;
  release_blocked_on(m);
  if (tl_slot == kNone) return;
  const int s = tl_slot;
  if (!ensure_holding(s)) return;
  g_held_since_ns = now_ns();
  if (next_random() < g_window_threshold) {
    open_window(s);
    return;
  }
  if (next_random() >= g_switch_threshold) return;
  if (const int other = pick(s); other != kNone) hand_over(s, other);
}

void serial_wait_begins(pthread_mutex_t* m) {
  if (!g_enabled) return;
  Guard g;
  // The real wait releases m without this host's unlock: whoever is blocked on it may try again.
  release_blocked_on(m);
  if (tl_slot == kNone) return;
  g_slot[tl_slot].st = St::Away;
  pass_on(tl_slot);
}

void serial_wait_ended() { serial_come_back(); }

}  // namespace lockstep::checker::sut
