// reorder_trace: the events of a trace in another order, renumbered into a well-formed trace.
//
// A symbol is the serial number of the lwp or process an event created, so it depends on the
// order: in the new order the n-th lwp binding binds lwp#n. The renaming is a sweep over the new
// order that gives each binding the next unissued number of its kind and maps every name of a
// symbol to the new number of the binding it refers to. Which binding a name refers to is decided
// in the recorded order: the one event that bound that number before the naming event (or the
// naming event itself, where the reader allows it: its outcome and what the impl observed). A
// name that no earlier event bound in the recorded order is a never-issued handle (SPEC L3-stale
// misuse, args' `never_issued`); it keeps meaning "no handle", beyond every symbol of the trace.
//
// An observed state names lwps by (pid, lid), and a process numbers its lwps in the order they
// were created, which the new order may change: each lid is mapped to the lwp it meant in the
// recorded order (the lid-th created of the process holding that pid at that event), and renamed
// to that lwp's lid in the new order.
#include "checker/trace_reorder.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>

#include "symbol_space.hpp"

namespace lockstep::checker {

using namespace lockstep::model;

namespace {

constexpr std::size_t kLwp = SymbolSpace::index(Binding::Kind::Lwp), kProc = SymbolSpace::index(Binding::Kind::Proc);
constexpr std::array<std::uint32_t, 2> kFirstIssued = {SymbolSpace::first(Binding::Kind::Lwp), SymbolSpace::first(Binding::Kind::Proc)};

constexpr std::size_t kind_index(Binding::Kind k) { return SymbolSpace::index(k); }
constexpr Binding::Kind kind_of(std::size_t k) { return SymbolSpace::kind(k); }

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument("reorder_trace: " + what); }

class Renamer {
 public:
  Renamer(const Trace& t, const std::vector<std::size_t>& order) : t_(t), order_(order) {
    const std::size_t n = t.events.size();
    if (order.size() != n) bad(fmt::format("the order has {} entries, the trace {} events: not a permutation", order.size(), n));
    pos_.assign(n, n);
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = order[k];
      if (i >= n) bad(fmt::format("order[{}] = {} is not an event index (0..{}): not a permutation", k, i, n == 0 ? 0 : n - 1));
      if (pos_[i] != n) bad(fmt::format("order[{}] = {} repeats order[{}]: not a permutation", k, i, pos_[i]));
      pos_[i] = k;
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (t.events[i].step != i) bad(fmt::format("event {} has step {}: the trace is not in file order", i, t.events[i].step));
      for (const Binding& b : t.events[i].bound) {
        const std::size_t k = kind_index(b.kind);
        if (b.id < kFirstIssued[k]) bad(fmt::format("step {} binds {}, which exists from the start", i, symbol(b.kind, b.id)));
        if (!binder_[k].emplace(b.id, i).second)
          bad(fmt::format("{} is bound twice (steps {} and {})", symbol(b.kind, b.id), binder_[k].at(b.id), i));
        ++bound_count_[k];
      }
      note_lwp_owners(t.events[i], i);
    }
    // Never-issued handles, by kind: beyond every symbol the trace binds, in their numeric order, each
    // keeping its number when that already is (so the identity order renames nothing).
    for (std::size_t i = 0; i < n; ++i) {
      auto note = [&](std::size_t k, std::uint32_t id) {
        if (!refers_to_binding(k, id, i, false)) never_[k].emplace(id, 0);
      };
      for_each_symbol_arg(t.events[i].op.body, [&](Binding::Kind kind, std::uint32_t id) { note(kind_index(kind), id); });
    }
    for (std::size_t k = 0; k < 2; ++k) {
      std::uint32_t next = kFirstIssued[k] + static_cast<std::uint32_t>(bound_count_[k]);
      for (auto& [id, renamed] : never_[k]) {
        renamed = std::max(id, next);
        next = renamed + 1;
      }
    }
  }

  Trace run() {
    Trace out{t_.header, {}};
    out.header.partial_order = false;
    out.header.expect = TraceExpect{};
    out.header.program.clear();
    out.events.reserve(order_.size());
    for (std::size_t k = 0; k < order_.size(); ++k) out.events.push_back(event(k));
    return out;
  }

 private:
  // Which process each lwp belongs to, and its lid in the recorded order: a process and its first
  // lwp are bound by one event; a newlwp's lwp belongs to the latest process bound with its pid.
  void note_lwp_owners(const TraceEvent& e, std::size_t i) {
    std::map<Pid, std::uint32_t> here;
    for (const Binding& b : e.bound)
      if (b.kind == Binding::Kind::Proc) {
        here[b.pid] = b.id;
        procs_by_pid_[b.pid].emplace_back(i, b.id);
      }
    for (const Binding& b : e.bound) {
      if (b.kind != Binding::Kind::Lwp) continue;
      const auto h = here.find(b.pid);
      const std::optional<std::uint32_t> owner = h != here.end() ? std::optional(h->second) : proc_holding(b.pid, i);
      if (!owner) continue;  // a history that contradicts itself: its observations keep their lids
      owner_[b.id] = *owner;
      lwps_of_[*owner].push_back(b.id);
    }
  }

  // The process that holds `pid` at event i of the recorded order: the latest bound with it.
  std::optional<std::uint32_t> proc_holding(Pid pid, std::size_t i) const {
    std::optional<std::uint32_t> p;
    if (pid <= 1) p = pid;  // process 0 and init exist from the start
    if (auto it = procs_by_pid_.find(pid); it != procs_by_pid_.end())
      for (const auto& [at, id] : it->second)
        if (at <= i) p = id;
    return p;
  }

  // (pid, lid) as event i observed it, renamed to the lid that lwp has in the new order.
  int lid(Pid pid, int lid, std::size_t i) const {
    const auto p = proc_holding(pid, i);
    if (!p || lid < 1) return lid;
    const auto ls = lwps_of_.find(*p);
    if (ls == lwps_of_.end() || static_cast<std::size_t>(lid) > ls->second.size()) return lid;
    const auto n = new_lid_.find(ls->second[lid - 1]);
    return n == new_lid_.end() ? lid : n->second;
  }

  Observation observation(Observation o, std::size_t i) const {
    for (ObsProc& p : o.procs) {
      for (ObsLwp& l : p.lwps) l.lid = lid(p.pid, l.lid, i);
      std::sort(p.lwps.begin(), p.lwps.end(), [](const ObsLwp& a, const ObsLwp& b) { return a.lid < b.lid; });
    }
    for (ObsHost& h : o.hosts)
      if (h.curlwp) h.curlwp->second = lid(h.curlwp->first, h.curlwp->second, i);
    return o;
  }

  // Whether `id` named at event i means the lwp/process an event of the recorded order bound: an
  // earlier event, or event i itself where `same_event` (its outcome may name what it created).
  bool refers_to_binding(std::size_t k, std::uint32_t id, std::size_t i, bool same_event) const {
    if (id < kFirstIssued[k]) return true;
    const auto b = binder_[k].find(id);
    return b != binder_[k].end() && (b->second < i || (same_event && b->second == i));
  }

  // The new name of `id`, named by event i (at position k of the new order) in `where`.
  std::uint32_t ref(std::size_t kind, std::uint32_t id, std::size_t i, bool same_event, bool may_be_never_issued, std::string_view where) const {
    if (id < kFirstIssued[kind]) return id;
    if (refers_to_binding(kind, id, i, same_event)) {
      const auto r = renamed_[kind].find(id);
      if (r == renamed_[kind].end()) {
        const std::size_t b = binder_[kind].at(id);
        bad(fmt::format("not a linearization: step {} ({} of the new order) names {} in {}, which step {} binds, {} of the new order",
                        i, pos_[i], symbol(kind_of(kind), id), where, b, pos_[b]));
      }
      return r->second;
    }
    if (may_be_never_issued) return never_[kind].at(id);
    bad(fmt::format("step {} names {} in {}, which no earlier event of the trace binds", i, symbol(kind_of(kind), id), where));
  }

  Actor actor(const Actor& a, std::size_t i, std::string_view where) const {
    if (a.kind != Actor::Kind::Kthread) return a;
    return Actor::kthread(ref(kProc, a.index, i, false, false, where));
  }

  TraceOutcome outcome(TraceOutcome o, std::size_t i, bool same_event, std::string_view where) const {
    if (o.lwp != kNoLwp) o.lwp = ref(kLwp, o.lwp, i, same_event, false, where);
    if (o.proc != kNoProc) o.proc = ref(kProc, o.proc, i, same_event, false, where);
    if (o.wait_target != kNoProc) o.wait_target = ref(kProc, o.wait_target, i, same_event, false, where);
    return o;
  }

  std::vector<TraceCompletion> completions(const std::vector<TraceCompletion>& cs, std::size_t i, bool same_event, std::string_view what) const {
    std::vector<TraceCompletion> out;
    out.reserve(cs.size());
    for (std::size_t j = 0; j < cs.size(); ++j) {
      const std::string where = fmt::format("{}[{}]", what, j);
      out.push_back(TraceCompletion{actor(cs[j].actor, i, where + ".actor"), outcome(cs[j].outcome, i, same_event, where + ".outcome")});
    }
    return out;
  }

  // The event at position k of the new order. The parts are renamed in the order the reader
  // checks them: actor, args and woke[] name earlier events' symbols; then this event's bindings;
  // then its outcome and what the impl observed, which may also name what it bound.
  TraceEvent event(std::size_t k) {
    const std::size_t i = order_[k];
    const TraceEvent& e = t_.events[i];
    TraceEvent r;
    r.step = k;
    r.op.actor = actor(e.op.actor, i, "its actor");
    r.op.body = e.op.body;
    for_each_symbol_arg(r.op.body, [&](Binding::Kind kind, std::uint32_t& id) {
      id = ref(kind_index(kind), id, i, false, true, kind == Binding::Kind::Lwp ? "args.lwp" : "args.proc");
    });
    r.woke = completions(e.woke, i, false, "woke");
    const SymbolSpace before = next_;
    for (const Binding& b : e.bound) {
      const std::size_t kind = kind_index(b.kind);
      const std::uint32_t id = next_.issue(b.kind);
      renamed_[kind].emplace(b.id, id);
      r.bound.push_back(Binding{b.kind, id, b.pid});
      if (b.kind == Binding::Kind::Lwp)
        if (auto o = owner_.find(b.id); o != owner_.end()) new_lid_[b.id] = ++lids_issued_[o->second];
    }
    r.outcome = outcome(e.outcome, i, true, "outcome");
    if (e.observed) r.observed = outcome(*e.observed, i, true, "observed");
    if (e.observed_in_round) r.observed_in_round = outcome(*e.observed_in_round, i, true, "observed_in_round");
    if (e.observed_woke) r.observed_woke = completions(*e.observed_woke, i, true, "observed_woke");
    if (e.observed_state) r.observed_state = observation(*e.observed_state, i);
    if (e.observed_bind) {  // the impl's bindings name this step's symbols, issued from where `bound` starts
      SymbolSpace impl = before;
      std::vector<Binding>& out = r.observed_bind.emplace();
      for (const Binding& b : *e.observed_bind) out.push_back(Binding{b.kind, impl.issue(b.kind), b.pid});
    }
    for (std::size_t s : e.after) {
      if (s >= t_.events.size()) bad(fmt::format("step {} is after step {}, which the trace does not have", i, s));
      if (pos_[s] < k) r.after.push_back(pos_[s]);
    }
    return r;
  }

  const Trace& t_;
  const std::vector<std::size_t>& order_;
  std::vector<std::size_t> pos_;                                            // by event index: its position in the new order
  std::array<std::unordered_map<std::uint32_t, std::size_t>, 2> binder_;    // symbol -> the event that binds it
  std::array<std::size_t, 2> bound_count_{};
  std::array<std::map<std::uint32_t, std::uint32_t>, 2> never_;             // never-issued symbol -> its new name
  std::array<std::unordered_map<std::uint32_t, std::uint32_t>, 2> renamed_; // bound symbol -> its new name
  SymbolSpace next_;                                                        // the new order's symbols
  // Lids (recorded order): lwp symbol -> its process; process -> its lwps in creation order
  // (lwp#0 is process 0's lid 1); pid -> (event, process) bindings; in the new order, lwp -> lid.
  std::unordered_map<std::uint32_t, std::uint32_t> owner_;
  std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> lwps_of_{{0, {0}}};
  std::map<Pid, std::vector<std::pair<std::size_t, std::uint32_t>>> procs_by_pid_;
  std::unordered_map<std::uint32_t, int> new_lid_{{0, 1}};
  std::unordered_map<std::uint32_t, int> lids_issued_{{0, 1}};
};

}  // namespace

Trace reorder_trace(const Trace& t, const std::vector<std::size_t>& order) { return Renamer(t, order).run(); }

}  // namespace lockstep::checker
