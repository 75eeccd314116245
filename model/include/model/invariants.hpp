// The invariants of SPEC §6 as executable checks. State invariants hold on every
// state; step invariants relate the state before and after one step.
#pragma once
#include <string>
#include <vector>

#include "model/op.hpp"
#include "model/outcome.hpp"
#include "model/rules.hpp"
#include "model/state.hpp"

namespace lockstep::model {

struct Violation {
  Rule rule;
  std::string reason;  // human-readable: which object, what was expected, what was found
};

// R1, R3 (fd table refcounts), R4, R5, R6 and the state parts of S1-S6.
std::vector<Violation> check_state(const State& s);

// R1-R3 and R5 across a step (freed exactly once, in the same step as the last lwp,
// pid reuse only after free), S1-S6 across a step.
std::vector<Violation> check_step(const State& before, const Op& op, const StepResult& result, const State& after);

std::string to_string(const Violation& v);

}  // namespace lockstep::model
