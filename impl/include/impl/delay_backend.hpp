// Delay injection at sync points, the way Coyote's fuzzing mode widens race windows on real threads:
// a decorator of another backend that, with probability `probability` at each sync point (before a
// lock, after an unlock, before a notify, at a yield point), yields the OS thread or sleeps for a
// random time up to `max_delay`. A thread that stays longer between two critical sections lets other
// threads run whole calls inside that gap, which is where the races of a lifecycle live.
//
// Time, spawning, condition waits and ownership are the inner backend's; only the moments at which a
// thread arrives at them move (and, if asked, a condition wait may return spuriously). Each thread draws from a generator of its own, seeded from `seed` and
// the order in which threads first reach a sync point, so the decorator adds no shared state for the
// threads to contend on beyond two relaxed counters.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "impl/sync.hpp"

namespace lockstep::impl::sync {

struct DelayOptions {
  double probability = 0.05;                   // in [0, 1]; 0 turns the decorator into a pass-through
  std::chrono::microseconds max_delay{200};    // a sleep lasts 1..max_delay µs; half the delays only yield
  // With this probability a condition wait is a spurious wakeup: the mutex is dropped, the thread
  // delayed, the mutex taken again, and the wait returns as if notified. The sync contract allows it
  // (callers loop on their predicate); a caller that does not loop is caught by it.
  double spurious_probability = 0.0;
  std::uint64_t seed = 1;
  // Stamp lock acquisitions (one steady-clock read each): a recorder resets the stamps when a call
  // begins and reads first_phase_ns() / last_lock_ns() when it returns, a guess at the instant the
  // call took effect (inside one of its critical sections).
  bool stamp_locks = false;
  // With stamp_locks: called on the waiting thread when it first waits on a condition after a
  // reset_lock_stamp(), with the steady clock's ns (a recorder notes that the call's request, made in
  // the critical section it now sleeps in, has taken effect; the call may never return).
  std::function<void(std::int64_t steady_ns)> on_first_wait;
};

class DelayBackend final : public Backend {
 public:
  DelayBackend(std::shared_ptr<Backend> inner, DelayOptions options);
  const char* name() const override { return "real+delays"; }
  bool controlled() const override { return inner_->controlled(); }
  Ticks now() override { return inner_->now(); }
  std::unique_ptr<MutexImpl> make_mutex(std::string name) override;
  std::unique_ptr<CondImpl> make_cond(std::string name) override;
  std::unique_ptr<ThreadImpl> spawn(std::string name, std::function<void()> body) override;
  void release_all() override { inner_->release_all(); }
  void yield_point(const char* what) override;

  // Called at every sync point: delays the calling thread with the configured probability.
  void maybe_delay();
  // Whether the calling thread's next condition wait is a spurious wakeup.
  bool spurious();
  std::uint64_t points() const { return points_.load(std::memory_order_relaxed); }
  std::uint64_t delays() const { return delays_.load(std::memory_order_relaxed); }
  std::uint64_t spurious_wakeups() const { return spurious_.load(std::memory_order_relaxed); }
  const DelayOptions& options() const { return options_; }
  // With stamp_locks, the steady clock (ns since its epoch) through any DelayBackend since the calling
  // thread's last reset_lock_stamp(), 0 if none:
  // - first_phase_ns: the last lock it acquired before it first released one. A call that takes
  //   its locks nested and releases them only at the end (two-phase locking) has taken effect by
  //   then: every lock it holds is held from that instant to its first release, so it is a point
  //   at which the whole first phase may be taken to happen.
  // - last_lock_ns: its last acquisition.
  static std::int64_t first_phase_ns();
  static std::int64_t last_lock_ns();
  // The acquisition that held the lock the thread first waited on a condition with (its request's
  // critical section, for a call that blocks); 0 if it never waited.
  static std::int64_t wait_lock_ns();
  // When the thread first began to wait on a condition (still holding the lock it waits with): what
  // it did in that critical section, e.g. a request, had taken effect by then; 0 if it never waited.
  static std::int64_t wait_enter_ns();
  static void reset_lock_stamp();

 private:
  const std::shared_ptr<Backend> inner_;
  const DelayOptions options_;
  const std::uint64_t threshold_;  // probability as a fraction of 2^64
  const std::uint64_t spurious_threshold_;
  std::atomic<std::uint64_t> next_thread_{0};
  std::atomic<std::uint64_t> points_{0};
  std::atomic<std::uint64_t> delays_{0};
  std::atomic<std::uint64_t> spurious_{0};

  std::uint64_t draw();  // the calling thread's next random number
};

}  // namespace lockstep::impl::sync
