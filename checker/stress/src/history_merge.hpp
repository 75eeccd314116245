// The lanes of a stress run become one lin::History.
//
// Positions are the steady clock in ns, doubled: a call at t is at 2t, a response at t at 2t. Only
// the order matters to the judge; equal positions mean overlap, the reading with more orders, so a
// tie never invents a violation. The one exception is a thread's own next call read at the same ns
// as its previous response: it goes to 2t+1, since a thread's calls follow one another.
//
// The clock enters as `tick` operations of the clock actor, zero-width at the instant each tick
// begins (the real backend counts ticks from the run's epoch, so tick k begins at k * tick). Ticks
// with no invocation or response between them are one `tick(n)` at the last of them: nothing could
// have read the clock in between, so the model cannot tell. A tick on which a timed wait's deadline
// falls, when that waiter returned 0 after the tick began (its acknowledgement won the race, SPEC
// §5), lasts until that waiter returned, short of the next tick: the impl decides a timeout when the
// waiter runs again, so the acknowledgement may be ordered before the tick.
#pragma once
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "checker/lin_history.hpp"
#include "checker/observation.hpp"
#include "checker/stress.hpp"
#include "lane.hpp"

namespace lockstep::checker::stress {

struct MergeInput {
  model::State before;
  int hosts = 0;
  std::int64_t tick_ns = 1'000'000;
  // How uncertain the clock's phase is: tick k begins somewhere in [k * tick_ns, k * tick_ns + slack]
  // (a plug-in SUT's clock starts inside rump_init, which the recorder sees only from outside). Each
  // tick operation then spans that window, and ticks merge only where no event falls in theirs.
  // Must be below half a tick, so that the clock's operations never overlap.
  std::int64_t tick_slack_ns = 0;
  std::int64_t end_ns = 0;  // the lanes were closed here; ticks are placed up to it
  std::vector<std::pair<std::int64_t, Observation>> observations;  // at ns
};

struct Merged {
  lin::History history;
  std::vector<std::int64_t> call_ns, ret_ns;  // per op of the history (-1: no response)
  std::vector<std::int64_t> request_ns;      // per op: when its request had taken effect, for a call that waited (-1)
  std::uint64_t ticks = 0;                    // tick operations in the history
};

Merged merge_history(MergeInput in, std::vector<std::vector<Record>>& lanes);

// Moves a merged history and its instants into the recording (both recorders end with it).
void store_merged(Merged&& m, StressRecording& out);

// A record's answer in the trace's terms.
TraceOutcome outcome_of(const Record& r);

}  // namespace lockstep::checker::stress
