// Histories for the linearizability judge, made from real model runs: a sequential run of random
// ops (the op chooser, `hosts` host threads, kthread bodies, the clock, the reaper) is re-cut into
// overlapping intervals, each containing its step's instant (and, for a call that blocked, the
// instant of the step that woke it). The run's order is then a linearisation by construction, so
// the judge must accept every such history; corrupting one answer gives histories to reject.
// Shared by tests/checker (unit and property tests) and tests/bench/checker/lin_bench.
#pragma once
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "checker/lin_history.hpp"
#include "checker/op_chooser.hpp"
#include "checker/random_source.hpp"
#include "checker/trace.hpp"
#include "model/model.hpp"
#include "model/op_traits.hpp"

namespace lockstep::checker::lin::testing {

struct GenConfig {
  std::uint64_t seed = 1;
  std::size_t steps = 200;
  int hosts = 8;
  int maxproc = 12;
  model::Pid pid_max = 12;
  std::uint32_t misuse_percent = 0;  // > 0: FATAL steps (the first ends the run and the history)
  std::size_t stretch = 6;           // an interval reaches at most this many steps beyond its instants
  std::size_t observe_every = 0;     // > 0: a §7 observation at a quiescent point every N steps
  std::optional<std::size_t> cut;    // end the history at this step's instant: later answers are missing
  bool known_blocking = false;       // record whether each call blocked (Operation::blocked)
  bool record_lids = true;           // record the lid of each created lwp (Operation::created_lids)
};

struct Generated {
  History history;
  std::vector<std::size_t> run_order;  // the op index of each step of the run: a valid linearisation
};

inline Generated generate(const GenConfig& g) {
  using namespace lockstep::model;
  SplitMix src(g.seed);
  ChooserConfig cc;
  cc.hosts = g.hosts;
  cc.misuse_percent = g.misuse_percent;
  Model m(Config{g.maxproc, true, g.pid_max});
  Generated out;
  History& h = out.history;
  h.before = m.state();
  h.hosts = g.hosts;

  // 1. The run: its events, and for each blocked call the step that woke it.
  std::vector<TraceEvent> ev;
  std::vector<Observation> obs_before;  // obs_before[i]: the state before step i (when observing)
  std::vector<std::vector<int>> lids;   // lids[i]: of the lwps step i created
  for (std::size_t i = 0; i < g.steps; ++i) {
    if (g.observe_every && i % g.observe_every == 0 && i > 0) obs_before.push_back(observe(m.state(), g.hosts));
    else obs_before.emplace_back();
    const ChosenStep s = choose_step(m.state(), cc, src);
    ev.push_back(model_step(m, s.op, s.choice, 0));
    lids.emplace_back();
    for (const Binding& b : ev.back().bound)
      if (b.kind == Binding::Kind::Lwp) lids.back().push_back(m.state().lwps[b.id].lid);
    if (ev.back().outcome.kind == OutcomeKind::Fatal) break;
  }
  const std::size_t n = ev.size();
  std::vector<std::size_t> woken_at(n, n);  // n: never woken in the run
  std::vector<TraceOutcome> final_outcome(n);
  std::map<std::pair<Actor::Kind, std::uint32_t>, std::size_t> waiting;
  for (std::size_t i = 0; i < n; ++i) {
    for (const TraceCompletion& c : ev[i].woke) {
      auto it = waiting.find({c.actor.kind, c.actor.index});
      if (it == waiting.end()) continue;
      woken_at[it->second] = i;
      final_outcome[it->second] = c.outcome;
      waiting.erase(it);
    }
    final_outcome[i] = ev[i].outcome;
    if (ev[i].outcome.kind == OutcomeKind::Blocked) waiting[{ev[i].op.actor.kind, ev[i].op.actor.index}] = i;
    else woken_at[i] = i;
  }

  // 2. Instants: step i at 4i+2. A quiescent observation before step b sits at 4b.
  auto instant = [](std::size_t i) { return 4 * static_cast<std::uint64_t>(i) + 2; };
  const std::uint64_t end = instant(g.cut ? std::min(*g.cut, n) : n);
  // Limits: an actor's next call, the first use of what the call created, the observations.
  std::vector<std::uint64_t> call_min(n, 0), ret_max(n, ~std::uint64_t{0});
  std::map<std::pair<Actor::Kind, std::uint32_t>, std::size_t> last_of;
  std::map<std::pair<Binding::Kind, std::uint32_t>, std::size_t> creator;
  std::vector<std::vector<std::size_t>> creators_named(n);  // the earlier calls whose handles step i names
  for (std::size_t i = 0; i < n; ++i) {
    const std::pair actor{ev[i].op.actor.kind, ev[i].op.actor.index};
    if (auto it = last_of.find(actor); it != last_of.end()) ret_max[it->second] = std::min(ret_max[it->second], instant(i) - 2);
    last_of[actor] = i;
    // A handle is known to other threads only once the call that created it has returned.
    for_each_arg(ev[i].op.body, [&](const ArgTraits& a, const auto& v) {
      using V = std::decay_t<decltype(v)>;
      if constexpr (std::is_integral_v<V>) {
        std::optional<std::pair<Binding::Kind, std::uint32_t>> sym;
        if (a.kind == ArgKind::LwpSym && static_cast<LwpId>(v) != kNoLwp) sym = std::pair{Binding::Kind::Lwp, static_cast<std::uint32_t>(v)};
        if (a.kind == ArgKind::ProcSym) sym = std::pair{Binding::Kind::Proc, static_cast<std::uint32_t>(v)};
        if (!sym) return;
        if (auto c = creator.find(*sym); c != creator.end() && c->second != i) {
          ret_max[c->second] = std::min(ret_max[c->second], instant(i) - 2);
          creators_named[i].push_back(c->second);
        }
      }
    });
    for (const Binding& b : ev[i].bound) creator[{b.kind, b.id}] = i;
  }
  for (std::size_t b = 1; b < n && g.observe_every; ++b) {
    if (b % g.observe_every != 0) continue;
    const std::uint64_t at = 4 * static_cast<std::uint64_t>(b);
    for (std::size_t i = 0; i < n; ++i) {
      if (i >= b) call_min[i] = std::max(call_min[i], at + 1);
      else if (woken_at[i] < b) ret_max[i] = std::min(ret_max[i], at - 1);
    }
  }

  // 3. Intervals, drawn within the limits.
  const std::uint64_t reach = 4 * static_cast<std::uint64_t>(g.stretch) + 1;
  auto draw = [&](std::uint64_t span) { return span == 0 ? 0 : src.next() % (span + 1); };
  std::vector<std::optional<std::size_t>> index_of(n);
  std::vector<std::uint64_t> ret_of(n, 0);
  std::map<std::pair<Actor::Kind, std::uint32_t>, std::uint64_t> prev_ret;
  for (std::size_t i = 0; i < n; ++i) {
    const std::pair actor{ev[i].op.actor.kind, ev[i].op.actor.index};
    const std::uint64_t t = instant(i), done = instant(std::min(woken_at[i], n - 1));
    std::uint64_t lo = std::max<std::uint64_t>({call_min[i], prev_ret.count(actor) ? prev_ret[actor] + 1 : 0});
    for (std::size_t c : creators_named[i]) lo = std::max(lo, ret_of[c] + 1);
    const std::uint64_t call = t - draw(std::min<std::uint64_t>(reach, t - std::min(t, lo)));
    const std::uint64_t hi = std::min(ret_max[i], done + reach);
    const std::uint64_t ret = done + draw(hi > done ? hi - done : 0);
    prev_ret[actor] = ret;
    ret_of[i] = ret;
    if (call > end) continue;  // after the cut: never invoked
    Operation o;
    o.op = ev[i].op;
    o.call = call;
    o.created = ev[i].bound;
    if (g.record_lids) o.created_lids = lids[i];
    const bool blocked = ev[i].outcome.kind == OutcomeKind::Blocked;
    if (g.known_blocking) o.blocked = blocked;
    if (woken_at[i] < n && ret <= end) {
      o.ret = ret;
      o.outcome = final_outcome[i];
    } else if (blocked && t <= end) {
      // In flight at the end: known to be blocked when the run had it blocked at the cut.
      o.blocked_at_end = (src.next() & 1) != 0 && (woken_at[i] >= n || instant(woken_at[i]) > end);
    }
    index_of[i] = h.ops.size();
    h.ops.push_back(std::move(o));
  }
  for (std::size_t i = 0; i < n; ++i)
    if (index_of[i] && instant(i) <= end) out.run_order.push_back(*index_of[i]);
  for (std::size_t b = 1; b < n && g.observe_every; ++b)
    if (b % g.observe_every == 0 && 4 * b < end) h.observations.push_back(ObservationPoint{4 * b, obs_before[b]});
  return out;
}

// Corrupts the answer of one responded getpid/getppid/write/fstat (the first at or after `from`) to
// a value no order can produce. Returns the op's index, or nullopt if the history has none.
inline std::optional<std::size_t> corrupt(History& h, std::size_t from = 0) {
  using namespace lockstep::model;
  for (std::size_t k = 0; k < h.ops.size(); ++k) {
    Operation& o = h.ops[(from + k) % h.ops.size()];
    if (!o.ret || o.outcome.kind != OutcomeKind::Returned) continue;
    if (std::holds_alternative<op::Getpid>(o.op.body) || std::holds_alternative<op::Getppid>(o.op.body)) {
      o.outcome.ret = 424242;  // past PID_MAX
    } else if (const auto* w = std::get_if<op::Write>(&o.op.body); w && o.outcome.ret == w->n) {
      o.outcome.ret = w->n + 1;  // write answers n or -1
    } else if (std::holds_alternative<op::Fstat>(o.op.body) && o.outcome.ret == 0) {
      o.outcome.st_size = -7;  // sizes are never negative
    } else {
      continue;
    }
    return (from + k) % h.ops.size();
  }
  return std::nullopt;
}

}  // namespace lockstep::checker::lin::testing
