// Delay injection (impl/delay_backend.hpp). The wrappers forward every call to the inner backend's
// object and call maybe_delay() at the points where a delay widens a window: before a lock (another
// thread gets in first), after an unlock (the gap between two critical sections), before a notify
// (the waiter's predicate changed but it has not been told).
#include <thread>

#include "impl/delay_backend.hpp"

namespace lockstep::impl::sync {
namespace {

thread_local std::int64_t tl_first_phase_ns = 0;
thread_local std::int64_t tl_last_lock_ns = 0;
thread_local std::int64_t tl_wait_lock_ns = 0;
thread_local std::int64_t tl_wait_enter_ns = 0;

class DelayMutex final : public MutexImpl {
 public:
  DelayMutex(DelayBackend& b, std::unique_ptr<MutexImpl> inner) : b_(b), inner_(std::move(inner)) {}
  void lock() override {
    b_.maybe_delay();
    inner_->lock();
    if (b_.options().stamp_locks) {
      tl_last_lock_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
      acquired_ns_ = tl_last_lock_ns;
    }
  }
  void unlock() override {
    if (tl_first_phase_ns == 0) tl_first_phase_ns = tl_last_lock_ns;  // the first release ends the first phase
    inner_->unlock();
    b_.maybe_delay();
  }
  bool held() const override { return inner_->held(); }
  const std::string& name() const override { return inner_->name(); }
  MutexImpl& inner() { return *inner_; }
  // When its holder acquired it (with stamp_locks); read only by the holder.
  std::int64_t acquired_ns() const { return acquired_ns_; }

 private:
  DelayBackend& b_;
  std::unique_ptr<MutexImpl> inner_;
  std::int64_t acquired_ns_ = 0;
};

class DelayCond final : public CondImpl {
 public:
  DelayCond(DelayBackend& b, std::unique_ptr<CondImpl> inner) : b_(b), inner_(std::move(inner)) {}
  // The condition belongs to the inner backend, so it waits on the inner mutex.
  WaitStatus wait(MutexImpl& m, const Ticks* deadline) override {
    // The request's critical section began when the thread took the lock it now waits with, not at
    // its last acquisition: it may have taken (and released) others inside it, e.g. to register its
    // wait, after it read the clock for its deadline.
    const std::int64_t held_since = static_cast<DelayMutex&>(m).acquired_ns();
    if (tl_wait_lock_ns == 0 && held_since != 0) {
      tl_wait_lock_ns = held_since;
      tl_wait_enter_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
      if (b_.options().on_first_wait) b_.options().on_first_wait(tl_wait_enter_ns);
    }
    if (b_.spurious()) {
      m.unlock();
      m.lock();
      return WaitStatus::notified;
    }
    return inner_->wait(static_cast<DelayMutex&>(m).inner(), deadline);
  }
  void notify_one() override {
    b_.maybe_delay();
    inner_->notify_one();
  }
  void notify_all() override {
    b_.maybe_delay();
    inner_->notify_all();
  }

 private:
  DelayBackend& b_;
  std::unique_ptr<CondImpl> inner_;
};

std::uint64_t splitmix(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The calling thread's generator for one backend. A thread that serves two DelayBackends in turn
// (tests do) reseeds when the owner changes; the stream is then still a function of (seed, order).
struct ThreadRng {
  const DelayBackend* owner = nullptr;
  std::uint64_t state = 0;
};
thread_local ThreadRng tl_rng;

std::uint64_t fraction(double p) {
  if (p >= 1.0) return ~std::uint64_t{0};
  if (!(p > 0.0)) return 0;
  return static_cast<std::uint64_t>(p * 18446744073709551616.0);
}

}  // namespace

DelayBackend::DelayBackend(std::shared_ptr<Backend> inner, DelayOptions options)
    : inner_(std::move(inner)),
      options_(options),
      threshold_(fraction(options.probability)),
      spurious_threshold_(fraction(options.spurious_probability)) {}

std::unique_ptr<MutexImpl> DelayBackend::make_mutex(std::string name) {
  return std::make_unique<DelayMutex>(*this, inner_->make_mutex(std::move(name)));
}

std::unique_ptr<CondImpl> DelayBackend::make_cond(std::string name) {
  return std::make_unique<DelayCond>(*this, inner_->make_cond(std::move(name)));
}

std::unique_ptr<ThreadImpl> DelayBackend::spawn(std::string name, std::function<void()> body) {
  return inner_->spawn(std::move(name), std::move(body));
}

void DelayBackend::yield_point(const char* what) {
  maybe_delay();
  inner_->yield_point(what);
}

std::int64_t DelayBackend::first_phase_ns() { return tl_first_phase_ns; }
std::int64_t DelayBackend::last_lock_ns() { return tl_last_lock_ns; }
std::int64_t DelayBackend::wait_lock_ns() { return tl_wait_lock_ns; }
std::int64_t DelayBackend::wait_enter_ns() { return tl_wait_enter_ns; }
void DelayBackend::reset_lock_stamp() { tl_first_phase_ns = tl_last_lock_ns = tl_wait_lock_ns = tl_wait_enter_ns = 0; }

std::uint64_t DelayBackend::draw() {
  if (tl_rng.owner != this) {
    tl_rng.owner = this;
    tl_rng.state = options_.seed * 0x2545f4914f6cdd1dULL + next_thread_.fetch_add(1, std::memory_order_relaxed);
  }
  return splitmix(tl_rng.state);
}

bool DelayBackend::spurious() {
  if (spurious_threshold_ == 0) return false;
  if (draw() >= spurious_threshold_) return false;
  spurious_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void DelayBackend::maybe_delay() {
  if (threshold_ == 0) return;
  points_.fetch_add(1, std::memory_order_relaxed);
  const std::uint64_t r = draw();
  if (r >= threshold_) return;
  delays_.fetch_add(1, std::memory_order_relaxed);
  const std::uint64_t d = draw();
  if ((d & 1) == 0 || options_.max_delay.count() <= 0) {
    std::this_thread::yield();
    return;
  }
  std::this_thread::sleep_for(std::chrono::microseconds(1 + (d >> 1) % static_cast<std::uint64_t>(options_.max_delay.count())));
}

}  // namespace lockstep::impl::sync
