// Chooses the next op of a random program from the current model state, so that
// arguments mostly name objects that exist (or existed: stale handles are part of
// the alphabet) and the interesting states of SPEC §3-§5 are reached often.
#pragma once
#include <cstdint>
#include <vector>

#include "checker/random_source.hpp"
#include "model/model.hpp"
#include "model/op.hpp"
#include "model/state.hpp"

namespace lockstep::checker {

struct ChooserConfig {
  int hosts = 3;               // host threads H0..H{hosts-1}
  int max_kthreads = 2;        // kthread_create is tried only while fewer are alive
  std::uint32_t misuse_percent = 2;  // how often an op that is FATAL on purpose is chosen

  // Misuse beyond the SPEC's FATALs, for the model's own property tests (tests/model), which hold
  // the model to "never throws, invariants hold" on any input. All off by default; an option that is
  // off draws no choice, so a program means the same ops with or without these fields.
  std::uint32_t uninit_misuse_percent = 0;  // before rump_init: an arbitrary op instead (FATAL(P0-uninit))
  std::uint32_t wrong_actor_percent = 0;    // the op by another actor: a blocked host, an odd host
                                            // index, an actor kind its traits row does not allow
  std::uint32_t bind_pid_percent = 0;       // an op that allocates a pid binds the kernel's choice
                                            // (model::Choice), an allowed pid or not
  std::uint32_t extreme_percent = 0;        // one argument takes an extreme value for its kind
                                            // (negative, huge, empty or long, never issued)
  std::uint32_t arbitrary_percent = 0;      // the op ignores the state: any kind, actor and arguments

  // The processes and file paths that a round of overlapping operations has touched so far
  // (checker/conflict.hpp: a path is its pseudo-object), sorted; set by the runner when it resolves a
  // step as a candidate to join that round, empty otherwise (and then it draws nothing). A focused
  // step leans on them: a host or kthread in one of the processes acts, pids and handles name them, a
  // host in one often observes (getppid, getpid, curlwp; getppid above all once the round has freed
  // a process: its children's parent link changed), any host may ask whether a process the round
  // freed still exists (newlwp of its pid; kthread_resume of a reaped kthread), whether a slot it
  // freed in a table one short of full is free (kthread_create at maxproc - 1, a fork with one pid
  // free), and an open names a path in focus half of the time (two
  // opens of a path that does not exist yet race to create it): a race inside an operation shows
  // only to someone who looks while it runs. The process part draws only when it holds a process.
  std::vector<model::ProcId> focus{};

  // What a plug-in SUT offers (checker/sut): it exports only part of the C API, so only the op kinds
  // whose C names it exports are drawn (bit k: kOpTraits[k]), an unexported kind's share spread over the
  // others in proportion to their weights; and its C API hands out process handles only for the kthreads it creates. The defaults draw exactly as before.
  std::uint32_t supported = ~0u;
  bool user_proc_handles = true;
  bool supports(std::size_t kind) const { return ((supported >> kind) & 1u) != 0; }

  bool any_option() const {
    return uninit_misuse_percent || wrong_actor_percent || bind_pid_percent || extreme_percent || arbitrary_percent;
  }
};

// One chosen step: the op, and the pid choice it binds (unset unless bind_pid_percent).
struct ChosenStep {
  model::Op op;
  model::Choice choice;
};

// Returns an op whose actor is runnable in `s` (there always is one: the clock), unless the
// options above ask for misuse.
ChosenStep choose_step(const model::State& s, const ChooserConfig& c, Source& src);
inline model::Op choose_op(const model::State& s, const ChooserConfig& c, Source& src) { return choose_step(s, c, src).op; }

}  // namespace lockstep::checker
