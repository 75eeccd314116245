// SPEC §6 as executable checks. These re-derive each invariant from the state
// rather than trusting the bookkeeping `Model::apply` did, so they also judge
// states that came from somewhere else (a recorded trace, an impl snapshot).
#include "model/invariants.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

#include <fmt/format.h>

namespace lockstep::model {

namespace {

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

void check_release(const State& s, Report& r) {
  // R1: a user process is in the table iff it has an unreleased lwp; 0 and 1 are never freed.
  for (ProcId id = 0; id < s.procs.size(); ++id) {
    const Process& p = s.procs[id];
    if (p.kind == ProcKind::User) {
      const bool live = s.live_lwps(p) > 0;
      if (live == p.freed)
        r.fail(Rule::R1, "user process pid {} (proc#{}) has {} unreleased lwps but is {}", p.pid, id,
               s.live_lwps(p), p.freed ? "freed" : "still in the table");
    }
    if ((p.kind == ProcKind::Kernel || p.kind == ProcKind::Init) && p.freed)
      r.fail(Rule::R1, "process {} was freed; processes 0 and 1 are never freed", p.pid);
  }
  // R2: a released lwp is bound to no host thread.
  for (LwpId l = 0; l < s.lwps.size(); ++l)
    if (s.lwps[l].released && s.lwps[l].bound != kUnbound)
      r.fail(Rule::R2, "lwp#{} is released but still bound ({})", l, s.lwps[l].bound);
  // R4: host curlwp and lwp binding agree, so no lwp is curlwp of two host threads.
  std::map<LwpId, HostId> owner;
  for (HostId h = 0; h < s.hosts.size(); ++h) {
    const LwpId l = s.hosts[h].curlwp;
    if (l == kNoLwp) continue;
    if (l >= s.lwps.size()) {
      r.fail(Rule::R2, "host H{} has curlwp lwp#{} that was never issued", h, l);
      continue;
    }
    if (s.lwps[l].released) r.fail(Rule::R2, "host H{} has released lwp#{} as curlwp", h, l);
    if (auto [it, fresh] = owner.emplace(l, h); !fresh)
      r.fail(Rule::R4, "lwp#{} is curlwp of both H{} and H{}", l, it->second, h);
    if (s.lwps[l].bound != static_cast<std::int32_t>(h))
      r.fail(Rule::R4, "host H{} has curlwp lwp#{} but the lwp is bound to {}", h, l, s.lwps[l].bound);
  }
  for (LwpId l = 0; l < s.lwps.size(); ++l) {
    const std::int32_t b = s.lwps[l].bound;
    if (b >= 0 && (static_cast<std::size_t>(b) >= s.hosts.size() || s.hosts[b].curlwp != l))
      r.fail(Rule::R4, "lwp#{} claims host H{} which does not have it as curlwp", l, b);
  }
  // R3 (state part): each fd table's reference count is the number of processes in the table
  // that use it, and it is freed exactly when that number is 0.
  std::vector<int> users(s.fdtables.size(), 0);
  for (const auto& [pid, id] : s.table) ++users[s.procs[id].fdtable];
  for (FdTableId t = 0; t < s.fdtables.size(); ++t) {
    if (s.fdtables[t].refs != users[t])
      r.fail(Rule::R3, "fd table #{} has refcount {} but {} processes use it", t, s.fdtables[t].refs, users[t]);
    if (s.fdtables[t].freed != (users[t] == 0))
      r.fail(Rule::R3, "fd table #{} is {} with {} users", t, s.fdtables[t].freed ? "freed" : "live", users[t]);
  }
  // R5: the table maps each pid to one live process holding that pid, and every live process is in it.
  std::size_t live = 0;
  for (ProcId id = 0; id < s.procs.size(); ++id) {
    const Process& p = s.procs[id];
    if (p.freed) continue;
    ++live;
    auto it = s.table.find(p.pid);
    if (it == s.table.end() || it->second != id)
      r.fail(Rule::R5, "live proc#{} with pid {} is not what the table names for that pid", id, p.pid);
  }
  if (live != s.table.size()) r.fail(Rule::R5, "{} live processes but {} table entries", live, s.table.size());
  // R6: nprocs counts the table; every ppid names a process in it.
  if (s.nprocs != static_cast<int>(s.table.size()))
    r.fail(Rule::R6, "nprocs is {} but the table holds {} processes", s.nprocs, s.table.size());
  for (const auto& [pid, id] : s.table)
    if (!s.table.contains(s.procs[id].ppid))
      r.fail(Rule::R6, "pid {} has ppid {} which is not in the table", pid, s.procs[id].ppid);
}

void check_suspend(const State& s, Report& r) {
  for (ProcId id = 0; id < s.procs.size(); ++id) {
    const Process& p = s.procs[id];
    if (p.kind != ProcKind::Kthread) continue;
    // S3: a resume clears the request and unparks together, so a PARKED thread has its request set.
    if (p.kt.state == KState::Parked && !p.kt.suspend_requested)
      r.fail(Rule::S3, "kthread pid {} is PARKED without a pending suspend request", p.pid);
    // S5: after exit the thread runs nothing: its lwp is released.
    if ((p.kt.state == KState::Zombie || p.kt.state == KState::Reaped) && s.live_lwps(p) != 0)
      r.fail(Rule::S5, "kthread pid {} is {} but its lwp is not released", p.pid, to_string(p.kt.state));
  }
  for (const Wait& w : s.waits) {
    const Process* t = s.proc(w.target);
    if (t == nullptr || t->kind != ProcKind::Kthread) {
      r.fail(Rule::S4, "H{} waits on proc#{}, which is not a kthread", w.host, w.target);
      continue;
    }
    // S2: a parked target has acknowledged, so no suspender can still be waiting for it.
    if (w.kind != WaitKind::Exit && t->kt.state == KState::Parked)
      r.fail(Rule::S2, "H{} still waits to suspend pid {} which is PARKED", w.host, t->pid);
    // S5: an exit wakes every waiter for it.
    if (w.kind == WaitKind::Exit && (t->kt.state == KState::Zombie || t->kt.state == KState::Reaped))
      r.fail(Rule::S5, "H{} still waits for the exit of pid {} which is {}", w.host, t->pid, to_string(t->kt.state));
    // §5/S2: a wait whose deadline has passed has ended.
    if (w.deadline && *w.deadline <= s.now)
      r.fail(Rule::S2, "H{}'s wait on pid {} passed its deadline {} (now {}) and is still pending", w.host, t->pid,
             *w.deadline, s.now);
  }
  // S6: every "Waiting" line is followed, eventually, by one result line; the results never outnumber them.
  int banners = 0, results = 0;
  for (const std::string& line : s.console) {
    if (line.starts_with("Waiting (max 60 seconds)")) ++banners;
    else if (line == "stopped" || line == "timed out") ++results;
  }
  const auto pending = std::count_if(s.waits.begin(), s.waits.end(),
                                     [](const Wait& w) { return w.kind == WaitKind::Shutdown; });
  if (results + pending != banners)
    r.fail(Rule::S6, "{} kproc_shutdown banners but {} result lines and {} shutdowns still waiting", banners, results,
           pending);
}

bool was_acknowledged(const State& before, const Op& op, const State& after, ProcId target) {
  const auto* check = std::get_if<op::SuspendCheck>(&op.body);
  return check != nullptr && check->proc == target && op.actor == Actor::kthread(target) &&
         before.procs[target].kt.suspend_requested && after.procs[target].kt.state == KState::Parked;
}

void check_transition(const State& before, const Op& op, const StepResult& res, const State& after, Report& r) {
  // R1-R3: nothing freed comes back; what is freed in this step is freed by the op that may free it.
  for (ProcId id = 0; id < before.procs.size() && id < after.procs.size(); ++id) {
    const Process& a = before.procs[id];
    const Process& b = after.procs[id];
    if (a.freed && !b.freed) r.fail(Rule::R3, "proc#{} (pid {}) was freed and is live again", id, a.pid);
    if (!a.freed && b.freed) {
      const bool by_release = std::holds_alternative<op::Release>(op.body) && b.kind == ProcKind::User;
      const bool by_reap = std::holds_alternative<op::Reap>(op.body) && b.kind == ProcKind::Kthread;
      if (!by_release && !by_reap)
        r.fail(Rule::R1, "proc#{} (pid {}) was freed by {}, which frees no process", id, a.pid, op_name(op.body));
    }
  }
  for (LwpId l = 0; l < before.lwps.size() && l < after.lwps.size(); ++l)
    if (before.lwps[l].released && !after.lwps[l].released) r.fail(Rule::R2, "lwp#{} was released and is live again", l);
  for (FdTableId t = 0; t < before.fdtables.size() && t < after.fdtables.size(); ++t)
    if (before.fdtables[t].freed && !after.fdtables[t].freed) r.fail(Rule::R3, "fd table #{} was freed twice", t);
  if (const auto* sw = std::get_if<op::Switch>(&op.body); sw && sw->lwp != kNoLwp && res.outcome.returned())
    if (sw->lwp < before.lwps.size() && before.lwps[sw->lwp].released)
      r.fail(Rule::R2, "switch to released lwp#{} succeeded", sw->lwp);
  // R5: a pid that now names another process was free before this step.
  for (const auto& [pid, id] : after.table) {
    auto old = before.table.find(pid);
    if (old != before.table.end() && old->second != id)
      r.fail(Rule::R5, "pid {} was given to proc#{} while proc#{} still held it", pid, id, old->second);
  }

  for (ProcId id = 0; id < before.procs.size() && id < after.procs.size(); ++id) {
    const Process& a = before.procs[id];
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

  // S2: every suspend that returned 0 saw an acknowledgement after it began, or found the target
  // parked; every EWOULDBLOCK came from the clock passing its deadline.
  auto judge_suspend = [&](const Outcome& o, ProcId target, bool immediate, HostId host) {
    if (o.ret == 0) {
      const bool parked_at_call = immediate && before.procs[target].kt.state == KState::Parked;
      if (!parked_at_call && !was_acknowledged(before, op, after, target))
        r.fail(Rule::S2, "H{}'s suspend of pid {} returned 0 without an acknowledgement", host, before.procs[target].pid);
    } else if (o.ret == EWOULDBLOCK) {
      const Wait* w = before.wait_of(host);
      if (immediate || !std::holds_alternative<op::Tick>(op.body) || w == nullptr || !w->deadline ||
          *w->deadline > after.now)
        r.fail(Rule::S2, "H{}'s suspend of pid {} returned EWOULDBLOCK before its deadline", host,
               before.procs[target].pid);
    }
  };
  if (const auto* sus = std::get_if<op::Suspend>(&op.body);
      sus && res.outcome.returned() && before.procs[sus->proc].kind == ProcKind::Kthread)
    judge_suspend(res.outcome, sus->proc, true, static_cast<HostId>(op.actor.index));
  for (const Completion& c : res.completions)
    if (c.outcome.wait == WaitKind::Suspend) judge_suspend(c.outcome, c.outcome.wait_target, false, c.actor.index);

  // S4: suspend/resume on a non-kthread changes nothing and returns EINVAL.
  auto judge_non_kthread = [&](ProcId p) {
    if (before.procs[p].kind == ProcKind::Kthread) return;
    if (!res.outcome.returned() || res.outcome.ret != EINVAL)
      r.fail(Rule::S4, "{} on non-kthread pid {} returned {} instead of EINVAL", op_name(op.body), before.procs[p].pid,
             res.outcome.label);
    if (!(before == after)) r.fail(Rule::S4, "{} on non-kthread pid {} changed the state", op_name(op.body), before.procs[p].pid);
  };
  if (const auto* sus = std::get_if<op::Suspend>(&op.body)) judge_non_kthread(sus->proc);
  if (const auto* rsm = std::get_if<op::Resume>(&op.body)) judge_non_kthread(rsm->proc);

  // S5: kthread_exit wakes every waiter for the exit, with 0.
  if (std::holds_alternative<op::KthreadExit>(op.body) && res.outcome.returned()) {
    const ProcId self = op.actor.index;
    for (const Wait& w : before.waits) {
      if (w.kind != WaitKind::Exit || w.target != self) continue;
      const bool woken = std::any_of(res.completions.begin(), res.completions.end(), [&](const Completion& c) {
        return c.actor == Actor::host(w.host) && c.outcome.ret == 0;
      });
      if (!woken) r.fail(Rule::S5, "H{} waiting for the exit of pid {} was not woken with 0", w.host, before.procs[self].pid);
    }
  }

  // S6: the console lines this step added are exactly the banner of a kproc_shutdown call
  // and one result line for each shutdown whose suspend finished, matching its result.
  std::vector<std::string> expected;
  if (const auto* sh = std::get_if<op::KprocShutdown>(&op.body); sh && !res.outcome.is_fatal()) {
    expected.push_back(fmt::format("Waiting (max 60 seconds) for system process `{}' to stop...", before.procs[sh->proc].comm));
    if (res.outcome.returned()) expected.emplace_back("stopped");
  }
  for (const Completion& c : res.completions)
    if (c.outcome.wait == WaitKind::Shutdown) expected.emplace_back(c.outcome.label == "timed out" ? "timed out" : "stopped");
  const bool grew_by_expected =
      after.console.size() == before.console.size() + expected.size() &&
      std::equal(expected.begin(), expected.end(), after.console.begin() + static_cast<std::ptrdiff_t>(before.console.size()));
  if (!grew_by_expected)
    r.fail(Rule::S6, "{} added {} console lines, expected {}", to_string(op), after.console.size() - before.console.size(),
           expected.size());
}

}  // namespace

std::vector<Violation> check_state(const State& s) {
  std::vector<Violation> out;
  if (!s.initialized) return out;
  Report r(out);
  check_release(s, r);
  check_suspend(s, r);
  return out;
}

std::vector<Violation> check_step(const State& before, const Op& op, const StepResult& res, const State& after) {
  std::vector<Violation> out;
  if (!before.initialized || !after.initialized) return out;
  if (res.outcome.kind == OutcomeKind::NotRunnable || res.outcome.kind == OutcomeKind::Dead) {
    if (!(before == after)) out.push_back(Violation{Rule::P0, "a step that was not run changed the state"});
    return out;
  }
  Report r(out);
  check_transition(before, op, res, after, r);
  return out;
}

std::string to_string(const Violation& v) { return fmt::format("{}: {}", rule_name(v.rule), v.reason); }

}  // namespace lockstep::model
