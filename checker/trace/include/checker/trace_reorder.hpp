// One linearization of a trace as a trace of its own: the same events in another order, with
// steps and symbols renumbered so that the result is a well-formed total-order trace
// (traces/FORMAT.md: steps 0, 1, 2, ... in file order; symbols bound exactly once, in order).
// What a partial-order judge produces when it names a violating interleaving, and what a test
// needs to replay or check one.
#pragma once
#include <cstddef>
#include <vector>

#include "checker/trace_io.hpp"

namespace lockstep::checker {

// The events of `t` in the order `order` (a permutation of 0..t.events.size()-1, indices into
// t.events), as a well-formed total-order trace:
//   * steps renumbered 0, 1, 2, ... in the new order;
//   * symbols beyond the initial lwp#0, proc#0 and proc#1 renamed so that they are bound in order
//     in the new order, everywhere a symbol appears: op args (lwp, proc), K<p> actors (of the
//     event and of its woke[] and observed_woke[] entries), outcomes (lwp, proc, wait target) of
//     the event, of woke[], `observed` and observed_woke[], and the `bind` entries. A handle an
//     op names that was never issued where `t` names it (no earlier event bound it: args'
//     `never_issued`) stays never issued: it is renamed beyond every symbol the trace binds
//     (keeping its number when that already is);
//   * digests dropped (they describe the states of the recorded order); `observed_state` kept
//     (it names processes by pid, not by symbol), except that each lid it names is renamed to the
//     lid that lwp has in the new order (a process numbers its lwps in creation order);
//   * `after` edges remapped to the new step numbers, kept only when they still point backwards
//     (in a linearization of the history's partial order they all do), in their recorded order;
//   * the header copied with partial_order = false, `expect` reset to agree (the recorded verdict
//     was about the recorded order) and `program` cleared (the choice program reproduces the
//     recorded order, not this one). The event count is written from the events by write_trace.
// `t` must itself be in file order (as read_trace returns it: t.events[i].step == i).
// Throws std::invalid_argument if `order` is not a permutation, if an event would name a symbol
// before the event that binds it in the new order (not a linearization), or if `t` is not a
// well-formed trace (a symbol bound twice, an outcome or actor naming a symbol no earlier event
// bound, an `after` step that is not one of its events).
Trace reorder_trace(const Trace& t, const std::vector<std::size_t>& order);

}  // namespace lockstep::checker
