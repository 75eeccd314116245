// A program is a list of steps; each step is a short list of choice numbers that
// the op chooser (op_chooser.hpp) interprets against the model's state when the
// step runs: which actor, which op, which existing (or stale) object it names.
// So a program is plain data that RapidCheck generates and shrinks (drop steps,
// move choices toward 0), while every step still resolves to an op that makes
// sense in the state it meets. The resolved ops, with the model ids as the
// symbols that the checker binds to impl handles, are what a listing shows.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "checker/op_chooser.hpp"
#include "checker/random_source.hpp"
#include "model/model.hpp"

namespace lockstep::checker {

// The chooser draws at most 9 choices for one step (actor, host, misuse, op, up to 5 for arguments);
// a step has room for all of them, so no argument silently reads the past-the-end 0.
inline constexpr std::size_t kChoicesPerStep = 10;
// With ChooserConfig's misuse options on, a step draws up to 24 choices (options come after the op).
inline constexpr std::size_t kChoicesPerStepWithOptions = 24;
inline std::size_t choices_per_step(const ChooserConfig& c) { return c.any_option() ? kChoicesPerStepWithOptions : kChoicesPerStep; }

struct ProgramConfig {
  ChooserConfig chooser;
  // Small, so that programs stand at the limit often: a check of nprocs against maxproc that is not
  // atomic with the insert (two creators racing for the last slot) shows only there. At 12, a
  // mutation sweep's kthread_create that dropped the table lock between its check and its insert
  // died in 5-17 s; at 8 in 0.05-0.24 s, with every other fault of the scorecard and of the sweep
  // killed as fast as at 12 (checker/gen/REACH.md). 8 leaves six processes besides proc0 and init:
  // kthread situations (suspends, parks, exits) stay within a tenth of their rate at 12, where 6 cut
  // them by a quarter.
  int maxproc = 8;
  // A small pid space (the SPEC's allocator rule, scaled down) so that short programs wrap it and
  // reuse pids; the SPEC's own PID_MAX is 30000.
  model::Pid pid_max = 12;
};

// One round as a run formed it (checker/run/src/lockstep.cpp: its size, which later steps it pulled
// forward, the focus they were resolved with, the seeds it drew). A program that carries its rounds
// runs them as they are instead of forming them again, so that dropping a step while shrinking an
// interleaved counterexample changes no other round (forming rounds looks ahead 16 steps and counts
// earlier rounds' shapes, so dropping any step would re-form every round after it).
struct PlannedRound {
  std::uint32_t size = 1;     // how many of the program's next steps the round holds
  std::uint32_t focused = 0;  // bit k: step k of the round leans on what its earlier steps touched (ChooserConfig::focus)
  std::uint64_t rng = 0;      // the round former's random state when the round began to run
  std::uint64_t key = 0;      // the round's seed for the scheduling policy (SchedulePolicy::round_begins)
  friend bool operator==(const PlannedRound&, const PlannedRound&) = default;
};

struct Program {
  std::vector<std::vector<std::uint32_t>> steps;
  // Empty: the runner forms rounds as it goes. Otherwise `steps` are in the order they ran, and the
  // rounds are these, in order, each taking the next `size` steps.
  std::vector<PlannedRound> plan;
  friend bool operator==(const Program&, const Program&) = default;
};

// Reads a step's choices in order; past the end every choice is 0.
class ChoiceSource final : public Source {
 public:
  explicit ChoiceSource(const std::vector<std::uint32_t>& choices) : c_(choices) {}
  std::uint32_t below(std::uint32_t n) override { return i_ < c_.size() ? c_[i_++] % n : 0; }

 private:
  const std::vector<std::uint32_t>& c_;
  std::size_t i_ = 0;
};

// The op a step resolves to in state `s`.
model::Op resolve(const model::State& s, const ProgramConfig& c, const std::vector<std::uint32_t>& step);
// The same, with the pid choice the step binds (ChooserConfig::bind_pid_percent).
ChosenStep resolve_step(const model::State& s, const ProgramConfig& c, const std::vector<std::uint32_t>& step);

// A random program of `steps` steps drawn from `src` (the fast path; RapidCheck has its own generator),
// each of `choices` choices below `bound`.
Program random_program(Source& src, std::size_t steps, std::size_t choices = kChoicesPerStep, std::uint32_t bound = 1u << 16);

// Compact text form for a copy-paste command line: steps separated by '/', choices by '.', base 36.
// A program with a plan starts with it: "R" then its rounds separated by '/', each
// size.focused.rng.key in base 36, then '|' and the steps.
std::string encode(const Program& p);
// Parses encode()'s form; on bad text returns false and says why in `error`.
bool decode(const std::string& text, Program& out, std::string& error);

}  // namespace lockstep::checker
