// Observed states as facts, and the SPEC §6 instances checked after each event over the objects
// it touched (an untouched object keeps its values, so its instances were checked when it was).
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "checker/verify_encoder.hpp"

namespace lockstep::checker::verify_detail {

using namespace lockstep::model;

// The impl's §7 view after the event replaces what the SPEC's effects would have produced.
void Encoder::apply_observation(const Observation& o) {
  // Processes by pid: the one the index knows under that pid (in the table, or the last freed one).
  std::set<ProcId> seen;
  for (const ObsProc& op : o.procs) {
    std::optional<ProcId> p = proc_by_pid(op.pid, false);
    if (!p || seen.contains(*p)) continue;  // a process no event created: nothing to relate it to
    seen.insert(*p);
    SProc& q = sp(*p);
    // (Partial-order mode: whether it was in the table before depends on the order, so the
    // observation always writes its membership, and R3 and the table count see it.)
    if (!q.in_table || po_) set_tab(*p, true);
    set(F::Ppid, *p, op.ppid);
    q.ppid = op.ppid;
    note_ppid(*p, op.ppid);
    int live = 0;
    for (const ObsLwp& l : op.lwps) {
      live += l.released ? 0 : 1;
      if (l.lid < 1 || static_cast<std::size_t>(l.lid) > q.lwps.size()) continue;
      const LwpId id = q.lwps[l.lid - 1];
      set(F::Rel, id, l.released ? 1 : 0);
      set(F::Bnd, id, l.bound);
      lwps_[id].rel = l.released;
      lwps_[id].bnd = l.bound;
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
      q.sreq = op.suspend_requested;
    }
  }
  if (po_) {
    for (ProcId p = 0; p < procs_.size(); ++p)
      if (!seen.contains(p)) set_tab(p, false);
  } else {
    for (ProcId p : std::vector<ProcId>(table_.begin(), table_.end()))
      if (!seen.contains(p)) set_tab(p, false);
  }
  set(F::Nprocs, 0, o.nprocs);
  for (std::size_t h = 0; h < o.hosts.size() && h < static_cast<std::size_t>(hosts_); ++h) {
    std::int64_t l = -1;
    if (const auto& c = o.hosts[h].curlwp) {
      l = -3;  // an lwp no event created
      if (auto p = proc_by_pid(c->first, false); p && c->second >= 1 && static_cast<std::size_t>(c->second) <= procs_[*p].lwps.size())
        l = procs_[*p].lwps[c->second - 1];
    }
    set(F::Cur, static_cast<std::uint32_t>(h), l);
    cur_lwp_[h] = l >= 0 ? static_cast<LwpId>(l) : kNoLwp;
    th_.push_back(static_cast<HostId>(h));
  }
  for (std::size_t h = 0; h < static_cast<std::size_t>(hosts_); ++h) {
    auto w = std::find_if(o.blocked.begin(), o.blocked.end(), [&](const ObsWait& x) { return x.host == static_cast<int>(h); });
    if (w == o.blocked.end()) {
      if (waits_[h].kind != kNoWait) set(F::Wk, static_cast<std::uint32_t>(h), kNoWait);
      waits_[h].kind = kNoWait;
      continue;
    }
    int kind = w->what == "kthread_wait_exit" ? kExitWait : (waits_[h].kind == kShutdownWait ? kShutdownWait : kSuspendWait);
    const auto t = proc_by_pid(w->target, false);
    set(F::Wk, static_cast<std::uint32_t>(h), kind);
    if (t) set(F::Wt, static_cast<std::uint32_t>(h), *t);
    waits_[h].kind = kind;
    if (t) waits_[h].target = *t;
    if (t && po_) seen_.waits_on.emplace(static_cast<HostId>(h), *t);
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

void Encoder::check_after(const VEvent& e) {
  std::sort(tp_.begin(), tp_.end());
  tp_.erase(std::unique(tp_.begin(), tp_.end()), tp_.end());
  std::sort(tl_.begin(), tl_.end());
  tl_.erase(std::unique(tl_.begin(), tl_.end()), tl_.end());
  std::sort(th_.begin(), th_.end());
  th_.erase(std::unique(th_.begin(), th_.end()), th_.end());
  const std::string at = fmt::format("after event {}", e.step);

  for (ProcId p : tp_) {
    const SProc& q = procs_[p];
    const SProc& was = sp_before_.at(p);
    const z3::expr tab = get(F::Tab, p) == 1;
    if (q.kind == ProcKind::User)  // R1: in the table iff it has an unreleased lwp
      check(Rule::R1, tab == (get(F::Live, p) > 0), fmt::format("user proc#{} (pid {}) is in the table iff it has an unreleased lwp", p, q.pid),
            {{"in table", get(F::Tab, p)}, {"unreleased lwps", get(F::Live, p)}});
    if (q.kind == ProcKind::Kernel || q.kind == ProcKind::Init)
      check(Rule::R1, tab, fmt::format("process {} is never freed", q.pid));
    // R3: freed exactly once, never live again. (Partial-order mode: whether it was freed before
    // depends on the order, so Freed is a field, and the instance can only break where Tab is written.)
    if (po_ && before_.contains(key(F::Tab, p)))
      check(Rule::R3, before_or(F::Freed, p) == 0 || !tab, fmt::format("proc#{} (pid {}) was freed before and is not in the table again", p, q.pid));
    else if (!po_ && was.freed)
      check(Rule::R3, !tab, fmt::format("proc#{} (pid {}) was freed before and is not in the table again", p, q.pid));
    // R5: no other process in the table holds its pid. (Partial-order mode checks R5 over every
    // pair of processes created with one pid, whatever the order: verify_partial.cpp.)
    if (q.in_table && !po_)
      for (ProcId r : table_)
        if (r != p && procs_[r].pid == q.pid)
          check(Rule::R5, !(tab && get(F::Tab, r) == 1 && get(F::Pid, p) == get(F::Pid, r)),
                fmt::format("pid {} names one process in the table (proc#{} and proc#{} hold it)", q.pid, p, r));
    // R6: its ppid names a process in the table. (Partial-order mode: which processes are in the
    // table depends on the order; the caller checks R6 over every process that may be the parent.)
    if (q.in_table && !po_) {
      z3::expr_vector names(ctx_);
      for (ProcId r : table_) names.push_back(get(F::Tab, r) == 1 && get(F::Pid, r) == get(F::Ppid, p));
      check(Rule::R6, !tab || z3::mk_or(names), fmt::format("the ppid of proc#{} (pid {}) names a process in the table", p, q.pid),
            {{"ppid", get(F::Ppid, p)}});
    }
    if (q.kind == ProcKind::Kthread) {
      const z3::expr kst = get(F::Kst, p), kst0 = before_or(F::Kst, p);
      const auto* rs = std::get_if<op::Resume>(&e.op.body);
      const bool resumed = rs != nullptr && rs->proc == p && e.outcome.kind == VOutcome::Kind::Returned && e.outcome.ret == 0;
      // S1: no progress while PARKED (a resume in this event lets it run only afterwards).
      check(Rule::S1, kst0 != kParked || get(F::Prog, p) == before_or(F::Prog, p), fmt::format("PARKED kthread proc#{} makes no progress", p),
            {{"progress before", before_or(F::Prog, p)}, {"progress after", get(F::Prog, p)}});
      // S3: PARKED only with a request pending; only a resume unparks, and a resume always does.
      check(Rule::S3, kst != kParked || get(F::Sreq, p) == 1, fmt::format("PARKED kthread proc#{} has a suspend request pending", p),
            {{"suspend_requested", get(F::Sreq, p)}});
      check(Rule::S3, kst0 != kParked || ctx_.bool_val(resumed) || kst == kParked, fmt::format("kthread proc#{} left PARKED only by a resume", p));
      if (resumed) check(Rule::S3, kst0 != kParked || kst != kParked, fmt::format("kthread_resume of PARKED proc#{} left it RUNNING (no lost resume)", p));
      // S5: after exit its lwp is released and it makes no progress.
      check(Rule::S5, (kst != kZombie && kst != kReaped) || get(F::Live, p) == 0, fmt::format("exited kthread proc#{} has no running lwp", p));
      check(Rule::S5, (kst0 != kZombie && kst0 != kReaped) || get(F::Prog, p) == before_or(F::Prog, p),
            fmt::format("exited kthread proc#{} runs no further iteration", p));
      // S2/S5: the waiters on it are consistent with its state.
      for (int h = 0; h < hosts_; ++h) {
        if (po_) {
          // Partial-order mode: any host that waits on it somewhere may be waiting here, in some order.
          if (!waits_on(h, p)) continue;
          const z3::expr on_p = get(F::Wt, h) == static_cast<int>(p), wk = get(F::Wk, h);
          check(Rule::S5, !(wk == kExitWait && on_p) || (kst != kZombie && kst != kReaped),
                fmt::format("H{} does not still wait for the exit of exited proc#{}", h, p));
          check(Rule::S2, !((wk == kSuspendWait || wk == kShutdownWait) && on_p) || kst != kParked,
                fmt::format("H{} does not still wait to suspend PARKED proc#{}", h, p));
          continue;
        }
        if (waits_[h].kind == kNoWait || waits_[h].target != p) continue;
        const z3::expr waiting = get(F::Wk, h) != kNoWait && get(F::Wt, h) == static_cast<int>(p);
        if (waits_[h].kind == kExitWait)
          check(Rule::S5, !waiting || (kst != kZombie && kst != kReaped), fmt::format("H{} does not still wait for the exit of exited proc#{}", h, p));
        else
          check(Rule::S2, !waiting || kst != kParked, fmt::format("H{} does not still wait to suspend PARKED proc#{}", h, p));
      }
    }
  }
  // S4: suspend/resume of a non-kthread changes nothing: every field it wrote keeps its value.
  std::optional<ProcId> s4_target;
  if (const auto* x = std::get_if<op::Suspend>(&e.op.body)) s4_target = x->proc;
  if (const auto* x = std::get_if<op::Resume>(&e.op.body)) s4_target = x->proc;
  if (s4_target && *s4_target < procs_.size() && procs_[*s4_target].kind != ProcKind::Kthread && !before_.empty()) {
    z3::expr_vector same(ctx_);
    for (const auto& [k, old] : before_) same.push_back(get(static_cast<F>(k >> 32), static_cast<std::uint32_t>(k)) == old);
    check(Rule::S4, z3::mk_and(same), fmt::format("{} of non-kthread proc#{} changes nothing", model::op_name(e.op.body), *s4_target));
  }
  // S5: kthread_exit woke every waiter for it.
  if (std::holds_alternative<op::KthreadExit>(e.op.body) && e.outcome.kind == VOutcome::Kind::Returned)
    for (int h = 0; h < hosts_; ++h) {
      const ProcId p = e.op.actor.index;
      if (po_ && waits_on(h, p))
        check(Rule::S5, !(before_or(F::Wk, h) == kExitWait && before_or(F::Wt, h) == static_cast<int>(p)) || get(F::Wk, h) == kNoWait,
              fmt::format("H{} waiting for the exit of proc#{} was woken by it", h, p));
      else if (!po_ && waits_before_[h].kind == kExitWait && waits_before_[h].target == p)
        check(Rule::S5, get(F::Wk, h) == kNoWait, fmt::format("H{} waiting for the exit of proc#{} was woken by it", h, p));
    }

  for (LwpId l : tl_) {
    const z3::expr rel = get(F::Rel, l) == 1;
    // R2: a released lwp is bound to nothing and curlwp of no host; released stays released.
    check(Rule::R2, !rel || get(F::Bnd, l) == kUnbound, fmt::format("released lwp#{} is bound to no host thread", l), {{"bound", get(F::Bnd, l)}});
    z3::expr_vector users(ctx_);
    for (int h = 0; h < hosts_; ++h) users.push_back(get(F::Cur, h) == static_cast<int>(l));
    check(Rule::R2, !rel || !z3::mk_or(users), fmt::format("released lwp#{} is curlwp of no host thread", l));
    if (before_.contains(key(F::Rel, l)))
      check(Rule::R2, before_or(F::Rel, l) == 0 || rel, fmt::format("released lwp#{} stays released", l));
    // R4: an lwp that claims a host is that host's curlwp.
    // (Partial-order mode: which host it claims depends on the order, so every host that binds it
    // somewhere is asked.)
    const std::int32_t b = lwps_[l].bnd;
    for (int g = po_ ? 0 : b; g < (po_ ? hosts_ : b + 1); ++g)
      if (g >= 0 && g < hosts_ && (g == b || fore_.binds.contains({l, static_cast<HostId>(g)})))
        check(Rule::R4, get(F::Bnd, l) != g || get(F::Cur, g) == static_cast<int>(l), fmt::format("lwp#{} bound to H{} is its curlwp", l, g));
  }
  for (HostId h : th_) {
    const LwpId l = cur_lwp_[h];
    if (l == kNoLwp) continue;
    const z3::expr is_l = get(F::Cur, h) == static_cast<int>(l);
    // R2: a host's curlwp is not released.
    check(Rule::R2, !is_l || get(F::Rel, l) == 0, fmt::format("H{}'s curlwp lwp#{} is not released", h, l));
    // R4: its curlwp is bound to it and to no other host.
    check(Rule::R4, !is_l || get(F::Bnd, l) == h, fmt::format("H{}'s curlwp lwp#{} is bound to H{}", h, l, h), {{"bound", get(F::Bnd, l)}});
    for (int g = 0; g < hosts_; ++g)
      if (g != h) check(Rule::R4, !is_l || get(F::Cur, g) != static_cast<int>(l), fmt::format("lwp#{} is curlwp of H{} and not also of H{}", l, h, g));
  }
  // S2/§5: no wait outlives its deadline.
  if (std::holds_alternative<op::Tick>(e.op.body)) {
    for (int h = 0; h < hosts_; ++h) {
      if (po_ && may_time_out(h)) {  // whether it waits here, and until when, depends on the order
        const z3::expr wk = get(F::Wk, h), wd = get(F::Wd, h), not_due = wd < 0 || wd > get(F::Now, 0);
        check(Rule::S5, wk != kExitWait || not_due, fmt::format("H{}'s wait ended at its deadline", h), {{"deadline", wd}, {"now", get(F::Now, 0)}});
        check(Rule::S2, (wk != kSuspendWait && wk != kShutdownWait) || not_due, fmt::format("H{}'s wait ended at its deadline", h),
              {{"deadline", wd}, {"now", get(F::Now, 0)}});
      } else if (!po_ && waits_[h].kind != kNoWait && waits_[h].deadline >= 0) {
        check(waits_[h].kind == kExitWait ? Rule::S5 : Rule::S2, get(F::Wk, h) == kNoWait || get(F::Wd, h) > get(F::Now, 0),
              fmt::format("H{}'s wait ended at its deadline", h), {{"deadline", get(F::Wd, h)}, {"now", get(F::Now, 0)}});
      }
    }
  }
  // R6: nprocs counts the table.
  if (before_.contains(key(F::Nprocs, 0)) || before_.contains(key(F::Ntab, 0))) {
    if (po_ && !e.observed) {
      // Partial-order mode: both start at 2 and only events move them, so "equal after every
      // event, in every order" is "every event moves them alike, in every order" (the first event
      // that does not is where they first differ). The local form spares Z3 an induction along
      // each order's chain of writers (bench_verify: 3.7 s of a 100-event history's 6 s).
      check(Rule::R6, get(F::Nprocs, 0) - before_or(F::Nprocs, 0) == get(F::Ntab, 0) - before_or(F::Ntab, 0),
            "nprocs equals the number of processes in the table (this event changes both alike)",
            {{"nprocs change", get(F::Nprocs, 0) - before_or(F::Nprocs, 0)}, {"table change", get(F::Ntab, 0) - before_or(F::Ntab, 0)}});
    } else {
      check(Rule::R6, get(F::Nprocs, 0) == get(F::Ntab, 0), "nprocs equals the number of processes in the table",
            {{"nprocs", get(F::Nprocs, 0)}, {"processes in the table", get(F::Ntab, 0)}});
    }
  }
  // S6: each banner is followed by exactly one result line, or its shutdown is still waiting.
  if (before_.contains(key(F::Banners, 0)) || before_.contains(key(F::Results, 0))) {
    z3::expr pending = num(0);
    for (int h = 0; h < hosts_; ++h) pending = pending + z3::ite(get(F::Wk, h) == kShutdownWait, num(1), num(0));
    check(Rule::S6, get(F::Banners, 0) == get(F::Results, 0) + pending, "one result line per kproc_shutdown banner, or it still waits",
          {{"banners", get(F::Banners, 0)}, {"results", get(F::Results, 0)}});
  }
}

}  // namespace lockstep::checker::verify_detail
