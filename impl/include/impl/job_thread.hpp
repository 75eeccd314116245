// sync::JobThread: a thread of a backend that runs posted jobs one at a time, served from a
// sync::Mailbox -- how a test acts as a host thread H under the controlled backend (and, unchanged,
// under the real one).
//
// Under a ControlledBackend the job thread is a registered thread: post() makes it runnable, and
// backend.run(t.id()) runs the job until it blocks inside the kernel (RunResult::Stop::blocked on a
// kernel object) or finishes (then it is blocked on its mailbox again, t.mailbox_object(): idle() is true).
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "impl/controlled.hpp"
#include "impl/mailbox.hpp"
#include "impl/sync.hpp"

namespace lockstep::impl::sync {

class JobThread {
 public:
  JobThread(Backend& b, std::string name) : backend_(&b), name_(std::move(name)), mailbox_(b, name_) {
    thread_ = b.spawn(name_, [this] { mailbox_.serve(); });
    id_ = thread_->id();
  }
  // Stops serving (after the current job) and joins. Under a ControlledBackend the thread must be
  // scheduled (or the backend released) for it to see the stop.
  ~JobThread() {
    stop();
    if (auto* cb = dynamic_cast<ControlledBackend*>(backend_); cb && !cb->free_running()) {
      // Through any scheduling points on its way out (Options::preempt), until it exits or blocks.
      for (auto t = cb->thread(id_); t && t->state == ControlledBackend::State::runnable; t = cb->thread(id_))
        if (cb->run(id_).stop == ControlledBackend::Stop::watchdog) break;
    }
    thread_->join();
  }
  JobThread(const JobThread&) = delete;
  JobThread& operator=(const JobThread&) = delete;

  // Hands a job to the thread (one at a time: throws if a job is still pending or running). What the
  // job throws (e.g. lockstep::impl::Panic) is kept for take_error().
  void post(std::function<void()> job) {
    const bool posted = mailbox_.try_post([job = std::move(job)]() -> std::exception_ptr {
      try {
        job();
        return nullptr;
      } catch (...) {
        return std::current_exception();
      }
    });
    if (!posted) throw std::logic_error("JobThread " + name_ + ": post() while busy");
  }
  void stop() { mailbox_.quit(); }
  // No job pending or running.
  bool idle() { return mailbox_.idle(); }
  // The exception the last finished job threw, if it failed (cleared by this call and by the next post).
  std::exception_ptr take_error() { return mailbox_.take_result().value_or(nullptr); }
  ControlledBackend::ThreadId id() const { return id_; }
  const std::string& name() const { return name_; }
  // The object the thread is blocked on while idle: "<name>.mailbox".
  const std::string& mailbox_object() const { return mailbox_.object_name(); }

 private:
  Backend* const backend_;
  const std::string name_;
  Mailbox<std::exception_ptr> mailbox_;
  ControlledBackend::ThreadId id_ = 0;
  std::unique_ptr<ThreadImpl> thread_;
};

}  // namespace lockstep::impl::sync
