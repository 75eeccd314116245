#include "round_judge.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "model/invariants.hpp"
#include "model/op_traits.hpp"
#include "outcome_compare.hpp"

namespace lockstep::checker {

using namespace lockstep::model;

void bind_created(const Op& op, const StepResult& mr, const std::optional<ImplResult>& r, const State& s, ImplSymbols& sym) {
  sym.reserve(s.lwps.size(), s.procs.size());
  if (!r || !mr.outcome.returned() || mr.outcome.ret != 0) return;
  const Creates creates = traits(op.body).creates;
  if (creates == Creates::Lwp || creates == Creates::ProcessAndLwp) sym.bind_lwp(static_cast<LwpId>(s.lwps.size() - 1), r->new_lwp);
  if (creates == Creates::ProcessAndLwp) sym.bind_proc(static_cast<ProcId>(s.procs.size() - 1), r->new_proc);
  if (creates == Creates::Kthread && mr.outcome.proc != kNoProc) sym.bind_proc(mr.outcome.proc, r->proc);
}

bool names_only_earlier_symbols(const Op& op, const State& before) {
  bool ok = true;
  for_each_arg(op.body, [&](const ArgTraits& a, const auto& v) {
    using V = std::decay_t<decltype(v)>;
    if constexpr (std::is_integral_v<V>) {
      if (a.kind == ArgKind::LwpSym && v != kNoLwp && static_cast<std::size_t>(v) >= before.lwps.size()) ok = false;
      if (a.kind == ArgKind::ProcSym && v != kNoProc && static_cast<std::size_t>(v) >= before.procs.size()) ok = false;
    }
  });
  if (op.actor.kind == Actor::Kind::Kthread && op.actor.index >= before.procs.size()) ok = false;
  return ok;
}

namespace {

// The console lines the round's steps wrote, by the call that writes each (SPEC K7: a shutdown's
// banner and result; a result written by the step that woke a blocked shutdown belongs to that
// shutdown's caller). A call writes its lines itself, somewhere between its invocation and its
// response: the banner before its request takes effect, the result after its follow-up. So lines of
// different calls overlapping in a round may reach the console in any interleaving that keeps each
// call's own lines in order; no step reads the console.
struct RoundConsole {
  std::size_t before = 0;  // lines before the round
  std::map<std::string, std::vector<std::string>> by_writer;

  void add(const Op& op, const StepResult& mr, const std::vector<std::string>& console, std::size_t from,
           const std::map<std::string, Op>& blocked_ops) {
    std::vector<std::string> lines(console.begin() + static_cast<std::ptrdiff_t>(from), console.end());
    if (lines.empty()) return;
    std::size_t k = 0;
    if (std::holds_alternative<op::KprocShutdown>(op.body)) {
      auto& own = by_writer[to_string(op.actor)];
      own.insert(own.end(), lines.begin(), lines.end());
      return;
    }
    for (const Completion& c : mr.completions) {
      const std::string who = to_string(c.actor);
      auto b = blocked_ops.find(who);
      if (b == blocked_ops.end() || !std::holds_alternative<op::KprocShutdown>(b->second.body) || k == lines.size()) continue;
      by_writer[who].push_back(lines[k++]);
    }
    for (; k < lines.size(); ++k) by_writer["?"].push_back(lines[k]);  // unattributed: compared in place
  }

  // Whether the impl's console is the model's, up to how overlapping calls' lines interleave.
  bool explains(const std::vector<std::string>& model, const std::vector<std::string>& impl) const {
    if (model.size() != impl.size() || !std::equal(model.begin(), model.begin() + static_cast<std::ptrdiff_t>(before), impl.begin())) return false;
    if (by_writer.contains("?")) return false;
    std::vector<std::vector<std::string>> writers;
    for (const auto& [who, lines] : by_writer) writers.push_back(lines);
    return interleaves(std::vector<std::string>(impl.begin() + static_cast<std::ptrdiff_t>(before), impl.end()), writers);
  }
};

// One order tried: the model's steps, or the first thing in it that the impl contradicts.
struct Trial {
  RoundJudgement j;
  bool failed = false;
  void fail(Rule rule, std::string what, std::string expected, std::string observed) {
    if (failed) return;
    failed = true;
    j.rule = rule;
    j.what = std::move(what);
    j.expected = std::move(expected);
    j.observed = std::move(observed);
  }
};

Trial try_order(const Model& before, const ImplSymbols& symbols, const RoundInput& in, const std::vector<std::size_t>& order) {
  Trial t;
  Model m = before;
  ImplSymbols sym = symbols;
  std::map<std::string, std::pair<Op, Outcome>> completed;  // by actor name: the calls the round's steps completed
  std::map<std::size_t, Outcome> own;                       // round op -> its outcome at its own step
  std::optional<std::size_t> fatal_at;
  std::map<std::string, std::size_t> blocked_in_round;  // by actor name: its round op blocked in this order
  RoundConsole console{before.state().console.size(), {}};
  std::map<std::string, Op> blocked_ops = in.blocked_before;  // by actor name: the call it is blocked in
  for (std::size_t idx : order) {
    const RoundOp& ro = in.ops[idx];
    Choice choice;
    if (ro.result && ro.result->kind == ImplResult::Kind::Returned && ro.result->new_pid > 0) choice.pid = ro.result->new_pid;
    const State was = in.invariants ? m.state() : State{};
    const std::size_t lines_before = m.state().console.size();
    StepResult mr = m.apply(ro.op, choice);
    if (mr.outcome.kind != OutcomeKind::NotRunnable) console.add(ro.op, mr, m.state().console, lines_before, blocked_ops);
    if (mr.outcome.kind == OutcomeKind::NotRunnable) {
      const bool pid = mr.outcome.why == NotRunnableWhy::PidNotAllowed;
      t.fail(pid ? Rule::R5 : mr.outcome.rule, pid ? "pid choice" : fmt::format("{} not runnable", to_string(ro.op.actor)),
             pid ? "a pid not in the table" : "runnable", pid ? fmt::format("pid {} (in use)", choice.pid.value_or(0)) : "ran");
      return t;
    }
    bind_created(ro.op, mr, ro.result, m.state(), sym);
    for (const Completion& c : mr.completions) {
      const std::string who = to_string(c.actor);
      // The round op this completes (the actor's call blocked in this order) cannot have returned
      // before this one was invoked.
      if (auto b = blocked_in_round.find(who); b != blocked_in_round.end()) {
        for (const auto& [first, then] : in.precedes)
          if (then == idx && first == b->second)
            t.fail(c.outcome.rule, fmt::format("wake-up of {}", who), "woken by a call that began after it returned",
                   "returned before the waking call began");
        blocked_in_round.erase(b);
      }
      Op blocked_op{c.actor, {}};
      for (const RoundOp& o : in.ops)
        if (to_string(o.op.actor) == who) blocked_op = o.op;
      if (auto it = in.blocked_before.find(who); it != in.blocked_before.end()) blocked_op = it->second;
      completed.insert_or_assign(who, std::pair{blocked_op, c.outcome});
    }
    own[idx] = mr.outcome;
    if (mr.outcome.kind == OutcomeKind::Blocked) blocked_in_round[to_string(ro.op.actor)] = idx, blocked_ops.insert_or_assign(to_string(ro.op.actor), ro.op);
    if (in.invariants) {
      std::vector<Violation> v = check_step(was, ro.op, mr, m.state());
      std::vector<Violation> vs = check_state(m.state());
      v.insert(v.end(), vs.begin(), vs.end());
      if (!v.empty()) {
        t.fail(v.front().rule, "model invariant", "holds", v.front().reason);
        return t;
      }
    }
    t.j.steps.push_back(RoundStep{idx, choice, std::move(mr)});
    if (t.j.steps.back().result.outcome.is_fatal()) {
      fatal_at = idx;
      break;
    }
  }

  // Each operation of the round, up to a FATAL.
  for (const RoundStep& s : t.j.steps) {
    const RoundOp& ro = in.ops[s.index];
    const Outcome& mo = s.result.outcome;
    const std::string who = to_string(ro.op.actor);
    if (mo.kind == OutcomeKind::Blocked) {
      if (auto it = completed.find(who); it != completed.end()) {
        if (!ro.result) {
          t.fail(it->second.second.rule, fmt::format("wake-up of {}", who), fmt::format("woken ({})", render_model(it->second.second, ro.op.body)),
                 "still blocked");
        } else if (auto why = compare(it->second.second, ro.result, ro.op.body, sym)) {
          t.fail(it->second.second.rule, fmt::format("wake-up of {}{}", who, *why), render_model(it->second.second, ro.op.body),
                 render_impl(*ro.result, ro.op.body, sym));
        }
        completed.erase(it);
        continue;
      }
    }
    if (auto why = compare(mo, ro.result, ro.op.body, sym))
      t.fail(mo.rule, fmt::format("{} outcome{}", op_name(ro.op.body), *why), render_model(mo, ro.op.body),
             ro.result ? render_impl(*ro.result, ro.op.body, sym) : "BLOCKED");
  }
  if (fatal_at) {
    t.j.ended_by_fatal = true;
  } else {
    // The calls blocked before the round: completed by the model exactly where the impl returned.
    for (const auto& [who, r] : in.returned) {
      auto it = completed.find(who);
      const Op& op = in.blocked_before.at(who);
      if (it == completed.end()) {
        t.fail(wake_rule(op.body), fmt::format("wake-up of {} in {}", who, op_name(op.body)), "still blocked",
               fmt::format("woken ({})", render_impl(r, op.body, sym)));
        continue;
      }
      if (auto why = compare(it->second.second, r, op.body, sym))
        t.fail(it->second.second.rule, fmt::format("wake-up of {}{}", who, *why), render_model(it->second.second, op.body),
               render_impl(r, op.body, sym));
      completed.erase(it);
    }
    for (const auto& [who, done] : completed)
      t.fail(done.second.rule, fmt::format("wake-up of {}", who), fmt::format("woken ({})", render_model(done.second, done.first.body)),
             "still blocked");
    if (!t.failed && in.observed) {
      Observation expected = observe(m.state(), in.hosts);
      // The order explains the lines, interleaved as the calls wrote them (the runner then takes
      // them as judged: RoundInput::observed).
      if (expected.console != in.observed->console && console.explains(expected.console, in.observed->console))
        expected.console = in.observed->console;
      if (!(expected == *in.observed))
        if (auto d = first_difference(expected, *in.observed, t.j.steps.empty() ? Rule::P0 : t.j.steps.back().result.outcome.rule))
          t.fail(d->rule, "state after the round", d->text, "");
    }
  }
  if (!t.failed) {
    t.j.agrees = true;
    t.j.after = std::move(m);
    t.j.symbols = std::move(sym);
  }
  return t;
}

}  // namespace

RoundJudgement judge_round(const Model& before, const ImplSymbols& symbols, const RoundInput& in) {
  std::vector<std::size_t> order(in.ops.size());
  std::iota(order.begin(), order.end(), 0);
  std::optional<RoundJudgement> posting_order;  // the report when no order agrees
  std::size_t tried = 0;
  // Two ops of one actor keep their program order: that actor ran them one after the other. An op
  // that returned before another was invoked keeps its place before it (real time).
  auto keeps_program_order = [&] {
    for (std::size_t a = 0; a < order.size(); ++a)
      for (std::size_t b = a + 1; b < order.size(); ++b) {
        if (order[a] > order[b] && in.ops[order[a]].op.actor == in.ops[order[b]].op.actor) return false;
        for (const auto& [first, then] : in.precedes)
          if (order[a] == then && order[b] == first) return false;
      }
    return true;
  };
  do {
    if (!keeps_program_order()) continue;
    ++tried;
    Trial t = try_order(before, symbols, in, order);
    if (t.j.agrees) {
      t.j.orders_tried = tried;
      return std::move(t.j);
    }
    if (!posting_order) posting_order = std::move(t.j);
  } while (std::next_permutation(order.begin(), order.end()));
  RoundJudgement j = std::move(*posting_order);
  j.steps.clear();
  j.orders_tried = tried;
  if (in.ops.size() > 1)
    j.what = fmt::format("{} (no order of the {} overlapping operations explains the outcomes, shown in posting order)", j.what, in.ops.size());
  return j;
}

}  // namespace lockstep::checker
