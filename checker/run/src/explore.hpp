// A campaign's search phase: the programs of a seed run by `CampaignConfig::jobs` workers side by
// side, each on kernel instances of its own, and committed to the report in index order. So the
// report (programs, steps, coverage, records) and the failure found are those of one worker running
// the indices in order: the failure is the lowest-indexed failing program, and no program after it
// counts. Only the time each takes, and so how far a time budget reaches, depends on the workers.
#pragma once
#include <chrono>
#include <functional>
#include <optional>

#include "checker/campaign.hpp"

namespace lockstep::checker {

// The first failing program, as run.
struct FoundFailure {
  std::uint64_t index = 0;
  std::uint64_t seed = 0;
  Schedule schedule;
  Program program;
  LockstepResult result;
  double seconds_since_start = 0;
};

// Runs the campaign's programs (c.program, c.shard, c.programs) with `search` (its deadline set),
// generating program i from program_seed(c.seed, i) with `generate`, until one fails, the time
// budget is over (rep.budget_exhausted), or none is left. Fills rep's programs, steps, coverage and
// records; `progress` is called from the committing worker, one call at a time.
std::optional<FoundFailure> explore(const CampaignConfig& c, const LockstepConfig& search,
                                    const std::function<Program(std::uint64_t seed)>& generate,
                                    std::chrono::steady_clock::time_point t0, CampaignReport& rep,
                                    const std::function<void(const CampaignProgress&)>& progress);

}  // namespace lockstep::checker
