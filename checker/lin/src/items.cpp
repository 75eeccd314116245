#include "items.hpp"

#include <algorithm>
#include <numeric>

#include "model/op_traits.hpp"

namespace lockstep::checker::lin::detail {

// Whether everything in flight at an observation is an untimed wait (a suspend or wait_exit without timeout, a
// parked suspend_check): then every order that explains the history up to `at` has placed the same
// calls, and the states it reaches differ at most in what a §7 observation does not show and no later
// step reads (the reference pid cursor, which no bound pid reads; serial ids, up to renaming). A timed
// wait in flight would differ in its deadline (its request on either side of a tick), which a later
// tick does read; so would the order of two timed waits' ties.
// The answer per observation, in the order of `sorted_at` (their positions, sorted), in one pass over the operations: each one that is not an untimed wait marks the observations its
// interval contains (a difference array over the sorted positions), so the cost is O(n log m) for n
// operations and m observations rather than one scan of the history per observation.
std::vector<bool> quiescent_for_commit(const History& h, const std::vector<std::size_t>& sorted_at) {
  std::vector<int> starts(sorted_at.size() + 1, 0);
  for (const Operation& o : h.ops) {
    if (o.carried) continue;
    const auto& b = o.op.body;
    const bool untimed = std::holds_alternative<model::op::SuspendCheck>(b) ||
                         (std::holds_alternative<model::op::Suspend>(b) && std::get<model::op::Suspend>(b).timo == 0) ||
                         (std::holds_alternative<model::op::WaitExit>(b) && std::get<model::op::WaitExit>(b).timo == 0);
    if (untimed) continue;
    // The observations at positions in [call, ret] (ret unset: to the end).
    const auto first = std::lower_bound(sorted_at.begin(), sorted_at.end(), o.call) - sorted_at.begin();
    const auto last = o.ret ? std::upper_bound(sorted_at.begin(), sorted_at.end(), *o.ret) - sorted_at.begin()
                            : static_cast<std::ptrdiff_t>(sorted_at.size());
    if (first < last) ++starts[static_cast<std::size_t>(first)], --starts[static_cast<std::size_t>(last)];
  }
  std::vector<bool> out(sorted_at.size());
  int open = 0;
  for (std::size_t k = 0; k < sorted_at.size(); ++k) out[k] = (open += starts[k]) == 0;
  return out;
}

using namespace lockstep::model;

namespace {

// Ties at one position: invocations, then an observation (its call and its response), then
// responses. So an operation whose call or response shares an observation's position overlaps it,
// the reading that allows more orders (and so never invents a violation).
constexpr std::uint8_t kRankCall = 0, kRankObsCall = 1, kRankObsRet = 2, kRankRet = 3;

void add_pids(std::vector<Pid>& out, const Observation& o) {
  for (const ObsProc& p : o.procs) out.push_back(p.pid), out.push_back(p.ppid);
  for (const ObsHost& x : o.hosts) {
    out.push_back(x.pid);
    if (x.curlwp) out.push_back(x.curlwp->first);
  }
  for (const ObsWait& w : o.blocked) out.push_back(w.target);
}

}  // namespace

Prepared::Prepared(const History& h) : symbols(h.before.lwps.size(), h.before.procs.size()) {
  const std::size_t n = h.ops.size();
  // Created symbols first, so that every symbol's first sight says whether an operation creates it.
  for (const Operation& o : h.ops)
    for (const Binding& b : o.created) symbols.intern(b.kind, b.id, true);

  items.resize(n);
  std::vector<EventList::Spec> specs;
  std::uint64_t end = 0;
  for (const Operation& o : h.ops) end = std::max<std::uint64_t>({end, o.call, o.ret.value_or(0)});
  for (const ObservationPoint& p : h.observations) end = std::max<std::uint64_t>(end, p.at);
  ++end;  // where a call known to be blocked at the end must have been requested by

  for (std::size_t i = 0; i < n; ++i) {
    const Operation& o = h.ops[i];
    Item& it = items[i];
    it.index = i;
    it.carried = o.carried;
    it.responded = o.ret.has_value();
    it.blocked_at_end = !o.ret && o.blocked_at_end;
    it.blocked = o.blocked;
    it.call_pos = o.carried ? 0 : o.call;
    it.ret_pos = o.ret ? *o.ret : it.blocked_at_end ? end : kNever;
    if (o.hint && !o.carried && *o.hint >= it.call_pos && (it.ret_pos == kNever || *o.hint <= it.ret_pos)) it.hint_pos = *o.hint;
    for_each_arg(o.op.body, [&](const ArgTraits& a, const auto& v) {
      using V = std::decay_t<decltype(v)>;
      std::int32_t s = -1;
      if constexpr (std::is_integral_v<V>) {
        if (a.kind == ArgKind::LwpSym && static_cast<LwpId>(v) != kNoLwp) s = symbols.intern(Binding::Kind::Lwp, static_cast<std::uint32_t>(v));
        if (a.kind == ArgKind::ProcSym && static_cast<ProcId>(v) != kNoProc) s = symbols.intern(Binding::Kind::Proc, static_cast<std::uint32_t>(v));
      }
      it.arg_syms.push_back(s);
    });
    if (o.op.actor.kind == Actor::Kind::Kthread) it.actor_sym = symbols.intern(Binding::Kind::Proc, o.op.actor.index);
    if (it.responded && o.outcome.kind == OutcomeKind::Returned && traits(o.op.body).returns == Returns::Lwp &&
        o.outcome.lwp != kNoLwp && !o.outcome.lwp_unnamed)
      it.result_lwp_sym = symbols.intern(Binding::Kind::Lwp, o.outcome.lwp);
    for (const Binding& b : o.created) {
      const std::int32_t s = symbols.intern(b.kind, b.id, true);
      if (b.kind == Binding::Kind::Proc) it.created_procs.push_back(s), it.created_proc_pids.push_back(b.pid);
      else it.created_lwps.push_back(s), it.created_lwp_pids.push_back(b.pid);
    }
    it.created_lwp_lids = o.created_lids;
    it.may_block = o.blocked.value_or(traits(o.op.body).can_block);
    const Creates c = traits(o.op.body).creates;
    it.pid_open = (c == Creates::ProcessAndLwp || c == Creates::Kthread) && it.created_procs.empty();

    if (!o.carried) specs.push_back({o.call, kRankCall, static_cast<std::uint32_t>(i), false});
    if (it.ret_pos != kNever) specs.push_back({it.ret_pos, kRankRet, static_cast<std::uint32_t>(i), true});

    if (const auto* nl = std::get_if<op::Newlwp>(&o.op.body)) named_pids.push_back(nl->pid);
    for (const Binding& b : o.created) named_pids.push_back(b.pid);
    if (it.responded && o.outcome.kind == OutcomeKind::Returned &&
        (std::holds_alternative<op::Getpid>(o.op.body) || std::holds_alternative<op::Getppid>(o.op.body)))
      named_pids.push_back(static_cast<Pid>(o.outcome.ret));
  }

  // The pids only tell apart the pids an unbound process-creating call may take (Search::expand):
  // without such a call nothing reads them, and gathering them costs a pass over the table.
  const bool pids_read = std::any_of(items.begin(), items.end(), [](const Item& it) { return it.pid_open; });
  if (!pids_read) named_pids.clear();

  std::vector<std::size_t> by_at(h.observations.size());
  std::iota(by_at.begin(), by_at.end(), 0u);
  std::stable_sort(by_at.begin(), by_at.end(), [&](std::size_t a, std::size_t b) { return h.observations[a].at < h.observations[b].at; });
  std::vector<std::size_t> sorted_at(by_at.size());
  for (std::size_t k = 0; k < by_at.size(); ++k) sorted_at[k] = h.observations[by_at[k]].at;
  const std::vector<bool> quiescent = quiescent_for_commit(h, sorted_at);
  for (std::size_t k = 0; k < by_at.size(); ++k) {
    const ObservationPoint& p = h.observations[by_at[k]];
    const auto id = static_cast<std::uint32_t>(items.size());
    Item it;
    it.observation = true;
    it.index = by_at[k];
    it.call_pos = p.at;
    it.ret_pos = p.at;
    it.responded = true;
    it.commit_point = quiescent[k];
    items.push_back(std::move(it));
    observation_items.push_back(id);
    specs.push_back({p.at, kRankObsCall, id, false});
    specs.push_back({p.at, kRankObsRet, id, true});
    if (pids_read) add_pids(named_pids, p.state);
    // The console only grows: the lines before the previous observation are its lines.
    const std::vector<std::string>& prev = k == 0 ? h.before.console : h.observations[by_at[k - 1]].state.console;
    console_grows.push_back(prev.size() <= p.state.console.size() && std::equal(prev.begin(), prev.end(), p.state.console.begin()));
  }

  const std::vector<std::uint32_t> ids = events.build(specs);
  for (std::size_t k = 0; k < specs.size(); ++k) {
    Item& it = items[specs[k].item];
    (specs[k].is_return ? it.ret_ev : it.call_ev) = ids[k];
  }
  if (!pids_read) return;
  for (const auto& [pid, id] : h.before.table) named_pids.push_back(pid);
  std::sort(named_pids.begin(), named_pids.end());
  named_pids.erase(std::unique(named_pids.begin(), named_pids.end()), named_pids.end());
}

}  // namespace lockstep::checker::lin::detail
