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
#include "checker/shard.hpp"

namespace lockstep::checker {

struct CampaignConfig {
  std::uint64_t seed = 1;
  std::uint64_t programs = 25000;     // program indices 0..programs-1 (those of `shard`)
  Shard shard;                        // run only the indices of this shard (by stride)
  std::optional<std::uint64_t> program;  // run only this program index (any shard count, any `programs`)
  std::uint32_t steps = 100;          // at most, per program
  LockstepConfig lockstep;
  std::chrono::milliseconds time_budget{90000};  // stop generating new programs after this
  bool shrink = true;
  std::chrono::milliseconds shrink_budget{30000};  // shrinking stops here with the smallest failure so far
  // Workers running the search's programs side by side, each on kernel instances of its own (the
  // caller is one). The report and the failure found do not depend on it: programs are committed in
  // index order, the failure is the lowest-indexed failing program, and none after it counts; only
  // the time, and so how far a time budget reaches, does. Shrinking runs on the caller alone.
  unsigned jobs = 1;
  // Called with the first failing program before shrinking starts, then with the shrunk one
  // (e.g. to write both traces, the original first, so a crash while shrinking loses nothing).
  std::function<void(const Program&, const LockstepResult&)> on_failure_found;
  std::function<void(const Program&, const LockstepResult&)> on_failure_shrunk;
};

struct Counterexample {
  std::uint64_t program_index = 0;
  std::uint64_t program_seed = 0;      // program_seed(seed, program_index): what generated it
  Schedule schedule;                   // how its threads were interleaved (kept while shrinking)
  Program original;
  LockstepResult original_result;
  Program shrunk;
  LockstepResult shrunk_result;
  std::uint64_t shrink_runs = 0;       // candidates tried
  std::uint64_t shrinks_accepted = 0;
  bool shrink_budget_exhausted = false;
  std::optional<std::string> nondeterminism;  // set when a re-run gave another outcome
  double seconds_to_first_failure = 0;
  // Schedule shrinking (interleaving strategies): the shrunk program's preemptions and context
  // switches before and after. The shrunk schedule is `schedule.script`, the decisions of
  // shrunk_result's run, which its trace records and `lockstep replay` follows.
  std::size_t preemptions_before = 0, preemptions_after = 0;
  std::size_t switches_before = 0, switches_after = 0;
  std::uint64_t schedule_runs = 0;  // candidate schedules tried
};

// Every scheduling decision a run recorded, in order: its events' turns, then those of the step or
// round that never finished (a DEADLOCK's), so that a schedule replays the failing round itself too.
std::vector<TraceTurn> recorded_turns(const LockstepResult& r);
// How many of those each round took (Schedule::script_rounds).
std::vector<std::size_t> recorded_rounds(const LockstepResult& r);

// One program a campaign ran (the JUnit test cases, the shard union test).
struct ProgramRecord {
  std::uint64_t index = 0;
  std::uint64_t seed = 0;              // its program seed
  std::uint64_t steps = 0;
  Verdict verdict = Verdict::Agree;
  std::string summary;                 // LockstepResult::summary() of its run (before shrinking)
  double seconds = 0;
};

struct CampaignReport {
  std::uint64_t programs = 0;           // programs run
  std::vector<ProgramRecord> records;   // each of them, in the order run
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

// The schedule of program `index` (generated from `seed`): the configured strategy, seeded by the
// program's seed, a portfolio's pick by index.
Schedule schedule_for(const CampaignConfig& c, std::uint64_t index, std::uint64_t seed);
CampaignReport run_campaign(const CampaignConfig& c, const std::function<void(const CampaignProgress&)>& progress = {});

// Runs one program, then shrinks it if it fails (the `--replay` path and the tests' path).
CampaignReport replay_program(const Program& p, const CampaignConfig& c);

// The command line that re-runs `p` with the same configuration.
// With an interleaving strategy it names the strategy and schedule seed (the counterexample's).
std::string reproduce_command(const Program& p, const CampaignConfig& c, const std::optional<Schedule>& schedule = std::nullopt);
// The command line that re-runs program `index` of the campaign `c` (on any machine, any shard count).
std::string program_command(std::uint64_t index, const CampaignConfig& c);

}  // namespace lockstep::checker
