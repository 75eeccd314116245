#include "model/invariant_monitor.hpp"

#include <algorithm>

#include "invariant_parts.hpp"

namespace lockstep::model {

namespace {

// Each id once, only those below `size` (a corrupted state may name objects that do not exist).
template <class T>
void settle(std::vector<T>& v, std::size_t size) {
  std::erase_if(v, [&](T id) { return static_cast<std::size_t>(id) >= size; });
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Appends the violations of `more` that `out` does not hold yet (a sampled full check repeats
// what the incremental one found).
void merge(std::vector<Violation>& out, std::vector<Violation> more) {
  for (Violation& v : more)
    if (std::none_of(out.begin(), out.end(), [&](const Violation& o) { return o.rule == v.rule && o.reason == v.reason; }))
      out.push_back(std::move(v));
}

}  // namespace

void InvariantMonitor::recount(const State& s) {
  users_ = parts::fdtable_users(s);
  children_.clear();
  for (const auto& [pid, id] : s.table)
    if (id < s.procs.size()) ++children_[s.procs[id].ppid];
  live_ = static_cast<std::size_t>(std::count_if(s.procs.begin(), s.procs.end(), [](const Process& p) { return !p.freed; }));
  banners_ = results_ = 0;
  parts::count_console(s.console, 0, banners_, results_);
}

std::vector<Violation> InvariantMonitor::full(const State& s) {
  ++stats_.full_checks;
  since_full_ = 0;
  recount(s);
  return check_state(s);
}

std::vector<Violation> InvariantMonitor::step(const Op& op, const StepResult& res, const Footprint& fp, const State& after) {
  std::vector<Violation> out;
  if (!after.initialized) return out;
  // A step that replaced the state (rump_init) has no before to compare with.
  if (fp.whole) return full(after);
  ++stats_.steps;
  parts::Report r(out);
  const parts::BeforeFootprint before{after, fp};

  // The step invariants, over what changed; a step that was not run changes nothing (check_step).
  parts::Scope scope;
  for (const auto& [id, p] : fp.procs) scope.procs.push_back(id);
  for (const auto& [l, lwp] : fp.lwps) scope.lwps.push_back(l);
  for (const auto& [t, table] : fp.fdtables) scope.fdtables.push_back(t);
  for (const auto& [pid, id] : fp.table) scope.pids.push_back(pid);
  if (res.outcome.kind == OutcomeKind::NotRunnable || res.outcome.kind == OutcomeKind::Dead) {
    if (!fp.unchanged(after)) out.push_back(Violation{Rule::P0, "a step that was not run changed the state"});
  } else {
    parts::check_transition(before, op, res, after, scope, r);
  }

  // The processes whose invariants may have changed: written, new, owning a changed lwp, or named
  // by a changed table entry.
  procs_.assign(scope.procs.begin(), scope.procs.end());
  for (std::size_t id = fp.procs_before; id < after.procs.size(); ++id) procs_.push_back(static_cast<ProcId>(id));
  for (const auto& [l, lwp] : fp.lwps) {
    procs_.push_back(lwp.proc);
    if (l < after.lwps.size()) procs_.push_back(after.lwps[l].proc);
  }
  for (std::size_t l = fp.lwps_before; l < after.lwps.size(); ++l) procs_.push_back(after.lwps[l].proc);
  for (const auto& [pid, id] : fp.table) {
    if (id) procs_.push_back(*id);
    if (auto it = after.table.find(pid); it != after.table.end()) procs_.push_back(it->second);
  }
  settle(procs_, after.procs.size());

  // The counts: live processes by process; fd table users and ppids by table entry, from each
  // entry that may name another process or one that changed (in a state that held R5, only a
  // process's own pid names it).
  for (ProcId id : procs_) {
    if (id < fp.procs_before) live_ -= before.proc(id).freed ? 0 : 1;
    live_ += after.procs[id].freed ? 0 : 1;
  }
  pids_.assign(scope.pids.begin(), scope.pids.end());
  for (const auto& [id, was] : fp.procs) {
    pids_.push_back(was.pid);
    if (id < after.procs.size()) pids_.push_back(after.procs[id].pid);
  }
  std::sort(pids_.begin(), pids_.end());
  pids_.erase(std::unique(pids_.begin(), pids_.end()), pids_.end());
  if (users_.size() < after.fdtables.size()) users_.resize(after.fdtables.size(), 0);
  fdtables_.assign(scope.fdtables.begin(), scope.fdtables.end());
  for (std::size_t t = fp.fdtables_before; t < after.fdtables.size(); ++t) fdtables_.push_back(static_cast<FdTableId>(t));
  for (Pid pid : pids_) {
    if (const std::optional<ProcId> was = fp.table_before(pid, after); was && *was < fp.procs_before) {
      const Process& p = before.proc(*was);
      if (p.fdtable < users_.size()) --users_[p.fdtable];
      --children_[p.ppid];
      fdtables_.push_back(p.fdtable);
    }
    if (auto it = after.table.find(pid); it != after.table.end() && it->second < after.procs.size()) {
      const Process& p = after.procs[it->second];
      if (p.fdtable < users_.size()) ++users_[p.fdtable];
      ++children_[p.ppid];
      fdtables_.push_back(p.fdtable);
    }
  }
  settle(fdtables_, after.fdtables.size());

  // The lwps: written, new, or curlwp of a host thread that changed, before or after.
  lwps_.assign(scope.lwps.begin(), scope.lwps.end());
  for (std::size_t l = fp.lwps_before; l < after.lwps.size(); ++l) lwps_.push_back(static_cast<LwpId>(l));
  for (const auto& [h, host] : fp.hosts) {
    lwps_.push_back(host.curlwp);
    if (h < after.hosts.size()) lwps_.push_back(after.hosts[h].curlwp);
  }
  for (std::size_t h = fp.hosts_before; h < after.hosts.size(); ++h) lwps_.push_back(after.hosts[h].curlwp);
  settle(lwps_, after.lwps.size());

  // The state invariants that read them, in check_state's order.
  for (ProcId id : procs_) parts::check_r1(after, id, r);
  for (LwpId l : lwps_) parts::check_r2_lwp(after, l, r);
  parts::check_hosts(after, r);
  for (LwpId l : lwps_) parts::check_r4_lwp(after, l, r);
  for (FdTableId t : fdtables_) parts::check_r3(after, t, users_[t], r);
  for (ProcId id : procs_) parts::check_r5_proc(after, id, r);
  parts::check_counts(after, live_, r);
  for (Pid pid : pids_)
    if (auto it = after.table.find(pid); it != after.table.end() && it->second < after.procs.size()) parts::check_r6_ppid(after, pid, it->second, r);
  // R6: a pid that left the table is nobody's ppid any more (its children went to init).
  for (const auto& [pid, id] : fp.table) {
    if (after.table.contains(pid)) continue;
    if (auto it = children_.find(pid); it != children_.end() && it->second > 0)
      for (const auto& [child_pid, child] : after.table)
        if (after.procs[child].ppid == pid) parts::check_r6_ppid(after, child_pid, child, r);
  }
  for (ProcId id : procs_) parts::check_kthread(after, id, r);
  parts::check_waits(after, r);
  parts::count_console(after.console, fp.console_before, banners_, results_);
  parts::check_console(after, banners_, results_, r);

  if (o_.full_every != 0 && ++since_full_ >= o_.full_every) merge(out, full(after));
  return out;
}

}  // namespace lockstep::model
