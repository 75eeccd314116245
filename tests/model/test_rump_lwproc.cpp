// SPEC §1 initial state and §3 P0, P1, P2, L3, L4, L5, P6: the rump lwp/process
// operations, one suite per rule, then scenarios written from rump_lwproc(3).
#include <fmt/format.h>

#include "helpers.hpp"

namespace lockstep::model::testing {
namespace {

// ---- §1 initial state ---------------------------------------------------------------

TEST(InitialState, MatchesSection1) {
  Checked m;
  const State& s = m.state();
  ASSERT_EQ(s.nprocs, 2);
  const Process& p0 = m.pid(0);
  EXPECT_EQ(p0.comm, "swapper");
  EXPECT_EQ(p0.kind, ProcKind::Kernel);
  EXPECT_EQ(p0.ppid, 0);
  ASSERT_EQ(p0.lwps.size(), 1u);
  EXPECT_EQ(s.lwps[p0.lwps[0]].bound, kUnbound);  // lwp0 is never bound to a host thread
  EXPECT_TRUE(s.fdtables[p0.fdtable].fds.empty());
  const Process& p1 = m.pid(1);
  EXPECT_EQ(p1.comm, "");
  EXPECT_EQ(p1.kind, ProcKind::Init);
  EXPECT_EQ(p1.ppid, 0);
  EXPECT_TRUE(p1.lwps.empty());
  const auto& fds = s.fdtables[p1.fdtable].fds;
  ASSERT_EQ(fds.size(), 3u);
  EXPECT_EQ(fds[0], fds[1]);  // one open description of /dev/console behind 0, 1 and 2
  EXPECT_EQ(fds[1], fds[2]);
  EXPECT_EQ(s.files[s.descs[fds[0]]].path, "/dev/console");
  EXPECT_EQ(s.files[s.descs[fds[0]]].size, 0);
  EXPECT_EQ(p0.uid, 0u);
  EXPECT_EQ(p1.uid, 0u);
  EXPECT_EQ(s.now, 0);
  EXPECT_TRUE(check_state(s).empty());
}

// ---- P0 -----------------------------------------------------------------------------

TEST(P0, AnyCallBeforeInitIsFatalAndKillsTheInstance) {
  for (const OpBody& body : {OpBody{op::Getpid{}}, OpBody{op::Rfork{0}}, OpBody{op::Curlwp{}},
                             OpBody{op::KthreadCreate{0, "k"}}}) {
    Model m(Config{.initialized = false});
    const Op o = host(0, body);
    SCOPED_TRACE(to_string(o));
    const StepResult r = m.apply(o);
    EXPECT_EQ(r.outcome.kind, OutcomeKind::Fatal);
    EXPECT_EQ(r.outcome.fatal, Fatal::P0Uninit);
    EXPECT_EQ(r.outcome.rule, Rule::P0);
    EXPECT_EQ(m.state().fatal, Fatal::P0Uninit);
    // Dead afterwards: even rump_init does nothing.
    EXPECT_EQ(m.apply(host(0, op::Init{})).outcome.kind, OutcomeKind::Dead);
  }
}

TEST(P0, InitThenOperationsWork) {
  Model m(Config{.maxproc = 5, .initialized = false});
  ASSERT_EQ(m.apply(host(0, op::Init{})).outcome.kind, OutcomeKind::Returned);
  EXPECT_EQ(m.state().nprocs, 2);
  EXPECT_EQ(m.state().maxproc, 5);
  EXPECT_EQ(m.apply(host(0, op::Getpid{})).outcome.ret, 1);
  EXPECT_TRUE(check_state(m.state()).empty());
}

TEST(P0, InitIsIdempotent) {
  Checked m;
  m.rfork(0);
  const State before = m.state();
  const Outcome o = m(host(1, op::Init{}));
  EXPECT_TRUE(o.returned());
  EXPECT_EQ(o.ret, 0);
  EXPECT_EQ(m.state(), before);  // a second rump_init() resets nothing
}

// ---- P1 -----------------------------------------------------------------------------

TEST(P1, InvalidFlagsAreEinvalWithNoChange) {
  for (int flags : {3, 4, -1, 0x100, kRffdg, kRfcfdg}) {
    Checked m;
    const State before = m.state();
    const Outcome o = m(host(0, op::Rfork{flags}));
    SCOPED_TRACE(flags);
    EXPECT_TRUE(o.returned());
    EXPECT_EQ(o.ret, EINVAL);
    EXPECT_EQ(o.rule, Rule::P1);
    EXPECT_EQ(m.state(), before);
  }
}

TEST(P1, NewProcessFromImplicitContext) {
  Checked m;
  const Outcome o = m(host(0, op::Rfork{0}));
  ASSERT_EQ(o.ret, 0);
  EXPECT_EQ(o.rule, Rule::P1);
  const Process& p = m.pid(2);  // the first pid handed out
  EXPECT_EQ(p.ppid, 1);         // the implicit context is pid 1
  EXPECT_EQ(p.comm, "rumproc");  // pid 1's comm is empty
  EXPECT_EQ(p.kind, ProcKind::User);
  ASSERT_EQ(p.lwps.size(), 1u);
  const Lwp& l = m.state().lwps[p.lwps[0]];
  EXPECT_EQ(l.lid, 1);
  EXPECT_EQ(l.bound, 0);
  EXPECT_EQ(m.state().curlwp(0), p.lwps[0]);
  EXPECT_EQ(m.getpid(0), 2);
  EXPECT_EQ(m(host(0, op::Getppid{})).ret, 1);
  EXPECT_EQ(m.state().nprocs, 3);
}

TEST(P1, PidsIncreaseFromTwo) {
  Checked m;
  EXPECT_EQ(m.model().reference_pid(), 2);
  EXPECT_EQ(m.rfork(0), 2);
  EXPECT_EQ(m.rfork(1), 3);
  EXPECT_EQ(m.rfork(0), 4);  // from pid 2's lwp: not limited to the implicit context
}

TEST(P1, AllocatorSkipsPidsInTheTable) {
  Checked m;
  ASSERT_EQ(m(host(0, op::Rfork{}), Choice{.pid = 4}).ret, 0);  // cursor now at 5
  ASSERT_EQ(m(host(1, op::Rfork{}), Choice{.pid = 2}).ret, 0);  // cursor now at 3
  EXPECT_EQ(m.rfork(2), 3);
  EXPECT_EQ(m.model().reference_pid(), 5);  // 4 is taken
  EXPECT_EQ(m.rfork(3), 5);
}

TEST(P1, AllocatorWrapsFromPidMaxToTwo) {
  Checked m;
  ASSERT_EQ(m(host(0, op::Rfork{}), Choice{.pid = kPidMax - 1}).ret, 0);
  EXPECT_EQ(m.rfork(1), kPidMax);
  EXPECT_EQ(m.rfork(2), 2);
  EXPECT_EQ(m.rfork(3), 3);
}

TEST(P1, WrapSkipsPidsStillInTheTable) {
  Checked m;
  EXPECT_EQ(m.rfork(0), 2);
  ASSERT_EQ(m(host(1, op::Rfork{}), Choice{.pid = kPidMax}).ret, 0);  // cursor wraps to 2, which is taken
  EXPECT_EQ(m.rfork(2), 3);
}

TEST(P1, ChoiceBindsAnAllowedPid) {
  Checked m;
  EXPECT_TRUE(m.model().pid_allowed(777));
  ASSERT_EQ(m(host(0, op::Rfork{}), Choice{.pid = 777}).ret, 0);
  EXPECT_EQ(m.getpid(0), 777);
  EXPECT_EQ(m.model().reference_pid(), 778);  // the cursor moves past a bound choice
}

TEST(P1, ChoiceOfADisallowedPidIsNotRunnable) {
  Checked m;
  m.rfork(0);  // pid 2
  for (Pid bad : {0, 1, 2, -5, kPidMax + 1}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(m.model().pid_allowed(bad));
    const State before = m.state();
    const Outcome o = m(host(1, op::Rfork{}), Choice{.pid = bad});
    EXPECT_EQ(o.kind, OutcomeKind::NotRunnable);
    EXPECT_EQ(m.state(), before);
  }
  // Why: a pid in use breaks R5; one outside 2..PID_MAX breaks P1 (a checker names that rule).
  EXPECT_EQ(m.model().pid_refusal(2), (std::pair<Rule, std::string>{Rule::R5, "pid 2 (in use)"}));
  EXPECT_EQ(m.model().pid_refusal(kPidMax + 1).first, Rule::P1);
  EXPECT_EQ(m.model().pid_refusal(1).second, fmt::format("pid 1 (outside 2..{})", kPidMax));
}

TEST(P1, CommIsInheritedFromTheParent) {
  Checked m;
  ASSERT_EQ(m(host(0, op::Newlwp{0})).ret, 0);  // H0 now runs in process 0, "swapper"
  const Pid child = m.rfork(0);
  EXPECT_EQ(m.pid(child).comm, "swapper");
  EXPECT_EQ(m.pid(child).ppid, 0);
  const Pid grandchild = m.rfork(0);
  EXPECT_EQ(m.pid(grandchild).comm, "swapper");
  EXPECT_EQ(m.pid(grandchild).ppid, child);
  // And a "rumproc" parent hands down "rumproc".
  const Pid r = m.rfork(1);
  const Pid r2 = m.rfork(1);
  EXPECT_EQ(m.pid(r2).comm, "rumproc");
  EXPECT_EQ(m.pid(r2).ppid, r);
}

TEST(P1, TheOldCurlwpIsSwitchedAwayFromNotReleased) {
  Checked m;
  m.rfork(0);
  const LwpId first = m.state().curlwp(0);
  m.rfork(0);
  EXPECT_NE(m.state().curlwp(0), first);
  EXPECT_EQ(m.state().lwps[first].bound, kUnbound);
  EXPECT_FALSE(m.state().lwps[first].released);
  EXPECT_NE(m.state().by_pid(2), nullptr);  // its process lives on
}

TEST(P1, NotLimitedByMaxprocButCounted) {
  Checked m(Config{.maxproc = 3});
  for (int i = 0; i < 5; ++i) ASSERT_EQ(m(host(0, op::Rfork{})).ret, 0) << i;
  EXPECT_EQ(m.state().nprocs, 7);
}

// ---- P2 -----------------------------------------------------------------------------

TEST(P2, UnknownPidIsEsrchWithNoChange) {
  Checked m;
  for (Pid pid : {2, 12345, -1, kPidMax}) {
    const State before = m.state();
    const Outcome o = m(host(0, op::Newlwp{pid}));
    EXPECT_EQ(o.ret, ESRCH) << pid;
    EXPECT_EQ(o.rule, Rule::P2);
    EXPECT_EQ(m.state(), before);
  }
}

TEST(P2, KthreadAcceptsNoNewLwpsEbusy) {
  Checked m;
  const ProcId k = m.kthread("kt");
  const State before = m.state();
  const Outcome o = m(host(0, op::Newlwp{m.proc(k).pid}));
  EXPECT_EQ(o.ret, EBUSY);
  EXPECT_EQ(o.rule, Rule::P2);
  EXPECT_EQ(m.state(), before);
}

TEST(P2, NewlwpOnProcessesZeroAndOne) {
  Checked m;
  ASSERT_EQ(m(host(0, op::Newlwp{0})).ret, 0);
  const LwpId l0 = m.state().curlwp(0);
  EXPECT_EQ(m.state().lwps[l0].proc, 0u);
  EXPECT_EQ(m.state().lwps[l0].lid, 2);  // lwp0 holds lid 1
  EXPECT_EQ(m.getpid(0), 0);
  ASSERT_EQ(m(host(1, op::Newlwp{1})).ret, 0);
  const LwpId l1 = m.state().curlwp(1);
  EXPECT_EQ(m.state().lwps[l1].proc, 1u);
  EXPECT_EQ(m.state().lwps[l1].lid, 1);
  EXPECT_EQ(m.getpid(1), 1);
}

TEST(P2, LidsIncreaseAndAreNeverReused) {
  Checked m;
  const Pid p = m.rfork(0);
  ASSERT_EQ(m(host(0, op::Newlwp{p})).ret, 0);
  EXPECT_EQ(m.state().lwps[m.state().curlwp(0)].lid, 2);
  ASSERT_EQ(m(host(0, op::Release{})).ret, 0);  // lid 2 released; lid 1 keeps the process alive
  ASSERT_EQ(m(host(0, op::Newlwp{p})).ret, 0);
  EXPECT_EQ(m.state().lwps[m.state().curlwp(0)].lid, 3);
  // Another process counts its own lids from 1.
  m.rfork(1);
  EXPECT_EQ(m.state().lwps[m.state().curlwp(1)].lid, 1);
}

TEST(P2, SwitchesTheCallerToTheNewLwp) {
  Checked m;
  const Pid p = m.rfork(0);
  const LwpId old = m.state().curlwp(0);
  ASSERT_EQ(m(host(0, op::Newlwp{1})).ret, 0);
  EXPECT_EQ(m.state().lwps[old].bound, kUnbound);
  EXPECT_EQ(m.getpid(0), 1);
  EXPECT_NE(m.state().by_pid(p), nullptr);
}

// ---- L3 -----------------------------------------------------------------------------

TEST(L3, SwitchNullFromImplicitIsFatal) {
  Checked m;
  const Outcome o = m(host(0, op::Switch{kNoLwp}));
  EXPECT_EQ(o.kind, OutcomeKind::Fatal);
  EXPECT_EQ(o.fatal, Fatal::L3NullImplicit);
  EXPECT_EQ(o.rule, Rule::L3);
  EXPECT_EQ(m(host(1, op::Getpid{})).kind, OutcomeKind::Dead);
}

TEST(L3, SwitchToAReleasedLwpIsStale) {
  Checked m;
  const Pid p = m.rfork(0);
  ASSERT_EQ(m(host(0, op::Newlwp{p})).ret, 0);
  const LwpId l = m.state().curlwp(0);
  ASSERT_EQ(m(host(0, op::Release{})).ret, 0);
  const Outcome o = m(host(1, op::Switch{l}));
  EXPECT_EQ(o.kind, OutcomeKind::Fatal);
  EXPECT_EQ(o.fatal, Fatal::L3Stale);
}

TEST(L3, SwitchToANeverIssuedLwpIsStale) {
  Checked m;
  const Outcome o = m(host(0, op::Switch{9999}));
  EXPECT_EQ(o.kind, OutcomeKind::Fatal);
  EXPECT_EQ(o.fatal, Fatal::L3Stale);
}

TEST(L3, SwitchToAnLwpBoundToAnotherHostIsRunning) {
  Checked m;
  m.rfork(0);
  const Outcome o = m(host(1, op::Switch{m.state().curlwp(0)}));
  EXPECT_EQ(o.kind, OutcomeKind::Fatal);
  EXPECT_EQ(o.fatal, Fatal::L3Running);
}

TEST(L3, SwitchToOwnCurlwpIsRunning) {
  Checked m;
  m.rfork(0);
  const Outcome o = m(host(0, op::Switch{m.state().curlwp(0)}));
  EXPECT_EQ(o.kind, OutcomeKind::Fatal);
  EXPECT_EQ(o.fatal, Fatal::L3Running);
}

TEST(L3, SwitchNullThenBack) {
  Checked m;
  const Pid p = m.rfork(0);
  const LwpId l = m.state().curlwp(0);
  const Outcome n = m(host(0, op::Switch{kNoLwp}));
  ASSERT_TRUE(n.returned());
  EXPECT_EQ(m.state().curlwp(0), kNoLwp);
  EXPECT_EQ(m.state().lwps[l].bound, kUnbound);
  EXPECT_EQ(m.getpid(0), 1);
  EXPECT_NE(m.state().by_pid(p), nullptr);  // switching away frees nothing
  ASSERT_TRUE(m(host(0, op::Switch{l})).returned());
  EXPECT_EQ(m.state().curlwp(0), l);
  EXPECT_EQ(m.state().lwps[l].bound, 0);
  EXPECT_EQ(m.getpid(0), p);
}

TEST(L3, SwitchToAnotherLwpUnbindsTheOld) {
  Checked m;
  m.rfork(0);
  const LwpId a = m.state().curlwp(0);
  m.rfork(0);
  const LwpId b = m.state().curlwp(0);
  ASSERT_TRUE(m(host(0, op::Switch{a})).returned());
  EXPECT_EQ(m.state().lwps[b].bound, kUnbound);
  EXPECT_EQ(m.state().lwps[a].bound, 0);
  EXPECT_EQ(m.getpid(0), 2);
}

TEST(L3, SwitchToLwp0RunsInProcessZero) {
  Checked m;
  ASSERT_TRUE(m(host(0, op::Switch{0})).returned());
  EXPECT_EQ(m.getpid(0), 0);
  EXPECT_EQ(m.state().lwps[0].bound, 0);
}

// ---- L4 -----------------------------------------------------------------------------

TEST(L4, ReleaseInImplicitContextIsFatal) {
  Checked m;
  const Outcome o = m(host(0, op::Release{}));
  EXPECT_EQ(o.kind, OutcomeKind::Fatal);
  EXPECT_EQ(o.fatal, Fatal::L4Implicit);
  EXPECT_EQ(o.rule, Rule::L4);
}

TEST(L4, ReleaseAfterSwitchNullIsFatal) {
  Checked m;
  m.rfork(0);
  ASSERT_TRUE(m(host(0, op::Switch{kNoLwp})).returned());
  EXPECT_EQ(m(host(0, op::Release{})).fatal, Fatal::L4Implicit);
}

TEST(L4, LastLwpReleaseFreesTheProcess) {
  Checked m;
  const Pid parent = m.rfork(0);
  const ProcId parent_id = m.state().table.at(parent);
  const LwpId pl = m.state().curlwp(0);
  const Pid child = m.rfork(0);  // shares the parent's fd table (flags 0)
  const FdTableId shared = m.pid(child).fdtable;
  ASSERT_EQ(m.state().fdtables[shared].refs, 3);  // pid 1, parent, child
  ASSERT_TRUE(m(host(0, op::Switch{pl})).returned());
  const Outcome o = m(host(0, op::Release{}));
  EXPECT_EQ(o.ret, 0);
  EXPECT_EQ(m.state().by_pid(parent), nullptr);
  EXPECT_TRUE(m.proc(parent_id).freed);
  EXPECT_TRUE(m.state().lwps[pl].released);
  EXPECT_EQ(m.state().curlwp(0), kNoLwp);
  EXPECT_EQ(m.pid(child).ppid, 1);  // orphans go to init
  EXPECT_EQ(m.state().fdtables[shared].refs, 2);
  EXPECT_FALSE(m.state().fdtables[shared].freed);
  EXPECT_EQ(m.state().nprocs, 3);
  EXPECT_TRUE(m.model().pid_allowed(parent));
}

TEST(L4, LastLwpReleaseFreesAnUnsharedFdTable) {
  Checked m;
  const Pid p = m.rfork(0, kRumpRfcfdg);
  const FdTableId t = m.pid(p).fdtable;
  ASSERT_EQ(m(host(0, op::Release{})).ret, 0);
  EXPECT_TRUE(m.state().fdtables[t].freed);
  EXPECT_EQ(m.state().fdtables[t].refs, 0);
}

TEST(L4, NonLastReleaseKeepsTheProcess) {
  Checked m;
  const Pid p = m.rfork(0);
  ASSERT_EQ(m(host(0, op::Newlwp{p})).ret, 0);
  const LwpId l = m.state().curlwp(0);
  ASSERT_EQ(m(host(0, op::Release{})).ret, 0);
  EXPECT_TRUE(m.state().lwps[l].released);
  EXPECT_EQ(m.state().lwps[l].bound, kUnbound);
  EXPECT_NE(m.state().by_pid(p), nullptr);
  EXPECT_EQ(m.getpid(0), 1);  // back to IMPLICIT
}

TEST(L4, ProcessesZeroAndOneAreNeverFreed) {
  Checked m;
  for (Pid pid : {0, 1}) {
    ASSERT_EQ(m(host(0, op::Newlwp{pid})).ret, 0);
    ASSERT_EQ(m(host(0, op::Release{})).ret, 0);
    EXPECT_NE(m.state().by_pid(pid), nullptr) << pid;
  }
  EXPECT_EQ(m.state().nprocs, 2);
}

// ---- L5 / P6 ------------------------------------------------------------------------

TEST(L5, CurlwpIsNullWhenImplicitAndTheLwpOtherwise) {
  Checked m;
  EXPECT_EQ(m(host(0, op::Curlwp{})).lwp, kNoLwp);
  m.rfork(0);
  const LwpId l = m.state().curlwp(0);
  ASSERT_NE(l, kNoLwp);
  const Outcome o = m(host(0, op::Curlwp{}));
  EXPECT_EQ(o.lwp, l);
  EXPECT_EQ(o.rule, Rule::L5);
  EXPECT_EQ(m(host(1, op::Curlwp{})).lwp, kNoLwp);  // per host thread
}

TEST(P6, GetpidAndGetppidFollowTheCurrentProcess) {
  Checked m;
  EXPECT_EQ(m(host(0, op::Getpid{})).ret, 1);
  EXPECT_EQ(m(host(0, op::Getppid{})).ret, 0);
  const Pid p = m.rfork(0);
  const Pid c = m.rfork(0);
  EXPECT_EQ(m(host(0, op::Getpid{})).ret, c);
  EXPECT_EQ(m(host(0, op::Getppid{})).ret, p);
  ASSERT_EQ(m(host(1, op::Newlwp{0})).ret, 0);
  EXPECT_EQ(m(host(1, op::Getpid{})).ret, 0);
  EXPECT_EQ(m(host(1, op::Getppid{})).ret, 0);
}

// ---- scenarios from rump_lwproc(3) ---------------------------------------------------

// A process holds 128 lwps and goes exactly when the last is released.
TEST(ScenarioRump, ProcessWith128LwpsFreedAtTheLastRelease) {
  Checked m;
  const Pid p = m.rfork(0);
  std::vector<LwpId> lwps{m.state().curlwp(0)};
  for (int i = 1; i < 128; ++i) {
    ASSERT_EQ(m(host(0, op::Newlwp{p})).ret, 0);
    lwps.push_back(m.state().curlwp(0));
  }
  ASSERT_EQ(m.pid(p).lwps.size(), 128u);
  EXPECT_EQ(m.state().lwps[lwps.back()].lid, 128);
  for (std::size_t i = 0; i < lwps.size(); ++i) {
    if (m.state().curlwp(0) != lwps[i]) {
      ASSERT_TRUE(m(host(0, op::Switch{lwps[i]})).returned());
    }
    ASSERT_NE(m.state().by_pid(p), nullptr) << "freed before lwp " << i;
    ASSERT_EQ(m(host(0, op::Release{})).ret, 0);
  }
  EXPECT_EQ(m.state().by_pid(p), nullptr);
  EXPECT_EQ(m.getpid(0), 1);
  EXPECT_EQ(m.state().nprocs, 2);
}

// R3: a program that releases every lwp it created leaves nothing it created behind.
TEST(ScenarioRump, ReleasingEverythingLeavesNothingBehind) {
  Checked m;
  const Pid a = m.rfork(0, kRumpRffdg);
  m.rfork(0, kRumpRffdShare);  // child of a, sharing a's table
  const Pid c = m.rfork(1, kRumpRfcfdg);
  ASSERT_EQ(m(host(2, op::Newlwp{a})).ret, 0);
  ASSERT_EQ(m(host(2, op::Open{"/x", true})).ret, 3);
  ASSERT_EQ(m(host(1, op::Newlwp{c})).ret, 0);  // H1 leaves c's first lwp unbound
  // Release everything: each host releases what it runs, then picks up what is left.
  for (int round = 0; round < 10; ++round) {
    for (HostId h = 0; h < 3; ++h)
      if (m.state().curlwp(h) != kNoLwp) {
        ASSERT_EQ(m(host(h, op::Release{})).ret, 0);
      }
    LwpId left = kNoLwp;
    for (LwpId l = 1; l < m.state().lwps.size(); ++l)
      if (!m.state().lwps[l].released) left = l;
    if (left == kNoLwp) break;
    ASSERT_TRUE(m(host(0, op::Switch{left})).returned());
  }
  EXPECT_EQ(m.state().nprocs, 2);
  EXPECT_EQ(m.state().table.size(), 2u);
  for (FdTableId t = 2; t < m.state().fdtables.size(); ++t) EXPECT_TRUE(m.state().fdtables[t].freed) << t;
  for (ProcId p = 2; p < m.state().procs.size(); ++p) EXPECT_TRUE(m.proc(p).freed) << p;
  EXPECT_EQ(m.state().fdtables[1].refs, 1);
}

TEST(ScenarioRump, LwpHandedBetweenHostThreads) {
  Checked m;
  const Pid p = m.rfork(0);
  const LwpId l = m.state().curlwp(0);
  ASSERT_TRUE(m(host(0, op::Switch{kNoLwp})).returned());
  ASSERT_TRUE(m(host(1, op::Switch{l})).returned());
  EXPECT_EQ(m.getpid(1), p);
  EXPECT_EQ(m.getpid(0), 1);
  ASSERT_EQ(m(host(1, op::Release{})).ret, 0);
  EXPECT_EQ(m.state().by_pid(p), nullptr);
}

TEST(ScenarioRump, ImplicitContextIsPidOneWithNullCurlwp) {
  Checked m;
  EXPECT_EQ(m(host(3, op::Curlwp{})).lwp, kNoLwp);
  EXPECT_EQ(m.getpid(3), 1);
  EXPECT_EQ(m(host(3, op::Release{})).fatal, Fatal::L4Implicit);
}

TEST(ScenarioRump, LwpsInProcessZeroComeAndGo) {
  Checked m;
  ASSERT_EQ(m(host(0, op::Newlwp{0})).ret, 0);
  ASSERT_EQ(m(host(1, op::Newlwp{0})).ret, 0);
  EXPECT_EQ(m.getpid(0), 0);
  EXPECT_EQ(m.getpid(1), 0);
  const Pid child = m.rfork(1);  // a child of the kernel process
  EXPECT_EQ(m.pid(child).ppid, 0);
  ASSERT_EQ(m(host(0, op::Release{})).ret, 0);
  EXPECT_EQ(m.pid(0).lwps.size(), 3u);
  EXPECT_EQ(m.state().nprocs, 3);
}

}  // namespace
}  // namespace lockstep::model::testing
