// A user-space thread for the controlled backend's fiber mode, on Boost.Context's fcontext layer
// (make_fcontext / jump_fcontext: Boost's own assembly, nothing hand-written here). A switch also
// carries what Boost.Context does not: the sanitizers' fiber annotations (ASan's fake stacks and
// stack bounds, TSan's fiber contexts) and the C++ runtime's per-thread exception state (a fiber may
// block inside a catch handler). Switches go only between the control context (a thread's own
// stack, the one that called resume()) and one fiber.
//
// Why fcontext and not boost::context::fiber: the jump itself must be the only thing between
// __tsan_switch_to_fiber and the other stack (fiber_jump.cpp), and the fiber API wraps the jump in
// inline, instrumented code; with fcontext, a fiber's end and a never-started fiber's cancel are
// also ours to annotate, with no hidden switch.
//
// The watchdog: a fiber that never reaches a scheduling point cannot be interrupted. Instead,
// another OS thread (take_over()) continues the *control context* on itself: resume() returns
// `abandoned` there, and the runaway fiber keeps the old OS thread for good (it parks forever if it
// ever tries to come back). The measurements and the alternatives tried (a signal whose handler
// switches back: deadlocks when the fiber holds a lock, and TSan delays the signal forever) are in
// DESIGN.md, "Fiber mode".
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>

#include <boost/context/stack_context.hpp>

#include "fiber_jump.hpp"

namespace lockstep::impl::sync::detail {

// One side of a switch: its saved machine context (fcontext), its stack bounds and fake stack
// (ASan), its TSan context and the C++ runtime's exception globals of its stack.
struct SwitchSide {
  void* fctx = nullptr;
  const void* bottom = nullptr;
  std::size_t size = 0;
  void* fake = nullptr;
  void* tsan = nullptr;
  struct Eh {
    void* caught = nullptr;
    unsigned uncaught = 0;
  } eh;
};

class Fiber {
 public:
  enum class Back { suspended, finished, abandoned };

  Fiber(std::function<void()> body, std::size_t stack_bytes);
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;
  // A fiber that never ran is dropped (its body never runs); one that finished is freed. A fiber
  // suspended in its body keeps its stack for good (its frames may be referenced from elsewhere,
  // as a blocked OS thread's would be).
  ~Fiber();

  // Control side: runs the fiber until it suspends or finishes. `abandoned`: a take_over() moved
  // the control context to its own OS thread (the caller is now running there); the fiber still
  // runs on the old one and never comes back.
  Back resume();
  bool started() const { return started_; }
  bool finished() const { return finished_; }
  // What the body threw, if anything (the owner's body wrapper is expected to catch everything).
  std::exception_ptr error;

  // Fiber side: back to the resume() caller.
  static void suspend();
  // The fiber running on this OS thread, or nullptr in a control context.
  static Fiber* current();

  // How many times resume() was called (control side).
  std::uint64_t resumes() const { return resumes_; }
  // Any thread, in two steps. abandon(): if the fiber is running its body in its resume number
  // `resume_no` (resumed and not on its way back), marks it abandoned (it can never come back) and
  // says true; false otherwise. The caller must know the fiber alive for this call (its owner may
  // free it as soon as it is back); after a true, it stays alive, because its control context
  // waits for take_over(). take_over(): continues that control context on the calling OS thread;
  // does not return.
  bool abandon(std::uint64_t resume_no);
  [[noreturn]] void take_over();

 private:
  enum class Phase { idle, entering, running, returning, abandoned };
  static void entry(transfer_t t);  // the fiber's first frame: `t.data` is the fiber
  void arrived(void* from);         // fiber side, right after a switch into it from `from`
  void leave();                     // fiber side: ready to switch to the control context

  std::function<void()> body_;
  std::size_t stack_bytes_;                 // as asked for (the pool's key)
  boost::context::stack_context stack_;     // the mapping, its guard page included
  SwitchSide me_, ctl_;
  bool started_ = false, finished_ = false;
  // The phase of resume number `no`, packed as no << 3 | phase: one atomic shared with a watchdog,
  // whose claim (running -> abandoned, of one resume) races only the fiber's leave() (running ->
  // returning). Atomics, not a mutex: a decision took 237 ns with four lock round trips per switch, 202
  // ns without (lockstep_bench, alternating runs).
  static constexpr std::uint64_t pack(std::uint64_t no, Phase p) { return no << 3 | static_cast<std::uint64_t>(p); }
  static constexpr Phase phase_of(std::uint64_t packed) { return static_cast<Phase>(packed & 7); }
  static constexpr std::uint64_t with_phase(std::uint64_t packed, Phase p) { return (packed & ~std::uint64_t{7}) | static_cast<std::uint64_t>(p); }
  std::atomic<std::uint64_t> phase_{pack(0, Phase::idle)};
  std::uint64_t resumes_ = 0;  // the control side's own count
};

}  // namespace lockstep::impl::sync::detail
