// Observed states as facts: the impl's §7 view after an event replaces what the SPEC's effects
// would have produced.
#include <algorithm>
#include <set>

#include "checker/verify_encoder.hpp"

namespace lockstep::checker::verify_detail {

using namespace lockstep::model;

void Encoder::apply_observation(const Observation& o) {
  // Processes by pid: the one the index knows under that pid (in the table, or the last freed one).
  std::set<ProcId> seen;
  for (const ObsProc& op : o.procs) {
    std::optional<ProcId> p = ix_.proc_by_pid(op.pid, false);
    if (!p || seen.contains(*p)) continue;  // a process no event created: nothing to relate it to
    seen.insert(*p);
    Index::Proc& q = touch(*p);
    // Its membership is written unless it surely was in the table (so R3 and the table count see it).
    if (store_.known(q.in_table) != true) enter_table(*p);
    set(F::Ppid, *p, op.ppid);
    q.ppid = op.ppid;
    store_.note_ppid(*p, op.ppid);
    int live = 0;
    for (const ObsLwp& l : op.lwps) {
      live += l.released ? 0 : 1;
      if (l.lid < 1 || static_cast<std::size_t>(l.lid) > q.lwps.size()) continue;
      const LwpId id = q.lwps[l.lid - 1];
      set(F::Rel, id, l.released ? 1 : 0);
      set(F::Bnd, id, l.bound);
      ix_.lwps[id].bnd = l.bound;
      tl_.push_back(id);
    }
    set(F::Live, *p, live);
    q.live = live;
    if (q.kind == ProcKind::Kthread) {
      const int k = static_cast<int>(op.kstate);
      set(F::Kst, *p, k);
      set(F::Sreq, *p, op.suspend_requested ? 1 : 0);
      set(F::Prog, *p, static_cast<std::int64_t>(op.progress));
      q.kst = k;
    }
  }
  for (ProcId p = 0; p < ix_.procs.size(); ++p)
    if (!seen.contains(p) && store_.known(ix_.procs[p].in_table) != false) leave_table(p, Cond{true, nullptr});
  set(F::Nprocs, 0, o.nprocs);
  for (std::size_t h = 0; h < o.hosts.size() && h < static_cast<std::size_t>(hosts_); ++h) {
    std::int64_t l = -1;
    if (const auto& c = o.hosts[h].curlwp) {
      l = -3;  // an lwp no event created
      if (auto p = ix_.proc_by_pid(c->first, false); p && c->second >= 1 && static_cast<std::size_t>(c->second) <= ix_.procs[*p].lwps.size())
        l = ix_.procs[*p].lwps[c->second - 1];
    }
    set(F::Cur, static_cast<std::uint32_t>(h), l);
    ix_.cur_lwp[h] = l >= 0 ? static_cast<LwpId>(l) : kNoLwp;
    th_.push_back(static_cast<HostId>(h));
  }
  for (std::size_t h = 0; h < static_cast<std::size_t>(hosts_); ++h) {
    auto w = std::find_if(o.blocked.begin(), o.blocked.end(), [&](const ObsWait& x) { return x.host == static_cast<int>(h); });
    Index::Wait& x = ix_.waits[h];
    if (w == o.blocked.end()) {
      if (x.kind != kNoWait) set(F::Wk, static_cast<std::uint32_t>(h), kNoWait);
      x.kind = kNoWait;
      continue;
    }
    int kind = w->what == "kthread_wait_exit" ? kExitWait : (x.kind == kShutdownWait ? kShutdownWait : kSuspendWait);
    const auto t = ix_.proc_by_pid(w->target, false);
    set(F::Wk, static_cast<std::uint32_t>(h), kind);
    if (t) set(F::Wt, static_cast<std::uint32_t>(h), *t);
    x.kind = kind;
    if (t) x.target = *t;
    if (t) store_.note_wait(static_cast<HostId>(h), *t, false);
    th_.push_back(static_cast<HostId>(h));
  }
  int banners = 0, results = 0;
  for (const std::string& line : o.console) {
    if (line.starts_with("Waiting (max 60 seconds)")) ++banners;
    else if (line == "stopped" || line == "timed out") ++results;
  }
  set(F::Banners, 0, banners);
  set(F::Results, 0, results);
}

}  // namespace lockstep::checker::verify_detail
