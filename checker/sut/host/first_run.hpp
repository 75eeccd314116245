// SPEC K1 from outside a SUT: "*newp is set before the new thread runs its first instruction".
//
// A SUT that stores *newp after starting the thread is wrong only when the new thread runs first,
// which on a free machine it rarely does (the creator goes on for a microsecond, the new thread
// needs tens to start). So lockstep-sut-host takes the SUT's pthread_create (first_run.cpp defines
// it; the dynamic linker binds the SUT's calls to the executable's definition first) and, during a
// kthread_create or kproc_start it runs, lets the new thread run first: the creator waits, for at
// most kFirstRunWait, until the kthread body the host supplied has started and read *newp. A SUT
// that sets *newp before starting the thread (a happens-before the host relies on) is never slowed
// by more than the new thread's start.
#pragma once

#include <atomic>
#include <chrono>

namespace lockstep::checker::sut {

inline constexpr std::chrono::milliseconds kFirstRunWait{20};

// What a kthread body reports of its first instruction.
struct FirstRun {
  std::atomic<bool> started{false};
  void* newp_seen = nullptr;  // *newp as the body read it first thing (written before `started`)
};

// The creation the calling thread is inside (nullptr outside one): set around the SUT's
// kthread_create / kproc_start, read by the pthread_create wrapper.
void set_creating(FirstRun* run);

}  // namespace lockstep::checker::sut
