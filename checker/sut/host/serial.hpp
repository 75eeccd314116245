// Serial scheduling of a foreign SUT's calls: one SUT call runs at a time, and the host switches
// between them at the SUT's own sync points.
//
// Free-running threads rarely meet inside a race window: a SUT call that drops its lock between two
// critical sections keeps it dropped for a few hundred nanoseconds, and another host's call must be
// right there to run in between (`stress --sut` missed 8 of 11 race faults in 10 s). The built-in runs
// find them all because a controlled scheduler stops a thread at every lock and lets another run whole
// inside the gap. This is that, from outside a SUT lockstep did not build: lockstep-sut-host already
// defines the SUT's pthread mutex and condition calls (noise.hpp), so at each of them it may hand the
// one baton to another SUT call, and every participant that does not hold the baton waits for it.
//
// Participants are the host's threads while they run a SUT call (host threads H<i> and kthread
// bodies, between taking a request and writing its reply), nothing else: the SUT's own threads (a
// clock, workers) and the host's bookkeeping run free, so serialising never stops the SUT's time.
// What a participant cannot do while it holds the baton is block: so
//   - a mutex another thread holds is taken with trylock; while it is busy the thread gives the baton
//     away and is woken when the mutex is unlocked (through this host's unlock, or as a condition
//     wait releases it), polling when no participant could release it, and every kBlockedPoll in any
//     case (a condition wait's release happens inside the real call, after this host last looked);
//   - a condition wait (timed or not) gives the baton away for the real wait and queues for it again
//     when the wait returns;
//   - a participant that holds the baton for kStallLimit without reaching a sync point (a semaphore, a
//     sleep, a spin on an atomic: a wait this host cannot see) is set free by a watchdog and the baton
//     goes on; it queues again at its next sync point. So a SUT that does not synchronise through
//     pthreads is slowed by at most that limit per stall, never hung.
// At each sync point of the baton's holder (before a lock, after an unlock, before a signal) the baton
// moves to another queued participant with probability LOCKSTEP_SUT_SWITCH_PROB (0.1), chosen at
// random. And after an unlock, with probability LOCKSTEP_SUT_WINDOW_PROB (0.3), the holder opens a
// window: it hands the baton to a queued call, or, when none is queued, stays out for up to
// LOCKSTEP_SUT_WINDOW_US (1000) µs, so that the next call to arrive runs inside the gap between its
// critical sections. Calls arrive every few hundred microseconds through lockstep's pipes, so a
// window is where a split critical section meets a second call.
//
// LOCKSTEP_SUT_SCHEDULE is `serial`, `mixed` or `free` (the host's default). Neither of serial and
// free finds every race sooner: serial puts a whole call inside a lock gap, free threads on two cores
// meet where both must run at once (two forks between one pid lookup and its insert). `mixed`, what
// `lockstep stress --sut` passes unless told otherwise, alternates serial and free phases of 100-500 ms:
// a call that begins in a free phase runs free to its end, and going free sets every participant free. Not reproducible by its seed (LOCKSTEP_DELAY_SEED): which
// participants are queued depends on when requests arrive.
#pragma once

#include <pthread.h>

#include <chrono>

namespace lockstep::checker::sut {

inline constexpr std::chrono::milliseconds kStallLimit{2};
// How often a participant blocked on a SUT mutex looks at it again by itself (serial.cpp,
// wait_turn_blocked): a condition wait releases its mutex where this host cannot see it.
inline constexpr std::chrono::microseconds kBlockedPoll{200};

// Reads LOCKSTEP_SUT_SCHEDULE and LOCKSTEP_SUT_SWITCH_PROB; call once before any thread starts.
// Starts the watchdog when serial. Returns false with `error` set on a bad value.
bool configure_serial_from_env(char* error, unsigned long error_len);

// Around one SUT call on a host thread or kthread body: queue for the baton, give it up.
void serial_enter();
void serial_leave();

// Around a wait the host itself makes inside a SUT call (first_run.hpp): the baton goes on meanwhile.
void serial_step_away();
void serial_come_back();

// The interposed calls (noise.cpp), for the calling thread whoever it is.
bool serial_scheduled();  // a participant, and (mixed mode) in a serial phase
int serial_mutex_lock(pthread_mutex_t* m);
void serial_mutex_unlocked(pthread_mutex_t* m);  // after the real unlock
void serial_switch_point();
void serial_wait_begins(pthread_mutex_t* m);     // before a real condition wait on m
void serial_wait_ended();                        // after it


}  // namespace lockstep::checker::sut
