// A judged stress history as a trace (traces/FORMAT.md): the events are the order the judge found
// (a linearization), each the model's step with its outcome, wake-ups and bindings, so
// `lockstep check-trace` replays it and `lockstep verify` checks SPEC §6 on it (the second judge);
// format 1.2 `after` edges carry the real-time order the recorder saw (an event began after those
// ended; a call that waited, after its request). On a violation the trace is the longest
// linearizable prefix, then the operation no order explains, with what the impl answered as `observed`.
#pragma once
#include <string>
#include <vector>

#include "checker/lin_judge.hpp"
#include "checker/stress.hpp"
#include "checker/trace.hpp"

namespace lockstep::checker::stress {

struct StressTrace {
  TraceHeader header;
  std::vector<TraceEvent> events;
};

// `h` is the history `j` judged; `faults` the injected faults' names. `request_at`, per op of `h`
// (or empty): for a call that waited, the position by which its request had taken effect, so that the
// calls invoked after it are ordered after its request event even while it still waits.
StressTrace stress_trace(const lin::History& h, const lin::Judgement& j, const StressRecording& rec, std::uint64_t seed,
                         const std::vector<std::string>& faults, const std::vector<std::int64_t>& request_at = {});

// StressRecording::request_ns as positions of its history (2 ns, as history_merge places them), for
// the ops `ops` of a sub-history (all of them when empty).
std::vector<std::int64_t> request_positions(const StressRecording& rec, const std::vector<std::size_t>& ops = {});

}  // namespace lockstep::checker::stress
