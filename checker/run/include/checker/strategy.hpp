// Naming and making scheduling strategies (`--strategy`): see checker/schedule_policy.hpp for what
// each does. A Schedule is what a run needs to reproduce its interleaving: the strategy and its seed.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>
#include <optional>
#include <string>
#include <string_view>

#include "checker/schedule_policy.hpp"
#include "checker/trace.hpp"

namespace lockstep::checker {

struct Strategy {
  enum class Kind : std::uint8_t { Op, Random, Pct, Pos, Gap, Lead, Portfolio } kind = Kind::Op;
  int depth = 3;  // Pct only: D >= 1 (D - 1 priority change points)
  friend bool operator==(const Strategy&, const Strategy&) = default;
};

// "op", "random", "pct:D" (1 <= D <= 16; "pct" is pct:3), "pos", "gap", "lead", "portfolio". On a bad name
// nullopt, and *error says what was expected.
std::optional<Strategy> parse_strategy(std::string_view text, std::string* error = nullptr);
std::string to_string(const Strategy& s);

struct Schedule {
  Strategy strategy;
  std::uint64_t seed = 0;          // the policy's own random source
  std::uint64_t program_index = 0;  // which strategy a portfolio uses for this program
  // PCT spreads its start-up's change points over this many scheduling choices (each round draws
  // its own); 0: as for a round of four operations.
  std::uint32_t expected_choices = 0;
  // A recorded schedule to follow decision by decision (a trace's turns, or a shrunk one); empty:
  // the strategy decides. The strategy and seed still form the same rounds.
  std::vector<TraceTurn> script;
  // How many of `script`'s decisions each round takes, in order (turns_by_round); empty: one round.
  // A decision never moves to another round, so a spurious wake recorded at a round's start is not
  // taken at the end of the round before.
  std::vector<std::size_t> script_rounds;
  // A decision that no longer fits (it names a thread that cannot run there) is an error, thrown as
  // ScheduleMisfit; otherwise the run goes on with the thread that ran last, else the earliest.
  bool strict = false;
  friend bool operator==(const Schedule&, const Schedule&) = default;
};

// A scripted schedule that does not fit the run it drives: which decision, and why.
struct ScheduleMisfit : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The strategy a schedule really runs: a portfolio's pick for its program, else itself.
Strategy effective(const Schedule& s);
std::unique_ptr<SchedulePolicy> make_policy(const Schedule& s);

}  // namespace lockstep::checker
