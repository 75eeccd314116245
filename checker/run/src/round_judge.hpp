// The judge of one round of overlapping operations (SPEC §8). A round is a few operations posted
// together (the last one may be held back until an earlier one returned): under an interleaving
// strategy their threads run interleaved at every sync point until none can run. The round agrees
// iff some order of atomic model steps, in real-time order, explains everything the impl did:
//   - each operation's outcome: returned at its own step, or BLOCKED there and completed by a later
//     step of the round with what the impl returned (a request and its follow-up), or BLOCKED and
//     still blocked at the end of the round;
//   - the calls blocked before the round that the impl returned from, and only those, are completed
//     by the round's steps, with what the impl returned;
//   - the impl's §7 observation at the end of the round (a quiescent point: nothing in flight but
//     blocked calls) equals the model's state after the order, except that the console lines the
//     round's calls wrote may be interleaved in any way that keeps each caller's own lines in
//     order: a K7 caller writes its result line itself after its follow-up, and its banner before
//     its request, so lines of overlapping calls reach the console in any such order.
// Pids are the impl's own choices (the model checks each is allowed, R5). A FATAL ends the instance:
// the order up to the FATAL step must agree and the impl must have panicked with the same id there;
// what the other operations returned after the panic is not judged.
// Orders that break real time are never tried: an operation that returned before another was
// invoked takes effect first (the runner records when each call was taken from its mailbox and when
// its result was posted, by scheduling turn).
// Rounds are small (a few operations; one actor has two at most, which keep their program order),
// so every order is tried: at most 4! = 24 model runs of a few steps each.
#pragma once
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "checker/impl_result.hpp"
#include "checker/observation.hpp"
#include "impl_symbols.hpp"
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
  std::optional<Observation> observed;
  // Real-time order (SPEC §8): {a, b} when ops[a] had returned before ops[b] was invoked, so a's step
  // comes before b's in every order, and b's step cannot be what completed a blocked a.
  std::vector<std::pair<std::size_t, std::size_t>> precedes;
  int hosts = 3;
  bool invariants = true;                                 // also check §6 on the model's steps
};

struct RoundStep {
  std::size_t index = 0;  // into RoundInput::ops
  model::Choice choice;
  model::StepResult result;
};

struct RoundJudgement {
  bool agrees = false;
  std::vector<RoundStep> steps;           // agrees: the model's steps in the order found
  std::optional<model::Model> after;      // agrees: the model after them
  std::optional<ImplSymbols> symbols;     // agrees: the symbols bound along the way
  bool ended_by_fatal = false;            // agrees: the order ends in a FATAL both sides reached
  std::size_t orders_tried = 0;
  // Does not agree: why, in posting order (the order a reader expects).
  model::Rule rule = model::Rule::P0;
  std::string what, expected, observed;
};

RoundJudgement judge_round(const model::Model& before, const ImplSymbols& symbols, const RoundInput& in);

// The symbols an op that created something binds (the impl's handles for the model's new ids).
void bind_created(const model::Op& op, const model::StepResult& mr, const std::optional<ImplResult>& r, const model::State& after,
                  ImplSymbols& sym);

// Whether `op` may join a round that began in state `before`: it names only symbols bound before the
// round (an operation of the round cannot name what another one creates: its handle does not exist
// when the operations are posted), and its actor existed before the round.
bool names_only_earlier_symbols(const model::Op& op, const model::State& before);

}  // namespace lockstep::checker
