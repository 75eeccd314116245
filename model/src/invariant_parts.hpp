// SPEC §6's checks cut into the pieces that read one object each, so that the full check (every
// object, invariants.cpp) and the incremental one (the objects a step touched and those that
// depend on them, invariant_monitor.cpp) run the same code and report the same words.
#pragma once
#include <algorithm>
#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "model/footprint.hpp"
#include "model/invariants.hpp"

namespace lockstep::model::parts {

class Report {
 public:
  explicit Report(std::vector<Violation>& out) : out_(out) {}
  template <class... Args>
  void fail(Rule r, fmt::format_string<Args...> f, Args&&... args) {
    out_.push_back(Violation{r, fmt::format(f, std::forward<Args>(args)...)});
  }

 private:
  std::vector<Violation>& out_;
};

// --- state invariants, one object at a time ------------------------------------------------------

// R1: a user process is in the table iff it has an unreleased lwp; 0 and 1 are never freed.
void check_r1(const State& s, ProcId id, Report& r);
// R2: a released lwp is bound to no host thread.
void check_r2_lwp(const State& s, LwpId l, Report& r);
// R2/R4 of every host thread (there are few): its curlwp exists, is live, is bound to it, and no
// lwp is curlwp of two.
void check_hosts(const State& s, Report& r);
// R4, the lwp's side: the host it claims has it as curlwp.
void check_r4_lwp(const State& s, LwpId l, Report& r);
// R3: the fd table's reference count is its `users` (processes in the table using it), and it is
// freed exactly when that is 0.
void check_r3(const State& s, FdTableId t, int users, Report& r);
// R5: a live process is what the table names for its pid.
void check_r5_proc(const State& s, ProcId id, Report& r);
// R5/R6's counts: `live` live processes, as many table entries, as many in nprocs.
void check_counts(const State& s, std::size_t live, Report& r);
// R6: the ppid of the table's entry for `pid` is in the table.
void check_r6_ppid(const State& s, Pid pid, ProcId id, Report& r);
// S3 and S5 of one kthread (nothing for other processes).
void check_kthread(const State& s, ProcId id, Report& r);
// S2/S4/S5 of every pending wait (one per blocked host thread at most).
void check_waits(const State& s, Report& r);
// S6: banners and result lines among `s`'s console lines (counted by count_console) against the
// shutdowns still waiting.
void count_console(const std::vector<std::string>& lines, std::size_t from, int& banners, int& results);
void check_console(const State& s, int banners, int results, Report& r);

// Users of each fd table: the processes in the table that use it.
std::vector<int> fdtable_users(const State& s);

// --- step invariants -------------------------------------------------------------------------------

// The state before a step as the transition checks read it: a whole State (the full check), or
// the state after with a footprint's before-images laid over it (the incremental check).
struct BeforeState {
  const State& s;
  const Process& proc(ProcId id) const { return s.procs[id]; }
  const Lwp& lwp(LwpId l) const { return s.lwps[l]; }
  std::size_t lwps_size() const { return s.lwps.size(); }
  const FdTable& fdtable(FdTableId t) const { return s.fdtables[t]; }
  std::optional<ProcId> table_at(Pid pid) const {
    auto it = s.table.find(pid);
    return it == s.table.end() ? std::nullopt : std::optional<ProcId>(it->second);
  }
  const std::vector<Wait>& waits() const { return s.waits; }
  std::size_t console_size() const { return s.console.size(); }
  bool same_as(const State& after) const { return s == after; }
};

struct BeforeFootprint {
  const State& after;
  const Footprint& fp;
  const Process& proc(ProcId id) const {
    const Process* p = fp.proc_before(id);
    return p != nullptr ? *p : after.procs[id];
  }
  const Lwp& lwp(LwpId l) const {
    const Lwp* p = fp.lwp_before(l);
    return p != nullptr ? *p : after.lwps[l];
  }
  std::size_t lwps_size() const { return fp.lwps_before; }
  const FdTable& fdtable(FdTableId t) const {
    const FdTable* p = fp.fdtable_before(t);
    return p != nullptr ? *p : after.fdtables[t];
  }
  std::optional<ProcId> table_at(Pid pid) const { return fp.table_before(pid, after); }
  const std::vector<Wait>& waits() const { return fp.waits ? *fp.waits : after.waits; }
  std::size_t console_size() const { return fp.console_before; }
  bool same_as(const State& a) const { return fp.unchanged(a); }
};

// Which objects the transition checks look at: all of them, or those a footprint names (an object
// the step did not write is unchanged, and every check below compares an object with itself).
struct Scope {
  std::vector<ProcId> procs;
  std::vector<LwpId> lwps;
  std::vector<FdTableId> fdtables;
  std::vector<Pid> pids;  // table entries that may name another process now
};

template <class Before>
const Wait* wait_of(const Before& b, HostId h) {
  for (const Wait& w : b.waits())
    if (w.host == h) return &w;
  return nullptr;
}

template <class Before>
bool was_acknowledged(const Before& before, const Op& op, const State& after, ProcId target) {
  const auto* check = std::get_if<op::SuspendCheck>(&op.body);
  return check != nullptr && check->proc == target && op.actor == Actor::kthread(target) &&
         before.proc(target).kt.suspend_requested && after.procs[target].kt.state == KState::Parked;
}

template <class Before>
void check_transition(const Before& before, const Op& op, const StepResult& res, const State& after, const Scope& scope, Report& r) {
  // R1-R3: nothing freed comes back; what is freed in this step is freed by the op that may free it.
  for (ProcId id : scope.procs) {
    const Process& a = before.proc(id);
    const Process& b = after.procs[id];
    if (a.freed && !b.freed) r.fail(Rule::R3, "proc#{} (pid {}) was freed and is live again", id, a.pid);
    if (!a.freed && b.freed) {
      const bool by_release = std::holds_alternative<op::Release>(op.body) && b.kind == ProcKind::User;
      const bool by_reap = std::holds_alternative<op::Reap>(op.body) && b.kind == ProcKind::Kthread;
      if (!by_release && !by_reap)
        r.fail(Rule::R1, "proc#{} (pid {}) was freed by {}, which frees no process", id, a.pid, op_name(op.body));
    }
  }
  for (LwpId l : scope.lwps)
    if (before.lwp(l).released && !after.lwps[l].released) r.fail(Rule::R2, "lwp#{} was released and is live again", l);
  for (FdTableId t : scope.fdtables)
    if (before.fdtable(t).freed && !after.fdtables[t].freed) r.fail(Rule::R3, "fd table #{} was freed twice", t);
  // A switch reads the lwp before the step whether or not the step wrote it.
  if (const auto* sw = std::get_if<op::Switch>(&op.body); sw && sw->lwp != kNoLwp && res.outcome.returned())
    if (sw->lwp < before.lwps_size() && before.lwp(sw->lwp).released)
      r.fail(Rule::R2, "switch to released lwp#{} succeeded", sw->lwp);
  // R5: a pid that now names another process was free before this step.
  for (Pid pid : scope.pids) {
    auto now = after.table.find(pid);
    if (now == after.table.end()) continue;
    const std::optional<ProcId> old = before.table_at(pid);
    if (old && *old != now->second)
      r.fail(Rule::R5, "pid {} was given to proc#{} while proc#{} still held it", pid, now->second, *old);
  }

  for (ProcId id : scope.procs) {
    const Process& a = before.proc(id);
    const Process& b = after.procs[id];
    if (a.kind != ProcKind::Kthread) continue;
    // S1: a parked thread makes no progress.
    if (a.kt.state == KState::Parked && b.kt.progress != a.kt.progress)
      r.fail(Rule::S1, "kthread pid {} made progress {} -> {} while PARKED", a.pid, a.kt.progress, b.kt.progress);
    // S3: only a resume unparks, and a resume of a parked thread always does.
    const auto* res_op = std::get_if<op::Resume>(&op.body);
    const bool resumed_here = res_op != nullptr && res_op->proc == id && res.outcome.returned() && res.outcome.ret == 0;
    if (a.kt.state == KState::Parked && b.kt.state != KState::Parked && !resumed_here)
      r.fail(Rule::S3, "kthread pid {} left PARKED without a resume ({})", a.pid, to_string(op));
    if (a.kt.state == KState::Parked && resumed_here && b.kt.state == KState::Parked)
      r.fail(Rule::S3, "kthread pid {} is still PARKED after a resume completed (a lost resume)", a.pid);
    // S5: an exited thread runs no further iteration.
    if ((a.kt.state == KState::Zombie || a.kt.state == KState::Reaped) && b.kt.progress != a.kt.progress)
      r.fail(Rule::S5, "kthread pid {} made progress after kthread_exit", a.pid);
  }
  // A resume that returned 0 on a thread parked before, which the step left parked without writing it.
  if (const auto* rsm = std::get_if<op::Resume>(&op.body); rsm && rsm->proc < after.procs.size())
    if (std::find(scope.procs.begin(), scope.procs.end(), rsm->proc) == scope.procs.end() && res.outcome.returned() &&
        res.outcome.ret == 0 && before.proc(rsm->proc).kind == ProcKind::Kthread && before.proc(rsm->proc).kt.state == KState::Parked)
      r.fail(Rule::S3, "kthread pid {} is still PARKED after a resume completed (a lost resume)", before.proc(rsm->proc).pid);

  // S2: every suspend that returned 0 saw an acknowledgement after it began, or found the target
  // parked; every EWOULDBLOCK came from the clock passing its deadline.
  auto judge_suspend = [&](const Outcome& o, ProcId target, bool immediate, HostId host) {
    if (o.ret == 0) {
      const bool parked_at_call = immediate && before.proc(target).kt.state == KState::Parked;
      if (!parked_at_call && !was_acknowledged(before, op, after, target))
        r.fail(Rule::S2, "H{}'s suspend of pid {} returned 0 without an acknowledgement", host, before.proc(target).pid);
    } else if (o.ret == EWOULDBLOCK) {
      const Wait* w = wait_of(before, host);
      if (immediate || !std::holds_alternative<op::Tick>(op.body) || w == nullptr || !w->deadline || *w->deadline > after.now)
        r.fail(Rule::S2, "H{}'s suspend of pid {} returned EWOULDBLOCK before its deadline", host, before.proc(target).pid);
    }
  };
  if (const auto* sus = std::get_if<op::Suspend>(&op.body); sus && res.outcome.returned() && before.proc(sus->proc).kind == ProcKind::Kthread)
    judge_suspend(res.outcome, sus->proc, true, static_cast<HostId>(op.actor.index));
  for (const Completion& c : res.completions)
    if (c.outcome.wait == WaitKind::Suspend) judge_suspend(c.outcome, c.outcome.wait_target, false, c.actor.index);

  // S4: suspend/resume on a non-kthread changes nothing and returns EINVAL.
  auto judge_non_kthread = [&](ProcId p) {
    if (before.proc(p).kind == ProcKind::Kthread) return;
    if (!res.outcome.returned() || res.outcome.ret != EINVAL)
      r.fail(Rule::S4, "{} on non-kthread pid {} returned {} instead of EINVAL", op_name(op.body), before.proc(p).pid, res.outcome.label);
    if (!before.same_as(after)) r.fail(Rule::S4, "{} on non-kthread pid {} changed the state", op_name(op.body), before.proc(p).pid);
  };
  if (const auto* sus = std::get_if<op::Suspend>(&op.body)) judge_non_kthread(sus->proc);
  if (const auto* rsm = std::get_if<op::Resume>(&op.body)) judge_non_kthread(rsm->proc);

  // S5: kthread_exit wakes every waiter for the exit, with 0.
  if (std::holds_alternative<op::KthreadExit>(op.body) && res.outcome.returned()) {
    const ProcId self = op.actor.index;
    for (const Wait& w : before.waits()) {
      if (w.kind != WaitKind::Exit || w.target != self) continue;
      const bool woken = std::any_of(res.completions.begin(), res.completions.end(),
                                     [&](const Completion& c) { return c.actor == Actor::host(w.host) && c.outcome.ret == 0; });
      if (!woken) r.fail(Rule::S5, "H{} waiting for the exit of pid {} was not woken with 0", w.host, before.proc(self).pid);
    }
  }

  // S6: the console lines this step added are exactly the banner of a kproc_shutdown call
  // and one result line for each shutdown whose suspend finished, matching its result.
  std::vector<std::string> expected;
  if (const auto* sh = std::get_if<op::KprocShutdown>(&op.body); sh && !res.outcome.is_fatal()) {
    expected.push_back(fmt::format("Waiting (max 60 seconds) for system process `{}' to stop...", before.proc(sh->proc).comm));
    if (res.outcome.returned()) expected.emplace_back("stopped");
  }
  for (const Completion& c : res.completions)
    if (c.outcome.wait == WaitKind::Shutdown) expected.emplace_back(c.outcome.label == "timed out" ? "timed out" : "stopped");
  const std::size_t had = before.console_size();
  const bool grew_by_expected = after.console.size() == had + expected.size() &&
                                std::equal(expected.begin(), expected.end(), after.console.begin() + static_cast<std::ptrdiff_t>(had));
  if (!grew_by_expected)
    r.fail(Rule::S6, "{} added {} console lines, expected {}", to_string(op), after.console.size() - had, expected.size());
}

}  // namespace lockstep::model::parts
