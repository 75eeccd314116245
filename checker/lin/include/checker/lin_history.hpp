// A history of overlapping operations against one kernel instance (SPEC §8), as the
// linearizability judge (lin_judge.hpp) reads it: every operation with its actor, its op, where its
// invocation and its response fall on one global order of events, and what the implementation
// answered; optionally, §7 observations taken where nothing but blocked calls was in flight.
//
// Symbols. Ops name lwps and processes by *history symbols* (the `lwp` / `proc` arguments, a
// kthread actor's index, curlwp's answer). A symbol below `before`'s sizes names that object of
// `before`; any other symbol names the object that the one operation listing it in `created` made
// (the recorder's names for the impl's handles, e.g. numbered by first appearance). Which model id
// a created symbol gets depends on the order the judge tries, so the judge binds symbols as it goes.
// A symbol neither pre-existing nor created is a handle the kernel never issued.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "checker/observation.hpp"
#include "checker/trace.hpp"
#include "model/op.hpp"
#include "model/state.hpp"

namespace lockstep::checker::lin {

struct Operation {
  model::Op op;                     // arguments and a kthread actor in history symbols
  std::size_t call = 0;             // the invocation's position on the global order (ignored when `carried`)
  std::optional<std::size_t> ret;   // the response's position; unset: still in flight at the end
  // The impl's final answer when `ret` is set: kind Returned (ret/err/st_size, curlwp's `lwp` as a
  // history symbol), Fatal (its id), or Dead (the impl failed in a way the SPEC has no outcome for;
  // no order explains it). For a call that blocked, this is what the follow-up made it return.
  TraceOutcome outcome;
  // The objects the call created, as history symbols, with the pids the impl chose (a process) or
  // the pid of the lwp's process (an lwp). A creating op without a process binding leaves the pid
  // open: the judge tries each pid the history can tell apart (lin_judge.hpp).
  std::vector<Binding> created;
  // The lid of each lwp the call created, in the order of the Lwp bindings of `created`; empty when
  // the recorder did not say. Optional, but worth recording: which of two lwps created at once in one
  // process got which lid shows in no answer, only in a later observation, and a search that guessed
  // it wrong must then backtrack through everything in between (LIN.md, "Cost").
  std::vector<int> created_lids;
  std::optional<bool> blocked;      // the impl says whether the call blocked before returning; unset: either
  bool blocked_at_end = false;      // `ret` unset and the call is known to be blocked in the kernel at the end
  bool carried = false;             // the request took effect before the history: its wait is in `before`
  // The recorder's guess at the position where the call took effect (e.g. when its thread last took a
  // kernel lock inside the call), within [call, ret]. It only orders the search's candidates (a good
  // guess finds an order sooner); what the judge accepts never depends on it.
  std::optional<std::size_t> hint;
};

// The impl's §7 observation at a point of the global order. Operations whose intervals contain the
// point may have taken effect or not; everything that returned before it has.
struct ObservationPoint {
  std::size_t at = 0;
  Observation state;
};

struct History {
  model::State before;              // the state the history starts from (a model state: Model::state())
  int hosts = 3;                    // how many hosts an observation shows
  std::vector<Operation> ops;
  std::vector<ObservationPoint> observations;
};

// Real-time order: a precedes b iff a's response comes before b's invocation.
bool precedes(const Operation& a, const Operation& b);

// Why `h` is not a history the judge can read (overlapping ops of one actor, a symbol created twice,
// an answer that is no answer, ...); nullopt when it is well formed.
std::optional<std::string> validate(const History& h);

}  // namespace lockstep::checker::lin
