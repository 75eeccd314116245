// A judged stress history as a format 1.2 partial-order trace (traces/FORMAT.md): the events are
// the order the judge found (one linearization), each the model's step with its outcome, wake-ups
// and bindings, and `after` edges carry the real-time order the recorder saw (an event began after
// those ended), so `lockstep verify --partial-order` checks §6 on every order consistent with it and
// `lockstep check-trace` replays it. On a violation the trace is the longest linearizable prefix,
// then the operation no order explains, with what the impl answered as `observed`.
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

// `h` is the history `j` judged; `faults` the injected faults' names.
StressTrace stress_trace(const lin::History& h, const lin::Judgement& j, const StressRecording& rec, std::uint64_t seed,
                         const std::vector<std::string>& faults);

}  // namespace lockstep::checker::stress
