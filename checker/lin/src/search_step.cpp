// One placement: an observation compared with the model's state, or an operation's model step
// checked against what the impl answered (SPEC §8's rules, LIN.md "Rules").
#include <algorithm>
#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "match.hpp"
#include "model/invariants.hpp"
#include "model/op_traits.hpp"
#include "search.hpp"

namespace lockstep::checker::lin::detail {

using namespace lockstep::model;

namespace {

std::string op_text(const Op& op) { return std::string(op_name(op.body)); }

}  // namespace

// §8: at a quiescent point the impl's §7 state equals the model's after the order so far.
bool Search::place_observation(const Item& it, const Model& m) {
  const ObservationPoint& pt = h_.observations[it.index];
  const std::uint32_t item = p_.observation_items[observed_];
  // The console is judged line by line against the impl's, not against the model's order of them.
  if (!console_at_observation(item, pt)) return false;
  if (observes_as(m.state(), h_.hosts, pt.state, false)) return true;
  Observation expected = observe(m.state(), h_.hosts);
  expected.console = pt.state.console;
  note([&] {
    const std::optional<Difference> d = first_difference(expected, pt.state, Rule::P0);
    return Failure{item, d ? d->rule : Rule::P0, "state at the observation", d ? d->text : "differs", ""};
  });
  return false;
}

bool Search::translate(const Item& it, Op& out) const {
  out = h_.ops[it.index].op;
  std::size_t i = 0;
  bool ok = true;
  for_each_arg_mut(out.body, [&](const ArgTraits& a, auto& v) {
    using V = std::decay_t<decltype(v)>;
    const std::int32_t s = it.arg_syms[i++];
    if constexpr (std::is_integral_v<V>) {
      if (s < 0) return;
      const std::uint32_t id = p_.symbols.id(a.kind == ArgKind::LwpSym ? Binding::Kind::Lwp : Binding::Kind::Proc, s);
      if (id == Symbols::kUnbound) ok = false;
      else v = static_cast<V>(id);
    }
  });
  if (it.actor_sym >= 0) {
    const std::uint32_t id = p_.symbols.id(Binding::Kind::Proc, it.actor_sym);
    if (id == Symbols::kUnbound) ok = false;
    out.actor.index = id;
  }
  return ok;
}

bool Search::place_operation(const Item& it, const Cand& c, Level& child) {
  const std::uint32_t item = c.item;
  const Operation& o = h_.ops[it.index];
  Op op;
  if (!translate(it, op)) {
    // It names an object whose creating call this order has not placed yet.
    note([&] { return Failure{item, Rule::P0, fmt::format("{} before the call that creates what it names", op_text(o.op)), "", ""}; });
    return false;
  }
  Choice choice;
  if (c.pid != 0) choice.pid = c.pid;
  else if (!it.created_proc_pids.empty() && it.created_proc_pids.front() != kPidUnsaid) choice.pid = it.created_proc_pids.front();
  const std::shared_ptr<const Model>& from = levels_.back().state;
  std::shared_ptr<Model> m = pool_.copy_of(*from);
  const StepResult r = m->apply(op, choice);
  child.step = PathStep{item, false, it.index, op, choice};
  if (!own_outcome(it, item, op, r, child)) return false;
  if (child.fatal_end) {
    child.state = std::move(m);
    return true;  // SPEC §2: nothing after a FATAL is judged
  }
  if (!bind_created(it, item, from->state(), m->state(), child.undo)) return false;
  const std::size_t had = from->state().console.size();
  std::vector<std::string> lines = strip_console_ ? m->take_console()
                                                  : std::vector<std::string>(m->state().console.begin() + static_cast<std::ptrdiff_t>(had),
                                                                             m->state().console.end());
  const std::vector<std::uint32_t> writers = line_writers(item, op, r, lines.size());  // before completions() ends the requests
  if (!completions(r, child.undo)) return false;
  if (!lines.empty() && !console_lines(item, std::move(lines), writers, child.undo)) return false;
  if (o_.invariants) {
    std::vector<Violation> v = check_step(from->state(), op, r, m->state());
    std::vector<Violation> vs = check_state(m->state());
    v.insert(v.end(), vs.begin(), vs.end());
    if (!v.empty()) {
      note([&] { return Failure{item, v.front().rule, "model invariant", "holds", v.front().reason}; });
      return false;
    }
  }
  key_new_objects(item, from->state(), m->state(), child.undo);
  // The pid cursor is left out: every pid this search lets the model allocate is bound (a Choice).
  if (o_.cache != CacheMode::Off) {  // the hashes only key the cache
    child.objects = objects_hash(m->state(), from->state(), levels_.back().objects, id_keys());
    child.hash = hash_state(m->state(), child.objects, id_keys(), false);
  }
  child.state = std::move(m);
  return true;
}

// The step's own outcome against the impl's answer: returned now (and what), BLOCKED now (a request
// whose follow-up another step will cause), or the FATAL the impl reported.
bool Search::own_outcome(const Item& it, std::uint32_t item, const Op& op, const StepResult& r, Level& child) {
  const Operation& o = h_.ops[it.index];
  const Outcome& mo = r.outcome;
  auto mismatch = [&](std::string observed) {
    note([&] {
      return Failure{item, mo.rule, fmt::format("{} outcome", op_text(op)), render_model(mo, op.body), std::move(observed)};
    });
    return false;
  };
  const std::string in_flight = it.blocked_at_end ? "still blocked at the end" : "no answer yet";
  switch (mo.kind) {
    case OutcomeKind::NotRunnable:
      if (mo.why == NotRunnableWhy::PidNotAllowed) {
        note([&] {
          auto [rule, why] = levels_.back().state->pid_refusal(child.step.choice.pid.value_or(0));
          return Failure{item, rule, fmt::format("{} pid choice", op_text(op)), "a free pid in 2..PID_MAX", std::move(why)};
        });
        return false;
      }
      return mismatch(fmt::format("{} ran it", to_string(op.actor)));
    case OutcomeKind::Dead: return mismatch("ran");
    case OutcomeKind::Fatal:
      if (it.responded && o.outcome.kind == OutcomeKind::Fatal && o.outcome.fatal == mo.fatal) {
        set_status(item, Status::Done, child.undo);
        child.fatal_end = true;
        return true;
      }
      return mismatch(it.responded ? render_impl(o.outcome, op.body) : in_flight);
    case OutcomeKind::Blocked:
      if (o.blocked == false) return mismatch("returned without blocking");
      if (it.responded && o.outcome.kind != OutcomeKind::Returned) return mismatch(render_impl(o.outcome, op.body));
      set_status(item, Status::Requested, child.undo);
      lift(it.call_ev, child.undo);
      requested_.push_back(Requested{item, op.actor});
      child.undo.push_back(Action{Action::ReqAdd});
      if (it.blocked_at_end) lift(it.ret_ev, child.undo);  // the impl's call is blocked, as the model's is
      return true;
    case OutcomeKind::Returned: break;
  }
  if (it.blocked_at_end) return mismatch("still blocked at the end");
  if (o.blocked == true) return mismatch("blocked, then returned");
  if (it.responded) {
    const std::uint32_t lwp = it.result_lwp_sym >= 0 ? p_.symbols.id(Binding::Kind::Lwp, it.result_lwp_sym) : kNoLwp;
    if (!explains(mo, o.outcome, op.body, lwp)) return mismatch(render_impl(o.outcome, op.body));
  }
  set_status(item, Status::Done, child.undo);
  lift(it.call_ev, child.undo);
  if (it.ret_ev != kNone) lift(it.ret_ev, child.undo);
  return true;
}

// The objects the step created get the history's symbols for them (processes first, then lwps, in
// creation order, as model_step records them), after checking the pids the impl reported.
bool Search::bind_created(const Item& it, std::uint32_t item, const State& before, const State& after, std::vector<Action>& undo) {
  const std::size_t procs = after.procs.size() - before.procs.size(), lwps = after.lwps.size() - before.lwps.size();
  const Operation& o = h_.ops[it.index];
  auto wrong = [&](std::string expected, std::string observed) {
    note([&] { return Failure{item, Rule::R5, fmt::format("{} created", op_text(o.op)), std::move(expected), std::move(observed)}; });
    return false;
  };
  if (it.created_procs.size() > procs || it.created_lwps.size() > lwps)
    return wrong(fmt::format("{} processes and {} lwps", procs, lwps),
                 fmt::format("{} processes and {} lwps", it.created_procs.size(), it.created_lwps.size()));
  for (std::size_t i = 0; i < it.created_procs.size(); ++i) {
    const auto id = static_cast<ProcId>(before.procs.size() + i);
    if (it.created_proc_pids[i] != kPidUnsaid && after.procs[id].pid != it.created_proc_pids[i])
      return wrong(fmt::format("pid {}", after.procs[id].pid), fmt::format("pid {}", it.created_proc_pids[i]));
    bind(Binding::Kind::Proc, it.created_procs[i], id, undo);
  }
  for (std::size_t i = 0; i < it.created_lwps.size(); ++i) {
    const auto id = static_cast<LwpId>(before.lwps.size() + i);
    const Pid pid = after.procs[after.lwps[id].proc].pid;
    if (it.created_lwp_pids[i] != kPidUnsaid && pid != it.created_lwp_pids[i])
      return wrong(fmt::format("an lwp of pid {}", pid), fmt::format("an lwp of pid {}", it.created_lwp_pids[i]));
    if (i < it.created_lwp_lids.size() && after.lwps[id].lid != it.created_lwp_lids[i])
      return wrong(fmt::format("lid {} of pid {}", after.lwps[id].lid, pid), fmt::format("lid {} of pid {}", it.created_lwp_lids[i], pid));
    bind(Binding::Kind::Lwp, it.created_lwps[i], id, undo);
  }
  return true;
}

// §8: the follow-ups this step caused end the requests waiting for them, with what the impl's calls
// returned; a call the impl still shows blocked must not be woken.
bool Search::completions(const StepResult& r, std::vector<Action>& undo) {
  for (const Completion& c : r.completions) {
    auto q = std::find_if(requested_.begin(), requested_.end(), [&](const Requested& x) { return x.actor == c.actor; });
    if (q == requested_.end()) continue;  // blocked before the history, and the history does not list the call
    const std::uint32_t b = q->item;
    const Item& bi = p_.items[b];
    const Operation& bo = h_.ops[bi.index];
    const std::string what = fmt::format("wake-up of {} in {}", to_string(c.actor), op_text(bo.op));
    if (bi.blocked_at_end) {
      note([&] { return Failure{b, wake_rule(bo.op.body), what, fmt::format("woken ({})", render_model(c.outcome, bo.op.body)), "still blocked"}; });
      return false;
    }
    if (bi.responded) {
      const std::uint32_t lwp = bi.result_lwp_sym >= 0 ? p_.symbols.id(Binding::Kind::Lwp, bi.result_lwp_sym) : kNoLwp;
      if (!explains(c.outcome, bo.outcome, bo.op.body, lwp)) {
        note([&] { return Failure{b, c.outcome.rule, what, render_model(c.outcome, bo.op.body), render_impl(bo.outcome, bo.op.body)}; });
        return false;
      }
    }
    const auto pos = static_cast<std::uint32_t>(q - requested_.begin());
    erased_.push_back(*q);
    requested_.erase(q);
    undo.push_back(Action{Action::ReqErase, pos});
    set_status(b, Status::Done, undo);
    if (bi.ret_ev != kNone) lift(bi.ret_ev, undo);
  }
  return true;
}

// Who writes each console line a step added, in the impl (SPEC K7): a kproc_shutdown's banner and
// result are its caller's; the result line of a shutdown this step woke is that shutdown's caller's
// (it writes it when it wakes). Anything else is the step's own.
std::vector<std::uint32_t> Search::line_writers(std::uint32_t item, const Op& op, const StepResult& r, std::size_t lines) const {
  std::vector<std::uint32_t> w;
  w.reserve(lines);
  if (!std::holds_alternative<op::KprocShutdown>(op.body))
    for (const Completion& c : r.completions) {
      auto q = std::find_if(requested_.begin(), requested_.end(), [&](const Requested& x) { return x.actor == c.actor; });
      if (q != requested_.end() && w.size() < lines && std::holds_alternative<op::KprocShutdown>(h_.ops[p_.items[q->item].index].op.body))
        w.push_back(q->item);
    }
  while (w.size() < lines) w.push_back(item);
  return w;
}

// The lines a step wrote join the ones waiting for the next observation; there cannot be more of
// them than that observation shows.
bool Search::console_lines(std::uint32_t item, std::vector<std::string> lines, const std::vector<std::uint32_t>& writers,
                           std::vector<Action>& undo) {
  if (observed_ < p_.observation_items.size()) {
    const std::size_t shown = h_.observations[p_.items[p_.observation_items[observed_]].index].state.console.size();
    if (console_ + lines.size() > shown) {
      const std::size_t extra = shown > console_ ? shown - console_ : 0;  // the first line past what it shows
      note([&] { return Failure{item, Rule::K7, fmt::format("console line {}", shown + 1), lines[extra], "no such line at the next observation"}; });
      return false;
    }
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::uint32_t rank = writer_lines_[writers[i]]++;
    const std::uint64_t term = mix64(mix64(static_cast<std::uint64_t>(writers[i]) << 32 | rank) ^ std::hash<std::string>{}(lines[i]));
    pending_hash_ += term;
    pending_.push_back(Line{writers[i], std::move(lines[i]), term});
  }
  console_ += lines.size();
  undo.push_back(Action{Action::Console, 0, 0, lines.size()});
  return true;
}

// §8 and K7 at an observation: the console grew by exactly the lines written since the last one, in
// an order that keeps each writer's lines in its order, and puts all the lines of a call that
// returned before another was invoked before that one's.
bool Search::console_at_observation(std::uint32_t item, const ObservationPoint& pt) {
  const std::vector<std::string>& shown = pt.state.console;
  if (!p_.console_grows[observed_] || console_ != shown.size()) {
    note([&] {
      return Failure{item, Rule::K7, "console at the observation", fmt::format("{} lines", console_),
                     p_.console_grows[observed_] ? fmt::format("{} lines", shown.size()) : "lines of the previous observation changed or gone"};
    });
    return false;
  }
  if (pending_.empty()) return true;
  std::vector<std::uint32_t> who;
  std::vector<std::vector<std::string>> writers;
  for (const Line& l : pending_) {
    const auto w = static_cast<std::size_t>(std::find(who.begin(), who.end(), l.writer) - who.begin());
    if (w == who.size()) who.push_back(l.writer), writers.emplace_back();
    writers[w].push_back(l.text);
  }
  std::vector<std::vector<std::size_t>> after(who.size());
  for (std::size_t v = 0; v < who.size(); ++v)
    for (std::size_t w = 0; w < who.size(); ++w)
      if (w != v && precedes(h_.ops[p_.items[who[w]].index], h_.ops[p_.items[who[v]].index])) after[v].push_back(w);
  const std::vector<std::string> segment(shown.end() - static_cast<std::ptrdiff_t>(pending_.size()), shown.end());
  if (interleaves(segment, writers, after)) return true;
  note([&] {
    std::string expected, observed;
    for (std::size_t w = 0; w < who.size(); ++w)
      expected += fmt::format("{}{}: \"{}\"", w ? "; " : "", to_string(h_.ops[p_.items[who[w]].index].op.actor), fmt::join(writers[w], "\", \""));
    observed = fmt::format("\"{}\"", fmt::join(segment, "\", \""));
    return Failure{item, Rule::K7, fmt::format("console lines {}-{}", shown.size() - segment.size() + 1, shown.size()),
                   "an interleaving of " + expected, observed};
  });
  return false;
}

}  // namespace lockstep::checker::lin::detail
