// The judge of one round of overlapping operations (SPEC §8). A round is a few operations posted
// together (the last one may be held back until an earlier one returned): under an interleaving
// strategy their threads run interleaved at every sync point until none can run. The round agrees
// iff some order of atomic model steps, each inside its operation's interval, explains everything
// the impl did:
//   - each operation's outcome: returned at its own step, or BLOCKED there and completed by a later
//     step of the round with what the impl returned (a request and its follow-up), or BLOCKED and
//     still blocked at the end of the round;
//   - the calls blocked before the round that the impl returned from, and only those, are completed
//     by the round's steps, with what the impl returned;
//   - the impl's §7 observation at the end of the round (a quiescent point: nothing in flight but
//     blocked calls) equals the model's state after the order, except that the console lines the
//     round's calls wrote may be interleaved in any way that keeps each caller's own lines in
//     order and real time: a K7 caller writes its banner before its request and its result line
//     after its follow-up, itself.
// Pids are the impl's own choices (the model checks each is allowed, R5). A FATAL ends the instance:
// the order up to the FATAL step must agree and the impl must have panicked with the same id there;
// what the other operations returned after the panic is not judged.
// The round is a history for the linearizability judge (checker/lin: a memoised Wing-Gong / Lowe
// search, LIN.md): each operation's interval is the scheduling turns from when its thread took it
// from its mailbox to when it was back there, so an operation that returned before another was
// invoked takes effect first. The clock's tick happens between two turns and takes effect there;
// only when a wait can fall due at it may it take effect as late as the round's end (the waiter,
// woken by its timeout, may find the event that raced it, which came after the tick: the race SPEC
// §5 leaves open). A call of the round that starts a timed wait shows on which side of the tick it
// made its request by the deadline the impl's observation says.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "checker/impl_result.hpp"
#include "checker/observation.hpp"
#include "checker/impl_symbols.hpp"
#include "model/model.hpp"
#include "model/rules.hpp"

namespace lockstep::checker {

struct RoundOp {
  model::Op op;
  std::optional<ImplResult> result;  // nullopt: still blocked in the kernel at the end of the round
};

struct RoundInput {
  std::vector<RoundOp> ops;                               // in program order (one actor's ops ran in it)
  std::map<std::string, model::Op> blocked_before;        // calls blocked before the round, by actor name
  std::map<std::string, ImplResult> returned;             // those of them the impl returned from in the round
  // The impl's §7 state after the round (none after a panic). Its console lines from before the
  // round are the model's: they were judged already, possibly as an interleaving of overlapping
  // calls' lines, which the model keeps in its order of steps.
  const Observation* observed = nullptr;  // the caller's, alive through judge_round
  // Real time, in scheduling turns (SPEC §8): when ops[k]'s thread took it from its mailbox, and when
  // it was back there with its result (unset: never taken / not returned).
  std::vector<std::optional<std::size_t>> invoked, returned_at;
  int hosts = 3;
};

struct RoundStep {
  std::size_t index = 0;  // into RoundInput::ops
  model::Choice choice;
};

struct RoundJudgement {
  bool agrees = false;
  std::vector<RoundStep> steps;   // agrees: the model's steps in the order found
  bool ended_by_fatal = false;    // agrees: the order ends in a FATAL both sides reached
  std::uint64_t steps_tried = 0;  // model steps the search tried
  // Does not agree: why.
  model::Rule rule = model::Rule::P0;
  std::string what, expected, observed;
};

RoundJudgement judge_round(const model::Model& before, const ImplSymbols& symbols, const RoundInput& in);

// Whether `op` may join a round that began in state `before`: it names only symbols bound before the
// round (an operation of the round cannot name what another one creates: its handle does not exist
// when the operations are posted), and its actor existed before the round.
bool names_only_earlier_symbols(const model::Op& op, const model::State& before);

}  // namespace lockstep::checker
