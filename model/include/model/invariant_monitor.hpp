// SPEC §6 checked incrementally along a run: after each step, only what the step touched and what
// depends on it (a process whose lwp changed, an fd table whose users changed, the children of a
// pid that left the table), with a full check every `full_every` steps and whenever the caller
// asks (the end of a program).
//
// Why it is sound: the monitor starts from a state it checked whole. A state invariant reads a
// handful of objects; if none of them changed, it holds as it held. So each step re-checks the
// invariants that read a changed object, and the counts some of them need (the users of each fd
// table, the table members naming each ppid, the live processes, the console's banners and
// results) are kept up to date from the changes alone. Every host thread and every wait is checked
// on every step (there are few). The step invariants compare before with after, which differ
// only in what the footprint names.
//
// What it trusts: that the footprint names every change. diff() computes one that does; the
// model's own record (Model::apply(op, choice, &fp)) is proved complete against diff() on random
// programs by tests/model/test_invariant_monitor.cpp, and the sampled full check catches a change
// it would have missed within `full_every` steps.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "model/footprint.hpp"
#include "model/invariants.hpp"

namespace lockstep::model {

class InvariantMonitor {
 public:
  struct Options {
    // A full check after this many incremental ones (0: only when full() is called).
    std::uint32_t full_every = 64;
  };
  struct Stats {
    std::uint64_t steps = 0;        // incremental checks
    std::uint64_t full_checks = 0;  // whole-state checks (start, sampled, asked for)
  };

  InvariantMonitor() : InvariantMonitor(Options{}) {}
  explicit InvariantMonitor(Options o) : o_(o) {}

  // Checks `s` whole and starts counting from it: call it on the first state and at the end of a
  // program. Returns check_state(s).
  std::vector<Violation> full(const State& s);

  // One step: `fp` names what it changed from the state the monitor last saw into `after`.
  // Returns what check_step and check_state would report on it (for a step whose footprint is
  // complete and a state before it that held every invariant).
  std::vector<Violation> step(const Op& op, const StepResult& res, const Footprint& fp, const State& after);

  const Stats& stats() const { return stats_; }

 private:
  void recount(const State& s);

  Options o_;
  Stats stats_;
  std::uint32_t since_full_ = 0;
  std::vector<int> users_;                   // by fd table: processes in the table using it
  std::unordered_map<Pid, int> children_;    // by pid: table members whose ppid it is
  std::size_t live_ = 0;                     // processes not freed
  int banners_ = 0, results_ = 0;            // S6's console lines so far
  // Scratch, kept to spare allocations.
  std::vector<ProcId> procs_;
  std::vector<LwpId> lwps_;
  std::vector<FdTableId> fdtables_;
  std::vector<Pid> pids_;
};

}  // namespace lockstep::model
