// The real backend: std primitives and the steady clock. The "hooks" at blocking points are the std
// calls themselves; the only thing recorded is each mutex's owner (for Mutex::held()), one relaxed
// atomic store per lock and per unlock, so this backend costs about what std::mutex costs.
#include <atomic>
#include <condition_variable>
#include <thread>

#include "impl/sync.hpp"

namespace lockstep::impl::sync {
namespace {

class RealMutex final : public MutexImpl {
 public:
  explicit RealMutex(std::string name) : name_(std::move(name)) {}
  void lock() override {
    m_.lock();
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  }
  void unlock() override {
    owner_.store(std::thread::id{}, std::memory_order_relaxed);
    m_.unlock();
  }
  // Only the owner ever stores its own id, and it clears it before it unlocks (in its own program
  // order), so a thread reads its own id here iff it owns the mutex. Relaxed is enough: no other data
  // is published through owner_.
  bool held() const override { return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id(); }
  const std::string& name() const override { return name_; }
  // A condition wait gives the mutex up and takes it back.
  void wait_begins() { owner_.store(std::thread::id{}, std::memory_order_relaxed); }
  void wait_ended() { owner_.store(std::this_thread::get_id(), std::memory_order_relaxed); }

  std::mutex m_;

 private:
  const std::string name_;
  std::atomic<std::thread::id> owner_{};
};

class RealBackend;

class RealCond final : public CondImpl {
 public:
  explicit RealCond(const RealBackend& b) : b_(b) {}
  WaitStatus wait(MutexImpl& m, const Ticks* deadline) override;
  void notify_one() override { cv_.notify_one(); }
  void notify_all() override { cv_.notify_all(); }

 private:
  const RealBackend& b_;
  std::condition_variable cv_;
};

class RealThread final : public ThreadImpl {
 public:
  explicit RealThread(std::function<void()> body) : t_(std::move(body)) {}
  ~RealThread() override {
    if (t_.joinable()) t_.join();
  }
  void join() override {
    if (t_.joinable()) t_.join();
  }

 private:
  std::thread t_;
};

class RealBackend final : public Backend {
 public:
  RealBackend(std::chrono::nanoseconds tick, std::chrono::steady_clock::time_point epoch) : tick_(tick), epoch_(epoch) {}
  const char* name() const override { return "real"; }
  bool controlled() const override { return false; }
  Ticks now() override {
    return static_cast<Ticks>((std::chrono::steady_clock::now() - epoch_) / tick_);
  }
  std::unique_ptr<MutexImpl> make_mutex(std::string name) override {
    return std::make_unique<RealMutex>(std::move(name));
  }
  std::unique_ptr<CondImpl> make_cond(std::string) override { return std::make_unique<RealCond>(*this); }
  std::unique_ptr<ThreadImpl> spawn(std::string, std::function<void()> body) override {
    return std::make_unique<RealThread>(std::move(body));
  }
  std::chrono::steady_clock::time_point at(Ticks t) const { return epoch_ + tick_ * t; }

 private:
  const std::chrono::nanoseconds tick_;
  const std::chrono::steady_clock::time_point epoch_;
};

WaitStatus RealCond::wait(MutexImpl& m, const Ticks* deadline) {
  auto& rm = static_cast<RealMutex&>(m);
  std::unique_lock<std::mutex> lk(rm.m_, std::adopt_lock);
  WaitStatus st = WaitStatus::notified;
  rm.wait_begins();  // others may own it while we sleep
  if (deadline == nullptr) {
    cv_.wait(lk);
  } else if (cv_.wait_until(lk, b_.at(*deadline)) == std::cv_status::timeout) {
    st = WaitStatus::timed_out;
  }
  rm.wait_ended();
  lk.release();  // the caller still owns the mutex
  return st;
}

}  // namespace

std::shared_ptr<Backend> make_real_backend(std::chrono::nanoseconds tick) {
  return std::make_shared<RealBackend>(tick, std::chrono::steady_clock::now());
}

std::shared_ptr<Backend> make_real_backend(std::chrono::nanoseconds tick, std::chrono::steady_clock::time_point epoch) {
  return std::make_shared<RealBackend>(tick, epoch);
}

}  // namespace lockstep::impl::sync
