#include "checker/report.hpp"

#include <fmt/format.h>

namespace lockstep::checker {

namespace {
// The steps a counterexample took: those with events, and those in flight when it deadlocked (a
// round that never finished has no events, and its calls are the counterexample).
std::size_t steps_taken(const LockstepResult& r) { return r.events.size() + r.stuck.size(); }
}  // namespace

std::string campaign_summary(const CampaignReport& r, const CampaignConfig& c) {
  std::string out = r.coverage.table();
  const std::string unreached = r.coverage.unreached_rules();
  out += fmt::format("\nprograms {}  steps {}  {:.1f} s  {:.0f} steps/s  (seed {}, {} host threads, {} kthreads, maxproc {}, pid_max {}{}{})\n",
                     r.programs, r.steps, r.seconds, r.seconds > 0 ? static_cast<double>(r.steps) / r.seconds : 0.0, c.seed,
                     c.lockstep.program.chooser.hosts, c.lockstep.program.chooser.max_kthreads, c.lockstep.program.maxproc,
                     c.lockstep.program.pid_max, c.jobs > 1 ? fmt::format(", {} jobs", c.jobs) : "",
                     c.lockstep.faults.empty() ? "" : ", fault " + std::string(c.lockstep.faults.names().front()));
  out += fmt::format("SPEC rules not reached: {}\n", unreached.empty() ? "none" : unreached);
  if (c.shard.sharded() && !c.program) out += fmt::format("shard {}/{}: program indices i with i mod {} = {}\n", c.shard.index, c.shard.total, c.shard.total, c.shard.index);
  if (r.budget_exhausted) out += fmt::format("time budget reached after {} programs\n", r.programs);
  if (!r.failure) {
    out += "VERDICT: agree (impl and model agreed on every step of every program)\n";
    return out;
  }
  const Counterexample& f = *r.failure;
  out += fmt::format("\nVERDICT: {}\n", f.shrunk_result.summary());
  out += fmt::format("found in program {} (base seed {}, program seed {:#018x}) after {:.2f} s; original {} steps, shrunk to {} "
                     "steps ({} candidates tried, {} accepted)\n",
                     f.program_index, c.seed, f.program_seed, f.seconds_to_first_failure, steps_taken(f.original_result),
                     steps_taken(f.shrunk_result), f.shrink_runs, f.shrinks_accepted);
  if (f.schedule_runs > 0)
    out += fmt::format("schedule shrunk: {} preemptions -> {}, {} context switches -> {} ({} schedules tried)\n", f.preemptions_before,
                       f.preemptions_after, f.switches_before, f.switches_after, f.schedule_runs);
  if (f.shrink_budget_exhausted) out += "shrinking stopped at its time budget (--shrink-budget): the program may shrink further\n";
  if (f.nondeterminism) out += fmt::format("NONDETERMINISM in the impl: {}\n", *f.nondeterminism);
  out += "\nshrunk counterexample:\n" + listing(f.shrunk_result);
  out += fmt::format("\nreproduce:\n  {}\nthe original program (any machine, any shard count):\n  {}\n", reproduce_command(f.shrunk, c, f.schedule),
                     program_command(f.program_index, c));
  if (!f.schedule.script.empty())
    out += "the shrunk interleaving, decision by decision, is in the shrunk trace: lockstep replay TRACE (with the same --fault)\n";
  return out;
}

}  // namespace lockstep::checker
