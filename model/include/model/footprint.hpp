// What one step changed: the objects it wrote, each with its value before the step, and the
// scalars as they were. The invariants of a step can then be checked on what it touched alone
// (invariant_monitor.hpp): everything else is as it was, and was checked before.
//
// Two sources, one meaning:
//  - Model::apply(op, choice, &fp) records it while stepping (the cheap way, for the model's own
//    steps; tests prove the record is complete against diff() on random programs);
//  - diff(before, after) computes it from two states that came from anywhere (a recorded trace).
#pragma once
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "model/state.hpp"

namespace lockstep::model {

struct Footprint {
  // The step replaced the whole state (rump_init on an uninitialised instance): check everything.
  bool whole = false;
  // Before-images of existing objects the step wrote (ids below the *_before sizes), each once.
  std::vector<std::pair<ProcId, Process>> procs;
  std::vector<std::pair<LwpId, Lwp>> lwps;
  std::vector<std::pair<FdTableId, FdTable>> fdtables;
  std::vector<std::pair<HostId, HostThread>> hosts;
  // Process-table entries the step added, removed or re-pointed: the pid and what it named before.
  std::vector<std::pair<Pid, std::optional<ProcId>>> table;
  // The waits before the step, when it began or ended any.
  std::optional<std::vector<Wait>> waits;
  // Files, descriptions or paths changed (no invariant reads them; S4's "changed nothing" does).
  bool files = false;
  // Sizes before the step: objects at or past them are new.
  std::size_t procs_before = 0, lwps_before = 0, fdtables_before = 0, hosts_before = 0, console_before = 0;
  // Scalars before the step.
  Fatal fatal = Fatal::None;
  Tick now = 0;
  int nprocs = 0;
  Pid next_pid = 0;
  std::uint64_t next_wait_seq = 0;

  // An empty footprint of a step about to run on `s`.
  static Footprint of(const State& s);
  // Whether the step changed nothing at all.
  bool unchanged(const State& after) const;

  // The before-image of an object, or nullptr when the step did not write it.
  const Process* proc_before(ProcId id) const;
  const Lwp* lwp_before(LwpId id) const;
  const FdTable* fdtable_before(FdTableId id) const;
  const HostThread* host_before(HostId id) const;
  // What the table named for `pid` before the step, given what it names now.
  std::optional<ProcId> table_before(Pid pid, const State& after) const;
};

// Everything that differs between `before` and `after`, as a footprint of a step from one to the
// other. Throws std::invalid_argument when `after` is not a successor at all (an object vector
// shrank, the console lost lines).
Footprint diff(const State& before, const State& after);

}  // namespace lockstep::model
