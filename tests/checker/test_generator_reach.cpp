// The programs `lockstep run` generates must reach the situations the SPEC's rules are
// about, through the same path the campaign uses (choice programs resolved against the
// model). Each figure is a count over 400 programs from a fixed seed: a generator that
// silently stops reaching a case (e.g. an argument drawn past a step's choices) fails here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>

#include "checker/conflict.hpp"
#include "checker/coverage.hpp"
#include "checker/program.hpp"
#include "model/model.hpp"

using namespace lockstep;
using namespace lockstep::checker;
using namespace lockstep::model;

namespace {

// Situations that no single outcome label names, counted while the programs run.
struct Situations {
  int several_lwps = 0;          // a process with >= 3 live lwps
  int shared_table_changed = 0;  // open/close/dup in a process whose fd table another process shares
  int resume_while_waiting = 0;  // a resume of a kthread that a suspender is waiting on
  int handoff = 0;               // a host switches to an lwp that another host created
  int orphaning_release = 0;     // a host releases the last lwp of a process in whose child another host runs
  // Boundaries, where an off-by-one or a special case of an implementation shows:
  int fd_past_ndfile = 0;        // an open or dup when the caller's table already holds fd 20 or more
  int name_at_maxcomlen = 0;     // a kthread named with MAXCOMLEN (19) or MAXCOMLEN + 1 bytes
  int setuid_minus_one = 0;      // setuid((uid_t)-1) by a caller whose uid is 0
  int kthread_other_flags = 0;   // kthread_create with a flag bit other than RFFDG and RFCFDG
  int exit_code_wide = 0;        // kthread_exit with a code outside 0..255
  int timo_past_hz = 0;          // kthread_suspend or kthread_wait_exit with a timeout past one second
  int reap_frees_last_slot = 0;  // a reap of a zombie while the table holds exactly maxproc processes
  int create_at_maxproc = 0;     // kthread_create or kproc_start while the table holds maxproc processes or more
  int release_frees_last_pid = 0;  // a release that frees its process while every pid is taken
};

void observe_step(const State& s, const Op& op, Situations& out) {
  for (const auto& [pid, id] : s.table) {
    if (s.live_lwps(s.procs[id]) >= 3) {
      ++out.several_lwps;
      break;
    }
  }
  if (const auto* ke = std::get_if<op::KthreadExit>(&op.body); ke && (ke->code < 0 || ke->code > 255)) ++out.exit_code_wide;
  if (const auto* su = std::get_if<op::Suspend>(&op.body); su && su->timo > kHz) ++out.timo_past_hz;
  if (const auto* we = std::get_if<op::WaitExit>(&op.body); we && we->timo > kHz) ++out.timo_past_hz;
  if (const auto* rp = std::get_if<op::Reap>(&op.body); rp && s.nprocs == s.maxproc && s.procs[rp->proc].kt.state == KState::Zombie)
    ++out.reap_frees_last_slot;
  if ((std::holds_alternative<op::KthreadCreate>(op.body) || std::holds_alternative<op::KprocStart>(op.body)) && s.nprocs >= s.maxproc)
    ++out.create_at_maxproc;
  if (op.actor.kind != Actor::Kind::Host) return;
  const HostId host = static_cast<HostId>(op.actor.index);
  const FdTable& table = s.fdtables[s.procs[s.current_proc(host)].fdtable];
  if ((std::holds_alternative<op::Open>(op.body) || std::holds_alternative<op::Dup>(op.body)) && table.fds.size() > 20 &&
      std::any_of(table.fds.begin() + 20, table.fds.end(), [](DescId d) { return d != kNoDesc; }))
    ++out.fd_past_ndfile;
  const std::string* name = nullptr;
  if (const auto* kc = std::get_if<op::KthreadCreate>(&op.body)) {
    name = &kc->name;
    if ((kc->flags & ~(1 << 2) & ~(1 << 12)) != 0) ++out.kthread_other_flags;
  }
  if (const auto* ks = std::get_if<op::KprocStart>(&op.body)) name = &ks->name;
  if (name != nullptr && (name->size() == kMaxComLen || name->size() == kMaxComLen + 1)) ++out.name_at_maxcomlen;
  if (const auto* su = std::get_if<op::Setuid>(&op.body); su && su->uid == std::numeric_limits<Uid>::max() && s.procs[s.current_proc(host)].uid == 0)
    ++out.setuid_minus_one;
  const bool fd_change = std::holds_alternative<op::Open>(op.body) || std::holds_alternative<op::Close>(op.body) ||
                         std::holds_alternative<op::Dup>(op.body);
  if (fd_change && s.fdtables[s.procs[s.current_proc(static_cast<HostId>(op.actor.index))].fdtable].refs > 1)
    ++out.shared_table_changed;
  if (std::holds_alternative<op::Release>(op.body)) {
    const HostId h = static_cast<HostId>(op.actor.index);
    std::size_t taken = 0;
    for (const auto& entry : s.table) taken += entry.first >= 2 && entry.first <= s.pid_max;
    const Process& own = s.procs[s.current_proc(h)];
    if (taken + 1 >= static_cast<std::size_t>(s.pid_max) && s.curlwp(h) != kNoLwp && own.kind == ProcKind::User && s.live_lwps(own) == 1)
      ++out.release_frees_last_pid;
    const ProcId p = s.current_proc(h);
    bool child_runs = false;
    for (HostId o = 0; o < s.hosts.size(); ++o)
      child_runs = child_runs || (o != h && s.curlwp(o) != kNoLwp && s.procs[s.current_proc(o)].ppid == s.procs[p].pid);
    if (s.curlwp(h) != kNoLwp && s.live_lwps(s.procs[p]) == 1 && s.procs[p].kind == ProcKind::User && child_runs) ++out.orphaning_release;
  }
  if (const auto* r = std::get_if<op::Resume>(&op.body))
    for (const Wait& w : s.waits)
      if (w.kind == WaitKind::Suspend && w.target == r->proc) {
        ++out.resume_while_waiting;
        break;
      }
}

Coverage reach(std::uint64_t programs, Situations* sit = nullptr) {
  Coverage cov;
  SplitMix src(2024);
  ProgramConfig pc;
  for (std::uint64_t i = 0; i < programs; ++i) {
    const Program p = random_program(src, 100);
    Model m(Config{pc.maxproc, true, pc.pid_max});
    std::map<LwpId, HostId> creator;
    for (const auto& step : p.steps) {
      const Op op = resolve(m.state(), pc, step);
      if (sit) {
        observe_step(m.state(), op, *sit);
        if (const auto* sw = std::get_if<op::Switch>(&op.body); sw && creator.contains(sw->lwp) && creator[sw->lwp] != op.actor.index)
          ++sit->handoff;
      }
      const std::size_t lwps_before = m.state().lwps.size();
      const StepResult r = m.apply(op);
      if (op.actor.kind == Actor::Kind::Host)
        for (LwpId l = static_cast<LwpId>(lwps_before); l < m.state().lwps.size(); ++l) creator[l] = static_cast<HostId>(op.actor.index);
      cov.count(r.outcome);
      for (const Completion& c : r.completions) cov.count(c.outcome);
      if (r.outcome.is_fatal()) break;
    }
  }
  return cov;
}

}  // namespace

TEST(GeneratorReach, EveryRuleAndTheInterestingSituations) {
  const Coverage c = reach(400);
  EXPECT_EQ(c.unreached_rules(), "");
  struct Want {
    Rule rule;
    std::string_view label;
    std::uint64_t at_least;
  };
  const Want wants[] = {
      {Rule::L4, "ok(last lwp)", 200},           // last-lwp releases
      {Rule::L3, "ok", 200},                     // hand-offs: switch to an lwp nobody runs
      {Rule::P1, "EAGAIN", 1},                   // the scaled pid space fills up
      {Rule::K1, "EAGAIN", 5},                   // maxproc reached
      {Rule::K3, "ok(acknowledged)", 50},        // suspend acknowledged after it began
      {Rule::K3, "ok(already parked)", 20},
      {Rule::K3, "EWOULDBLOCK", 50},             // suspend timed out
      {Rule::K8, "ok(exited)", 20},              // exit with waiters
      {Rule::K8, "EWOULDBLOCK", 20},
      {Rule::K7, "stopped", 5},
      {Rule::K7, "timed out", 5},
      {Rule::K4, "ok", 30},                      // resume of a parked thread
      {Rule::K9, "ok", 20},                      // reaped zombies (pids freed for reuse)
      {Rule::P7, "EBADF", 20},
      {Rule::P8, "EPERM", 5},
  };
  for (const Want& w : wants)
    EXPECT_GE(c.hits(w.rule, w.label), w.at_least) << rule_name(w.rule) << " " << w.label << "\n" << c.table();
  for (std::string_view fatal : {"FATAL(L3-null-implicit)", "FATAL(L3-stale)", "FATAL(L3-running)"})
    EXPECT_GE(c.hits(Rule::L3, fatal), 1u) << fatal;
  EXPECT_GE(c.hits(Rule::L4, "FATAL(L4-implicit)"), 1u);
  EXPECT_GE(c.hits(Rule::K5, "FATAL(K5-other)"), 1u);
}

TEST(GeneratorReach, TheSituationsNoOutcomeLabelNames) {
  Situations sit;
  reach(400, &sit);
  std::printf("per 400 programs: several lwps %d, shared table changed %d, resume while waiting %d, hand-offs %d, orphaning releases %d\n",
              sit.several_lwps, sit.shared_table_changed, sit.resume_while_waiting, sit.handoff, sit.orphaning_release);
  std::printf("boundaries: open/dup past fd 20 %d, names of MAXCOMLEN(+1) bytes %d, setuid(-1) by root %d, other kthread flag bits %d, "
              "exit codes outside a byte %d, timeouts past hz %d\n",
              sit.fd_past_ndfile, sit.name_at_maxcomlen, sit.setuid_minus_one, sit.kthread_other_flags, sit.exit_code_wide, sit.timo_past_hz);
  std::printf("full tables: reaps that free the last slot %d, kthread creations at maxproc %d, releases that free a pid when none is free %d\n",
              sit.reap_frees_last_slot, sit.create_at_maxproc, sit.release_frees_last_pid);
  EXPECT_GE(sit.several_lwps, 50) << "processes with several lwps";
  EXPECT_GE(sit.shared_table_changed, 50) << "fd tables shared, then changed by a sharer";
  EXPECT_GE(sit.resume_while_waiting, 10) << "resume while a suspender waits";
  EXPECT_GE(sit.handoff, 100) << "lwps handed between host threads";
  EXPECT_GE(sit.orphaning_release, 40) << "releases of a last lwp whose process's child another host runs in";
  EXPECT_GE(sit.fd_past_ndfile, 15) << "opens and dups in a table past fd 20";
  EXPECT_GE(sit.name_at_maxcomlen, 100) << "kthread names of MAXCOMLEN and MAXCOMLEN + 1 bytes";
  EXPECT_GE(sit.setuid_minus_one, 30) << "setuid((uid_t)-1) by root";
  EXPECT_GE(sit.kthread_other_flags, 3) << "kthread_create with other flag bits";
  EXPECT_GE(sit.exit_code_wide, 3) << "kthread_exit with a code that does not fit a byte";
  EXPECT_GE(sit.timo_past_hz, 20) << "kthread_suspend and kthread_wait_exit with a timeout past one second";
  EXPECT_GE(sit.reap_frees_last_slot, 30) << "reaps of a zombie in a table of exactly maxproc processes";
  EXPECT_GE(sit.create_at_maxproc, 100) << "kthread creations at maxproc (EAGAIN, or K6's panic)";
  EXPECT_GE(sit.release_frees_last_pid, 60) << "releases that free a process while every pid is taken";
}

// A step resolved as a candidate for a round (ChooserConfig::focus) leans on what the round touched.
// Here the round released the last lwp of P, whose child C H0 runs in: the witnesses of a lock gap in
// that release are a call naming P's stale pid (does P still exist?) and H0 asking for its parent.
TEST(GeneratorReach, AFocusedStepAsksWhatTheRoundChanged) {
  ProgramConfig pc;
  Model m(Config{pc.maxproc, true, pc.pid_max});
  auto apply = [&](HostId h, OpBody b) { ASSERT_FALSE(m.apply(Op{Actor::host(h), std::move(b)}).outcome.is_fatal()); };
  apply(0, op::Init{});
  apply(0, op::Rfork{0});  // P, H0 in it
  const ProcId p = m.state().current_proc(0);
  const LwpId p_lwp = m.state().curlwp(0);
  apply(0, op::Rfork{0});  // C, a child of P; H0 moves into it
  const ProcId c = m.state().current_proc(0);
  apply(1, op::Switch{p_lwp});  // H1 holds P's only lwp
  apply(1, op::Release{});      // P is freed, C reparented
  ASSERT_TRUE(m.state().procs[p].freed);
  const Pid p_pid = m.state().procs[p].pid;

  ChooserConfig focused = pc.chooser;
  focused.focus = {std::min(p, c), std::max(p, c)};
  SplitMix src(7);
  int h0_ops = 0, h0_getppid = 0, stale_probes = 0, n = 4000;
  for (int i = 0; i < n; ++i) {
    const Op op = choose_op(m.state(), focused, src);
    if (const auto* nl = std::get_if<op::Newlwp>(&op.body); nl && nl->pid == p_pid) ++stale_probes;
    if (op.actor == Actor::host(0)) {
      ++h0_ops;
      h0_getppid += std::holds_alternative<op::Getppid>(op.body) ? 1 : 0;
    }
  }
  std::printf("of %d focused steps: %d by H0 (in C), %d of them getppid; %d name P's stale pid\n", n, h0_ops, h0_getppid, stale_probes);
  EXPECT_GE(h0_getppid * 4, h0_ops) << "H0 asks for its parent in at least a quarter of its steps";
  EXPECT_GE(stale_probes * 10, n) << "a tenth of the steps ask whether P still exists";

  // Without focus the same state draws nothing of the kind more than usual.
  SplitMix plain_src(7);
  int plain_getppid = 0;
  for (int i = 0; i < n; ++i) plain_getppid += std::holds_alternative<op::Getppid>(choose_op(m.state(), pc.chooser, plain_src).body) ? 1 : 0;
  EXPECT_LT(plain_getppid * 4, h0_getppid) << "focus is what makes the parent link asked";
}

// A round that touched a path leans on it: an open names that path half of the time, so two opens of
// a path that does not exist yet (a race to create it) meet in one round. Focus on a path alone
// draws nothing of the process part (no host is picked for being in focus).
TEST(GeneratorReach, AFocusedOpenNamesThePathTheRoundTouched) {
  ProgramConfig pc;
  Model m(Config{pc.maxproc, true, pc.pid_max});
  ASSERT_FALSE(m.apply(Op{Actor::host(0), op::Init{}}).outcome.is_fatal());
  ChooserConfig focused = pc.chooser;
  focused.focus = {path_object("/b")};
  auto count = [&](const ChooserConfig& c) {
    SplitMix src(7);
    int opens = 0, on_b = 0;
    for (int i = 0; i < 20000; ++i) {
      const Op op = choose_op(m.state(), c, src);
      if (const auto* o = std::get_if<op::Open>(&op.body)) {
        ++opens;
        on_b += o->path == "/b" ? 1 : 0;
      }
    }
    return std::pair{opens, on_b};
  };
  const auto [opens, on_b] = count(focused);
  const auto [plain_opens, plain_on_b] = count(pc.chooser);
  std::printf("focused on /b: %d of %d opens name it; unfocused: %d of %d\n", on_b, opens, plain_on_b, plain_opens);
  ASSERT_GT(opens, 100);
  EXPECT_GE(on_b * 2, opens) << "at least half of the focused opens name the focused path";
  EXPECT_LT(plain_on_b * 3, plain_opens) << "unfocused, /b is one path of four";
}
