#include "checker/stress_trace.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "model/op_traits.hpp"

namespace lockstep::checker::stress {

using namespace lockstep::model;

namespace {

// History symbols -> the model's ids, learnt from the created bindings of each placed step.
struct SymbolMap {
  std::map<std::uint32_t, std::uint32_t> lwp, proc;
  void learn(const lin::Operation& o, const TraceEvent& e) {
    std::vector<std::uint32_t> bl, bp;
    for (const Binding& b : e.bound) (b.kind == Binding::Kind::Lwp ? bl : bp).push_back(b.id);
    std::size_t il = 0, ip = 0;
    for (const Binding& b : o.created) {
      if (b.kind == Binding::Kind::Lwp && il < bl.size()) lwp[b.id] = bl[il++];
      if (b.kind == Binding::Kind::Proc && ip < bp.size()) proc[b.id] = bp[ip++];
    }
  }
  // Symbols of `before` keep their ids; a symbol no placed step created names nothing the kernel issued.
  std::uint32_t map(const std::map<std::uint32_t, std::uint32_t>& m, std::uint32_t s, std::size_t before) const {
    if (s < before) return s;
    auto it = m.find(s);
    return it == m.end() ? 0xfffffff0u : it->second;
  }
  Op translate(Op op, const State& before) const {
    for_each_arg_mut(op.body, [&](const ArgTraits& a, auto& v) {
      using V = std::decay_t<decltype(v)>;
      if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) {
        if (a.kind == ArgKind::LwpSym && static_cast<std::int64_t>(v) != static_cast<std::int64_t>(kNoLwp)) v = static_cast<V>(map(lwp, static_cast<std::uint32_t>(v), before.lwps.size()));
        if (a.kind == ArgKind::ProcSym && static_cast<std::int64_t>(v) != static_cast<std::int64_t>(kNoProc)) v = static_cast<V>(map(proc, static_cast<std::uint32_t>(v), before.procs.size()));
      }
    });
    if (op.actor.kind == Actor::Kind::Kthread) op.actor.index = map(proc, op.actor.index, before.procs.size());
    return op;
  }
};

// Real-time edges: for each event, the latest operation of every other actor that responded before
// the event's operation was invoked, when that is newer than what the actor's previous event already
// had (program order and transitivity carry the rest). Only actors with an event among the last
// kWindow events in file order are looked at, and only their last 64 events: a run names hundreds
// of kthread actors over its life, and looking at every one for every event made a 10^6-call trace
// take longer than its run (older edges are implied by newer ones or not worth having).
void add_real_time_edges(const lin::History& h, const std::vector<std::int64_t>& request_at, const std::vector<std::size_t>& op_of_event,
                         std::vector<TraceEvent>& events) {
  constexpr std::size_t kWindow = 1024;
  // When an event's operation had ended as the trace sees it: its response; for a call that waited,
  // already its request (the event is the request; its follow-up is another event's wake-up).
  auto ended = [&](std::size_t op) -> std::optional<std::uint64_t> {
    if (op < request_at.size() && request_at[op] >= 0) return static_cast<std::uint64_t>(request_at[op]);
    return h.ops[op].ret;
  };
  const std::size_t n = events.size();
  using ActorKey = std::pair<int, std::uint32_t>;
  auto key = [&](std::size_t e) { return ActorKey{static_cast<int>(h.ops[op_of_event[e]].op.actor.kind), h.ops[op_of_event[e]].op.actor.index}; };
  std::map<ActorKey, std::vector<std::size_t>> by_actor;  // events by actor, in file order
  for (std::size_t e = 0; e < n; ++e) by_actor[key(e)].push_back(e);
  // Per target actor: the newest event of each other actor it already has an edge from.
  std::map<ActorKey, std::map<ActorKey, std::size_t>> seen;
  std::map<ActorKey, std::size_t> in_window;  // actors with events among the last kWindow, and how many
  for (std::size_t e = 0; e < n; ++e) {
    if (e >= kWindow)
      if (auto it = in_window.find(key(e - kWindow)); --it->second == 0) in_window.erase(it);
    const lin::Operation& me = h.ops[op_of_event[e]];
    const ActorKey self = key(e);
    auto& mine = seen[self];
    for (const auto& [actor, count] : in_window) {
      if (actor == self) continue;
      const std::vector<std::size_t>& evs = by_actor[actor];
      // The last of this actor's events whose operation responded before mine was invoked.
      std::optional<std::size_t> best;
      for (auto it = std::upper_bound(evs.begin(), evs.end(), e); it != evs.begin();) {
        --it;
        const std::optional<std::uint64_t> end = ended(op_of_event[*it]);
        if (end && *end < me.call) {
          best = *it;
          break;
        }
        if (evs.end() - it > 64) break;
      }
      if (!best) continue;
      auto prev = mine.find(actor);
      if (prev != mine.end() && prev->second >= *best) continue;
      mine[actor] = *best;
      events[e].after.push_back(events[*best].step);
    }
    std::sort(events[e].after.begin(), events[e].after.end());
    ++in_window[self];
  }
}

}  // namespace

std::vector<std::int64_t> request_positions(const StressRecording& rec, const std::vector<std::size_t>& ops) {
  std::vector<std::int64_t> out;
  // Only for the calls the SPEC lets block, whose first wait is the one their request makes.
  auto pos = [&](std::size_t i) {
    const bool blocking = i < rec.history.ops.size() && traits(rec.history.ops[i].op.body).can_block;
    return blocking && i < rec.request_ns.size() && rec.request_ns[i] >= 0 ? 2 * rec.request_ns[i] : std::int64_t{-1};
  };
  if (ops.empty())
    for (std::size_t i = 0; i < rec.history.ops.size(); ++i) out.push_back(pos(i));
  else
    for (std::size_t i : ops) out.push_back(pos(i));
  return out;
}

StressTrace stress_trace(const lin::History& h, const lin::Judgement& j, const StressRecording& rec, std::uint64_t seed,
                         const std::vector<std::string>& faults, const std::vector<std::int64_t>& request_at) {
  StressTrace t;
  TraceHeader& hd = t.header;
  hd.tool = "lockstep stress";
  hd.seed = seed;
  hd.config = TraceConfig{rec.hosts, 0, rec.maxproc, rec.pid_max};
  hd.faults = faults;
  // The file order is the judge's linearization, a real execution the model accepts event by event,
  // so the trace is a total order. The real-time edges say what else the recorder knew; they are
  // not a partial order to check on its own: real time alone does not order what the answers depend
  // on (a suspend that returned 0 because its target was already parked), so some of its orders are
  // not executions at all.
  hd.partial_order = false;
  Model m = Model::from_state(h.before);
  SymbolMap sym;
  std::vector<std::size_t> op_of_event;
  // A digest of the §7 state on every event, as lockstep's traces have, up to 10^5 events; past that
  // on every 256th (and the last): a digest hashes the whole console, which a long run keeps
  // growing, and digesting every event made writing a 10^6-event trace take minutes.
  const std::size_t calls = static_cast<std::size_t>(std::count_if(j.order.begin(), j.order.end(), [](const lin::Step& s) { return !s.observation; }));
  const std::size_t digest_every = calls <= 100'000 ? 1 : 256;
  std::size_t placed = 0;
  for (const lin::Step& s : j.order) {
    if (s.observation) continue;
    const bool digest = ++placed % digest_every == 0 || placed == calls;
    TraceEvent e = model_step(m, s.applied, s.choice, digest ? rec.hosts : 0);
    e.step = t.events.size();
    sym.learn(h.ops[s.index], e);
    op_of_event.push_back(s.index);
    t.events.push_back(std::move(e));
  }
  if (j.verdict == lin::Verdict::Agree) {
    hd.expect.verdict = Verdict::Agree;
  } else {
    hd.expect.verdict = Verdict::Diverge;
    hd.expect.rule = j.rule;
    hd.expect.what = j.what;
    hd.expect.expected = j.expected;
    hd.expect.observed = j.observed;
    if (j.culprit && !j.culprit_is_observation) {
      const lin::Operation& o = h.ops[*j.culprit];
      TraceEvent e = model_step(m, sym.translate(o.op, h.before), {}, 0);
      e.step = t.events.size();
      e.digest.reset();
      TraceOutcome observed = o.outcome;
      if (observed.lwp != kNoLwp) observed.lwp = sym.map(sym.lwp, observed.lwp, h.before.lwps.size());
      e.observed = observed;
      op_of_event.push_back(*j.culprit);
      t.events.push_back(std::move(e));
    } else if (j.culprit && !t.events.empty()) {
      t.events.back().observed_state = h.observations.at(*j.culprit).state;
    }
    hd.expect.step = t.events.empty() ? 0 : t.events.size() - 1;
  }
  add_real_time_edges(h, request_at, op_of_event, t.events);
  std::set<std::string> rules;
  for (const TraceEvent& e : t.events)
    if (e.outcome.rule) rules.insert(std::string(rule_name(*e.outcome.rule)));
  hd.rules.assign(rules.begin(), rules.end());
  return t;
}

}  // namespace lockstep::checker::stress
