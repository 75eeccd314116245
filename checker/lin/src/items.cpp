#include "items.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <cerrno>

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

// Whether an observation shows two lwps of one process that only a later step can tell apart: made
// by newlwp without a recorded lid (Operation::created_lids; a plug-in SUT's history has none), both
// neither released nor seen as a host's curlwp at an observation. The states of two orders that
// made them in turn then differ only in which symbol names which lwp, which no §7 observation shows
// but a later switch to one of them reads, so committing there could keep the wrong one (the claim
// "equal up to renaming" covers the model's ids, not the history's symbols). Such an observation is
// no commit point. A host's curlwp at an observation pins its symbol to the lid shown; only a
// quiescent observation pins (nothing in flight there changes a curlwp), and the host ops are
// applied in the order of their responses, which is their order per host.
static std::vector<bool> lwp_symbols_ambiguous(const History& h, const std::vector<std::size_t>& sorted_at, const std::vector<bool>& quiescent) {
  std::vector<std::pair<std::uint64_t, std::size_t>> changes;  // (response, op) of host calls that move a curlwp
  std::size_t hosts = static_cast<std::size_t>(std::max(h.hosts, 0));
  for (std::size_t i = 0; i < h.ops.size(); ++i) {
    const Operation& o = h.ops[i];
    if (o.op.actor.kind != Actor::Kind::Host || !o.ret || o.outcome.kind != OutcomeKind::Returned) continue;
    const auto& b = o.op.body;
    if (std::holds_alternative<op::Newlwp>(b) || std::holds_alternative<op::Rfork>(b) || std::holds_alternative<op::Switch>(b) ||
        std::holds_alternative<op::Release>(b)) {
      changes.emplace_back(*o.ret, i);
      hosts = std::max<std::size_t>(hosts, o.op.actor.index + 1);
    }
  }
  std::sort(changes.begin(), changes.end());
  std::vector<std::optional<std::uint32_t>> cur(hosts);  // each host's curlwp, as a symbol
  std::map<std::uint32_t, Pid> unpinned;                 // lwp symbol -> its process's pid
  std::map<Pid, int> per_process;                        // unpinned lwps per process
  int crowded = 0;                                       // processes with two or more
  auto pin = [&](std::uint32_t sym) {
    const auto it = unpinned.find(sym);
    if (it == unpinned.end()) return;
    if (per_process[it->second]-- == 2) --crowded;
    unpinned.erase(it);
  };
  std::vector<bool> out(sorted_at.size(), false);
  std::size_t c = 0;
  for (std::size_t k = 0; k < sorted_at.size(); ++k) {
    for (; c < changes.size() && changes[c].first < sorted_at[k]; ++c) {
      const Operation& o = h.ops[changes[c].second];
      std::optional<std::uint32_t>& mine = cur[o.op.actor.index];
      if (const auto* s = std::get_if<op::Switch>(&o.op.body)) {
        mine = s->lwp == kNoLwp ? std::nullopt : std::optional<std::uint32_t>(s->lwp);
      } else if (std::holds_alternative<op::Release>(o.op.body)) {
        if (mine) pin(*mine);  // a released lwp is never named again
        mine.reset();
      } else if (o.outcome.ret == 0) {  // newlwp, rfork: the new lwp is the caller's curlwp
        for (const Binding& b : o.created) {
          if (b.kind != Binding::Kind::Lwp) continue;
          mine = b.id;
          if (std::holds_alternative<op::Newlwp>(o.op.body) && o.created_lids.empty() && unpinned.emplace(b.id, b.pid).second &&
              ++per_process[b.pid] == 2)
            ++crowded;
        }
      }
    }
    if (quiescent[k])
      for (const auto& x : cur)
        if (x) pin(*x);
    out[k] = crowded > 0;
  }
  return out;
}

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
    // Open: the history does not bind the new process's pid (no process recorded, or one whose pid
    // the kernel did not say), so the search tries the pids that make a difference (Search::expand).
    it.pid_open = (c == Creates::ProcessAndLwp || c == Creates::Kthread) &&
                  (it.created_procs.empty() || it.created_proc_pids.front() == kPidUnsaid);
    it.kthread_pid_open = it.pid_open && c == Creates::Kthread;

    if (!o.carried) specs.push_back({o.call, kRankCall, static_cast<std::uint32_t>(i), false});
    if (it.ret_pos != kNever) specs.push_back({it.ret_pos, kRankRet, static_cast<std::uint32_t>(i), true});

    if (const auto* nl = std::get_if<op::Newlwp>(&o.op.body)) {
      named_pids.push_back(nl->pid);
      if (it.responded && o.outcome.kind == OutcomeKind::Returned && o.outcome.ret == EBUSY) kthread_pids.push_back(nl->pid);
    }
    for (const Binding& b : o.created)
      if (b.pid != kPidUnsaid) named_pids.push_back(b.pid);
    if (it.responded && o.outcome.kind == OutcomeKind::Returned &&
        (std::holds_alternative<op::Getpid>(o.op.body) || std::holds_alternative<op::Getppid>(o.op.body)))
      named_pids.push_back(static_cast<Pid>(o.outcome.ret));
  }

  // The pids only tell apart the pids an unbound process-creating call may take (Search::expand):
  // without such a call nothing reads them, and gathering them costs a pass over the table.
  const bool pids_read = std::any_of(items.begin(), items.end(), [](const Item& it) { return it.pid_open; });
  if (!pids_read) named_pids.clear(), kthread_pids.clear();

  std::vector<std::size_t> by_at(h.observations.size());
  std::iota(by_at.begin(), by_at.end(), 0u);
  std::stable_sort(by_at.begin(), by_at.end(), [&](std::size_t a, std::size_t b) { return h.observations[a].at < h.observations[b].at; });
  std::vector<std::size_t> sorted_at(by_at.size());
  for (std::size_t k = 0; k < by_at.size(); ++k) sorted_at[k] = h.observations[by_at[k]].at;
  const std::vector<bool> quiescent = quiescent_for_commit(h, sorted_at);
  const std::vector<bool> ambiguous = lwp_symbols_ambiguous(h, sorted_at, quiescent);
  for (std::size_t k = 0; k < by_at.size(); ++k) {
    const ObservationPoint& p = h.observations[by_at[k]];
    const auto id = static_cast<std::uint32_t>(items.size());
    Item it;
    it.observation = true;
    it.index = by_at[k];
    it.call_pos = p.at;
    it.ret_pos = p.at;
    it.responded = true;
    it.commit_point = quiescent[k] && !ambiguous[k];
    items.push_back(std::move(it));
    observation_items.push_back(id);
    specs.push_back({p.at, kRankObsCall, id, false});
    specs.push_back({p.at, kRankObsRet, id, true});
    if (pids_read) add_pids(named_pids, p.state), add_pids(kthread_pids, p.state);
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
  std::sort(kthread_pids.begin(), kthread_pids.end());
  kthread_pids.erase(std::unique(kthread_pids.begin(), kthread_pids.end()), kthread_pids.end());
}

}  // namespace lockstep::checker::lin::detail
