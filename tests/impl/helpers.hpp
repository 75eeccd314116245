// Shared helpers for the impl tests (C++ API).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "impl/kernel.hpp"

namespace lockstep::impl::testing {

// A config whose panic hook returns (so ops throw Panic) and whose ticks are short.
inline KernelConfig test_config(int maxproc = 64, std::chrono::nanoseconds tick = std::chrono::milliseconds(1)) {
  KernelConfig c;
  c.maxproc = maxproc;
  c.tick = tick;
  c.panic_hook = [](const PanicInfo&) {};
  return c;
}

// The SPEC rule id of the FATAL that `f` ends in, or "" if it returns.
template <class F>
std::string fatal_rule(F&& f) {
  try {
    f();
  } catch (const Panic& p) {
    return p.rule();
  }
  return "";
}

// Polls `pred` until it holds or `limit` passes (for effects of real threads).
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return pred();
}

// The checker-style kthread body of SPEC §4: suspend_check(self), one unit of work, exit when told.
struct LoopCtl {
  std::atomic<bool> check{true};   // call kthread_suspend_check each iteration
  std::atomic<bool> exit{false};   // kthread_exit(code) at the end of the next iteration
  std::atomic<int> code{0};
};

inline std::function<void()> loop_body(std::shared_ptr<LoopCtl> c) {
  return [c] {
    const KthreadSelf* s = this_kthread();
    for (;;) {
      if (c->check.load()) s->kernel.kthread_suspend_check(s->host, s->proc);
      s->kernel.kthread_progress(s->host);
      if (c->exit.load()) s->kernel.kthread_exit(s->host, c->code.load());
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  };
}

inline const ProcSnapshot* find_proc(const Snapshot& s, pid_t pid) { return s.proc(pid); }

inline KthreadState kstate(Kernel& k, pid_t pid) {
  auto s = k.snapshot();
  auto* p = s.proc(pid);
  return p && p->kthread ? p->kthread->state : KthreadState::reaped;
}

}  // namespace lockstep::impl::testing
