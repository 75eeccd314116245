// The second judge: Z3 checks SPEC §6 (R1-R6, S1-S6) on a recorded trace, independently of the
// model (checker/verify/VERIFY.md). Its input is what HAPPENED: for each event the actor and op, the
// outcome the implementation produced (the recorded one where the impl agreed with the model),
// the blocked calls it returned from, the symbols it bound, and, where the impl's §7 state
// differed from the model's, that observed state. The encoding is written from the SPEC.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "checker/observation.hpp"
#include "checker/trace.hpp"
#include "model/op.hpp"
#include "model/rules.hpp"

namespace lockstep::checker {

// How a call ended, as far as the invariants care. `Unknown` = the trace does not say
// (an impl exception): the verifier takes no effect from it.
struct VOutcome {
  enum class Kind : std::uint8_t { Returned, Blocked, Fatal, NotRunnable, Dead, Unknown } kind = Kind::Returned;
  std::int64_t ret = 0;
  std::optional<model::LwpId> lwp;  // L5's answer, when known
  friend bool operator==(const VOutcome&, const VOutcome&) = default;
};

struct VCompletion {
  model::Actor actor;
  VOutcome outcome;
  friend bool operator==(const VCompletion&, const VCompletion&) = default;
};

struct VEvent {
  std::size_t step = 0;
  model::Op op;
  VOutcome outcome;
  std::vector<VCompletion> woke;
  std::vector<Binding> bound;            // symbols this event created, with their pids
  std::optional<Observation> observed;   // the state after the event, where it is known to differ
  std::vector<std::size_t> after;        // steps of events known to have ended before this one began
  friend bool operator==(const VEvent&, const VEvent&) = default;
};

struct VTrace {
  int hosts = 3;
  std::vector<VEvent> events;
};

// From a trace file's contents: the impl's `observed*` where present, else the recorded outcome.
VTrace to_vtrace(const TraceHeader& h, const std::vector<TraceEvent>& events);

// The verdict on one invariant.
struct InvariantVerdict {
  model::Rule rule = model::Rule::R1;
  bool holds = true;
  std::size_t step = 0;        // the first violating event (its VEvent::step)
  std::string what;            // the failing formula's instance, with Z3's values at that step
  std::vector<std::size_t> core;  // the events (VEvent::step) an unsat core says force the violation
  std::vector<std::string> core_text;  // one line per core member
};

struct VerifyOptions {
  std::size_t window = 256;     // events per solver window (bench_verify: 128..2048 cost about the same)
  bool explain = true;          // compute unsat cores for violations
  std::size_t explain_span = 4096;  // the core names events at most this far before the violation
};

struct VerifyReport {
  std::vector<InvariantVerdict> verdicts;  // R1..R6, S1..S6, in order
  std::size_t events = 0;
  std::size_t solver_checks = 0;
  // Where the time went (seconds): building the formulas (the encoder and Z3's term API), the
  // solver's checks, reading each window's model back (the next window's numerals), explanations.
  struct Profile {
    double encode = 0, solve = 0, model = 0, explain = 0;
  } profile;
  bool all_hold() const;
  const InvariantVerdict& of(model::Rule r) const;
};

// Throws std::invalid_argument when the trace contradicts itself (e.g. a binding that names an
// unknown pid, an op on a symbol never bound): bad input, not a verdict.
VerifyReport verify(const VTrace& t, const VerifyOptions& o = {});

// Readable text: one line per invariant, then per violation its explanation.
std::string render(const VerifyReport& r);

// The rules this verifier judges, in report order.
const std::vector<model::Rule>& verified_rules();

}  // namespace lockstep::checker
