// SPEC §6 as executable checks. These re-derive each invariant from the state
// rather than trusting the bookkeeping `Model::apply` did, so they also judge
// states that came from somewhere else (a recorded trace, an impl snapshot).
#include "model/invariants.hpp"

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "invariant_parts.hpp"

namespace lockstep::model {

namespace parts {

void check_r1(const State& s, ProcId id, Report& r) {
  const Process& p = s.procs[id];
  if (p.kind == ProcKind::User) {
    const bool live = s.live_lwps(p) > 0;
    if (live == p.freed)
      r.fail(Rule::R1, "user process pid {} (proc#{}) has {} unreleased lwps but is {}", p.pid, id, s.live_lwps(p),
             p.freed ? "freed" : "still in the table");
  }
  if ((p.kind == ProcKind::Kernel || p.kind == ProcKind::Init) && p.freed)
    r.fail(Rule::R1, "process {} was freed; processes 0 and 1 are never freed", p.pid);
}

void check_r2_lwp(const State& s, LwpId l, Report& r) {
  if (s.lwps[l].released && s.lwps[l].bound != kUnbound) r.fail(Rule::R2, "lwp#{} is released but still bound ({})", l, s.lwps[l].bound);
}

void check_hosts(const State& s, Report& r) {
  // R4: host curlwp and lwp binding agree, so no lwp is curlwp of two host threads.
  for (HostId h = 0; h < s.hosts.size(); ++h) {
    const LwpId l = s.hosts[h].curlwp;
    if (l == kNoLwp) continue;
    if (l >= s.lwps.size()) {
      r.fail(Rule::R2, "host H{} has curlwp lwp#{} that was never issued", h, l);
      continue;
    }
    if (s.lwps[l].released) r.fail(Rule::R2, "host H{} has released lwp#{} as curlwp", h, l);
    for (HostId g = 0; g < h; ++g)
      if (s.hosts[g].curlwp == l) r.fail(Rule::R4, "lwp#{} is curlwp of both H{} and H{}", l, g, h);
    if (s.lwps[l].bound != static_cast<std::int32_t>(h))
      r.fail(Rule::R4, "host H{} has curlwp lwp#{} but the lwp is bound to {}", h, l, s.lwps[l].bound);
  }
}

void check_r4_lwp(const State& s, LwpId l, Report& r) {
  const std::int32_t b = s.lwps[l].bound;
  if (b >= 0 && (static_cast<std::size_t>(b) >= s.hosts.size() || s.hosts[b].curlwp != l))
    r.fail(Rule::R4, "lwp#{} claims host H{} which does not have it as curlwp", l, b);
}

void check_r3(const State& s, FdTableId t, int users, Report& r) {
  if (s.fdtables[t].refs != users) r.fail(Rule::R3, "fd table #{} has refcount {} but {} processes use it", t, s.fdtables[t].refs, users);
  if (s.fdtables[t].freed != (users == 0))
    r.fail(Rule::R3, "fd table #{} is {} with {} users", t, s.fdtables[t].freed ? "freed" : "live", users);
}

std::vector<int> fdtable_users(const State& s) {
  std::vector<int> users(s.fdtables.size(), 0);
  for (const auto& [pid, id] : s.table)
    if (id < s.procs.size() && s.procs[id].fdtable < users.size()) ++users[s.procs[id].fdtable];
  return users;
}

void check_r5_proc(const State& s, ProcId id, Report& r) {
  const Process& p = s.procs[id];
  if (p.freed) return;
  auto it = s.table.find(p.pid);
  if (it == s.table.end() || it->second != id) r.fail(Rule::R5, "live proc#{} with pid {} is not what the table names for that pid", id, p.pid);
}

void check_counts(const State& s, std::size_t live, Report& r) {
  if (live != s.table.size()) r.fail(Rule::R5, "{} live processes but {} table entries", live, s.table.size());
  if (s.nprocs != static_cast<int>(s.table.size())) r.fail(Rule::R6, "nprocs is {} but the table holds {} processes", s.nprocs, s.table.size());
}

void check_r6_ppid(const State& s, Pid pid, ProcId id, Report& r) {
  if (!s.table.contains(s.procs[id].ppid)) r.fail(Rule::R6, "pid {} has ppid {} which is not in the table", pid, s.procs[id].ppid);
}

void check_kthread(const State& s, ProcId id, Report& r) {
  const Process& p = s.procs[id];
  if (p.kind != ProcKind::Kthread) return;
  // S3: a resume clears the request and unparks together, so a PARKED thread has its request set.
  if (p.kt.state == KState::Parked && !p.kt.suspend_requested) r.fail(Rule::S3, "kthread pid {} is PARKED without a pending suspend request", p.pid);
  // S5: after exit the thread runs nothing: its lwp is released.
  if ((p.kt.state == KState::Zombie || p.kt.state == KState::Reaped) && s.live_lwps(p) != 0)
    r.fail(Rule::S5, "kthread pid {} is {} but its lwp is not released", p.pid, to_string(p.kt.state));
}

void check_waits(const State& s, Report& r) {
  for (const Wait& w : s.waits) {
    const Process* t = s.proc(w.target);
    if (t == nullptr || t->kind != ProcKind::Kthread) {
      r.fail(Rule::S4, "H{} waits on proc#{}, which is not a kthread", w.host, w.target);
      continue;
    }
    // S2: a parked target has acknowledged, so no suspender can still be waiting for it.
    if (w.kind != WaitKind::Exit && t->kt.state == KState::Parked) r.fail(Rule::S2, "H{} still waits to suspend pid {} which is PARKED", w.host, t->pid);
    // S5: an exit wakes every waiter for it.
    if (w.kind == WaitKind::Exit && (t->kt.state == KState::Zombie || t->kt.state == KState::Reaped))
      r.fail(Rule::S5, "H{} still waits for the exit of pid {} which is {}", w.host, t->pid, to_string(t->kt.state));
    // §5/S2: a wait whose deadline has passed has ended.
    if (w.deadline && *w.deadline <= s.now)
      r.fail(Rule::S2, "H{}'s wait on pid {} passed its deadline {} (now {}) and is still pending", w.host, t->pid, *w.deadline, s.now);
  }
}

void count_console(const std::vector<std::string>& lines, std::size_t from, int& banners, int& results) {
  for (std::size_t i = from; i < lines.size(); ++i) {
    if (lines[i].starts_with("Waiting (max 60 seconds)")) ++banners;
    else if (lines[i] == "stopped" || lines[i] == "timed out") ++results;
  }
}

void check_console(const State& s, int banners, int results, Report& r) {
  // S6: every "Waiting" line is followed, eventually, by one result line; the results never outnumber them.
  const auto pending = std::count_if(s.waits.begin(), s.waits.end(), [](const Wait& w) { return w.kind == WaitKind::Shutdown; });
  if (results + pending != banners)
    r.fail(Rule::S6, "{} kproc_shutdown banners but {} result lines and {} shutdowns still waiting", banners, results, pending);
}

}  // namespace parts

namespace {

using parts::Report;

void check_release(const State& s, Report& r) {
  for (ProcId id = 0; id < s.procs.size(); ++id) parts::check_r1(s, id, r);
  for (LwpId l = 0; l < s.lwps.size(); ++l) parts::check_r2_lwp(s, l, r);
  parts::check_hosts(s, r);
  for (LwpId l = 0; l < s.lwps.size(); ++l) parts::check_r4_lwp(s, l, r);
  const std::vector<int> users = parts::fdtable_users(s);
  for (FdTableId t = 0; t < s.fdtables.size(); ++t) parts::check_r3(s, t, users[t], r);
  std::size_t live = 0;
  for (ProcId id = 0; id < s.procs.size(); ++id) {
    live += s.procs[id].freed ? 0 : 1;
    parts::check_r5_proc(s, id, r);
  }
  parts::check_counts(s, live, r);
  for (const auto& [pid, id] : s.table) parts::check_r6_ppid(s, pid, id, r);
}

void check_suspend(const State& s, Report& r) {
  for (ProcId id = 0; id < s.procs.size(); ++id) parts::check_kthread(s, id, r);
  parts::check_waits(s, r);
  int banners = 0, results = 0;
  parts::count_console(s.console, 0, banners, results);
  parts::check_console(s, banners, results, r);
}

template <class Id>
std::vector<Id> all_ids(std::size_t a, std::size_t b) {
  std::vector<Id> out(std::min(a, b));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<Id>(i);
  return out;
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
  parts::Scope scope;
  scope.procs = all_ids<ProcId>(before.procs.size(), after.procs.size());
  scope.lwps = all_ids<LwpId>(before.lwps.size(), after.lwps.size());
  scope.fdtables = all_ids<FdTableId>(before.fdtables.size(), after.fdtables.size());
  for (const auto& [pid, id] : after.table) scope.pids.push_back(pid);
  parts::check_transition(parts::BeforeState{before}, op, res, after, scope, r);
  return out;
}

std::string to_string(const Violation& v) { return fmt::format("{}: {}", rule_name(v.rule), v.reason); }

}  // namespace lockstep::model
