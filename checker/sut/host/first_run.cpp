// The SUT's pthread_create, seen from lockstep-sut-host (first_run.hpp says why).
#include "first_run.hpp"

#include "next_symbol.hpp"
#include "serial.hpp"

#include <errno.h>
#include <pthread.h>
#include <time.h>

namespace lockstep::checker::sut {
namespace {

thread_local FirstRun* tl_creating = nullptr;

std::atomic<CreateFn> g_create{nullptr};

// Meanwhile the creator gives up serial scheduling's baton (serial.hpp): the other calls go on while
// it waits, and a stall of up to kFirstRunWait is not the SUT's.
void wait_first_run(const FirstRun& run) {
  serial_step_away();
  struct ComeBack {
    ~ComeBack() { serial_come_back(); }
  } come_back;
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
  const CreateFn next = next_symbol(g_create, "pthread_create");
  if (next == nullptr) return EAGAIN;
  const int r = next(thread, attr, start, arg);
  // Only the first thread that starts the body counts; a helper thread the SUT makes first costs
  // one bounded wait.
  if (r == 0 && tl_creating != nullptr && !tl_creating->started.load(std::memory_order_acquire)) wait_first_run(*tl_creating);
  return r;
}
