#include "round_judge.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "checker/lin_judge.hpp"
#include "model/op_traits.hpp"
#include "checker/outcome_compare.hpp"

namespace lockstep::checker {

using namespace lockstep::model;

bool names_only_earlier_symbols(const Op& op, const State& before) {
  bool ok = true;
  for_each_arg(op.body, [&](const ArgTraits& a, const auto& v) {
    using V = std::decay_t<decltype(v)>;
    if constexpr (std::is_integral_v<V>) {
      if (a.kind == ArgKind::LwpSym && static_cast<LwpId>(v) != kNoLwp && static_cast<std::size_t>(v) >= before.lwps.size()) ok = false;
      if (a.kind == ArgKind::ProcSym && static_cast<ProcId>(v) != kNoProc && static_cast<std::size_t>(v) >= before.procs.size()) ok = false;
    }
  });
  if (op.actor.kind == Actor::Kind::Kthread && op.actor.index >= before.procs.size()) ok = false;
  return ok;
}

namespace {

// The quick search's budget, in model steps tried: a few times a round's size (SPEC §8 rounds
// post 2-4 operations), so a round the first orders do not explain costs little extra.
constexpr std::uint64_t kQuickJudgeSteps = 64;

// The handles the round's calls created get history symbols after `before`'s (lin_history.hpp), and
// the bindings the judge checks: the impl's pid for a new process, the pid of a new lwp's process.
std::vector<Binding> created_by(const RoundOp& ro, std::uint32_t& next_lwp, std::uint32_t& next_proc, ImplSymbols& sym) {
  const std::optional<ImplResult>& r = ro.result;
  if (!r || r->kind != ImplResult::Kind::Returned || r->ret != 0) return {};
  std::vector<Binding> out;
  switch (traits(ro.op.body).creates) {
    case Creates::ProcessAndLwp:
      sym.bind_proc(next_proc, r->new_proc);
      sym.bind_lwp(next_lwp, r->new_lwp);
      out = {Binding{Binding::Kind::Proc, next_proc++, r->new_pid}, Binding{Binding::Kind::Lwp, next_lwp++, r->new_pid}};
      break;
    case Creates::Lwp:
      sym.bind_lwp(next_lwp, r->new_lwp);
      out = {Binding{Binding::Kind::Lwp, next_lwp++, std::get<op::Newlwp>(ro.op.body).pid}};
      break;
    case Creates::Kthread:
      if (r->proc == nullptr) break;
      sym.bind_proc(next_proc, r->proc);
      out = {Binding{Binding::Kind::Proc, next_proc++, r->new_pid}, Binding{Binding::Kind::Lwp, next_lwp++, r->new_pid}};
      break;
    case Creates::Nothing: break;
  }
  return out;
}

// Whether a tick of n ticks may time out a wait: one begun before the round, or one a call of the
// round may begin (its deadline is at most n ticks away if the request came before the tick). The
// round former forms no round that has both a wait falling due at its tick and a call starting a
// timed wait (lockstep.cpp, fits_round): a late tick could contradict that call's deadline.
bool may_time_out(const State& before, const RoundInput& in, Tick n) {
  if (std::any_of(before.waits.begin(), before.waits.end(), [&](const Wait& w) { return w.deadline && *w.deadline - before.now <= n; }))
    return true;
  return std::any_of(in.ops.begin(), in.ops.end(), [&](const RoundOp& ro) {
    const Tick timo = wait_timeout(ro.op.body).value_or(0);
    return timo > 0 && timo <= n;
  });
}

std::size_t count_created(const RoundInput& in, Binding::Kind k) {
  std::size_t n = 0;
  for (const RoundOp& ro : in.ops) {
    const Creates c = traits(ro.op.body).creates;
    if (k == Binding::Kind::Lwp) n += c == Creates::Nothing ? 0 : 1;
    else n += c == Creates::ProcessAndLwp || c == Creates::Kthread ? 1 : 0;
  }
  return n;
}

// Whether the order in which the round's calls returned explains it, tried before any search: most
// rounds of a conforming impl are explained by it, and it costs a model step per call and one §7
// comparison, where the search builds a history, prepares it and places each operation. It is a
// witness, never a refutation: when it does not explain the round, or the round holds what only the
// search handles (a call blocked before it that returned in it, a call blocked at its end, the clock,
// a FATAL, a new kthread, a call the model says blocks or a step that wakes one, console lines),
// nullopt, and the search decides. The order respects real time: a call that returned before another
// was invoked also returned first. Calls blocked before the round that stay blocked through it (a
// parked kthread) are still blocked in the model: no step of the order may wake them.
std::optional<RoundJudgement> in_response_order(const Model& before, const ImplSymbols& symbols, const RoundInput& in) {
  if (!in.returned.empty() || !in.observed) return std::nullopt;
  thread_local std::vector<std::size_t> order;
  order.clear();
  for (std::size_t k = 0; k < in.ops.size(); ++k) {
    const RoundOp& ro = in.ops[k];
    if (!ro.result || ro.result->kind != ImplResult::Kind::Returned || !in.returned_at.at(k) || !in.invoked.at(k)) return std::nullopt;
    if (ro.op.actor.kind == Actor::Kind::Clock || traits(ro.op.body).creates == Creates::Kthread || std::holds_alternative<op::KprocShutdown>(ro.op.body) ||
        std::holds_alternative<op::KthreadExit>(ro.op.body))
      return std::nullopt;
    order.push_back(k);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    return std::pair{*in.returned_at[x], *in.invoked[x]} < std::pair{*in.returned_at[y], *in.invoked[y]};
  });
  thread_local Model scratch;
  scratch.assign(before.state());
  ImplSymbols sym = symbols;
  RoundJudgement j;
  for (const std::size_t k : order) {
    const RoundOp& ro = in.ops[k];
    Choice choice;
    if (ro.result->new_pid > 0) choice.pid = ro.result->new_pid;
    const StepResult mr = scratch.apply(ro.op, choice);
    if (mr.outcome.kind != OutcomeKind::Returned || mr.outcome.is_fatal() || !mr.completions.empty()) return std::nullopt;
    // The handles the call created, under the symbols the model gave them (as the runner binds them).
    const State& s = scratch.state();
    sym.reserve(s.lwps.size(), s.procs.size());
    if (mr.outcome.ret == 0) {
      const Creates creates = traits(ro.op.body).creates;
      if (creates == Creates::Lwp || creates == Creates::ProcessAndLwp) sym.bind_lwp(static_cast<LwpId>(s.lwps.size() - 1), ro.result->new_lwp);
      if (creates == Creates::ProcessAndLwp) sym.bind_proc(static_cast<ProcId>(s.procs.size() - 1), ro.result->new_proc);
    }
    if (compare(mr.outcome, ro.result, ro.op.body, sym)) return std::nullopt;
    j.steps.push_back(RoundStep{k, choice});
    j.steps_tried++;
  }
  if (!observes_as(scratch.state(), in.hosts, *in.observed)) return std::nullopt;
  j.agrees = true;
  return j;
}

}  // namespace

RoundJudgement judge_round(const Model& before, const ImplSymbols& symbols, const RoundInput& in) {
  if (std::optional<RoundJudgement> j = in_response_order(before, symbols, in)) return *j;
  const State& b = before.state();
  // The thread's history, refilled: copying the state into the storage of the last round's (a
  // copy-assignment) costs a fraction of a fresh copy, and every round copies it.
  thread_local lin::History h;
  h.ops.clear();
  h.observations.clear();
  h.before = b;
  h.hosts = in.hosts;
  // Positions are scheduling turns. The calls blocked before the round respond at its end (when in
  // the round the impl returned from them is not recorded), and the observation comes after that.
  std::size_t last = 0;
  for (const auto* v : {&in.invoked, &in.returned_at})
    for (const std::optional<std::size_t>& t : *v) last = std::max(last, t.value_or(0));
  const std::size_t end = last + 1;
  ImplSymbols sym = symbols;
  sym.reserve(b.lwps.size() + count_created(in, Binding::Kind::Lwp), b.procs.size() + count_created(in, Binding::Kind::Proc));
  auto next_lwp = static_cast<std::uint32_t>(b.lwps.size());
  auto next_proc = static_cast<std::uint32_t>(b.procs.size());
  for (std::size_t k = 0; k < in.ops.size(); ++k) {
    const RoundOp& ro = in.ops[k];
    lin::Operation o;
    o.op = ro.op;
    const bool clock = ro.op.actor.kind == Actor::Kind::Clock;
    // The tick happened between two turns (invoked and returned there), and took effect there,
    // unless a wait falls due at it: then the waiter's event may have won the race from after the
    // tick (the waiter, woken by the timeout, saw the event first; SPEC §5 allows either), so the
    // tick may take effect as late as the round's end.
    const bool floating = clock && may_time_out(b, in, std::get<op::Tick>(ro.op.body).n);
    o.call = in.invoked.at(k).value_or(end);
    if (ro.result) o.ret = floating ? end : in.returned_at.at(k).value_or(end);
    else o.blocked_at_end = true;
    o.created = created_by(ro, next_lwp, next_proc, sym);
    h.ops.push_back(std::move(o));
  }
  // The answers, once every handle the round created has its symbol (a curlwp may name one).
  for (std::size_t k = 0; k < in.ops.size(); ++k)
    if (in.ops[k].result) h.ops[k].outcome = impl_outcome(in.ops[k].result, sym);
  for (const auto& [who, op] : in.blocked_before) {
    lin::Operation o;
    o.op = op;
    o.carried = true;
    if (auto r = in.returned.find(who); r != in.returned.end()) {
      o.ret = end;
      o.outcome = impl_outcome(r->second, sym);
    } else {
      o.blocked_at_end = true;
    }
    h.ops.push_back(std::move(o));
  }
  if (in.observed) h.observations.push_back(lin::ObservationPoint{end + 1, *in.observed});

  lin::Options opt;
  // §6 is the runner's to check, on the order found (lockstep.cpp, round()): searching with it would
  // cost a whole-state check per placement tried.
  opt.invariants = false;
  // The round's only observation is its last event: nothing is searched after a commit there, so
  // compacting the committed state would be work for nothing (the verdict is the same either way).
  opt.compact_at_commits = false;
  // Most rounds of a conforming impl are explained by the first orders the search tries, and its
  // exact cache costs a relabelled copy of the state per node entered (most of a round's judging).
  // So a short search without the cache goes first; only when it does not agree within its budget
  // does the full search decide (a violation is never concluded from the short one).
  opt.replay_agreement = false;  // the runner applies the order's steps to its own model
  lin::Options quick = opt;
  quick.cache = lin::CacheMode::Off;
  quick.budget.max_steps = kQuickJudgeSteps;
  lin::Judgement lj = lin::judge(h, quick);
  std::uint64_t tried = lj.stats.steps;
  if (lj.verdict != lin::Verdict::Agree) {
    lj = lin::judge(h, opt);
    tried += lj.stats.steps;
  }
  RoundJudgement j;
  j.steps_tried = tried;
  if (lj.verdict == lin::Verdict::Agree) {
    j.agrees = true;
    j.ended_by_fatal = lj.ended_by_fatal;
    for (const lin::Step& s : lj.order)
      if (!s.observation) j.steps.push_back(RoundStep{s.index, s.choice});
    return j;
  }
  j.rule = lj.rule;
  j.what = lj.what;
  j.expected = lj.expected;
  j.observed = lj.observed;
  if (lj.verdict == lin::Verdict::Unknown)
    j.what = fmt::format("{} (the round's judge ran out of its budget, {}, at the furthest point it reached)", j.what, lj.budget_exhausted);
  else if (in.ops.size() > 1)
    j.what = fmt::format("{} (no order of the {} overlapping operations explains what the impl did)", j.what, in.ops.size());
  return j;
}

}  // namespace lockstep::checker
