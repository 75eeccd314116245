// From a lockstep run to its trace: the one path by which a run becomes a trace (header and
// events), whether it is written to a file (`lockstep run`), replayed or handed to a judge.
#include "checker/run_trace.hpp"

#include <set>

#include <fmt/format.h>

#include "checker/observation.hpp"
#include "impl/faults.hpp"
#include "model/model.hpp"

#ifndef LOCKSTEP_VERSION
#define LOCKSTEP_VERSION "unknown"
#endif

namespace lockstep::checker {

using namespace lockstep::model;

Choice recorded_choice(const TraceEvent& e);
TraceEvent model_step(Model& m, const Op& op, const Choice& choice, int digest_hosts);

namespace {

// A run that diverged because the impl chose a pid the SPEC does not allow (R5) recorded the
// model refusing that choice (NotRunnable). The trace records instead what the step does
// under the SPEC, with the reference allocator's pid: the model is driven through the earlier
// events with their recorded pids, then takes the last step with its own choice. The impl's
// pid stays in the header's `expect`.
void redo_refused_pid(std::vector<TraceEvent>& events, const LockstepConfig& c) {
  Model m(Config{c.program.maxproc, true, c.program.pid_max});
  for (std::size_t i = 0; i + 1 < events.size(); ++i) (void)model_step(m, events[i].op, recorded_choice(events[i]), 0);
  TraceEvent redone = model_step(m, events.back().op, Choice{}, 0);
  redone.step = events.back().step;
  events.back() = std::move(redone);
}

}  // namespace

TraceOutcome to_trace(const ImplOutcome& o) {
  TraceOutcome t;
  switch (o.kind) {
    case ImplOutcome::Kind::Returned:
      t.kind = OutcomeKind::Returned;
      t.ret = o.ret;
      t.err = o.err;
      t.lwp = o.lwp == kNoLwp - 1 ? kNoLwp : o.lwp;  // a handle never bound cannot be named
      t.st_size = o.st_size;
      break;
    case ImplOutcome::Kind::Blocked: t.kind = OutcomeKind::Blocked; break;
    case ImplOutcome::Kind::Fatal:
      t.kind = OutcomeKind::Fatal;
      for (std::size_t i = 1; i < static_cast<std::size_t>(Fatal::Count); ++i)
        if (fatal_name(static_cast<Fatal>(i)) == o.what) t.fatal = static_cast<Fatal>(i);
      if (t.fatal == Fatal::None) {
        t.kind = OutcomeKind::Dead;
        t.label = fmt::format("FATAL({})", o.what);
      }
      break;
    case ImplOutcome::Kind::Error:
      t.kind = OutcomeKind::Dead;
      t.label = fmt::format("exception: {}", o.what);
      break;
  }
  return t;
}

std::vector<TraceEvent> trace_events(const LockstepResult& r, const LockstepConfig& c) {
  std::vector<TraceEvent> out;
  out.reserve(r.steps.size());
  LwpId next_lwp = 1;  // lwp0 exists from the start; lwps are numbered in creation order
  for (const StepRecord& s : r.steps) {
    TraceEvent e;
    e.step = s.index;
    e.op = s.op;
    e.outcome = to_trace(s.outcome);
    for (const Completion& c : s.woke) e.woke.push_back(TraceCompletion{c.actor, to_trace(c.outcome)});
    e.bound = s.bound;
    for (const Binding& b : s.bound)
      if (b.kind == Binding::Kind::Lwp) next_lwp = b.id + 1;
    // A new kthread's own lwp (Reading 7 of model/SEMANTICS.md) takes the next lwp symbol too.
    const bool creates_kthread = std::holds_alternative<op::KthreadCreate>(s.op.body) || std::holds_alternative<op::KprocStart>(s.op.body);
    if (creates_kthread && s.outcome.returned() && s.outcome.ret == 0 && s.outcome.proc != kNoProc)
      for (const Binding& b : s.bound)
        if (b.kind == Binding::Kind::Proc) e.bound.push_back(Binding{Binding::Kind::Lwp, next_lwp++, b.pid});
    if (s.digest != 0) e.digest = s.digest;
    // Where the impl differed (the divergent step), what it did, for judges that read the trace
    // without running anything (check-trace, verify).
    if (r.verdict == Verdict::Diverge && &s == &r.steps.back()) {
      e.observed = to_trace(s.impl);
      std::vector<TraceCompletion> woke;
      for (const auto& [actor, o] : s.impl_woke) woke.push_back(TraceCompletion{actor, to_trace(o)});
      e.observed_woke = std::move(woke);
      e.observed_state = s.impl_state;
    }
    out.push_back(std::move(e));
  }
  if (!r.steps.empty() && r.steps.back().outcome.kind == OutcomeKind::NotRunnable && r.steps.back().outcome.label == "pid-not-allowed")
    redo_refused_pid(out, c);
  return out;
}

void append_stuck_step(std::vector<TraceEvent>& events, const Op& op, const LockstepConfig& c) {
  Model m(Config{c.program.maxproc, true, c.program.pid_max});
  for (const TraceEvent& e : events) (void)model_step(m, e.op, recorded_choice(e), 0);
  TraceEvent stuck = model_step(m, op, Choice{}, 0);
  stuck.step = events.size();
  events.push_back(std::move(stuck));
}

Op stuck_op(const LockstepResult& r, const LockstepConfig& c, const Program& p) {
  Model m(Config{c.program.maxproc, true, c.program.pid_max});
  for (const StepRecord& s : r.steps) {
    Choice choice;
    for (const Binding& b : s.bound)
      if (b.kind == Binding::Kind::Proc) choice.pid = b.pid;
    (void)m.apply(s.op, choice);
  }
  return resolve(m.state(), c.program, p.steps.at(r.steps.size()));
}

TraceHeader trace_header(const LockstepResult& r, const LockstepConfig& c, std::uint64_t seed, const std::string& program) {
  TraceHeader h;
  h.tool = "lockstep " LOCKSTEP_VERSION;
  h.seed = seed;
  h.config = TraceConfig{c.program.chooser.hosts, c.program.chooser.max_kthreads, c.program.maxproc, c.program.pid_max};
  for (std::string_view f : c.faults.names()) h.faults.emplace_back(f);
  h.program = program;
  h.expect.verdict = r.verdict;
  std::set<std::string> rules;
  if (r.divergence) {
    h.expect.step = r.divergence->step;
    h.expect.rule = r.divergence->rule;
    h.expect.what = r.divergence->what;
    h.expect.expected = r.divergence->expected;
    h.expect.observed = r.divergence->observed;
    h.rules.emplace_back(rule_name(r.divergence->rule));
    rules.emplace(rule_name(r.divergence->rule));
  } else if (r.verdict == Verdict::Deadlock) {
    h.expect.step = r.steps.size();  // the step that never finished (see append_stuck_step)
  } else {
    // An agreeing trace is about the rules its outcomes reached.
    for (const StepRecord& s : r.steps)
      if (rules.insert(std::string(rule_name(s.outcome.rule))).second) h.rules.emplace_back(rule_name(s.outcome.rule));
  }
  if (r.verdict != Verdict::Agree) {
    // The rules each injected fault is documented to break ("K3, K4, S2"; "L3-running, R4" names
    // a FATAL id, whose rule is the part before the dash). Only SPEC rule ids are kept.
    for (const impl::FaultInfo& f : impl::all_faults())
      if (c.faults.has(f.fault)) {
        std::string_view rs = f.rule;
        while (!rs.empty()) {
          const auto cut = rs.find_first_of(",/ ");
          std::string_view one = rs.substr(0, cut);
          one = one.substr(0, one.find('-'));
          for (std::string_view known : kRuleNames)
            if (known == one && rules.insert(std::string(one)).second) h.rules.emplace_back(one);
          rs = cut == std::string_view::npos ? std::string_view{} : rs.substr(cut + 1);
        }
      }
  }
  return h;
}

}  // namespace lockstep::checker
