// The happens-before graph (checker/verify/include/checker/happens_before.hpp): edges from what the
// history proves, a topological check against the file order, reachability by bitsets.
#include "checker/happens_before.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <optional>
#include <stdexcept>
#include <type_traits>

#include <boost/graph/topological_sort.hpp>
#include <fmt/format.h>

#include "model/op_traits.hpp"

namespace lockstep::checker {

using namespace lockstep::model;

std::string_view HappensBefore::why_name(Why w) {
  switch (w) {
    case Why::Program: return "program order";
    case Why::Wake: return "wake-up";
    case Why::Bind: return "created before use";
    case Why::Barrier: return "barrier";
    case Why::Explicit: return "explicit after";
  }
  return "?";
}

void HappensBefore::edge(std::size_t a, std::size_t b, Why why, const VTrace& t) {
  if (a == b) return;
  if (a > b)
    throw std::invalid_argument(fmt::format("event {} must happen before event {} ({}), but the file lists it later: "
                                            "a partial-order history is written in a topological order",
                                            t.events[a].step, t.events[b].step, why_name(why)));
  boost::add_edge(a, b, EdgeInfo{why}, g_);
}

namespace {

std::uint64_t actor_key(const Actor& a) { return (std::uint64_t(a.kind) << 32) | a.index; }

// The handles an op names: its symbol arguments (the op-traits table says which they are) and, for
// a kthread's own step, itself.
void named(const Op& op, std::vector<ProcId>& procs, std::vector<LwpId>& lwps) {
  if (op.actor.kind == Actor::Kind::Kthread) procs.push_back(op.actor.index);
  for_each_arg(op.body, [&](const ArgTraits& arg, const auto& value) {
    // The table ties LwpSym to an LwpId member and ProcSym to a ProcId one (op_traits.hpp checks it).
    if constexpr (std::is_integral_v<std::decay_t<decltype(value)>>) {
      if (arg.kind == ArgKind::LwpSym && static_cast<LwpId>(value) != kNoLwp) lwps.push_back(static_cast<LwpId>(value));
      if (arg.kind == ArgKind::ProcSym) procs.push_back(static_cast<ProcId>(value));
    }
  });
}

}  // namespace

HappensBefore::HappensBefore(const VTrace& t, bool reach) : g_(t.events.size()) {
  const std::size_t n = t.events.size();
  std::map<std::size_t, std::size_t> index_of_step;
  for (std::size_t i = 0; i < n; ++i) index_of_step[t.events[i].step] = i;

  std::map<std::uint64_t, std::size_t> last_of_actor;        // actor -> its latest event
  std::map<std::uint64_t, std::size_t> blocked_since;        // actor -> its call that blocked
  std::map<std::uint64_t, std::size_t> woken_by;             // actor -> the event that ended its wait
  std::map<std::uint32_t, std::size_t> proc_bound, lwp_bound;  // symbol -> the event that created it
  std::map<Pid, std::size_t> pid_created;                    // pid -> the latest creation with it
  std::optional<std::size_t> barrier;                        // the latest barrier event
  std::vector<std::size_t> since_barrier;

  for (std::size_t i = 0; i < n; ++i) {
    const VEvent& e = t.events[i];
    const std::uint64_t me = actor_key(e.op.actor);
    const bool is_barrier = e.outcome.kind == VOutcome::Kind::Fatal || e.outcome.kind == VOutcome::Kind::Dead || e.observed.has_value();
    // An actor whose call blocked makes no further call until an event ends that wait (a step
    // the scheduler refused, not_runnable, never reached the kernel and may be recorded).
    if (auto it = blocked_since.find(me); it != blocked_since.end() && e.outcome.kind != VOutcome::Kind::NotRunnable &&
                                          e.outcome.kind != VOutcome::Kind::Dead)
      throw std::invalid_argument(fmt::format("event {}: {} calls again while its call at event {} is blocked, and no event before "
                                              "this one ended that wait",
                                              e.step, model::to_string(e.op.actor), t.events[it->second].step));
    // program order
    if (auto it = last_of_actor.find(me); it != last_of_actor.end()) edge(it->second, i, Why::Program, t);
    last_of_actor[me] = i;
    // wake: the blocked actor's next call follows the event that ended its wait
    if (auto it = woken_by.find(me); it != woken_by.end()) {
      edge(it->second, i, Why::Wake, t);
      woken_by.erase(it);
    }
    // bind: handles this op names were created before it
    std::vector<ProcId> procs;
    std::vector<LwpId> lwps;
    named(e.op, procs, lwps);
    if (e.outcome.lwp) lwps.push_back(*e.outcome.lwp);
    for (ProcId p : procs)
      if (auto it = proc_bound.find(p); it != proc_bound.end()) edge(it->second, i, Why::Bind, t);
    for (LwpId l : lwps)
      if (auto it = lwp_bound.find(l); it != lwp_bound.end()) edge(it->second, i, Why::Bind, t);
    if (const auto* nl = std::get_if<op::Newlwp>(&e.op.body); nl && e.outcome.kind == VOutcome::Kind::Returned && e.outcome.ret == 0)
      if (auto it = pid_created.find(nl->pid); it != pid_created.end()) edge(it->second, i, Why::Bind, t);
    for (const Binding& b : e.bound) {
      if (b.kind == Binding::Kind::Proc) {
        proc_bound[b.id] = i;
        pid_created[b.pid] = i;
      } else {
        lwp_bound[b.id] = i;
      }
    }
    // wake: a call that blocked began before the event that ends it
    for (const VCompletion& c : e.woke) {
      const std::uint64_t w = actor_key(c.actor);
      if (auto it = blocked_since.find(w); it != blocked_since.end()) {
        edge(it->second, i, Why::Wake, t);
        blocked_since.erase(it);
      }
      woken_by[w] = i;
    }
    if (e.outcome.kind == VOutcome::Kind::Blocked) blocked_since[me] = i;
    // explicit
    for (std::size_t s : e.after) {
      auto it = index_of_step.find(s);
      if (it == index_of_step.end()) throw std::invalid_argument(fmt::format("event {} is after event {}, which the history does not have", e.step, s));
      edge(it->second, i, Why::Explicit, t);
    }
    // barrier: everything before it precedes it, it precedes everything after it
    if (barrier) edge(*barrier, i, Why::Barrier, t);
    if (is_barrier) {
      for (std::size_t j : since_barrier) edge(j, i, Why::Barrier, t);
      since_barrier.clear();
      barrier = i;
    } else {
      since_barrier.push_back(i);
    }
  }

  if (reach) compute_reach();
}

HappensBefore::HappensBefore(const HappensBefore& whole, std::size_t begin, std::size_t end) : g_(end - begin) {
  for (std::size_t v = begin; v < end; ++v)
    for (auto [it, last] = boost::out_edges(v, whole.g_); it != last; ++it)
      if (const std::size_t w = boost::target(*it, whole.g_); w < end) boost::add_edge(v - begin, w - begin, whole.g_[*it], g_);
  compute_reach();
}

std::vector<std::size_t> HappensBefore::cuts(std::size_t max_frontier) const {
  const std::size_t n = size();
  std::vector<std::vector<std::size_t>> preds(n);
  for (auto [it, end] = boost::edges(g_); it != end; ++it) preds[boost::target(*it, g_)].push_back(boost::source(*it, g_));
  for (auto& p : preds) std::sort(p.begin(), p.end());
  // Forward: the maximal events of [0, c). A cut needs every one of them to precede c directly.
  std::vector<std::vector<std::size_t>> maximal(n);  // kept only where c passes that test
  std::vector<char> candidate(n, 0);
  std::set<std::size_t> top;
  for (std::size_t c = 1; c < n; ++c) {
    for (std::size_t p : preds[c - 1]) top.erase(p);
    top.insert(c - 1);
    if (top.size() > preds[c].size()) continue;
    if (!std::all_of(top.begin(), top.end(), [&](std::size_t x) { return std::binary_search(preds[c].begin(), preds[c].end(), x); })) continue;
    candidate[c] = 1;
    maximal[c].assign(top.begin(), top.end());
  }
  // Backward: the minimal events of [c, n); each needs an edge from every maximal event of [0, c).
  std::vector<std::size_t> out;
  std::set<std::size_t> bottom;
  for (std::size_t c = n; c-- > 1;) {
    for (auto [it, end] = boost::out_edges(c, g_); it != end; ++it) bottom.erase(boost::target(*it, g_));
    bottom.insert(c);
    if (!candidate[c] || bottom.size() * maximal[c].size() > max_frontier) continue;
    bool cut = true;
    for (auto y = bottom.begin(); cut && y != bottom.end(); ++y)
      for (std::size_t x : maximal[c])
        if (!std::binary_search(preds[*y].begin(), preds[*y].end(), x)) {
          cut = false;
          break;
        }
    if (cut) out.push_back(c);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

void HappensBefore::compute_reach() {
  const std::size_t n = size();
  // Every edge points forward, so the file order is topological; Boost's sort double-checks that
  // the graph is a DAG (it throws not_a_dag otherwise). Reachability in reverse topological order.
  std::vector<std::size_t> reverse_topo;
  boost::topological_sort(g_, std::back_inserter(reverse_topo));
  reach_.assign(n, boost::dynamic_bitset<>(n));
  for (std::size_t v : reverse_topo)
    for (auto [it, end] = boost::out_edges(v, g_); it != end; ++it) {
      const std::size_t w = boost::target(*it, g_);
      reach_[v].set(w);
      reach_[v] |= reach_[w];
    }
}

std::size_t HappensBefore::concurrent_pairs() const {
  // All n(n-1)/2 pairs less the ordered ones: the graph is a DAG, so each ordered pair is counted
  // once, in the bitset of its earlier event.
  std::size_t ordered = 0;
  for (const auto& r : reach_) ordered += r.count();
  const std::size_t n = reach_.size();
  return n * (n - (n ? 1 : 0)) / 2 - ordered;
}

std::vector<std::size_t> HappensBefore::edges_by_why() const {
  std::vector<std::size_t> out(static_cast<std::size_t>(Why::Explicit) + 1, 0);
  for (auto [it, end] = boost::edges(g_); it != end; ++it) ++out[static_cast<std::size_t>(g_[*it].why)];
  return out;
}

bool HappensBefore::is_linearisation(const std::vector<std::size_t>& order) const {
  if (order.size() != size()) return false;
  std::vector<std::size_t> pos(order.size(), order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (order[i] >= order.size() || pos[order[i]] != order.size()) return false;
    pos[order[i]] = i;
  }
  for (auto [it, end] = boost::edges(g_); it != end; ++it)
    if (pos[boost::source(*it, g_)] > pos[boost::target(*it, g_)]) return false;
  return true;
}

}  // namespace lockstep::checker
