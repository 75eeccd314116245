// The SUT's pthread_create, seen from lockstep-sut-host (first_run.hpp says why).
#include "first_run.hpp"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>

namespace lockstep::checker::sut {
namespace {

thread_local FirstRun* tl_creating = nullptr;

using CreateFn = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);

// The next definition after this executable's: libc's, or a sanitizer's interceptor before it.
CreateFn next_create() {
  static const CreateFn next = reinterpret_cast<CreateFn>(dlsym(RTLD_NEXT, "pthread_create"));
  return next;
}

void wait_first_run(const FirstRun& run) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const long long until = now.tv_sec * 1'000'000'000LL + now.tv_nsec +
                          std::chrono::nanoseconds(kFirstRunWait).count();
  while (!run.started.load(std::memory_order_acquire)) {
    const timespec nap{0, 20'000};
    nanosleep(&nap, nullptr);
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec * 1'000'000'000LL + now.tv_nsec >= until) return;  // it waits for something of the creator's
  }
}

}  // namespace

void set_creating(FirstRun* run) { tl_creating = run; }

}  // namespace lockstep::checker::sut

extern "C" int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*), void* arg) {
  using namespace lockstep::checker::sut;
  const CreateFn next = next_create();
  if (next == nullptr) return EAGAIN;
  const int r = next(thread, attr, start, arg);
  // Only the first thread that starts the body counts; a helper thread the SUT makes first costs
  // one bounded wait.
  if (r == 0 && tl_creating != nullptr && !tl_creating->started.load(std::memory_order_acquire)) wait_first_run(*tl_creating);
  return r;
}
