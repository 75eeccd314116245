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

void append_stuck_step(std::vector<TraceEvent>& events, const Op& op, const LockstepConfig& c, std::vector<TraceTurn> turns) {
  Model m(Config{c.program.maxproc, true, c.program.pid_max});
  for (const TraceEvent& e : events) (void)model_step(m, e.op, recorded_choice(e), 0);
  TraceEvent stuck = model_step(m, op, Choice{}, 0);
  stuck.step = events.size();
  stuck.turns = std::move(turns);
  events.push_back(std::move(stuck));
}

Op stuck_op(const LockstepResult& r, const LockstepConfig& c, const Program& p) {
  Model m(Config{c.program.maxproc, true, c.program.pid_max});
  for (const TraceEvent& e : r.events) (void)m.apply(e.op, recorded_choice(e));
  return resolve(m.state(), c.program, p.steps.at(r.events.size()));
}

TraceHeader trace_header(const LockstepResult& r, const LockstepConfig& c, std::uint64_t seed, const std::string& program) {
  TraceHeader h;
  h.tool = "lockstep " LOCKSTEP_VERSION;
  h.seed = seed;
  h.config = TraceConfig{c.program.chooser.hosts, c.program.chooser.max_kthreads, c.program.maxproc, c.program.pid_max};
  for (std::string_view f : c.faults.names()) h.faults.emplace_back(f);
  if (const Strategy st = effective(r.schedule); st != Strategy{}) h.schedule = TraceSchedule{to_string(st), r.schedule.seed};
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
    h.expect.step = r.events.size();  // the step that never finished (see append_stuck_step)
  } else {
    // An agreeing trace is about the rules its outcomes reached.
    for (const TraceEvent& e : r.events)
      if (e.outcome.rule && rules.insert(std::string(rule_name(*e.outcome.rule))).second) h.rules.emplace_back(rule_name(*e.outcome.rule));
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
