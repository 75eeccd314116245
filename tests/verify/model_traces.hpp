// Random model-only traces for the verifier's tests: faithful ones, and ones whose last event is
// corrupted on purpose, each with the invariants the model's own checks say it breaks.
#pragma once
#include <algorithm>
#include <cerrno>
#include <set>
#include <string>
#include <vector>

#include "checker/op_chooser.hpp"
#include "checker/random_source.hpp"
#include "checker/trace.hpp"
#include "checker/trace_io.hpp"
#include "checker/verify.hpp"
#include "model/invariants.hpp"
#include "model/model.hpp"

namespace lockstep::test_traces {

using namespace lockstep::checker;
using model::Rule;

constexpr int kHosts = 3;

inline std::set<Rule> judged(const std::vector<model::Violation>& vs) {
  std::set<Rule> out;
  for (const auto& v : vs) out.insert(v.rule);
  return out;
}

inline std::set<Rule> z3_verdict(const VerifyReport& r) {
  std::set<Rule> out;
  for (const auto& v : r.verdicts)
    if (!v.holds) out.insert(v.rule);
  return out;
}

inline std::string names(const std::set<Rule>& rs) {
  std::string s;
  for (Rule r : rs) s += std::string(model::rule_name(r)) + " ";
  return s.empty() ? "none" : s;
}

inline VOutcome vout(const model::Outcome& o) {
  VOutcome v;
  v.kind = o.kind == model::OutcomeKind::Returned  ? VOutcome::Kind::Returned
           : o.kind == model::OutcomeKind::Blocked ? VOutcome::Kind::Blocked
           : o.kind == model::OutcomeKind::Fatal   ? VOutcome::Kind::Fatal
           : o.kind == model::OutcomeKind::Dead    ? VOutcome::Kind::Dead
                                                   : VOutcome::Kind::NotRunnable;
  v.ret = o.ret;
  v.lwp = o.lwp;
  return v;
}

inline VEvent to_event(std::size_t step, const model::Op& op, const model::StepResult& r, const model::State& before, const model::State& after) {
  VEvent e;
  e.step = step;
  e.op = op;
  e.outcome = vout(r.outcome);
  for (const auto& c : r.completions) e.woke.push_back(VCompletion{c.actor, vout(c.outcome)});
  for (std::size_t p = before.procs.size(); p < after.procs.size(); ++p)
    e.bound.push_back(Binding{Binding::Kind::Proc, static_cast<std::uint32_t>(p), after.procs[p].pid});
  for (std::size_t l = before.lwps.size(); l < after.lwps.size(); ++l)
    e.bound.push_back(Binding{Binding::Kind::Lwp, static_cast<std::uint32_t>(l), after.procs[after.lwps[l].proc].pid});
  return e;
}

// Corruptions of the state after the last event that the §7 observation shows. Each returns
// false when the state offers nothing to corrupt.
inline bool corrupt_state(model::State& s, SplitMix& rng) {
  std::vector<model::ProcId> users, parked;
  for (const auto& [pid, id] : s.table) {
    const auto& p = s.procs[id];
    if (p.kind == model::ProcKind::User) users.push_back(id);
    if (p.kind == model::ProcKind::Kthread && p.kt.state == model::KState::Parked) parked.push_back(id);
  }
  std::vector<model::HostId> bound_hosts;
  for (model::HostId h = 0; h < s.hosts.size() && h < kHosts; ++h)
    if (s.hosts[h].curlwp != model::kNoLwp) bound_hosts.push_back(h);
  switch (rng.below(5)) {
    case 0:  // R6: nprocs off by one
      s.nprocs += 1;
      return true;
    case 1:  // R6: an orphan left pointing at a pid not in the table
      if (users.empty()) return false;
      s.procs[users[rng.below(static_cast<std::uint32_t>(users.size()))]].ppid = s.pid_max + 7;
      return true;
    case 2: {  // R1: a user process kept in the table with every lwp released
      for (model::ProcId id : users) {
        auto& p = s.procs[id];
        if (std::all_of(p.lwps.begin(), p.lwps.end(), [&](model::LwpId l) { return s.lwps[l].bound == model::kUnbound; })) {
          for (model::LwpId l : p.lwps) s.lwps[l].released = true;
          return true;
        }
      }
      return false;
    }
    case 3: {  // R4: one lwp curlwp of two host threads
      if (bound_hosts.empty()) return false;
      const model::HostId a = bound_hosts[rng.below(static_cast<std::uint32_t>(bound_hosts.size()))];
      const model::HostId b = static_cast<model::HostId>((a + 1 + rng.below(kHosts - 1)) % kHosts);
      while (s.hosts.size() <= b) s.hosts.emplace_back();
      s.hosts[b].curlwp = s.hosts[a].curlwp;
      return true;
    }
    default:  // S3: PARKED with no request pending (a lost wake-up)
      if (parked.empty()) return false;
      s.procs[parked[rng.below(static_cast<std::uint32_t>(parked.size()))]].kt.suspend_requested = false;
      return true;
  }
}

struct Case {
  VTrace trace;
  std::set<Rule> model_verdict;
  std::string what;
};

// A model-only trace of up to `n` events; with `corrupt`, its last event is given a corrupted
// observed state or outcome, and the model's checks judge exactly that corruption.
inline Case make_case(std::uint64_t seed, std::size_t n, bool corrupt) {
  SplitMix rng(seed);
  model::Model m(model::Config{12, true, 12});
  ChooserConfig cc{kHosts, 2, 2};
  Case c;
  c.trace.hosts = kHosts;
  for (std::size_t i = 0; i < n; ++i) {
    const model::Op op = choose_op(m.state(), cc, rng);
    const model::State before = m.state();
    model::StepResult r = m.apply(op, model::Choice{});
    model::State after = m.state();
    VEvent e = to_event(i, op, r, before, after);
    const bool last = i + 1 == n || r.outcome.is_fatal();
    if (corrupt && last) {
      const auto* sus = std::get_if<model::op::Suspend>(&op.body);
      if (sus && r.outcome.blocked() && rng.below(2) == 0) {
        // The outcome lies: a suspend of a running thread returns 0 at once (S2).
        r.outcome.kind = model::OutcomeKind::Returned;
        r.outcome.ret = 0;
        e.outcome = vout(r.outcome);
        c.what = "suspend outcome 0";
      } else if (corrupt_state(after, rng)) {
        e.observed = observe(after, kHosts);
        c.what = "observed state";
      }
    }
    for (Rule x : judged(model::check_step(before, op, r, after))) c.model_verdict.insert(x);
    for (Rule x : judged(model::check_state(after))) c.model_verdict.insert(x);
    c.trace.events.push_back(std::move(e));
    if (last) break;
  }
  return c;
}

// Steps the model with `op` and appends it to `tr` as event `step` of a burst history: after every
// event of the previous burst [prev_begin, begin) (a stress recorder's real-time order when calls
// overlap only within a burst). False when the step was FATAL (the history ends there).
inline bool append_burst_event(Trace& tr, model::Model& m, const model::Op& op, std::size_t step, std::size_t prev_begin,
                               std::size_t begin) {
  TraceEvent e = model_step(m, op, model::Choice{}, 0);
  e.step = step;
  e.digest.reset();
  if (begin > 0)
    for (std::size_t j = prev_begin; j < begin; ++j) e.after.push_back(j);
  const bool fatal = e.outcome.kind == model::OutcomeKind::Fatal;
  tr.events.push_back(std::move(e));
  return !fatal;
}

}  // namespace lockstep::test_traces
