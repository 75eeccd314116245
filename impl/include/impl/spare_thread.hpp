// SpareThread: a job on an OS thread of a process-wide pool, for the short helper jobs the
// controlled backend and the checker start for every program (the fiber runner after release_all(),
// the bounded teardown): creating an OS thread costs tens of µs, about as much as a whole short
// program's scheduling in fiber mode. A job that never returns (blocked for good on a lock a stuck
// thread holds) keeps its thread for good, exactly as a detached std::thread would; the pool makes
// a new one when none is idle.
#pragma once
#include <functional>
#include <memory>

namespace lockstep::impl {

class SpareThread {
 public:
  SpareThread() = default;
  // Runs `job` on an idle pooled thread, or on a new one. An exception escaping it ends the process,
  // as it would from a std::thread.
  explicit SpareThread(std::function<void()> job);
  SpareThread(SpareThread&&) noexcept;
  SpareThread& operator=(SpareThread&&) noexcept;
  // Joins (a std::thread would end the process here; waiting is the safer default for a helper).
  ~SpareThread();

  bool joinable() const { return static_cast<bool>(done_); }
  // Waits until the job has returned.
  void join();
  // Forgets the job: its thread rejoins the pool if the job ever returns.
  void detach();

  struct Done;  // the job's completion, shared with its thread

 private:
  std::shared_ptr<Done> done_;
};

}  // namespace lockstep::impl
