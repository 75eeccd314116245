// Lockstep execution: one program, run step by step on a fresh impl kernel under
// the controlled scheduler and on the model, comparing after every step everything
// SPEC §7 names. The pipeline is:  program -> run (this file) -> trace -> verdict.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "checker/coverage.hpp"
#include "checker/observation.hpp"
#include "checker/program.hpp"
#include "checker/trace.hpp"
#include "impl/faults.hpp"
#include "model/op.hpp"
#include "model/rules.hpp"

namespace lockstep::checker {

struct LockstepConfig {
  ProgramConfig program;
  impl::FaultSet faults;
  std::chrono::milliseconds watchdog{2000};  // real-time bound for one step (DEADLOCK beyond it)
  bool invariants = true;                     // also evaluate §6 on the model after every step
  // Real-time bound for tearing the instance down after the run; past it the instance is abandoned
  // (reported, never joined). Capped by what is left until `deadline`, but never below 50 ms.
  std::chrono::milliseconds teardown_grace{2000};
  // The run ends by then, whatever the impl does: no step starts after it, and a step still running
  // at it is cut (LockstepResult::cut_short; a cut is no verdict, never a DEADLOCK).
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

// What the impl's call ended in, in the model's terms (handles mapped back to symbols).
struct ImplOutcome {
  enum class Kind : std::uint8_t { Returned, Blocked, Fatal, Error } kind = Kind::Returned;
  std::int64_t ret = 0;
  int err = 0;
  model::LwpId lwp = model::kNoLwp;  // curlwp's answer; kNoLwp - 1 for a handle never bound
  std::int64_t st_size = 0;
  std::string what;                  // Fatal: the rule id it panicked with; Error: the exception
  friend bool operator==(const ImplOutcome&, const ImplOutcome&) = default;
};

// One executed step as both sides saw it.
struct StepRecord {
  std::size_t index = 0;
  model::Op op;                 // resolved, naming model ids (the symbols)
  model::Outcome outcome;       // the model's outcome of the acting op
  std::vector<model::Completion> woke;  // the model's completions of earlier blocked calls
  std::vector<Binding> bound;
  std::uint64_t digest = 0;     // digest of the §7 observation after the step (0 when the step ended the run)
  ImplOutcome impl;             // the impl's outcome of the acting op
  std::vector<std::pair<model::Actor, ImplOutcome>> impl_woke;  // blocked calls the impl returned from
  std::optional<Observation> impl_state;  // the impl's §7 observation, kept when it differed from the model's
  std::string expected;         // the model's outcome, rendered
  std::string observed;         // the impl's outcome, rendered
  std::vector<std::string> completions;  // "H1 -> 0", ...
  std::vector<std::string> bindings;     // "lwp#3 = 0x...", "proc#2 = pid 5"
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
  std::vector<StepRecord> steps;
  std::optional<Divergence> divergence;
  std::string deadlock_report;  // every thread's state, on DEADLOCK
  std::optional<model::Op> stuck;  // DEADLOCK inside a step: its op, which has no StepRecord
  // The run reached LockstepConfig::deadline before its program ended: what it ran is judged, the
  // rest was not run. Never set together with a DIVERGE or DEADLOCK verdict.
  bool cut_short = false;
  // Set when the instance could not be torn down and was abandoned (its stuck threads, by name).
  // On a run that otherwise agreed this is a DEADLOCK verdict (the impl kept a thread nobody can end).
  std::string abandoned;
  Coverage coverage;
  std::uint64_t steps_run() const { return steps.size(); }
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
