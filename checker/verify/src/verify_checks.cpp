// The SPEC §6 instances checked after each event over the objects it touched (an untouched object
// keeps its values, so its instances were checked when it was). Where the order of events decides
// whether an instance applies, or which objects it involves, the store says so (verify_store.hpp).
#include <algorithm>

#include <fmt/format.h>

#include "checker/verify_encoder.hpp"

namespace lockstep::checker::verify_detail {

using namespace lockstep::model;

void Encoder::check_after(const VEvent& e) {
  std::sort(tp_.begin(), tp_.end());
  tp_.erase(std::unique(tp_.begin(), tp_.end()), tp_.end());
  std::sort(tl_.begin(), tl_.end());
  tl_.erase(std::unique(tl_.begin(), tl_.end()), tl_.end());
  std::sort(th_.begin(), th_.end());
  th_.erase(std::unique(th_.begin(), th_.end()), th_.end());
  for (ProcId p : tp_) {
    const Index::Proc& q = ix_.procs[p];
    const z3::expr tab = get(F::Tab, p) == 1;
    if (q.kind == ProcKind::User)  // R1: in the table iff it has an unreleased lwp
      check(Rule::R1, tab == (get(F::Live, p) > 0), fmt::format("user proc#{} (pid {}) is in the table iff it has an unreleased lwp", p, q.pid),
            {{"in table", get(F::Tab, p)}, {"unreleased lwps", get(F::Live, p)}});
    if (q.kind == ProcKind::Kernel || q.kind == ProcKind::Init)
      check(Rule::R1, tab, fmt::format("process {} is never freed", q.pid));
    // R3: freed exactly once, never live again.
    const bool was_freed = std::find(freed_before_.begin(), freed_before_.end(), p) != freed_before_.end();
    if (auto g = store_.freed_before(p, was_freed))
      check(Rule::R3, g->over(!tab), fmt::format("proc#{} (pid {}) was freed before and is not in the table again", p, q.pid));
    // R5 and R6's parent part over the table, where the file's order decides who is in it (else
    // verify_partial.cpp checks them over every process that may be).
    if (const std::set<ProcId>* table = store_.table(ix_); table && q.in_table) {
      // R5: no other process in the table holds its pid.
      for (ProcId r : *table)
        if (r != p && ix_.procs[r].pid == q.pid)
          check(Rule::R5, !(tab && get(F::Tab, r) == 1 && get(F::Pid, p) == get(F::Pid, r)),
                fmt::format("pid {} names one process in the table (proc#{} and proc#{} hold it)", q.pid, p, r));
      // R6: its ppid names a process in the table.
      z3::expr_vector names(store_.ctx());
      for (ProcId r : *table) names.push_back(get(F::Tab, r) == 1 && get(F::Pid, r) == get(F::Ppid, p));
      check(Rule::R6, !tab || z3::mk_or(names), fmt::format("the ppid of proc#{} (pid {}) names a process in the table", p, q.pid),
            {{"ppid", get(F::Ppid, p)}});
    }
    if (q.kind == ProcKind::Kthread) {
      const z3::expr kst = get(F::Kst, p), kst0 = store_.before(F::Kst, p);
      const auto* rs = std::get_if<op::Resume>(&e.op.body);
      const bool resumed = rs != nullptr && rs->proc == p && e.outcome.kind == VOutcome::Kind::Returned && e.outcome.ret == 0;
      // S1: no progress while PARKED (a resume in this event lets it run only afterwards).
      check(Rule::S1, kst0 != kParked || get(F::Prog, p) == store_.before(F::Prog, p), fmt::format("PARKED kthread proc#{} makes no progress", p),
            {{"progress before", store_.before(F::Prog, p)}, {"progress after", get(F::Prog, p)}});
      // S3: PARKED only with a request pending; only a resume unparks, and a resume always does.
      check(Rule::S3, kst != kParked || get(F::Sreq, p) == 1, fmt::format("PARKED kthread proc#{} has a suspend request pending", p),
            {{"suspend_requested", get(F::Sreq, p)}});
      check(Rule::S3, kst0 != kParked || store_.ctx().bool_val(resumed) || kst == kParked, fmt::format("kthread proc#{} left PARKED only by a resume", p));
      if (resumed) check(Rule::S3, kst0 != kParked || kst != kParked, fmt::format("kthread_resume of PARKED proc#{} left it RUNNING (no lost resume)", p));
      // S5: after exit its lwp is released and it makes no progress.
      check(Rule::S5, (kst != kZombie && kst != kReaped) || get(F::Live, p) == 0, fmt::format("exited kthread proc#{} has no running lwp", p));
      check(Rule::S5, (kst0 != kZombie && kst0 != kReaped) || get(F::Prog, p) == store_.before(F::Prog, p),
            fmt::format("exited kthread proc#{} runs no further iteration", p));
      // S2/S5: the waiters on it are consistent with its state.
      for (int h = 0; h < hosts_; ++h) {
        const ValueStore::Guards waiting = store_.waiting(h, p, ix_);
        if (!waiting) continue;
        if (auto g = waiting(WaitFor::Exit))
          check(Rule::S5, g->over(kst != kZombie && kst != kReaped), fmt::format("H{} does not still wait for the exit of exited proc#{}", h, p));
        if (auto g = waiting(WaitFor::Park))
          check(Rule::S2, g->over(kst != kParked), fmt::format("H{} does not still wait to suspend PARKED proc#{}", h, p));
      }
    }
  }
  // S4: suspend/resume of a non-kthread changes nothing: every field it wrote keeps its value.
  std::optional<ProcId> s4_target;
  if (const auto* x = std::get_if<op::Suspend>(&e.op.body)) s4_target = x->proc;
  if (const auto* x = std::get_if<op::Resume>(&e.op.body)) s4_target = x->proc;
  if (s4_target && *s4_target < ix_.procs.size() && ix_.procs[*s4_target].kind != ProcKind::Kthread && !store_.before_values().empty()) {
    z3::expr_vector same(store_.ctx());
    for (const auto& [k, old] : store_.before_values()) same.push_back(get(field(k), id_of(k)) == old);
    check(Rule::S4, z3::mk_and(same), fmt::format("{} of non-kthread proc#{} changes nothing", model::op_name(e.op.body), *s4_target));
  }
  // S5: kthread_exit woke every waiter for it.
  if (std::holds_alternative<op::KthreadExit>(e.op.body) && e.outcome.kind == VOutcome::Kind::Returned)
    for (int h = 0; h < hosts_; ++h) {
      const ProcId p = e.op.actor.index;
      if (auto g = store_.waited_for_exit(h, p, waits_before_[h], ix_))
        check(Rule::S5, g->over(get(F::Wk, h) == kNoWait), fmt::format("H{} waiting for the exit of proc#{} was woken by it", h, p));
    }

  for (LwpId l : tl_) {
    const z3::expr rel = get(F::Rel, l) == 1;
    // R2: a released lwp is bound to nothing and curlwp of no host; released stays released.
    check(Rule::R2, !rel || get(F::Bnd, l) == kUnbound, fmt::format("released lwp#{} is bound to no host thread", l), {{"bound", get(F::Bnd, l)}});
    z3::expr_vector users(store_.ctx());
    for (int h = 0; h < hosts_; ++h) users.push_back(get(F::Cur, h) == static_cast<int>(l));
    check(Rule::R2, !rel || !z3::mk_or(users), fmt::format("released lwp#{} is curlwp of no host thread", l));
    if (store_.wrote(F::Rel, l))
      check(Rule::R2, store_.before(F::Rel, l) == 0 || rel, fmt::format("released lwp#{} stays released", l));
    // R4: an lwp that claims a host is that host's curlwp.
    for (int g = 0; g < hosts_; ++g)
      if (store_.may_be_bound(l, static_cast<HostId>(g), ix_))
        check(Rule::R4, get(F::Bnd, l) != g || get(F::Cur, g) == static_cast<int>(l), fmt::format("lwp#{} bound to H{} is its curlwp", l, g));
  }
  for (HostId h : th_) {
    const LwpId l = ix_.cur_lwp[h];
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
      const auto d = store_.deadline(h, ix_);
      if (!d) continue;
      for (const WaitFor w : {WaitFor::Exit, WaitFor::Park}) {
        if (!(w == WaitFor::Exit ? d->exit : d->park)) continue;
        std::vector<std::pair<std::string, z3::expr>> shown{{"deadline", get(F::Wd, h)}, {"now", get(F::Now, 0)}};
        check(w == WaitFor::Exit ? Rule::S5 : Rule::S2, d->not_overdue(w).e, fmt::format("H{}'s wait ended at its deadline", h), std::move(shown));
      }
    }
  }
  // R6: nprocs counts the table.
  if (store_.wrote(F::Nprocs, 0) || store_.wrote(F::Ntab, 0)) {
    if (store_.counts_by_change(e.observed.has_value())) {
      // Both start at 2 and only events move them, so "equal after every event, in every order" is
      // "every event moves them alike, in every order" (the first event that does not is where they
      // first differ). The local form spares Z3 an induction along each order's chain of writers
      // (bench_verify: 3.7 s of a 100-event history's 6 s).
      check(Rule::R6, get(F::Nprocs, 0) - store_.before(F::Nprocs, 0) == get(F::Ntab, 0) - store_.before(F::Ntab, 0),
            "nprocs equals the number of processes in the table (this event changes both alike)",
            {{"nprocs change", get(F::Nprocs, 0) - store_.before(F::Nprocs, 0)}, {"table change", get(F::Ntab, 0) - store_.before(F::Ntab, 0)}});
    } else {
      check(Rule::R6, get(F::Nprocs, 0) == get(F::Ntab, 0), "nprocs equals the number of processes in the table",
            {{"nprocs", get(F::Nprocs, 0)}, {"processes in the table", get(F::Ntab, 0)}});
    }
  }
  // S6: each banner is followed by exactly one result line, or its shutdown is still waiting.
  if (store_.wrote(F::Banners, 0) || store_.wrote(F::Results, 0)) {
    z3::expr pending = num(0);
    for (int h = 0; h < hosts_; ++h) pending = pending + z3::ite(get(F::Wk, h) == kShutdownWait, num(1), num(0));
    check(Rule::S6, get(F::Banners, 0) == get(F::Results, 0) + pending, "one result line per kproc_shutdown banner, or it still waits",
          {{"banners", get(F::Banners, 0)}, {"results", get(F::Results, 0)}});
  }
}

}  // namespace lockstep::checker::verify_detail
