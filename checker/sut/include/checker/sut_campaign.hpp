// A conformance campaign on a plug-in SUT: random programs (the same choice programs as `lockstep
// run`, restricted to the calls the SUT exports), each in a fresh child process; the first failure is
// shrunk by dropping steps and lowering choices, keeping a candidate only when it fails the same way
// (same verdict, same SPEC rule).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "checker/sut_lockstep.hpp"

namespace lockstep::checker::sut {

struct SutCampaignConfig {
  SutRunConfig run;
  std::uint64_t seed = 1;
  std::uint64_t programs = 1000000;
  std::uint32_t steps = 100;
  std::chrono::milliseconds time_budget{60000};   // no new program starts after this
  bool shrink = true;
  std::chrono::milliseconds shrink_budget{30000};
  std::optional<Program> replay;                  // run only this program
  std::function<void(const Program&, const SutRunResult&)> on_failure_found;   // before shrinking
  std::function<void(const Program&, const SutRunResult&)> on_failure_shrunk;
};

struct SutFailure {
  std::uint64_t program_index = 0;
  Program original;
  SutRunResult original_result;
  Program shrunk;
  SutRunResult shrunk_result;
  std::uint64_t shrink_runs = 0;
  std::uint64_t shrinks_accepted = 0;
  bool shrink_budget_exhausted = false;
  std::string shrink_error;  // shrinking stopped: a candidate's child could not be started (this is why)
};

struct SutCampaignReport {
  std::uint64_t programs = 0;
  std::uint64_t steps = 0;          // program steps
  std::uint64_t calls = 0;          // calls sent to the SUT (probes and rump_init included)
  double seconds = 0;
  double spawn_seconds = 0;         // summed over programs: start of a child to its Hello
  std::uint64_t reused = 0;         // programs run in a child reset after an earlier one (lockstep_sut_reset)
  std::uint64_t states_compared = 0;  // §7 states compared (lockstep_sut_state)
  std::uint64_t kthread_pids_asked = 0;  // kthreads whose pid was learnt by newlwp (no lockstep_proc_pid)
  std::uint64_t pid_probes = 0;          // ... in this many newlwp requests (scans)
  std::uint64_t armed_compared = 0;   // states read while a timed wait pended: its armed timeout compared
  bool budget_exhausted = false;
  Coverage coverage;
  std::optional<SutFailure> failure;
  // The campaign stopped because a program could not be run (SutVerdict::Error): no verdict on the
  // SUT. The text says which program and why.
  std::string error;
  bool agreed() const { return !failure && error.empty(); }
};

struct SutProgress {
  std::uint64_t programs = 0;
  std::uint64_t steps = 0;
  bool shrinking = false;
};

SutCampaignReport run_sut_campaign(const SutCampaignConfig& c, const std::function<void(const SutProgress&)>& progress = {});

// The numbered listing of a run, its failure last.
std::string sut_listing(const SutRunResult& r);

}  // namespace lockstep::checker::sut
