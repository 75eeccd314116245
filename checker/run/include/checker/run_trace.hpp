// From a lockstep run to its trace (traces/FORMAT.md): the one path by which a run's record
// becomes trace events and a header, for files, replays and both judges alike.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "checker/lockstep.hpp"
#include "checker/trace.hpp"

namespace lockstep::checker {

// The events of a run are its own (LockstepResult::events, complete with bindings and, at a
// divergence, what the impl did); what a run's trace adds to them is here.

// A DEADLOCK leaves no record of the step that never finished. Its op is appended as the last
// event, with the model's outcome and no digest, so that a replay runs into the same deadlock.
// `turns`: the decisions of the step or round that never finished (LockstepResult::unfinished_turns).
void append_stuck_step(std::vector<TraceEvent>& events, const model::Op& op, const LockstepConfig& c, std::vector<TraceTurn> turns = {});
// The op of a choice program's step that deadlocked (r.verdict == Deadlock, fewer records than steps).
model::Op stuck_op(const LockstepResult& r, const LockstepConfig& c, const Program& p);
TraceHeader trace_header(const LockstepResult& r, const LockstepConfig& c, std::uint64_t seed, const std::string& program);

}  // namespace lockstep::checker
