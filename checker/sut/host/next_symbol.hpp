// The next definition of a function this executable interposes (libc's, or a sanitizer's
// interceptor before it), looked up on first use without a guard: two threads that both look it up
// store the same value. No function-local static, whose guard could recurse: the interposed calls run
// inside every lock of the process, before main and inside the C++ runtime's own guards.
#pragma once

#include <dlfcn.h>
#include <pthread.h>
#include <time.h>

#include <atomic>

namespace lockstep::checker::sut {

template <class F>
F next_symbol(std::atomic<F>& slot, const char* name) {
  F f = slot.load(std::memory_order_acquire);
  if (f == nullptr) {
    f = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
    slot.store(f, std::memory_order_release);
  }
  return f;
}

using MutexFn = int (*)(pthread_mutex_t*);
using CondFn = int (*)(pthread_cond_t*);
using WaitFn = int (*)(pthread_cond_t*, pthread_mutex_t*);
using TimedWaitFn = int (*)(pthread_cond_t*, pthread_mutex_t*, const timespec*);
using ClockWaitFn = int (*)(pthread_cond_t*, pthread_mutex_t*, clockid_t, const timespec*);
using CreateFn = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);

// The real calls, for the host's own locks and for the SUT's once noise and scheduling are done.
int real_mutex_lock(pthread_mutex_t* m);
int real_mutex_unlock(pthread_mutex_t* m);
int real_cond_wait(pthread_cond_t* c, pthread_mutex_t* m);
int real_cond_broadcast(pthread_cond_t* c);
int real_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m, const timespec* abstime);

}  // namespace lockstep::checker::sut
