// Which operations can race: the objects an op touches in a state, and whether two ops of different
// actors touch a common one. The runner uses it to put conflicting operations in one round (a race
// needs its operations in flight together; two ops on unrelated objects commute, so overlapping them
// finds nothing), the way POS and SURW spend their choices on racing events.
//
// The objects are processes (a kthread is one) and pseudo-objects: the process table, which every op
// that allocates or frees a pid touches; each fd table; and each file path. An op touches:
//   - its actor's context: a host's current process, and what the op reaches through it (getppid:
//     the parent; a release: the children it may reparent; an fd op or rfork: the processes sharing
//     the fd table); a kthread's own process; for a tick, the kthreads of the timed waits pending
//     (it may time them out, racing their acknowledgement, exit or resume);
//   - every process its arguments name (a proc handle, an lwp's process, a pid; a pid no longer in
//     the table names the last process freed with it: a stale pid races that process's release);
//   - the process table, when it creates or may free a process;
//   - for an fd op or rfork, its process's fd table; for an open, the path; for an fd op, the path of
//     the file its fd names. Two opens of one path race to create it, two dups on one table race
//     for the lowest free fd, whatever processes the callers run in.
// Processes 0 and 1 (the kernel and init) are in nearly every op's context, so sharing only them is
// not a conflict: that would make every pair conflict and the focus would be lost. (Their fd tables
// and files are objects like any other: host threads with no lwp of their own share init's table.)
#pragma once
#include <string_view>
#include <vector>

#include "model/op.hpp"
#include "model/state.hpp"

namespace lockstep::checker {

// The pseudo-objects, numbered apart from real ProcIds (indexes into State::procs): the process
// table; fd table t is kFdTableObjects + t; a path is kPathObjects + a 30-bit hash of it.
inline constexpr model::ProcId kProcTableObject = static_cast<model::ProcId>(-2);
inline constexpr model::ProcId kFdTableObjects = 0x40000000u;
inline constexpr model::ProcId kPathObjects = 0x80000000u;
inline constexpr bool is_process_object(model::ProcId p) { return p < kFdTableObjects; }
inline constexpr bool is_path_object(model::ProcId p) { return p >= kPathObjects && p < kPathObjects + 0x40000000u; }

// The pseudo-object of a file path.
model::ProcId path_object(std::string_view path);

// What `op` touches in state `s`, sorted, without duplicates, processes 0 and 1 left out.
std::vector<model::ProcId> touched_objects(const model::Op& op, const model::State& s);
// The same into `out` (cleared first), for a caller that asks for many and keeps the storage.
void touched_objects(const model::Op& op, const model::State& s, std::vector<model::ProcId>& out);

// Whether two sorted object sets (touched_objects) have an object in common.
bool share_object(const std::vector<model::ProcId>& x, const std::vector<model::ProcId>& y);

// Two ops of different actors that touch a common object in `s`. (An op already run touches what it
// touched in the state before it: a release's children are no longer its children after it.)
bool conflicts(const model::Op& a, const model::Op& b, const model::State& s);

}  // namespace lockstep::checker
