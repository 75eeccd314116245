// The one sync layer: the only place impl/ touches threading primitives.
//
// Kernel code locks sync::Mutex, waits on sync::CondVar (optionally until a deadline in ticks), reads the
// clock with Backend::now() and starts kernel-owned threads with Backend::spawn(). Every point where a
// thread may block (mutex acquire, condition wait, timed condition wait) or wake another (unlock handoff,
// notify) is a virtual call into the Backend, so the same kernel code runs over
//   - the real backend (std primitives, steady clock; impl/src/sync_real.cpp, made by
//     make_real_backend() below), and
//   - the controlled backend (a scheduler decides which thread runs and when virtual time advances;
//     impl/include/impl/controlled.hpp, impl/src/sync_controlled.cpp).
//
// Mutex::held() tells whether the calling thread owns a mutex, under either backend; the kernel's
// lock assertions (impl/assert.hpp) are built on it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace lockstep::impl::sync {

// Kernel time unit. hz = 100, so one tick is 10 ms under the real backend (configurable for tests).
using Ticks = std::uint64_t;

// The clock's end (SPEC §5 reading, model/src/model.cpp Tick): time saturates at the int64 maximum
// the SPEC's clock can hold, and a deadline beyond it is never reached (the wait has none).
inline constexpr Ticks kEndOfTime = static_cast<Ticks>(std::numeric_limits<std::int64_t>::max());
inline Ticks clock_after(Ticks now, Ticks n) { return now >= kEndOfTime || n > kEndOfTime - now ? kEndOfTime : now + n; }
inline std::optional<Ticks> deadline_after(Ticks now, int timo) {
  if (timo <= 0 || now > kEndOfTime - static_cast<Ticks>(timo)) return std::nullopt;
  return now + static_cast<Ticks>(timo);
}

enum class WaitStatus { notified, timed_out };

class MutexImpl {
 public:
  virtual ~MutexImpl() = default;
  virtual void lock() = 0;
  virtual void unlock() = 0;
  // True iff the calling thread owns this mutex (for assertions: cheap, never blocks on the mutex).
  // A thread waiting on a condition with this mutex does not own it until the wait returns.
  virtual bool held() const = 0;
  // The name it was made with (for diagnostics).
  virtual const std::string& name() const = 0;
};

class CondImpl {
 public:
  virtual ~CondImpl() = default;
  // Called with `m` held; returns with `m` held. deadline == nullptr waits without limit.
  // Spurious wakeups are allowed (real backend), so callers loop on their predicate.
  virtual WaitStatus wait(MutexImpl& m, const Ticks* deadline) = 0;
  virtual void notify_one() = 0;
  virtual void notify_all() = 0;
};

class ThreadImpl {
 public:
  virtual ~ThreadImpl() = default;
  virtual void join() = 0;
  // Its scheduler id under the controlled backend (ControlledBackend::ThreadId), 0 otherwise.
  virtual std::uint32_t id() const { return 0; }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual bool controlled() const = 0;
  // Current time in ticks (steady clock under real time, the virtual clock under control).
  virtual Ticks now() = 0;
  virtual std::unique_ptr<MutexImpl> make_mutex(std::string name) = 0;
  virtual std::unique_ptr<CondImpl> make_cond(std::string name) = 0;
  // Starts `body` on a new OS thread. Under the controlled backend the thread is registered with the
  // scheduler (in spawn order, so ids are deterministic) and does not run until scheduled.
  virtual std::unique_ptr<ThreadImpl> spawn(std::string name, std::function<void()> body) = 0;
  // Teardown: from now on every thread may run without being scheduled (no-op for the real backend).
  virtual void release_all() {}
  // A scheduling point that is not a sync call: kernel code calls it (through Kernel::yield) right
  // before it touches shared state outside the lock that guards it (an atomic flag read, a counter
  // bumped without a lock), so that a controlled scheduler can run another thread exactly there.
  // `what` labels the point (a string literal: the caller's storage must outlive the call). No-op on
  // the real backend, whose threads are preempted wherever the OS likes.
  virtual void yield_point(const char* what) { (void)what; }
};

// Real backend: std::mutex, std::condition_variable, std::thread, steady clock with `tick` per tick.
std::shared_ptr<Backend> make_real_backend(std::chrono::nanoseconds tick = std::chrono::milliseconds(10));
// The same with a given epoch: tick 0 begins at `epoch`, so a recorder holding it knows the instant
// every tick begins (checker/stress places the clock's ticks on its history that way).
std::shared_ptr<Backend> make_real_backend(std::chrono::nanoseconds tick, std::chrono::steady_clock::time_point epoch);

// A kernel mutex. BasicLockable, so std::unique_lock / std::scoped_lock work with it.
class Mutex {
 public:
  Mutex(Backend& b, std::string name) : impl_(b.make_mutex(std::move(name))) {}
  void lock() { impl_->lock(); }
  void unlock() { impl_->unlock(); }
  // True iff the calling thread owns this mutex (NetBSD's mutex_owned()). Only a "yes, I hold it"
  // answer is meaningful to the caller: for any other thread the owner may change at any moment.
  bool held() const { return impl_->held(); }
  const std::string& name() const { return impl_->name(); }
  MutexImpl& impl() { return *impl_; }

 private:
  std::unique_ptr<MutexImpl> impl_;
};

class CondVar {
 public:
  CondVar(Backend& b, std::string name) : impl_(b.make_cond(std::move(name))) {}
  WaitStatus wait(std::unique_lock<Mutex>& lk) { return impl_->wait(lk.mutex()->impl(), nullptr); }
  WaitStatus wait_until(std::unique_lock<Mutex>& lk, Ticks deadline) {
    return impl_->wait(lk.mutex()->impl(), &deadline);
  }
  WaitStatus wait_until(std::unique_lock<Mutex>& lk, const std::optional<Ticks>& deadline) {
    return impl_->wait(lk.mutex()->impl(), deadline ? &*deadline : nullptr);
  }
  void notify_one() { impl_->notify_one(); }
  void notify_all() { impl_->notify_all(); }

 private:
  std::unique_ptr<CondImpl> impl_;
};

// Per-thread storage that follows the calling thread: under the controlled backend's fiber mode each
// fiber has its own slot (a thread_local would be shared by every fiber of one OS thread); otherwise
// it is the OS thread's own.
const void*& thread_slot();

}  // namespace lockstep::impl::sync
