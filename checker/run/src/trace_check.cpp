// Replay (impl + model) and check (model alone) of a trace.
#include "checker/trace_check.hpp"
#include "checker/run_trace.hpp"
#include "checker/strategy.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "checker/observation.hpp"
#include "model/model.hpp"

namespace lockstep::checker {

using namespace lockstep::model;

LockstepConfig lockstep_config(const TraceHeader& h, const impl::FaultSet& faults) {
  LockstepConfig c;
  c.program.chooser.hosts = h.config.hosts;
  c.program.chooser.max_kthreads = h.config.kthreads;
  c.program.maxproc = h.config.maxproc;
  c.program.pid_max = h.config.pid_max;
  c.faults = faults;
  return c;
}

std::vector<Op> trace_ops(const std::vector<TraceEvent>& events) {
  std::vector<Op> ops;
  ops.reserve(events.size());
  for (const TraceEvent& e : events) ops.push_back(e.op);
  return ops;
}

impl::FaultSet trace_faults(const TraceHeader& h) {
  impl::FaultSet s;
  for (const std::string& n : h.faults)
    if (auto f = impl::fault_by_name(n)) s.set(*f);
  return s;
}

namespace {

std::vector<Binding> sorted(std::vector<Binding> b) {
  std::sort(b.begin(), b.end(), [](const Binding& x, const Binding& y) { return std::pair{x.kind, x.id} < std::pair{y.kind, y.id}; });
  return b;
}

std::string bindings_text(const std::vector<Binding>& bs) {
  std::string s;
  for (const Binding& b : bs) s += fmt::format("{}{}=pid {}", s.empty() ? "" : ", ", symbol(b.kind, b.id), b.pid);
  return s.empty() ? "none" : s;
}

// The first way `got` is not the event `want` records (empty when it is).
std::string event_difference(const TraceEvent& want, const TraceOutcome& outcome, const std::vector<TraceCompletion>& woke,
                             const std::vector<Binding>& bound, std::optional<std::uint64_t> digest) {
  if (std::string d = outcome_difference(want.outcome, outcome); !d.empty()) return fmt::format("outcome {}", d);
  if (want.woke.size() != woke.size())
    return fmt::format("wake-ups: trace has {}, got {}", want.woke.size(), woke.size());
  for (std::size_t i = 0; i < woke.size(); ++i) {
    if (!(want.woke[i].actor == woke[i].actor))
      return fmt::format("wake-up {}: trace has {}, got {}", i, actor_name(want.woke[i].actor), actor_name(woke[i].actor));
    if (std::string d = outcome_difference(want.woke[i].outcome, woke[i].outcome); !d.empty())
      return fmt::format("wake-up of {}: {}", actor_name(woke[i].actor), d);
  }
  if (sorted(want.bound) != sorted(bound))
    return fmt::format("bindings: trace has {}, got {}", bindings_text(sorted(want.bound)), bindings_text(sorted(bound)));
  if (want.digest && digest && *want.digest != *digest)
    return fmt::format("state digest after the step: trace has {:016x}, got {:016x} (the SPEC §7 observation differs)", *want.digest, *digest);
  return {};
}

}  // namespace

std::optional<TraceMismatch> compare_events(const std::vector<TraceEvent>& trace, const std::vector<TraceEvent>& run, std::size_t count) {
  for (std::size_t i = 0; i < count && i < trace.size() && i < run.size(); ++i) {
    if (!(trace[i].op == run[i].op))
      return TraceMismatch{i, trace[i].outcome.rule, fmt::format("op: trace has {}, the run did {}", to_string(trace[i].op), to_string(run[i].op))};
    if (std::string d = event_difference(trace[i], run[i].outcome, run[i].woke, run[i].bound, run[i].digest); !d.empty())
      return TraceMismatch{i, trace[i].outcome.rule, fmt::format("{}: {}", to_string(trace[i].op), d)};
  }
  return std::nullopt;
}

ReplayReport replay_trace(const Trace& t, const impl::FaultSet& faults, std::chrono::milliseconds watchdog) {
  ReplayReport rep;
  const impl::FaultSet recorded = trace_faults(t.header);
  std::string recorded_names;
  for (auto n : recorded.names()) recorded_names += fmt::format("{}{}", recorded_names.empty() ? "" : ",", n);
  if (faults == recorded) {
    rep.expected = t.header.expect;
    rep.expectation = fmt::format("the recorded verdict ({}{})", to_string(rep.expected.verdict),
                                  recorded.empty() ? ", correct impl" : ", fault " + recorded_names);
  } else {
    rep.expected = TraceExpect{};
    rep.expectation = fmt::format("agreement at every event (recorded {}, replayed {}: the trace's events are the model's, "
                                  "which a conforming impl must match)",
                                  recorded.empty() ? "on the correct impl" : "under fault " + recorded_names,
                                  faults.empty() ? "on the correct impl" : "under other faults");
  }
  LockstepConfig c = lockstep_config(t.header, faults);
  c.watchdog = watchdog;
  c.invariants = false;  // the model's own invariants are the model's tests' business, not a replay's
  if (t.header.schedule) {
    // Interleaved: the events are one linearisation of rounds of overlapping operations, which only
    // the choice program and the schedule reproduce (the same rounds, the same switch points).
    Program p;
    std::string error;
    const std::optional<Strategy> st = parse_strategy(t.header.schedule->strategy, &error);
    if (!st || t.header.program.empty() || !decode(t.header.program, p, error)) {
      rep.mismatch = TraceMismatch{0, std::nullopt,
                                   st ? fmt::format("an interleaved trace replays from its choice program, and {}",
                                                    t.header.program.empty() ? "this one has none" : "it does not decode: " + error)
                                      : error};
      return rep;
    }
    c.schedule.strategy = *st;
    c.schedule.seed = t.header.schedule->seed;
    // Format 1.4 traces carry every decision: the replay follows them, and on the recording impl a
    // decision that no longer fits is reported, never silently replaced. On another impl the same
    // decisions may not all make sense; there the thread that ran last goes on instead.
    for (const std::vector<TraceTurn>& round : turns_by_round(t.events)) {
      c.schedule.script.insert(c.schedule.script.end(), round.begin(), round.end());
      c.schedule.script_rounds.push_back(round.size());
    }
    c.schedule.strict = faults == recorded;
    rep.result = run_lockstep(p, c);
    if (!rep.result.misfit.empty()) {
      rep.mismatch = TraceMismatch{rep.result.events.size(), std::nullopt, rep.result.misfit};
      return rep;
    }
  } else {
    rep.result = run_lockstep(trace_ops(t.events), c);
  }
  std::vector<TraceEvent> run = rep.result.events;
  if (rep.result.verdict == Verdict::Deadlock && run.size() < t.events.size()) append_stuck_step(run, t.events[run.size()].op, c);
  const LockstepResult& r = rep.result;

  // Event by event, up to where either the trace or the replay ends. An interleaved trace replayed on
  // another impl is judged by its verdict only: that impl's threads may take the same schedule's
  // rounds into another linearisation, which is as good as the recorded one.
  const bool same_impl = faults == recorded;
  if (t.header.schedule && !same_impl)
    rep.expectation += "; interleaved, so the replay's own linearisation of each round is judged, not the recorded one";
  if (auto m = t.header.schedule && !same_impl ? std::nullopt : compare_events(t.events, run, std::min(t.events.size(), run.size()))) {
    rep.mismatch = std::move(m);
    // A divergence in the replay at or before the first differing event explains it better.
    if (r.divergence && r.divergence->step <= rep.mismatch->step && rep.expected.verdict == Verdict::Agree)
      rep.mismatch = TraceMismatch{r.divergence->step, r.divergence->rule, "the impl diverged: " + r.summary()};
    return rep;
  }
  const TraceExpect& x = rep.expected;
  auto verdict_text = [](const TraceExpect& e) {
    if (e.verdict == Verdict::Agree) return std::string("agree");
    if (e.verdict == Verdict::Deadlock) return fmt::format("DEADLOCK at step {}", e.step);
    return fmt::format("DIVERGE at step {} [{}]", e.step, rule_name(e.rule));
  };
  TraceExpect got;
  got.verdict = r.verdict;
  if (r.divergence) {
    got.step = r.divergence->step;
    got.rule = r.divergence->rule;
  } else if (r.verdict == Verdict::Deadlock) {
    got.step = r.events.size();
  }
  const bool same = got.verdict == x.verdict && (x.verdict == Verdict::Agree || got.step == x.step) &&
                    (x.verdict != Verdict::Diverge || got.rule == x.rule);
  if (!same) {
    const std::size_t at = r.verdict == Verdict::Deadlock ? r.events.size() : r.events.empty() ? 0 : r.events.back().step;
    rep.mismatch = TraceMismatch{at, r.divergence ? std::optional(r.divergence->rule) : std::nullopt,
                                 fmt::format("verdict: expected {}, the replay gave {}", verdict_text(x), r.summary())};
    return rep;
  }
  // Same verdict; an agreeing replay must also have run every event of the trace (an interleaved one
  // on another impl may end earlier, at a FATAL a round reaches in another order).
  if (x.verdict == Verdict::Agree && run.size() != t.events.size() && !(t.header.schedule && !same_impl))
    rep.mismatch = TraceMismatch{run.size(), std::nullopt,
                                 fmt::format("events: the trace has {}, the replay ran {} (an op's actor could not act)", t.events.size(), run.size())};
  return rep;
}

CheckReport check_trace(const Trace& t) {
  CheckReport rep;
  const TraceConfig& cfg = t.header.config;
  Model m(Config{cfg.maxproc, true, cfg.pid_max});
  for (const TraceEvent& e : t.events) {
    const std::size_t k = e.step;
    if (!m.runnable(e.op.actor)) {
      rep.mismatch = TraceMismatch{k, e.outcome.rule,
                                   fmt::format("{}: {} cannot act now (blocked in the kernel, parked, exited or reaped)", to_string(e.op), actor_name(e.op.actor))};
      return rep;
    }
    // The pid the recording kernel chose for a new process, which the model checks is allowed.
    const Choice choice = recorded_choice(e);
    Outcome raw;
    const TraceEvent got = model_step(m, e.op, choice, e.digest ? cfg.hosts : 0, &raw);
    const TraceOutcome& r = got.outcome;
    std::string d;
    if (raw.why == NotRunnableWhy::PidNotAllowed)
      d = fmt::format("bindings: pid {} for a new process is not one the SPEC allows now (in use, or outside 2..{})", choice.pid.value_or(0), cfg.pid_max);
    else
      d = event_difference(e, r, got.woke, got.bound, got.digest);
    if (!d.empty()) {
      rep.mismatch = TraceMismatch{k, r.kind == OutcomeKind::NotRunnable && choice.pid ? std::optional(Rule::R5) : r.rule,
                                   fmt::format("{}: {} (the model: {})", to_string(e.op), d, render(r))};
      return rep;
    }
    ++rep.events;
  }
  return rep;
}

}  // namespace lockstep::checker
