// Which operations can race: the objects an op touches in a state, and whether two ops of different
// actors touch a common one. The runner uses it to put conflicting operations in one round (a race
// needs its operations in flight together; two ops on unrelated objects commute, so overlapping them
// finds nothing), the way POS and SURW spend their choices on racing events.
//
// The objects are processes (a kthread is one) and one pseudo-object, the process table, which every
// op that allocates or frees a pid touches. An op touches:
//   - its actor's context: a host's current process, and what the op reaches through it (getppid:
//     the parent; a release: the children it may reparent; an fd op or rfork: the processes sharing
//     the fd table); a kthread's own process; for a tick, the kthreads of the timed waits pending
//     (it may time them out, racing their acknowledgement, exit or resume);
//   - every process its arguments name (a proc handle, an lwp's process, a pid; a pid no longer in
//     the table names the last process freed with it: a stale pid races that process's release);
//   - the process table, when it creates or may free a process.
// Processes 0 and 1 (the kernel and init) are in nearly every op's context, so sharing only them is
// not a conflict: that would make every pair conflict and the focus would be lost.
#pragma once
#include <vector>

#include "model/op.hpp"
#include "model/state.hpp"

namespace lockstep::checker {

// The process table as an object (never a real ProcId: ids are indexes into State::procs).
inline constexpr model::ProcId kProcTableObject = static_cast<model::ProcId>(-2);

// What `op` touches in state `s`, sorted, without duplicates, processes 0 and 1 left out.
std::vector<model::ProcId> touched_objects(const model::Op& op, const model::State& s);

// Whether two sorted object sets (touched_objects) have an object in common.
bool share_object(const std::vector<model::ProcId>& x, const std::vector<model::ProcId>& y);

// Two ops of different actors that touch a common object in `s`. (An op already run touches what it
// touched in the state before it: a release's children are no longer its children after it.)
bool conflicts(const model::Op& a, const model::Op& b, const model::State& s);

}  // namespace lockstep::checker
