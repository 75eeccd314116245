// Lockstep execution: one program, run step by step on a fresh impl kernel under
// the controlled scheduler and on the model, comparing after every step everything
// SPEC §7 names. The pipeline is:  program -> run (this file) -> trace -> verdict.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "checker/coverage.hpp"
#include "checker/observation.hpp"
#include "checker/program.hpp"
#include "checker/strategy.hpp"
#include "checker/trace.hpp"
#include "impl/faults.hpp"
#include "model/op.hpp"
#include "model/rules.hpp"

namespace lockstep::checker {

struct LockstepConfig {
  ProgramConfig program;
  impl::FaultSet faults;
  // How threads are interleaved (strategy and seed; checker/schedule_policy.hpp). The default, `op`,
  // hands control over only at operation boundaries and blocking points.
  Schedule schedule;
  std::chrono::milliseconds watchdog{2000};  // real-time bound for one step (DEADLOCK beyond it)
  // The controlled backend's threads as fibers on the checker's thread (user-space switches), or as
  // OS threads (false: easier to follow in a debugger); the same seed gives the same run either way.
  bool fibers = true;
  bool invariants = true;                     // also evaluate §6 on the model after every step
  // Real-time bound for tearing the instance down after the run; past it the instance is abandoned
  // (reported, never joined). Capped by what is left until `deadline`, but never below 50 ms.
  std::chrono::milliseconds teardown_grace{2000};
  // The run ends by then, whatever the impl does: no step starts after it, and a step still running
  // at it is cut (LockstepResult::cut_short; a cut is no verdict, never a DEADLOCK).
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

struct Divergence {
  std::size_t step = 0;
  model::Rule rule = model::Rule::P0;
  std::string what;      // which comparison failed
  std::string expected;
  std::string observed;
};

struct LockstepResult {
  Verdict verdict = Verdict::Agree;
  // One trace event per step run (traces/FORMAT.md), as the run recorded it: the op, the model's
  // outcome and wake-ups, every symbol the step bound (a new kthread's own lwp included) and the
  // digest of the §7 observation after it (none on a step that ended the run). The divergent step
  // also holds what the impl did (`observed`, `observed_woke`, `observed_state`, `observed_bind`);
  // where the impl chose a pid the SPEC refuses (R5) it is the model's own step with the reference
  // allocator's pid, and the impl's pid is in `observed_bind`.
  std::vector<TraceEvent> events;
  std::optional<Divergence> divergence;
  std::string deadlock_report;  // every thread's state, on DEADLOCK
  // DEADLOCK inside a step or a round: its ops, which have no events (a round is judged only when
  // every op in it has returned or blocked, so none of a round that never got there has one).
  std::vector<model::Op> stuck;
  // The run reached LockstepConfig::deadline before its program ended: what it ran is judged, the
  // rest was not run. Never set together with a DIVERGE or DEADLOCK verdict.
  bool cut_short = false;
  // Set when the instance could not be torn down and was abandoned (its stuck threads, by name).
  // On a run that otherwise agreed this is a DEADLOCK verdict (the impl kept a thread nobody can end).
  std::string abandoned;
  Coverage coverage;
  // A strict scripted schedule (a trace's recorded decisions) that did not fit the run: which
  // decision and why. The run stopped there without a verdict of its own (cut_short is set).
  std::string misfit;
  // The scheduling decisions taken after the last event: those of a step or round that never
  // finished (DEADLOCK). A trace puts them on its stuck step (append_stuck_step).
  std::vector<TraceTurn> unfinished_turns;
  Schedule schedule;  // how the run interleaved its threads (a trace records it to replay the run)
  // The program as its rounds ran (run_lockstep(Program) only): the steps that ran, in run order, with
  // each round's plan (Program::plan). Run again, it runs the same rounds; shrinking an interleaved
  // counterexample drops steps from it without re-forming the rounds around them.
  Program formed;
  std::uint64_t steps_run() const { return events.size(); }
  // One line: "agree (N steps)" or "DIVERGE at step k [rule]: what: expected X, observed Y".
  std::string summary() const;
};

// Runs a choice program (resolved step by step against the model).
LockstepResult run_lockstep(const Program& p, const LockstepConfig& c);
// Runs a concrete op list (e.g. from the state-graph explorer); ops name model ids.
LockstepResult run_lockstep(const std::vector<model::Op>& ops, const LockstepConfig& c);

// A numbered, readable listing of a run: op, expected, observed, and the divergence.
std::string listing(const LockstepResult& r);

}  // namespace lockstep::checker
