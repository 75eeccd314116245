// What a trace is for: replaying it on impl + model (does the recorded behaviour
// reproduce, event for event?) and checking it against the model alone (is the
// recorded behaviour one the SPEC allows? works for traces of any implementation).
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "checker/lockstep.hpp"
#include "checker/trace.hpp"
#include "checker/trace_io.hpp"
#include "impl/faults.hpp"

namespace lockstep::checker {

// The lockstep configuration a trace was recorded with, with `faults` in the impl.
LockstepConfig lockstep_config(const TraceHeader& h, const impl::FaultSet& faults);
std::vector<model::Op> trace_ops(const std::vector<TraceEvent>& events);
// The header's fault names as a set (the reader validated them).
impl::FaultSet trace_faults(const TraceHeader& h);

// Where a trace and something else first part ways.
struct TraceMismatch {
  std::size_t step = 0;
  std::optional<model::Rule> rule;  // the SPEC rule of the event where they differ, when known
  std::string what;
};

struct ReplayReport {
  TraceExpect expected;        // the verdict the replay must reach to reproduce the trace
  std::string expectation;     // why that one, in words
  LockstepResult result;       // the replay's own run
  std::optional<TraceMismatch> mismatch;  // first difference from the trace; nullopt = reproduced
  bool reproduced() const { return !mismatch; }
};

// Runs the trace's ops in lockstep with `faults` in the impl and compares the run with the
// trace event by event (outcome, wake-ups, bindings, digest) and its verdict. The expected
// verdict is the recorded one when the fault set is the recording's; otherwise agreement at
// every event (what a conforming impl must do: the trace's events are the model's outcomes).
ReplayReport replay_trace(const Trace& t, const impl::FaultSet& faults, std::chrono::milliseconds watchdog);

// Compares two runs' events (the first is the trace); used by replay and by tests.
std::optional<TraceMismatch> compare_events(const std::vector<TraceEvent>& trace, const std::vector<TraceEvent>& run,
                                            std::size_t count);

struct CheckReport {
  std::size_t events = 0;                 // events the model agreed with
  std::optional<TraceMismatch> mismatch;  // the first event the model disagrees with
  bool valid() const { return !mismatch; }
};

// Drives the model alone through the trace: each event's actor must be able to act, its
// outcome, wake-ups, bindings (with the pids the recording kernel chose, which the model
// accepts when the SPEC allows them) and digest (when present) must be the model's.
CheckReport check_trace(const Trace& t);

}  // namespace lockstep::checker
