// Why each annotation sits where it does (each was reproduced failing without it, see DESIGN.md):
//  - the jump itself is fiber_jump() (uninstrumented, after TSan's switch): see fiber_jump.hpp;
//  - a fiber's last switch hands ASan no fake-stack slot, so ASan frees that fiber's fake stack
//    (nothing runs on the stack after it, and nothing switches back);
//  - a never-started fiber is never entered: its stack is returned unused;
//  - the C++ runtime's exception globals are per OS thread: each side keeps its own.
#include "fiber.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <utility>
#include <vector>

#include <boost/context/protected_fixedsize_stack.hpp>

#include "fiber_jump.hpp"

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

// What a switch to the control context says happened (the `data` of the jump).
char suspended_tag, finished_tag, abandoned_tag;

// The fiber running on this OS thread. Read and written through a function the compiler cannot
// fold: after a take_over() the control context runs on another OS thread, and a thread-local's
// address kept from before the switch would name the old thread's slot.
__attribute__((noinline)) Fiber*& current_slot() {
  static thread_local Fiber* current = nullptr;
  asm volatile("" ::: "memory");
  return current;
}

// `last`: the side switching away never runs again, so ASan frees its fake stack.
void start_switch(SwitchSide& from, const SwitchSide& to, bool last = false) {
  auto* g = reinterpret_cast<SwitchSide::Eh*>(abi::__cxa_get_globals());
  from.eh = *g;
  *g = to.eh;
#ifdef LOCKSTEP_FIBER_ASAN
  __sanitizer_start_switch_fiber(last ? nullptr : &from.fake, to.bottom, to.size);
#else
  (void)last;
#endif
}

// `prev`: where to keep the bounds of the stack just left (a fiber learns its control's this way).
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

}  // namespace

// Stacks of finished fibers, kept for the next ones: a fresh stack costs an mmap, an mprotect and
// a page fault per page touched, more than the fiber's whole life in a short program.
class StackPool {
 public:
  static StackPool& get() {
    static StackPool* p = new StackPool;  // never destroyed: fibers may end during static destruction
    return *p;
  }
  ctx::stack_context take(std::size_t bytes) {
    {
      std::lock_guard g(m_);
      for (std::size_t i = 0; i < free_.size(); ++i)
        if (free_[i].first == bytes) {
          const ctx::stack_context sc = free_[i].second;
          free_[i] = free_.back();
          free_.pop_back();
          return sc;
        }
    }
    // A guard page below the stack, so an overflow faults.
    return ctx::protected_fixedsize_stack(bytes).allocate();
  }
  void give(std::size_t bytes, ctx::stack_context sc) {
    {
      std::lock_guard g(m_);
      if (free_.size() < kMax) {
        free_.emplace_back(bytes, sc);
        return;
      }
    }
    ctx::protected_fixedsize_stack(bytes).deallocate(sc);
  }

 private:
  static constexpr std::size_t kMax = 64;
  std::mutex m_;
  std::vector<std::pair<std::size_t, ctx::stack_context>> free_;  // by requested size
};

namespace {
// The usable part of a mapping from protected_fixedsize_stack: all but the guard page at its bottom.
char* usable_bottom(const ctx::stack_context& sc) {
  return static_cast<char*>(sc.sp) - sc.size + ctx::stack_traits::page_size();
}
std::size_t usable_size(const ctx::stack_context& sc) { return sc.size - ctx::stack_traits::page_size(); }
}  // namespace

Fiber::Fiber(std::function<void()> body, std::size_t stack_bytes) : body_(std::move(body)), stack_bytes_(stack_bytes) {
  stack_ = StackPool::get().take(stack_bytes);
  me_.bottom = usable_bottom(stack_);
  me_.size = usable_size(stack_);
#ifdef LOCKSTEP_FIBER_ASAN
  // LeakSanitizer scans threads' stacks, not these: a fiber blocked for good may hold the only
  // pointer to what it allocated, as a blocked OS thread would.
  __lsan_register_root_region(me_.bottom, me_.size);
#endif
#ifdef LOCKSTEP_FIBER_TSAN
  me_.tsan = __tsan_create_fiber(0);
#endif
  me_.fctx = fiber_make(stack_.sp, stack_.size, &Fiber::entry);
}

Fiber::~Fiber() {
  // Suspended in its body (or a runaway): its frames stay as they are, with their stack, still a
  // root region for LeakSanitizer.
  if (started_ && !finished_) return;
#ifdef LOCKSTEP_FIBER_ASAN
  // Frames that never returned leave poisoned redzones behind: clean before the pages are reused.
  __asan_unpoison_memory_region(me_.bottom, me_.size);
  __lsan_unregister_root_region(me_.bottom, me_.size);
#endif
#ifdef LOCKSTEP_FIBER_TSAN
  __tsan_destroy_fiber(me_.tsan);
#endif
  StackPool::get().give(stack_bytes_, stack_);
}

Fiber* Fiber::current() { return current_slot(); }

Fiber::Back Fiber::resume() {
  if (finished_) return Back::finished;
  phase_.store(pack(++resumes_, Phase::entering), std::memory_order_relaxed);
  started_ = true;
#ifdef LOCKSTEP_FIBER_TSAN
  ctl_.tsan = __tsan_get_current_fiber();  // the control context may have moved to another OS thread
#endif
  Fiber* const outer = std::exchange(current_slot(), this);
  start_switch(ctl_, me_);
  const transfer_t back = fiber_jump(me_.fctx, this, me_.tsan);
  finish_switch(ctl_, nullptr);
  current_slot() = outer;
  // From a watchdog (take_over): `back.fctx` is that thread's old frame, parked for good. Otherwise
  // the fiber said `returning`, which no watchdog changes.
  if (phase_of(phase_.load(std::memory_order_acquire)) == Phase::abandoned) return Back::abandoned;
  phase_.store(pack(resumes_, Phase::idle), std::memory_order_relaxed);
  if (back.data == &finished_tag) {
    finished_ = true;
    me_.fctx = nullptr;
    return Back::finished;
  }
  me_.fctx = back.fctx;
  return Back::suspended;
}

void Fiber::arrived(void* from) {
  ctl_.fctx = from;
  finish_switch(me_, &ctl_);
  // Release: a watchdog that claims the fiber reads ctl_ (entering is never claimed, so a store).
  phase_.store(with_phase(phase_.load(std::memory_order_relaxed), Phase::running), std::memory_order_release);
}

void Fiber::leave() {
  std::uint64_t running = with_phase(phase_.load(std::memory_order_relaxed), Phase::running);
  if (phase_.compare_exchange_strong(running, with_phase(running, Phase::returning), std::memory_order_acq_rel)) return;
  // The control context went on without this fiber (take_over): it has nowhere to go back to.
  std::mutex m;
  std::condition_variable never;
  std::unique_lock g(m);
  never.wait(g, [] { return false; });
}

void Fiber::suspend() {
  Fiber* const f = current_slot();
  f->leave();
  start_switch(f->me_, f->ctl_);
  const transfer_t t = fiber_jump(f->ctl_.fctx, &suspended_tag, f->ctl_.tsan);
  f->arrived(t.fctx);
}

void Fiber::entry(transfer_t t) {
  Fiber* const f = static_cast<Fiber*>(t.data);
  f->arrived(t.fctx);
  try {
    f->body_();
  } catch (...) {
    f->error = std::current_exception();
  }
  f->leave();
  start_switch(f->me_, f->ctl_, /*last=*/true);
  fiber_jump(f->ctl_.fctx, &finished_tag, f->ctl_.tsan);
  std::abort();  // nothing resumes a finished fiber
}

bool Fiber::abandon(std::uint64_t resume_no) {
  std::uint64_t running = pack(resume_no, Phase::running);
  return phase_.compare_exchange_strong(running, pack(resume_no, Phase::abandoned), std::memory_order_acq_rel);
}

void Fiber::take_over() {
  // The control context is parked in resume() until this jump, so the fiber (owned beside it) is
  // alive here whatever the caller's own references.
  SwitchSide here;
#ifdef LOCKSTEP_FIBER_TSAN
  here.tsan = __tsan_get_current_fiber();
#endif
  start_switch(here, ctl_);
  fiber_jump(ctl_.fctx, &abandoned_tag, ctl_.tsan);
  std::abort();  // nothing resumes a parked watchdog
}

}  // namespace lockstep::impl::sync::detail
