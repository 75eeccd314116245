// Helpers for driving a Kernel over the controlled backend, the way the checker does.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "helpers.hpp"
#include "impl/job_thread.hpp"
#include "impl/controlled.hpp"

namespace lockstep::impl::testing {

using CB = sync::ControlledBackend;

// A kthread body that does one SPEC §4 iteration per step granted by the control thread, and blocks
// in the sync layer (so that the scheduler sees it) between steps.
struct Stepper {
  explicit Stepper(sync::Backend& b) : m(b, "stepper"), cv(b, "stepper.steps") {}
  sync::Mutex m;
  sync::CondVar cv;
  int granted = 0;      // guarded by m
  bool exit = false;    // guarded by m
  int code = 0;         // guarded by m

  void grant(int n = 1) {
    std::unique_lock l(m);
    granted += n;
    cv.notify_all();
  }
  void tell_exit(int c) {
    std::unique_lock l(m);
    exit = true;
    code = c;
    cv.notify_all();
  }
  std::function<void()> body() {
    return [this] {
      const KthreadSelf* s = this_kthread();
      for (;;) {
        bool ex;
        int c;
        {
          std::unique_lock l(m);
          while (granted == 0 && !exit) cv.wait(l);
          ex = exit;
          c = code;
          if (!ex) --granted;
        }
        if (ex) s->kernel.kthread_exit(s->host, c);
        s->kernel.kthread_suspend_check(s->host, s->proc);
        s->kernel.kthread_progress(s->host);
      }
    };
  }
};

struct ControlledKernel {
  explicit ControlledKernel(CB::Options o = {}, FaultSet faults = {})
      : backend(std::make_shared<CB>(o)), kernel(make_config(backend, faults)) {}
  static KernelConfig make_config(std::shared_ptr<CB> b, FaultSet faults) {
    KernelConfig c = test_config();
    c.backend = std::move(b);
    c.faults = faults;
    return c;
  }
  // The id of the most recently spawned registered thread (a kthread just created, say).
  CB::ThreadId last_thread() const { return backend->threads().back().id; }
  std::shared_ptr<CB> backend;
  Kernel kernel;
};

// Runs the job thread (through any preemption points) until it blocks or exits.
inline CB::RunResult run_job_thread(CB& b, sync::JobThread& t) {
  CB::RunResult r = b.run(t.id());
  while (r.stop == CB::Stop::preempted) r = b.run(t.id());
  return r;
}

// Runs `job` on job thread `t` until it blocks in the kernel or finishes; returns the run result.
inline CB::RunResult step(CB& b, sync::JobThread& t, std::function<void()> job) {
  t.post(std::move(job));
  return run_job_thread(b, t);
}

// Runs thread `id` from scheduling point to scheduling point until it stops at one that `at` accepts
// (true), or blocks or exits (false). For Options::preempt = every_sync_point schedules.
inline bool run_until(CB& b, CB::ThreadId id, const std::function<bool(const CB::ThreadInfo&)>& at) {
  for (;;) {
    const CB::RunResult r = b.run(id);
    if (r.stop != CB::Stop::preempted) return false;
    if (at(r.thread)) return true;
  }
}

// A stop at scheduling point `p` on `object` (a mutex, condition, new thread or yield label).
inline std::function<bool(const CB::ThreadInfo&)> at(CB::Point p, std::string object) {
  return [p, object = std::move(object)](const CB::ThreadInfo& t) { return t.point == p && t.object == object; };
}

// Runs thread `id` until it blocks or exits (through every scheduling point).
inline CB::RunResult run_to_block(CB& b, CB::ThreadId id) {
  CB::RunResult r = b.run(id);
  while (r.stop == CB::Stop::preempted) r = b.run(id);
  return r;
}

// Whether the job thread finished its job (it is back, blocked on its own mailbox).
inline bool finished(const CB::RunResult& r, const sync::JobThread& a) {
  return r.stop == CB::Stop::blocked && r.thread.object == a.mailbox_object();
}

}  // namespace lockstep::impl::testing
