// What happened, from a trace's events. Where the impl differed from the model, the impl's
// account is what the verifier judges.
#include <string_view>

#include "checker/verify.hpp"

namespace lockstep::checker {

namespace {

VOutcome from_trace(const TraceOutcome& t) {
  VOutcome o;
  switch (t.kind) {
    case model::OutcomeKind::Returned: o.kind = VOutcome::Kind::Returned; break;
    case model::OutcomeKind::Blocked: o.kind = VOutcome::Kind::Blocked; break;
    case model::OutcomeKind::Fatal: o.kind = VOutcome::Kind::Fatal; break;
    case model::OutcomeKind::NotRunnable: o.kind = VOutcome::Kind::NotRunnable; break;
    case model::OutcomeKind::Dead: o.kind = VOutcome::Kind::Dead; break;
  }
  o.ret = t.ret;
  if (!t.lwp_unnamed) o.lwp = t.lwp;  // an lwp no symbol names is not known
  return o;
}

}  // namespace

VTrace to_vtrace(const TraceHeader& h, const std::vector<TraceEvent>& events) {
  VTrace t;
  t.hosts = h.config.hosts;
  t.events.reserve(events.size());
  for (const TraceEvent& e : events) {
    VEvent v;
    v.step = e.step;
    v.op = e.op;
    v.outcome = from_trace(e.observed ? *e.observed : e.outcome);
    for (const TraceCompletion& c : e.observed_woke ? *e.observed_woke : e.woke)
      v.woke.push_back(VCompletion{c.actor, from_trace(c.outcome)});
    v.bound = e.observed_bind ? *e.observed_bind : e.bound;  // the impl's own, where they differ (a refused pid, R5)
    v.observed = e.observed_state;
    v.after = e.after;
    t.events.push_back(std::move(v));
  }
  return t;
}

}  // namespace lockstep::checker
