// judge(): validate, search, then replay the order found (or the longest prefix) from `before` with
// the console kept, for the steps' results and the model after them; a violation is explained by
// what the search recorded at the node that got furthest.
#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "checker/lin_judge.hpp"
#include "match.hpp"
#include "search.hpp"

namespace lockstep::checker::lin {

using namespace lockstep::model;

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::Agree: return "agree";
    case Verdict::Violation: return "violation";
    case Verdict::Unknown: return "unknown";
  }
  return "?";
}

namespace {

std::vector<Step> replay(const std::vector<detail::PathStep>& path, Model& m) {
  std::vector<Step> steps;
  steps.reserve(path.size());
  for (const detail::PathStep& p : path) {
    Step s{p.observation, p.index, p.op, p.choice, {}};
    if (!p.observation) s.result = m.apply(p.op, p.choice);
    steps.push_back(std::move(s));
  }
  return steps;
}

void explain(const History& h, const detail::SearchResult& r, Judgement& j) {
  const std::size_t n = h.ops.size();
  if (r.culprit == detail::kNone) {
    j.what = "no order explains the history";
    return;
  }
  j.culprit_is_observation = r.culprit >= n;
  // Its own failure explains it best; else the first thing tried from the prefix (e.g. the step that
  // would have woken a call the impl still shows blocked).
  const detail::Failure* why = nullptr;
  for (const detail::Failure& f : r.failures)
    if (f.item == r.culprit) {
      why = &f;
      break;
    }
  if (!why && !r.culprit_requested && !r.failures.empty()) why = &r.failures.front();
  if (why) {
    j.rule = why->rule;
    j.what = why->what;
    j.expected = why->expected;
    j.observed = why->observed;
  }
  if (j.culprit_is_observation) {
    // The observation items follow the operations, in the order of their positions.
    std::size_t k = r.culprit - n;
    std::vector<std::size_t> by_at(h.observations.size());
    for (std::size_t i = 0; i < by_at.size(); ++i) by_at[i] = i;
    std::stable_sort(by_at.begin(), by_at.end(), [&](std::size_t a, std::size_t b) { return h.observations[a].at < h.observations[b].at; });
    j.culprit = by_at[k];
    if (j.what.empty()) j.what = "state at the observation (no order of the operations before it explains it)";
  } else {
    j.culprit = r.culprit;
    const Operation& o = h.ops[r.culprit];
    if (j.what.empty() && r.culprit_requested) {
      j.rule = detail::wake_rule(o.op.body);
      j.what = fmt::format("wake-up of {} in {}", model::to_string(o.op.actor), op_name(o.op.body));
      j.expected = "still blocked (no step before its response wakes it)";
      j.observed = fmt::format("woken ({})", detail::render_impl(o.outcome, o.op.body));
    } else if (j.what.empty()) {
      j.what = fmt::format("{} outcome", op_name(o.op.body));
      j.expected = "an order in which the model answers as the impl did";
      j.observed = detail::render_impl(o.outcome, o.op.body);
    }
  }
  // What else was tried from the prefix, for the reader who wants the whole picture.
  std::size_t others = 0;
  for (const detail::Failure& f : r.failures) {
    if (&f == why || others == 3) continue;
    j.what += fmt::format("{} {}{}", others++ == 0 ? "; also tried:" : ",", f.what,
                          f.expected.empty() ? "" : fmt::format(" (model {}, impl {})", f.expected, f.observed));
  }
}

}  // namespace

Judgement judge(const History& h, const Options& options) {
  if (auto bad = validate(h)) throw std::invalid_argument("lin::judge: " + *bad);
  detail::Search search(h, options);
  detail::SearchResult r = search.run();
  Judgement j;
  j.verdict = r.verdict;
  j.stats = r.stats;
  j.budget_exhausted = r.budget_exhausted;
  if (r.verdict == Verdict::Agree && !options.replay_agreement) {
    j.ended_by_fatal = r.ended_by_fatal;
    j.order.reserve(r.path.size());
    for (const detail::PathStep& p : r.path) j.order.push_back(Step{p.observation, p.index, p.op, p.choice, {}});
    return j;
  }
  Model m = Model::from_state(h.before);
  j.order = replay(r.path, m);
  if (r.verdict == Verdict::Agree) {
    j.ended_by_fatal = r.ended_by_fatal;
    j.after = std::move(m);
    return j;
  }
  j.committed = std::min(r.committed, j.order.size());
  explain(h, r, j);  // for Unknown too: how far the search got, and what stopped it there
  return j;
}

std::string summary(const History& h, const Judgement& j) {
  switch (j.verdict) {
    case Verdict::Agree:
      return fmt::format("agree: an order of {} steps explains {} operations{}", j.order.size(), h.ops.size(),
                         j.ended_by_fatal ? " (it ends in the FATAL the impl reported)" : "");
    case Verdict::Unknown:
    case Verdict::Violation: break;
  }
  std::string who = "?";
  if (j.culprit) who = j.culprit_is_observation ? fmt::format("observation {}", *j.culprit)
                                                : fmt::format("op {} ({})", *j.culprit, model::to_string(h.ops[*j.culprit].op));
  if (j.verdict == Verdict::Unknown)
    return fmt::format("unknown: the {} budget ran out after {} model steps; the furthest point, {} steps in, stopped at {}: {}",
                       j.budget_exhausted, j.stats.steps, j.order.size(), who, j.what);
  return fmt::format("violation [{}] at {}: {}{}{} (longest explained prefix: {} steps)", rule_name(j.rule), who, j.what,
                     j.expected.empty() ? "" : fmt::format(": expected {}", j.expected),
                     j.observed.empty() ? "" : fmt::format(", observed {}", j.observed), j.order.size());
}

}  // namespace lockstep::checker::lin
