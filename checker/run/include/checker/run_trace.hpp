// From a lockstep run to its trace (traces/FORMAT.md): the one path by which a run's record
// becomes trace events and a header, for files, replays and both judges alike.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "checker/lockstep.hpp"
#include "checker/trace.hpp"

namespace lockstep::checker {

// The impl's outcome in the trace's terms. An impl FATAL id the SPEC does not name, or an
// exception, has no model counterpart: it is kind "dead" with the text as its label.
TraceOutcome to_trace(const ImplOutcome& o);

// The events of a lockstep run. Bindings include the lwp of a new kthread (which the run does
// not bind to an impl handle, but which takes the next lwp symbol), so that every symbol a
// later op names has been bound by an event.
// A step whose pid choice the SPEC refuses (R5) is recorded as the model's own step (see
// run_trace.cpp), which needs the run's configuration.
std::vector<TraceEvent> trace_events(const LockstepResult& r, const LockstepConfig& c);

// A DEADLOCK leaves no record of the step that never finished. Its op is appended as the last
// event, with the model's outcome and no digest, so that a replay runs into the same deadlock.
void append_stuck_step(std::vector<TraceEvent>& events, const model::Op& op, const LockstepConfig& c);
// The op of a choice program's step that deadlocked (r.verdict == Deadlock, fewer records than steps).
model::Op stuck_op(const LockstepResult& r, const LockstepConfig& c, const Program& p);
TraceHeader trace_header(const LockstepResult& r, const LockstepConfig& c, std::uint64_t seed, const std::string& program);

}  // namespace lockstep::checker
