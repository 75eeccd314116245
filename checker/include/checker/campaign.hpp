// A conformance campaign: RapidCheck generates programs (and their shrink trees),
// each runs in lockstep on a fresh kernel; the first failure is shrunk to a
// minimal program, every accepted shrink re-run to prove it deterministic.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "checker/coverage.hpp"
#include "checker/lockstep.hpp"
#include "checker/program.hpp"

namespace lockstep::checker {

struct CampaignConfig {
  std::uint64_t seed = 1;
  std::uint64_t programs = 25000;
  std::uint32_t steps = 100;          // at most, per program
  LockstepConfig lockstep;
  std::chrono::milliseconds time_budget{90000};  // stop generating new programs after this
  bool shrink = true;
  std::chrono::milliseconds shrink_budget{30000};  // shrinking stops here with the smallest failure so far
  // Called with the first failing program before shrinking starts, then with the shrunk one
  // (e.g. to write both traces, the original first, so a crash while shrinking loses nothing).
  std::function<void(const Program&, const LockstepResult&)> on_failure_found;
  std::function<void(const Program&, const LockstepResult&)> on_failure_shrunk;
};

struct Counterexample {
  std::uint64_t program_index = 0;
  Program original;
  LockstepResult original_result;
  Program shrunk;
  LockstepResult shrunk_result;
  std::uint64_t shrink_runs = 0;       // candidates tried
  std::uint64_t shrinks_accepted = 0;
  bool shrink_budget_exhausted = false;
  std::optional<std::string> nondeterminism;  // set when a re-run gave another outcome
  double seconds_to_first_failure = 0;
};

struct CampaignReport {
  std::uint64_t programs = 0;
  std::uint64_t steps = 0;
  double seconds = 0;
  bool budget_exhausted = false;
  Coverage coverage;
  std::optional<Counterexample> failure;
  bool agreed() const { return !failure; }
};

struct CampaignProgress {
  std::uint64_t programs = 0;
  std::uint64_t steps = 0;
  bool shrinking = false;
};

CampaignReport run_campaign(const CampaignConfig& c, const std::function<void(const CampaignProgress&)>& progress = {});

// Runs one program, then shrinks it if it fails (the `--replay` path and the tests' path).
CampaignReport replay_program(const Program& p, const CampaignConfig& c);

// The command line that re-runs `p` with the same configuration.
std::string reproduce_command(const Program& p, const CampaignConfig& c);

}  // namespace lockstep::checker
