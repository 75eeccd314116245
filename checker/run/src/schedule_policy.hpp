// The scheduling policy: which registered thread runs next, and when virtual time advances. It is
// apart from the runtime that carries the decisions out (the controlled backend and the runner), the
// way Shuttle's Scheduler::next_task is apart from its executor. A policy is deterministic given its
// seed, so the same program and seed give the same interleaving.
#pragma once
#include <optional>
#include <string_view>
#include <vector>

#include "impl/controlled.hpp"

namespace lockstep::checker {

class SchedulePolicy {
 public:
  using ThreadId = impl::sync::ControlledBackend::ThreadId;
  virtual ~SchedulePolicy() = default;
  virtual std::string_view name() const = 0;
  // The thread to run next; `runnable` is never empty and is in the order the threads became
  // runnable (earliest first).
  virtual ThreadId next(const std::vector<ThreadId>& runnable) = 0;
  // Ticks to advance virtual time by on the policy's own initiative when nothing is runnable, or
  // nullopt to leave time to the program's tick steps.
  virtual std::optional<impl::sync::Ticks> advance_time() = 0;
};

// Today's lockstep: control passes between threads only at operation boundaries and blocking
// points. The woken threads run earliest-woken first, each to its next blocking point, and time
// moves only when the program ticks.
class OpAtATime final : public SchedulePolicy {
 public:
  std::string_view name() const override { return "op"; }
  ThreadId next(const std::vector<ThreadId>& runnable) override { return runnable.front(); }
  std::optional<impl::sync::Ticks> advance_time() override { return std::nullopt; }
};

}  // namespace lockstep::checker
