// The scheduling policy: which registered thread runs next, which waiting thread (if any) wakes
// spuriously, and when virtual time advances. It is apart from the runtime that carries the
// decisions out (the controlled backend and the runner), the way Shuttle's Scheduler::next_task is
// apart from its executor. A policy is deterministic given its seed, so the same program, strategy
// and seed give the same interleaving: a failing schedule replays from (strategy, seed).
//
// Strategies (checker/strategy.hpp names them):
//   op         control passes only at operation boundaries and blocking points (the runner does not
//              preempt inside operations); earliest-runnable first.
//   random     a uniform random walk over the runnable threads at every scheduling point.
//   pct:D      PCT (Burckhardt et al., ASPLOS 2010): random distinct thread priorities, the highest
//              runnable runs, and at D-1 random points of the run the running thread drops below
//              every other. Finds a bug of depth D with probability >= 1/(n k^(D-1)).
//   pos        partial-order sampling (Yuan et al., CAV 2018): a random priority per pending event;
//              after an event runs, the events racing with it (same sync object) draw new priorities.
//   gap        a random walk that stretches lock gaps: a thread stopped right after an unlock, still
//              inside its call, is held back (one time in two) while any other thread can run, so
//              the others' whole calls fit between its critical sections: where a check-then-act or
//              a two-step update shows its half-done state.
//   lead       one thread of the round runs alone to its first (or n-th) unlock inside its call and
//              is held there while the rest of the round runs: the round's other calls, an actor's
//              second call too, fall whole into that one lock gap.
//   portfolio  rotates random, pos, lead, pct:2, pct:3, lead, gap across programs (as Coyote does).
// All but `op` preempt at every sync point (ControlledBackend::Preempt::every_sync_point) and may
// wake a condition waiter spuriously (the sync layer allows it; a caller that does not loop on its
// predicate is a bug the checker must show).
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "impl/controlled.hpp"

namespace lockstep::checker {

class SchedulePolicy {
 public:
  using Sched = impl::sync::ControlledBackend;
  using ThreadId = Sched::ThreadId;
  virtual ~SchedulePolicy() = default;
  virtual std::string_view name() const = 0;
  // Preempt inside operations (at every sync point), or only at blocking points.
  virtual bool interleaves() const = 0;
  // The thread to run next; `runnable` is never empty and is in the order the threads became
  // runnable (earliest first).
  virtual ThreadId next(std::span<const Sched::ThreadInfo> runnable) = 0;
  // A thread among `waiting` (threads blocked in a condition wait, never empty) to wake spuriously
  // before the next choice, or nullopt.
  virtual std::optional<ThreadId> spurious(std::span<const Sched::ThreadInfo> waiting) {
    (void)waiting;
    return std::nullopt;
  }
  // Ticks to advance virtual time by on the policy's own initiative when nothing is runnable, or
  // nullopt to leave time to the program's tick steps.
  virtual std::optional<impl::sync::Ticks> advance_time() { return std::nullopt; }
  // A round of `ops` overlapping operations (1: a single step) is about to be posted. Between
  // rounds every thread is idle or blocked (a quiescent point), so each round is a small concurrent
  // test of its own; a strategy whose guarantee depends on the run's length (PCT) starts afresh
  // here, with a horizon of about kChoicesPerRoundOp choices per op.
  //
  // `key` is the round's own seed: the run's seed mixed with what the round holds (its ops' actors
  // and kinds, not their symbols). A strategy that draws from it interleaves a round the same way
  // wherever the round falls in the program, so shrinking can drop unrelated steps before a failing
  // round without losing its interleaving.
  virtual void round_begins(std::size_t ops, std::uint64_t key) {
    (void)ops;
    (void)key;
  }
  static constexpr std::uint32_t kChoicesPerRoundOp = 12;
  // After a round's ops are posted, before its first choice: the threads of the ops that no other op
  // of the round waits for (an actor's second call, a call held back until another returned). Those
  // waiting ops are the round's real-time witnesses; a strategy that holds one thread inside its call
  // while the others run whole calls picks it among these.
  virtual void round_leaders(std::span<const ThreadId> threads) { (void)threads; }
  // Every decision the run carried out, in order, whoever made it (the runner also runs a thread
  // itself, e.g. the one it just posted an op to): a thread ran a turn, or was woken spuriously.
  // Named as traces name threads (checker/trace.hpp TraceTurn). A scripted schedule follows these.
  virtual void ran(const std::string& thread) { (void)thread; }
  virtual void woke(const std::string& thread) { (void)thread; }
};

// Today's lockstep: control passes between threads only at operation boundaries and blocking
// points. The woken threads run earliest-woken first, each to its next blocking point, and time
// moves only when the program ticks.
class OpAtATime final : public SchedulePolicy {
 public:
  std::string_view name() const override { return "op"; }
  bool interleaves() const override { return false; }
  ThreadId next(std::span<const Sched::ThreadInfo> runnable) override { return runnable.front().id; }
};

}  // namespace lockstep::checker
