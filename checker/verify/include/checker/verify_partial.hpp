// Partial-order mode of the Z3 judge (checker/verify/VERIFY.md): for a history whose events are only
// partially ordered, decide per invariant of SPEC §6 whether EVERY total order consistent with
// the happens-before graph keeps it, and when one does not, give that order.
//
// Each event keeps the effects the history recorded for it (its outcome, its bindings, the objects
// it acted on, resolved in the file's order); the order decides which value each event reads and
// so which state every prefix has. Z3 chooses a position per event (Int, constrained by the
// happens-before edges) and, for every value an event reads, the writer that precedes it last.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "checker/verify.hpp"

namespace lockstep::checker {

struct PartialOrderVerdict {
  model::Rule rule = model::Rule::R1;
  bool holds = true;                // in every linearisation (when decided)
  bool decided = true;              // false: Z3 ran out of time or resources before settling it
  std::size_t step = 0;             // the violating event's VEvent::step
  std::size_t position = 0;         // ... and its position in `order`
  std::string what;                 // the failing instance, with Z3's values (undecided: Z3's reason)
  std::vector<std::size_t> order;   // a linearisation that violates it (indices into VTrace::events)
};

struct PartialOrderReport {
  std::vector<PartialOrderVerdict> verdicts;  // R1..R6, S1..S6
  std::size_t events = 0, edges = 0, concurrent_pairs = 0, reads = 0, solver_checks = 0;
  std::string edge_reasons;  // e.g. "program order 90, wake-up 3, created before use 12" 
  // Windows (VERIFY.md, "Windows"): how many the history was judged in, the longest, the most
  // states carried across one cut, and cuts dropped because more states crossed them than allowed.
  std::size_t windows = 1, largest_window = 0, max_cut_states = 1, merged_cuts = 0;
  double encode_seconds = 0, solve_seconds = 0;
  bool all_hold() const;  // every invariant decided and holding
  bool any_violated() const;
  const PartialOrderVerdict& of(model::Rule r) const;
};

struct PartialOrderOptions {
  unsigned timeout_ms = 0;  // per solver check; 0 = none. Invariants still open then are undecided.
  // Z3's resource limit per solver check (its `rlimit`, a count of internal steps); 0 = none.
  // Unlike the timeout it gives the same verdict on every machine and under every load, so it is
  // the budget for CI runs that must not flake.
  unsigned rlimit = 0;
  // Histories longer than twice this are first searched window by window (the rest pinned in
  // file order), which finds local races fast; 0 = search every order at once only.
  // Values below 2 are taken as 2.
  std::size_t search_window = 64;
  // Cut the history at its quiescent points (every event before happens before every event after)
  // and judge window by window, carrying the states a window may end in across the cut
  // (VERIFY.md, "Windows"). A window is at least `min_window` events (shorter ones join the next).
  bool cut = true;
  std::size_t min_window = 64;
  // More end states than this at a cut: the cut is not taken (the next window joins this one).
  std::size_t max_cut_states = 64;
  // The whole judgement's wall-clock budget; 0 = none. Past it every check is UNKNOWN, so the
  // invariants still open are undecided: it bounds the time however many windows there are.
  unsigned budget_ms = 0;
};

// A longer window (events with no quiescent point between them) is refused as bad input: its
// graph's reachability and the search's pins take memory quadratic in its length
// (checker/verify/VERIFY.md). A history of any length whose cuts keep every window shorter is judged.
inline constexpr std::size_t kMaxPartialOrderEvents = 10000;

// Throws std::invalid_argument on bad input (an edge against the file order, a self-contradicting
// history, a window of more than kMaxPartialOrderEvents events).
PartialOrderReport verify_partial_order(const VTrace& t, const PartialOrderOptions& o = {});

std::string render(const PartialOrderReport& r);

}  // namespace lockstep::checker
