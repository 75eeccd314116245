// Why each annotation sits where it does (each was reproduced failing without it, see DESIGN.md):
//  - boost's ~fiber of a suspended fiber switches into it unannotated (forced_unwind): never used;
//    a fiber that never ran is cancelled through an annotated resume instead;
//  - boost's exit path writes into the dying fiber's frames after the last annotation, so the switch
//    out of a finished fiber keeps its ASan fake stack, and the control side drops it afterwards;
//  - the fiber constructor jumps into the new stack and back unannotated: it runs inside a
//    pseudo-switch, so no frame of the new stack lands in the creator's fake stack;
//  - the C++ runtime's exception globals are per OS thread: each side keeps its own.
#include "fiber.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <utility>
#include <vector>

#include <boost/context/protected_fixedsize_stack.hpp>

// GCC says __SANITIZE_*__, clang __has_feature (the fuzz targets are built with clang).
#if defined(__SANITIZE_ADDRESS__)
#define LOCKSTEP_FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOCKSTEP_FIBER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define LOCKSTEP_FIBER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LOCKSTEP_FIBER_TSAN 1
#endif
#endif
#ifdef LOCKSTEP_FIBER_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#endif
#ifdef LOCKSTEP_FIBER_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace lockstep::impl::sync::detail {

namespace ctx = boost::context;

namespace {

// The fiber running on this OS thread. Read and written through a function the compiler cannot
// fold: after a take_over() the control context runs on another OS thread, and a thread-local's
// address kept from before the switch would name the old thread's slot.
__attribute__((noinline)) Fiber*& current_slot() {
  static thread_local Fiber* current = nullptr;
  asm volatile("" ::: "memory");
  return current;
}

void start_switch(SwitchSide& from, const SwitchSide& to) {
  auto* g = reinterpret_cast<SwitchSide::Eh*>(abi::__cxa_get_globals());
  from.eh = *g;
  *g = to.eh;
#ifdef LOCKSTEP_FIBER_ASAN
  __sanitizer_start_switch_fiber(&from.fake, to.bottom, to.size);
#endif
#ifdef LOCKSTEP_FIBER_TSAN
  __tsan_switch_to_fiber(to.tsan, 0);
#endif
}

void finish_switch(SwitchSide& self, SwitchSide* prev) {
#ifdef LOCKSTEP_FIBER_ASAN
  const void* bottom = nullptr;
  std::size_t size = 0;
  __sanitizer_finish_switch_fiber(self.fake, &bottom, &size);
  if (prev != nullptr) {
    prev->bottom = bottom;
    prev->size = size;
  }
#else
  (void)self;
  (void)prev;
#endif
}

// From the control context, once `dead` has finished: only a switch can destroy a fake stack, so
// a pseudo-switch that stays on this stack does.
void drop_fake_stack(SwitchSide& dead, const SwitchSide& here) {
#ifdef LOCKSTEP_FIBER_ASAN
  if (dead.fake == nullptr) return;
  void* mine = nullptr;
  __sanitizer_start_switch_fiber(&mine, here.bottom, here.size);
  __sanitizer_finish_switch_fiber(dead.fake, nullptr, nullptr);
  __sanitizer_start_switch_fiber(nullptr, here.bottom, here.size);
  __sanitizer_finish_switch_fiber(mine, nullptr, nullptr);
  dead.fake = nullptr;
#else
  (void)dead;
  (void)here;
#endif
}

template <class F>
void creating_fiber(F&& make) {
#ifdef LOCKSTEP_FIBER_ASAN
  void* save = nullptr;
  const void* bottom = nullptr;
  std::size_t size = 0;
  __sanitizer_start_switch_fiber(&save, nullptr, 0);  // only to learn this stack's bounds
  __sanitizer_finish_switch_fiber(save, &bottom, &size);
  __sanitizer_start_switch_fiber(&save, bottom, size);  // "to" this very stack: no fake frames meanwhile
  make();
  __sanitizer_finish_switch_fiber(save, nullptr, nullptr);
#else
  make();
#endif
}

// Contexts that must never be resumed nor destroyed (a parked watchdog's stack): kept reachable.
std::mutex graveyard_mu;
std::vector<ctx::fiber>* graveyard = new std::vector<ctx::fiber>;

void bury(ctx::fiber&& f) {
  std::lock_guard g(graveyard_mu);
  graveyard->push_back(std::move(f));
}

}  // namespace

// Stacks of finished fibers, kept for the next ones: a fresh stack costs an mmap, an mprotect and
// a page fault per page touched, more than the fiber's whole life in a short program.
class StackPool {
 public:
  static StackPool& get() {
    static StackPool* p = new StackPool;  // never destroyed: fibers may end during static destruction
    return *p;
  }
  bool take(std::size_t size, ctx::stack_context& out) {
    std::lock_guard g(m_);
    for (std::size_t i = 0; i < free_.size(); ++i)
      if (free_[i].size == size) {
        out = free_[i];
        free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
        return true;
      }
    return false;
  }
  bool give(const ctx::stack_context& sc) {
    std::lock_guard g(m_);
    if (free_.size() >= kMax) return false;
    free_.push_back(sc);
    return true;
  }

 private:
  static constexpr std::size_t kMax = 64;
  std::mutex m_;
  std::vector<ctx::stack_context> free_;
};

// What protected_fixedsize_stack maps for `bytes`: whole pages and the guard page.
std::size_t mapped_size(std::size_t bytes) {
  const std::size_t page = ctx::stack_traits::page_size();
  return ((bytes + page - 1) / page + 1) * page;
}

// protected_fixedsize_stack: a guard page below the stack, so an overflow faults; it also tells
// ASan the usable bounds.
struct Fiber::Stack {
  Fiber* f;
  ctx::protected_fixedsize_stack inner;
  ctx::stack_context allocate() {
    ctx::stack_context sc;
    if (!StackPool::get().take(inner_size(), sc)) sc = inner.allocate();
#ifdef LOCKSTEP_FIBER_ASAN
    // LeakSanitizer scans threads' stacks, not these: a fiber blocked for good may hold the only
    // pointer to what it allocated, as a blocked OS thread would.
    const std::size_t guard = ctx::stack_traits::page_size();  // PROT_NONE: never scanned
    __lsan_register_root_region(static_cast<char*>(sc.sp) - sc.size + guard, sc.size - guard);
#endif
    const std::size_t page = ctx::stack_traits::page_size();
    f->me_.bottom = static_cast<char*>(sc.sp) - sc.size + page;
    f->me_.size = sc.size - page;
    return sc;
  }
  void deallocate(ctx::stack_context& sc) noexcept {
#ifdef LOCKSTEP_FIBER_ASAN
    // Frames that never returned leave poisoned redzones behind: clean before the pages are reused.
    const std::size_t page = ctx::stack_traits::page_size();
    __asan_unpoison_memory_region(static_cast<char*>(sc.sp) - sc.size + page, sc.size - page);
    __lsan_unregister_root_region(static_cast<char*>(sc.sp) - sc.size + page, sc.size - page);
#endif
    if (!StackPool::get().give(sc)) inner.deallocate(sc);
  }
  // The size protected_fixedsize_stack allocates for this request (the guard page included).
  std::size_t inner_size() const { return size_; }
  std::size_t size_;
};

Fiber::Fiber(std::function<void()> body, std::size_t stack_bytes) : body_(std::move(body)) {
#ifdef LOCKSTEP_FIBER_TSAN
  me_.tsan = __tsan_create_fiber(0);
#endif
  creating_fiber([&] {
    self_ = ctx::fiber(std::allocator_arg, Stack{this, ctx::protected_fixedsize_stack(stack_bytes), mapped_size(stack_bytes)},
                       [this](ctx::fiber&& c) { return entry(std::move(c)); });
  });
}

Fiber::~Fiber() {
  if (self_ && !started_) {
    cancel_ = true;
    resume();
  }
  if (self_) bury(std::move(self_));  // suspended in its body: its frames stay as they are
#ifdef LOCKSTEP_FIBER_TSAN
  if (finished_) __tsan_destroy_fiber(me_.tsan);
#endif
}

Fiber* Fiber::current() { return current_slot(); }

Fiber::Back Fiber::resume() {
  if (!self_) return Back::finished;
  {
    std::lock_guard g(phase_mu_);
    phase_ = Phase::entering;
    ++resumes_;
  }
  started_ = true;
#ifdef LOCKSTEP_FIBER_TSAN
  ctl_.tsan = __tsan_get_current_fiber();
#endif
  Fiber* const outer = std::exchange(current_slot(), this);
  start_switch(ctl_, me_);
  ctx::fiber from = std::move(self_).resume();
  finish_switch(ctl_, nullptr);
  current_slot() = outer;
  std::lock_guard g(phase_mu_);
  if (phase_ == Phase::abandoned) {
    bury(std::move(from));  // the watchdog thread's own stack, parked for good
    return Back::abandoned;
  }
  phase_ = Phase::idle;
  self_ = std::move(from);
  if (self_) return Back::suspended;
  finished_ = true;
  drop_fake_stack(me_, ctl_);
  return Back::finished;
}

void Fiber::arrived() {
  finish_switch(me_, &ctl_);
  std::lock_guard g(phase_mu_);
  phase_ = Phase::running;
}

void Fiber::leave() {
  {
    std::unique_lock g(phase_mu_);
    // The control context went on without this fiber (take_over): it has nowhere to go back to.
    if (phase_ == Phase::abandoned) never_.wait(g, [] { return false; });
    phase_ = Phase::returning;
  }
  start_switch(me_, ctl_);
}

void Fiber::suspend() {
  Fiber* f = current_slot();
  f->leave();
  f->caller_ = std::move(f->caller_).resume();
  f->arrived();
}

ctx::fiber Fiber::entry(ctx::fiber&& caller) {
  caller_ = std::move(caller);
  arrived();
  if (!cancel_) {
    try {
      body_();
    } catch (...) {
      error = std::current_exception();
    }
  }
  leave();  // its fake stack is dropped by resume(): boost writes into these frames after the switch
  return std::move(caller_);
}

bool Fiber::take_over(std::uint64_t resume_no) {
  std::unique_lock g(phase_mu_);
  if (phase_ != Phase::running || resumes_ != resume_no) return false;
  phase_ = Phase::abandoned;
  ctx::fiber control = std::move(caller_);
  g.unlock();
  SwitchSide here;
#ifdef LOCKSTEP_FIBER_TSAN
  here.tsan = __tsan_get_current_fiber();
#endif
  start_switch(here, ctl_);
  std::move(control).resume();
  std::abort();  // nothing resumes a parked watchdog
}

}  // namespace lockstep::impl::sync::detail
