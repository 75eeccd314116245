#include "history_merge.hpp"

#include <algorithm>
#include <variant>

#include <fmt/format.h>

namespace lockstep::checker::stress {

using namespace lockstep::model;

TraceOutcome outcome_of(const Record& r) {
  TraceOutcome t;
  t.kind = r.kind;
  switch (r.kind) {
    case OutcomeKind::Returned:
      t.ret = r.ret;
      t.err = r.err;
      t.st_size = r.st_size;
      if (r.lwp >= 0) t.lwp = static_cast<LwpId>(r.lwp);
      t.lwp_unnamed = r.lwp == -2;
      break;
    case OutcomeKind::Fatal:
      for (std::size_t i = 1; i < static_cast<std::size_t>(Fatal::Count); ++i)
        if (fatal_name(static_cast<Fatal>(i)) == r.what) t.fatal = static_cast<Fatal>(i);
      if (t.fatal == Fatal::None) {
        t.kind = OutcomeKind::Dead;
        t.label = fmt::format("FATAL({})", r.what);
      }
      break;
    default:
      t.kind = OutcomeKind::Dead;
      t.label = r.what.empty() ? std::string("dead") : fmt::format("exception: {}", r.what);
      break;
  }
  return t;
}

namespace {

// SPEC §5: under real time, a wait acknowledged and timed out in the same instant may end either way.
// The impl decides a timeout when the waiter runs again after its deadline's tick (it wakes, takes
// its lock back and looks at the state), so for a waiter that instant lasts from the tick until it
// returns: an acknowledgement in between (a resume, an exit) wins. The model ends expired waits in
// the tick step itself (model.cpp, op::Tick), so the tick a waiter's deadline falls on gets a
// response as late as that waiter's, when the waiter returned 0 after its deadline's tick began; the
// acknowledgement can then be ordered before it. The deadline is now + timo with `now` read in the
// request's critical section, which began at the hint: the tick after it is widened too, in case one
// began between the lock and the read. A tick never reaches past the next one (the clock's ticks
// stay in order), so a waiter that took longer than a tick to return is not covered.
void widen_ticks_for_late_acknowledgements(Merged& m, std::int64_t tick_ns, std::int64_t slack_ns) {
  lin::History& h = m.history;
  std::vector<std::size_t> ticks;  // the tick ops, in order
  for (std::size_t i = 0; i < h.ops.size(); ++i)
    if (std::holds_alternative<op::Tick>(h.ops[i].op.body)) ticks.push_back(i);
  auto timo_of = [](const Op& op) {
    if (const auto* s = std::get_if<op::Suspend>(&op.body)) return s->timo;
    if (const auto* w = std::get_if<op::WaitExit>(&op.body)) return w->timo;
    return 0;
  };
  for (std::size_t i = 0; i < h.ops.size(); ++i) {
    const lin::Operation& o = h.ops[i];
    const int timo = timo_of(o.op);
    if (timo <= 0 || !o.ret || o.outcome.kind != OutcomeKind::Returned || o.outcome.ret != 0) continue;
    const std::int64_t request_ns = (o.hint ? static_cast<std::int64_t>(*o.hint) : static_cast<std::int64_t>(o.call)) / 2;
    // With an uncertain phase (tick k begins within the slack after k * tick_ns) a request that began
    // within the slack after a tick's nominal instant may have read the clock one tick lower; one that
    // began later read at least this tick, and widening the tick before it would only let the judge
    // place that tick after the request, across the barrier between them (which then is no commit
    // point).
    const std::int64_t deadline = request_ns / tick_ns + timo;
    const bool may_read_lower = slack_ns > 0 && request_ns % tick_ns <= slack_ns;
    for (std::int64_t k : {deadline - 1, deadline, deadline + 1}) {
      if (k == deadline - 1 && !may_read_lower) continue;
      const std::uint64_t at = 2 * static_cast<std::uint64_t>(k * tick_ns);
      if (at >= *o.ret) continue;
      // The tick op that carries tick k: the first at or after its instant (ticks with no event
      // between them are merged into the last).
      auto t = std::lower_bound(ticks.begin(), ticks.end(), at, [&](std::size_t op, std::uint64_t pos) { return h.ops[op].call < pos; });
      if (t == ticks.end()) continue;
      lin::Operation& tick = h.ops[*t];
      std::uint64_t limit = *o.ret;
      if (t + 1 != ticks.end()) limit = std::min(limit, h.ops[*(t + 1)].call - 1);
      if (limit > *tick.ret) {
        tick.ret = limit;
        m.ret_ns[*t] = static_cast<std::int64_t>(limit / 2);
      }
    }
  }
}

}  // namespace

Merged merge_history(MergeInput in, std::vector<std::vector<Record>>& lanes) {
  Merged m;
  lin::History& h = m.history;
  h.before = std::move(in.before);
  h.hosts = in.hosts;
  std::size_t total = 0;
  for (const auto& l : lanes) total += l.size();
  h.ops.reserve(total + static_cast<std::size_t>(in.end_ns / in.tick_ns) + 1);
  std::vector<std::uint64_t> points;  // every event position, for placing the ticks
  points.reserve(2 * total + 1);
  for (auto& lane : lanes) {
    std::optional<std::uint64_t> prev_ret;
    for (Record& r : lane) {
      lin::Operation o;
      o.call = 2 * static_cast<std::uint64_t>(r.call_ns);
      if (prev_ret && o.call <= *prev_ret) o.call = *prev_ret + 1;
      points.push_back(o.call);
      if (r.ret_ns >= 0) {
        o.ret = std::max<std::uint64_t>(o.call, 2 * static_cast<std::uint64_t>(r.ret_ns));
        o.outcome = outcome_of(r);
        if (r.hint_ns >= 0) o.hint = std::clamp<std::uint64_t>(2 * static_cast<std::uint64_t>(r.hint_ns), o.call, *o.ret);
        points.push_back(*o.ret);
        prev_ret = o.ret;
      }
      o.created.assign(r.created.begin(), r.created.begin() + r.n_created);
      if (r.lid >= 0) o.created_lids = {r.lid};
      o.op = std::move(r.op);
      m.call_ns.push_back(r.call_ns);
      m.ret_ns.push_back(r.ret_ns);
      m.request_ns.push_back(r.request_ns);
      h.ops.push_back(std::move(o));
    }
    lane.clear();
    lane.shrink_to_fit();
  }
  for (auto& [ns, obs] : in.observations) {
    points.push_back(2 * static_cast<std::uint64_t>(ns));
    h.observations.push_back(lin::ObservationPoint{2 * static_cast<std::uint64_t>(ns), std::move(obs)});
  }
  std::sort(points.begin(), points.end());

  // Ticks: tick k begins at k * tick_ns (+ up to the slack). Consecutive ticks with no event in
  // [b_k, b_k+1 + slack) merge: none can lie between them, whatever the phase.
  const std::uint64_t slack = 2 * static_cast<std::uint64_t>(in.tick_slack_ns);
  const std::int64_t last = in.end_ns / in.tick_ns;
  std::int64_t pending = 0;
  auto next_point = points.begin();
  for (std::int64_t k = 1; k <= last; ++k) {
    ++pending;
    const std::uint64_t here = 2 * static_cast<std::uint64_t>(k * in.tick_ns);
    const std::uint64_t next = 2 * static_cast<std::uint64_t>((k + 1) * in.tick_ns);
    next_point = std::lower_bound(next_point, points.end(), here);
    const bool event_before_next = next_point != points.end() && *next_point < next + slack;
    if (!event_before_next && k < last) continue;
    lin::Operation o;
    o.op = Op{Actor::clock(), op::Tick{pending}};
    o.call = here;
    o.ret = here + slack;
    o.outcome.kind = OutcomeKind::Returned;
    m.call_ns.push_back(k * in.tick_ns);
    m.ret_ns.push_back(k * in.tick_ns + in.tick_slack_ns);
    m.request_ns.push_back(-1);
    h.ops.push_back(std::move(o));
    ++m.ticks;
    pending = 0;
  }
  widen_ticks_for_late_acknowledgements(m, in.tick_ns, in.tick_slack_ns);
  return m;
}

void store_merged(Merged&& m, StressRecording& out) {
  out.history = std::move(m.history);
  out.call_ns = std::move(m.call_ns);
  out.ret_ns = std::move(m.ret_ns);
  out.request_ns = std::move(m.request_ns);
  out.stats.ticks = m.ticks;
}

}  // namespace lockstep::checker::stress
