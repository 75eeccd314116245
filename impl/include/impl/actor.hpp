// sync::Actor: a thread of a backend that runs posted jobs one at a time -- how a checker acts as a
// host thread H under the controlled backend (and, unchanged, under the real one).
//
// Under a ControlledBackend the actor is a registered thread: post() makes it runnable, and
// backend.run(actor.id()) runs the job until it blocks inside the kernel (RunResult::Stop::blocked on a
// kernel object) or finishes (then it is blocked on its own mailbox again: idle() is true).
#pragma once

#include <exception>
#include <functional>
#include <utility>
#include <memory>
#include <stdexcept>
#include <string>

#include "impl/controlled.hpp"
#include "impl/sync.hpp"

namespace lockstep::impl::sync {

class Actor {
 public:
  Actor(Backend& b, std::string name)
      : backend_(&b), name_(std::move(name)), mbox_lock_(b, name_ + ".mbox"), mbox_cv_(b, name_ + ".mbox") {
    thread_ = b.spawn(name_, [this] { loop(); });
    id_ = thread_->id();
  }
  // Stops the loop (after the current job) and joins. Under a ControlledBackend the actor must be
  // scheduled (or the backend released) for the loop to see the stop.
  ~Actor() {
    stop();
    if (auto* cb = dynamic_cast<ControlledBackend*>(backend_); cb && !cb->free_running()) {
      // Through any scheduling points on its way out (Options::preempt), until it exits or blocks.
      for (auto t = cb->thread(id_); t && t->state == ControlledBackend::State::runnable; t = cb->thread(id_))
        if (cb->run(id_).stop == ControlledBackend::Stop::watchdog) break;
    }
    thread_->join();
  }
  Actor(const Actor&) = delete;
  Actor& operator=(const Actor&) = delete;

  // Hands a job to the actor (one at a time: throws if a job is still pending or running).
  void post(std::function<void()> job) {
    std::unique_lock l(mbox_lock_);
    if (job_ || busy_) throw std::logic_error("Actor " + name_ + ": post() while busy");
    job_ = std::move(job);
    mbox_cv_.notify_one();
  }
  void stop() {
    std::unique_lock l(mbox_lock_);
    stop_ = true;
    mbox_cv_.notify_one();
  }
  // No job pending or running.
  bool idle() {
    std::unique_lock l(mbox_lock_);
    return !job_ && !busy_;
  }
  // Completed jobs so far.
  unsigned long done() {
    std::unique_lock l(mbox_lock_);
    return done_;
  }
  // The exception the last failing job threw (cleared by this call).
  std::exception_ptr take_error() {
    std::unique_lock l(mbox_lock_);
    return std::exchange(error_, nullptr);
  }
  ControlledBackend::ThreadId id() const { return id_; }
  const std::string& name() const { return name_; }
  const std::string& mailbox_name() const { return name_; }  // object name while idle: "<name>.mbox"

 private:
  void loop() {
    std::unique_lock l(mbox_lock_);
    for (;;) {
      while (!job_ && !stop_) mbox_cv_.wait(l);
      if (!job_ && stop_) return;
      auto job = std::move(job_);
      job_ = nullptr;
      busy_ = true;
      l.unlock();
      std::exception_ptr err;
      try {
        job();
      } catch (...) {
        err = std::current_exception();  // e.g. lockstep::impl::Panic; see take_error()
      }
      l.lock();
      if (err) error_ = err;
      busy_ = false;
      ++done_;
    }
  }

  Backend* const backend_;
  const std::string name_;
  Mutex mbox_lock_;                 // guards job_, busy_, stop_, done_
  CondVar mbox_cv_;
  std::function<void()> job_;  // guarded by mbox_lock_ (as are the fields down to error_)
  bool busy_ = false;
  bool stop_ = false;
  unsigned long done_ = 0;
  std::exception_ptr error_;
  ControlledBackend::ThreadId id_ = 0;
  std::unique_ptr<ThreadImpl> thread_;
};

}  // namespace lockstep::impl::sync
