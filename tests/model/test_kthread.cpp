// SPEC §4 K1-K9 and §5 (time and blocking): kernel threads, their suspend/resume
// handshake, kproc_shutdown's console lines, exit waits and reaping; then kthread
// scenarios from kthread(9).
#include <limits>

#include "helpers.hpp"

namespace lockstep::model::testing {
namespace {

const std::string kBanner = "Waiting (max 60 seconds) for system process `";
std::string banner(const std::string& name) { return kBanner + name + "' to stop..."; }

// The completion of host `h` in `r`, or nullptr.
const Completion* completion_of(const StepResult& r, const Actor& a) {
  for (const Completion& c : r.completions)
    if (c.actor == a) return &c;
  return nullptr;
}

// Brings kthread `k` to PARKED via a suspend by host `h` and its acknowledgement.
void park(Checked& m, ProcId k, HostId h = 9) {
  ASSERT_TRUE(m(host(h, op::Suspend{k, 0})).blocked());
  const StepResult r = m.apply(kthr(k, op::SuspendCheck{k}));
  ASSERT_TRUE(r.outcome.blocked());
  ASSERT_EQ(m.proc(k).kt.state, KState::Parked);
}

// ---- K1 -----------------------------------------------------------------------------

TEST(K1, RfcfdgOrUnknownFlagsAreEinvalWithNoChange) {
  for (int flags : {kRfcfdg, kRfcfdg | kRffdg, 1, 2, 1 << 3, -1, kRffdg | 1}) {
    Checked m;
    const State before = m.state();
    const Outcome o = m(host(0, op::KthreadCreate{flags, "k"}));
    SCOPED_TRACE(flags);
    EXPECT_EQ(o.ret, EINVAL);
    EXPECT_EQ(o.rule, Rule::K1);
    EXPECT_EQ(m.state(), before);
  }
}

TEST(K1, RffdgAndZeroAreAccepted) {
  for (int flags : {0, kRffdg}) {
    Checked m;
    const Outcome o = m(host(0, op::KthreadCreate{flags, "k"}));
    EXPECT_EQ(o.ret, 0) << flags;
    EXPECT_NE(o.proc, kNoProc);
  }
}

TEST(K1, CreatesARunningKthreadChildOfZero) {
  Checked m;
  const Outcome o = m(host(0, op::KthreadCreate{0, "worker"}));
  ASSERT_EQ(o.ret, 0);
  ASSERT_LT(o.proc, m.state().procs.size());  // *newp
  const Process& k = m.proc(o.proc);
  EXPECT_EQ(k.pid, 2);
  EXPECT_EQ(m.state().by_pid(2), &k);
  EXPECT_EQ(k.ppid, 0);
  EXPECT_EQ(k.comm, "worker");
  EXPECT_EQ(k.kind, ProcKind::Kthread);
  EXPECT_EQ(k.kt.state, KState::Running);
  EXPECT_FALSE(k.kt.suspend_requested);
  ASSERT_EQ(k.lwps.size(), 1u);  // exactly one lwp, run by a kernel-owned host thread
  EXPECT_EQ(m.state().lwps[k.lwps[0]].bound, kKernelThread);
  EXPECT_EQ(m.state().nprocs, 3);
  EXPECT_EQ(m.state().curlwp(0), kNoLwp);  // the creator does not switch
}

TEST(K1, CommIsTruncatedToMaxcomlen) {
  Checked m;
  const ProcId k = m.kthread("abcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(m.proc(k).comm, "abcdefghijklmnopqrs");
  EXPECT_EQ(m.proc(k).comm.size(), kMaxComLen);
  const ProcId k2 = m.kthread("exactly19characters");
  EXPECT_EQ(m.proc(k2).comm, "exactly19characters");
}

TEST(K1, FdTableIsACopyOfProcessZeros) {
  Checked m;
  ASSERT_EQ(m(host(0, op::Newlwp{0})).ret, 0);
  ASSERT_EQ(m(host(0, op::Open{"/k", true})).ret, 0);  // process 0 now has fd 0
  const ProcId k = m.kthread("k", 1);
  const FdTable& mine = m.state().fdtables[m.proc(k).fdtable];
  EXPECT_NE(m.proc(k).fdtable, m.pid(0).fdtable);  // a copy, not shared
  EXPECT_EQ(mine.fds, m.state().fdtables[m.pid(0).fdtable].fds);
  EXPECT_EQ(mine.refs, 1);
}

TEST(K1, EagainAtMaxproc) {
  Checked m(Config{.maxproc = 3});
  m.kthread("one");  // nprocs 3
  const State before = m.state();
  const Outcome o = m(host(0, op::KthreadCreate{0, "two"}));
  EXPECT_EQ(o.ret, EAGAIN);
  EXPECT_EQ(o.rule, Rule::K1);
  EXPECT_EQ(m.state(), before);
  // rfork'ed processes count too (nprocs includes them).
  Checked m2(Config{.maxproc = 3});
  m2.rfork(0);
  EXPECT_EQ(m2(host(0, op::KthreadCreate{0, "k"})).ret, EAGAIN);
}

// ---- K2 -----------------------------------------------------------------------------

TEST(K2, ExitMakesAZombieChildOfInit) {
  Checked m;
  const ProcId k = m.kthread("k");
  const Outcome o = m(kthr(k, op::KthreadExit{42}));
  EXPECT_TRUE(o.returned());
  EXPECT_EQ(o.rule, Rule::K2);
  const Process& p = m.proc(k);
  EXPECT_EQ(p.kt.state, KState::Zombie);
  EXPECT_EQ(p.kt.exit_code, 42);
  EXPECT_EQ(p.ppid, 1);
  EXPECT_EQ(m.state().by_pid(p.pid), &p);  // still in the table until reaped
  EXPECT_EQ(m.state().nprocs, 3);
  // Never returns to the body: the actor can do nothing more.
  EXPECT_EQ(m(kthr(k, op::Work{})).kind, OutcomeKind::NotRunnable);
  EXPECT_FALSE(m.model().runnable(Actor::kthread(k)));
}

TEST(K2, ExitWakesEveryExitWaiterWithZero) {
  Checked m;
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(host(1, op::WaitExit{k, 0})).blocked());
  ASSERT_TRUE(m(host(2, op::WaitExit{k, 50})).blocked());
  const StepResult r = m.apply(kthr(k, op::KthreadExit{0}));
  ASSERT_EQ(r.completions.size(), 2u);
  EXPECT_EQ(r.completions[0].actor, Actor::host(1));  // in the order the waits began
  EXPECT_EQ(r.completions[1].actor, Actor::host(2));
  for (const Completion& c : r.completions) {
    EXPECT_TRUE(c.outcome.returned());
    EXPECT_EQ(c.outcome.ret, 0);
    EXPECT_EQ(c.outcome.wait, WaitKind::Exit);
    EXPECT_EQ(c.outcome.wait_target, k);
  }
  EXPECT_TRUE(m.state().waits.empty());
  EXPECT_EQ(m(tick(100)).kind, OutcomeKind::Returned);  // no stale deadline fires later
}

TEST(K2, ExitDoesNotWakeSuspenders) {
  Checked m;
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(host(1, op::Suspend{k, 10})).blocked());
  const StepResult r = m.apply(kthr(k, op::KthreadExit{0}));
  EXPECT_TRUE(r.completions.empty());
  ASSERT_NE(m.state().wait_of(1), nullptr);
  const StepResult t = m.apply(tick(10));
  const Completion* c = completion_of(t, Actor::host(1));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->outcome.ret, EWOULDBLOCK);
}

// ---- K3 -----------------------------------------------------------------------------

TEST(K3, NonKthreadIsEinvalWithNoChange) {
  Checked m;
  m.rfork(0);
  for (ProcId p : {ProcId{0}, ProcId{1}, m.state().table.at(2)}) {
    const State before = m.state();
    const Outcome o = m(host(1, op::Suspend{p, 10}));
    EXPECT_EQ(o.ret, EINVAL) << p;
    EXPECT_EQ(o.rule, Rule::K3);
    EXPECT_EQ(m.state(), before);
  }
}

TEST(K3, ReapedIsEsrch) {
  Checked m;
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(kthr(k, op::KthreadExit{0})).returned());
  ASSERT_EQ(m(reap(k)).ret, 0);
  EXPECT_EQ(m(host(0, op::Suspend{k, 10})).ret, ESRCH);
}

TEST(K3, BlockedUntilAcknowledgedThenZero) {
  Checked m;
  const ProcId k = m.kthread("k");
  const Outcome s = m(host(0, op::Suspend{k, 0}));
  ASSERT_TRUE(s.blocked());
  EXPECT_EQ(s.wait, WaitKind::Suspend);
  EXPECT_EQ(s.wait_target, k);
  EXPECT_TRUE(m.proc(k).kt.suspend_requested);
  EXPECT_FALSE(m.model().runnable(Actor::host(0)));
  EXPECT_EQ(m(host(0, op::Getpid{})).kind, OutcomeKind::NotRunnable);  // a blocked host cannot act
  const StepResult r = m.apply(kthr(k, op::SuspendCheck{k}));
  ASSERT_EQ(r.completions.size(), 1u);
  EXPECT_EQ(r.completions[0].actor, Actor::host(0));
  EXPECT_EQ(r.completions[0].outcome.ret, 0);
  EXPECT_EQ(r.completions[0].outcome.wait, WaitKind::Suspend);
  EXPECT_EQ(m.proc(k).kt.state, KState::Parked);
  EXPECT_TRUE(m.model().runnable(Actor::host(0)));
}

TEST(K3, ParkedAlreadyReturnsZeroAtOnce) {
  Checked m;
  const ProcId k = m.kthread("k");
  park(m, k);
  const Outcome o = m(host(0, op::Suspend{k, 5}));
  EXPECT_TRUE(o.returned());
  EXPECT_EQ(o.ret, 0);
  EXPECT_TRUE(m.state().waits.empty());
}

TEST(K3, TimesOutOnlyWhenTheClockPassesTheDeadline) {
  Checked m;
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(tick(5)).returned());  // the deadline counts from the call, not from 0
  ASSERT_TRUE(m(host(0, op::Suspend{k, 10})).blocked());
  EXPECT_TRUE(m.apply(tick(9)).completions.empty());
  ASSERT_NE(m.state().wait_of(0), nullptr);
  const StepResult r = m.apply(tick(1));  // now = 15 = start + timo
  ASSERT_EQ(r.completions.size(), 1u);
  EXPECT_EQ(r.completions[0].actor, Actor::host(0));
  EXPECT_EQ(r.completions[0].outcome.ret, EWOULDBLOCK);
  EXPECT_EQ(r.completions[0].outcome.rule, Rule::K3);
  EXPECT_EQ(r.completions[0].outcome.wait, WaitKind::Suspend);
  EXPECT_EQ(m.state().wait_of(0), nullptr);
}

TEST(K3, FlagStaysSetAfterTimeoutAndTheThreadParksAtItsNextCheck) {
  Checked m;
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(host(0, op::Suspend{k, 3})).blocked());
  ASSERT_EQ(m.apply(tick(3)).completions.size(), 1u);
  EXPECT_TRUE(m.proc(k).kt.suspend_requested);
  ASSERT_TRUE(m(kthr(k, op::Work{})).returned());  // still running until it checks
  const StepResult r = m.apply(kthr(k, op::SuspendCheck{k}));
  EXPECT_TRUE(r.outcome.blocked());
  EXPECT_TRUE(r.completions.empty());  // nobody is waiting any more
  EXPECT_EQ(m.proc(k).kt.state, KState::Parked);
}

TEST(K3, ZeroTimeoutWaitsForever) {
  Checked m;
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(host(0, op::Suspend{k, 0})).blocked());
  EXPECT_TRUE(m.apply(tick(1'000'000'000)).completions.empty());
  EXPECT_NE(m.state().wait_of(0), nullptr);
}

TEST(K3, OneAcknowledgementReleasesEverySuspender) {
  Checked m;
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(host(2, op::Suspend{k, 0})).blocked());
  ASSERT_TRUE(m(host(1, op::Suspend{k, 100})).blocked());
  const StepResult r = m.apply(kthr(k, op::SuspendCheck{k}));
  ASSERT_EQ(r.completions.size(), 2u);
  EXPECT_EQ(r.completions[0].actor, Actor::host(2));
  EXPECT_EQ(r.completions[1].actor, Actor::host(1));
  EXPECT_EQ(r.completions[0].outcome.ret, 0);
  EXPECT_EQ(r.completions[1].outcome.ret, 0);
}

// ---- K4 -----------------------------------------------------------------------------

TEST(K4, ResumeUnparksWithACompletionForTheKthread) {
  Checked m;
  const ProcId k = m.kthread("k");
  park(m, k);
  const std::uint64_t progress = m.proc(k).kt.progress;
  EXPECT_EQ(m(kthr(k, op::Work{})).kind, OutcomeKind::NotRunnable);  // parked: no progress
  const StepResult r = m.apply(host(0, op::Resume{k}));
  EXPECT_EQ(r.outcome.ret, 0);
  EXPECT_EQ(r.outcome.rule, Rule::K4);
  ASSERT_EQ(r.completions.size(), 1u);
  EXPECT_EQ(r.completions[0].actor, Actor::kthread(k));
  EXPECT_TRUE(r.completions[0].outcome.returned());
  EXPECT_EQ(r.completions[0].outcome.wait, WaitKind::Resume);
  EXPECT_EQ(m.proc(k).kt.state, KState::Running);
  EXPECT_FALSE(m.proc(k).kt.suspend_requested);
  ASSERT_TRUE(m(kthr(k, op::Work{})).returned());
  EXPECT_EQ(m.proc(k).kt.progress, progress + 1);
}

TEST(K4, NonKthreadIsEinvalAndReapedIsEsrch) {
  Checked m;
  const State before = m.state();
  EXPECT_EQ(m(host(0, op::Resume{1})).ret, EINVAL);
  EXPECT_EQ(m(host(0, op::Resume{0})).ret, EINVAL);
  EXPECT_EQ(m.state(), before);
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(kthr(k, op::KthreadExit{0})).returned());
  ASSERT_EQ(m(reap(k)).ret, 0);
  const Outcome o = m(host(0, op::Resume{k}));
  EXPECT_EQ(o.ret, ESRCH);
  EXPECT_EQ(o.rule, Rule::K4);
}

TEST(K4, ResumeOfANonSuspendedThreadReturnsZeroAndChangesNothing) {
  Checked m;
  const ProcId k = m.kthread("k");
  const State before = m.state();
  const StepResult r = m.apply(host(0, op::Resume{k}));
  EXPECT_EQ(r.outcome.ret, 0);
  EXPECT_TRUE(r.completions.empty());
  EXPECT_EQ(m.state(), before);
}

TEST(K4, ResumeClearsAPendingRequestSoTheNextCheckDoesNotPark) {
  Checked m;
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(host(0, op::Suspend{k, 5})).blocked());
  ASSERT_EQ(m(host(1, op::Resume{k})).ret, 0);
  EXPECT_FALSE(m.proc(k).kt.suspend_requested);
  const StepResult r = m.apply(kthr(k, op::SuspendCheck{k}));
  EXPECT_TRUE(r.outcome.returned());
  EXPECT_TRUE(r.completions.empty());  // no acknowledgement: the suspender keeps waiting
  EXPECT_EQ(m.proc(k).kt.state, KState::Running);
  // ... until its deadline.
  const StepResult t = m.apply(tick(5));
  ASSERT_EQ(t.completions.size(), 1u);
  EXPECT_EQ(t.completions[0].outcome.ret, EWOULDBLOCK);
}

TEST(K4, WaitingSuspendersKeepWaitingForALaterAcknowledgement) {
  Checked m;
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(host(0, op::Suspend{k, 0})).blocked());
  ASSERT_EQ(m(host(1, op::Resume{k})).ret, 0);
  EXPECT_NE(m.state().wait_of(0), nullptr);
  ASSERT_TRUE(m(host(1, op::Suspend{k, 0})).blocked());  // a later request
  const StepResult r = m.apply(kthr(k, op::SuspendCheck{k}));
  ASSERT_EQ(r.completions.size(), 2u);  // the first suspender is answered by this acknowledgement
  EXPECT_EQ(r.completions[0].actor, Actor::host(0));
  EXPECT_EQ(r.completions[0].outcome.ret, 0);
}

// ---- K5 -----------------------------------------------------------------------------

TEST(K5, NoRequestReturnsAtOnce) {
  Checked m;
  const ProcId k = m.kthread("k");
  const StepResult r = m.apply(kthr(k, op::SuspendCheck{k}));
  EXPECT_TRUE(r.outcome.returned());
  EXPECT_EQ(r.outcome.rule, Rule::K5);
  EXPECT_TRUE(r.completions.empty());
  EXPECT_EQ(m.proc(k).kt.state, KState::Running);
}

TEST(K5, RequestAcknowledgesAndParks) {
  Checked m;
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(host(0, op::Suspend{k, 0})).blocked());
  const StepResult r = m.apply(kthr(k, op::SuspendCheck{k}));
  EXPECT_TRUE(r.outcome.blocked());
  EXPECT_EQ(r.outcome.wait, WaitKind::Resume);
  EXPECT_EQ(r.outcome.rule, Rule::K5);
  EXPECT_EQ(r.completions.size(), 1u);
  EXPECT_EQ(m.proc(k).kt.state, KState::Parked);
}

TEST(K5, CheckFromAHostThreadIsFatal) {
  Checked m;
  const ProcId k = m.kthread("k");
  const Outcome o = m(host(0, op::SuspendCheck{k}));
  EXPECT_EQ(o.kind, OutcomeKind::Fatal);
  EXPECT_EQ(o.fatal, Fatal::K5Other);
  EXPECT_EQ(o.rule, Rule::K5);
}

TEST(K5, CheckOnAnotherKthreadIsFatal) {
  Checked m;
  const ProcId a = m.kthread("a");
  const ProcId b = m.kthread("b");
  const Outcome o = m(kthr(a, op::SuspendCheck{b}));
  EXPECT_EQ(o.kind, OutcomeKind::Fatal);
  EXPECT_EQ(o.fatal, Fatal::K5Other);
}

// ---- K6 -----------------------------------------------------------------------------

TEST(K6, KprocStartCreatesTheKthread) {
  Checked m;
  const Outcome o = m(host(0, op::KprocStart{"bufdaemon"}));
  ASSERT_EQ(o.ret, 0);
  ASSERT_NE(o.proc, kNoProc);
  EXPECT_EQ(m.proc(o.proc).comm, "bufdaemon");
  EXPECT_EQ(m.proc(o.proc).kind, ProcKind::Kthread);
  EXPECT_EQ(m.proc(o.proc).ppid, 0);
}

TEST(K6, KprocStartAtMaxprocPanics) {
  Checked m(Config{.maxproc = 2});
  const Outcome o = m(host(0, op::KprocStart{"x"}));
  EXPECT_EQ(o.kind, OutcomeKind::Fatal);
  EXPECT_EQ(o.fatal, Fatal::K6Panic);
  EXPECT_EQ(o.rule, Rule::K6);
  EXPECT_EQ(m.state().fatal, Fatal::K6Panic);
}

// ---- K7 -----------------------------------------------------------------------------

TEST(K7, ShutdownAcknowledgedPrintsStopped) {
  Checked m;
  const ProcId k = m.kthread("syncer");
  const Outcome o = m(host(0, op::KprocShutdown{k}));
  ASSERT_TRUE(o.blocked());
  EXPECT_EQ(o.wait, WaitKind::Shutdown);
  EXPECT_EQ(m.state().console, std::vector<std::string>{"Waiting (max 60 seconds) for system process `syncer' to stop..."});
  const StepResult r = m.apply(kthr(k, op::SuspendCheck{k}));
  ASSERT_EQ(r.completions.size(), 1u);
  EXPECT_EQ(r.completions[0].actor, Actor::host(0));
  EXPECT_EQ(r.completions[0].outcome.wait, WaitKind::Shutdown);
  EXPECT_EQ(m.state().console, (std::vector<std::string>{banner("syncer"), "stopped"}));
}

TEST(K7, ShutdownTimesOutAfterSixtySecondsOfTicks) {
  Checked m;
  const ProcId k = m.kthread("syncer");
  ASSERT_TRUE(m(host(0, op::KprocShutdown{k})).blocked());
  EXPECT_TRUE(m.apply(tick(60 * 100 - 1)).completions.empty());
  EXPECT_EQ(m.state().console.size(), 1u);
  const StepResult r = m.apply(tick(1));
  ASSERT_EQ(r.completions.size(), 1u);
  EXPECT_EQ(m.state().console, (std::vector<std::string>{banner("syncer"), "timed out"}));
  EXPECT_TRUE(m.proc(k).kt.suspend_requested);  // K3: the request stays
}

TEST(K7, ShutdownOfANonKthreadPrintsStopped) {
  Checked m;
  const StepResult r = m.apply(host(0, op::KprocShutdown{1}));
  EXPECT_TRUE(r.outcome.returned());
  EXPECT_EQ(m.state().console, (std::vector<std::string>{banner(""), "stopped"}));
  Checked m2;
  m2.apply(host(0, op::KprocShutdown{0}));
  EXPECT_EQ(m2.state().console, (std::vector<std::string>{banner("swapper"), "stopped"}));
}

TEST(K7, ShutdownOfAParkedOrReapedThreadPrintsStoppedAtOnce) {
  Checked m;
  const ProcId k = m.kthread("p");
  park(m, k);
  EXPECT_TRUE(m(host(0, op::KprocShutdown{k})).returned());
  EXPECT_EQ(m.state().console, (std::vector<std::string>{banner("p"), "stopped"}));
  const ProcId z = m.kthread("z");
  ASSERT_TRUE(m(kthr(z, op::KthreadExit{0})).returned());
  ASSERT_EQ(m(reap(z)).ret, 0);
  EXPECT_TRUE(m(host(0, op::KprocShutdown{z})).returned());
  EXPECT_EQ(m.state().console.back(), "stopped");
  EXPECT_EQ(m.state().console.size(), 4u);
}

// ---- K8 -----------------------------------------------------------------------------

TEST(K8, ZombieReturnsZeroAtOnce) {
  Checked m;
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(kthr(k, op::KthreadExit{3})).returned());
  const Outcome o = m(host(0, op::WaitExit{k, 10}));
  EXPECT_TRUE(o.returned());
  EXPECT_EQ(o.ret, 0);
  EXPECT_EQ(o.rule, Rule::K8);
}

TEST(K8, BlockedUntilExit) {
  Checked m;
  const ProcId k = m.kthread("k");
  const Outcome o = m(host(0, op::WaitExit{k, 0}));
  ASSERT_TRUE(o.blocked());
  EXPECT_EQ(o.wait, WaitKind::Exit);
  EXPECT_TRUE(m.apply(tick(10000)).completions.empty());
  const StepResult r = m.apply(kthr(k, op::KthreadExit{0}));
  ASSERT_EQ(r.completions.size(), 1u);
  EXPECT_EQ(r.completions[0].outcome.ret, 0);
}

TEST(K8, TimesOutWithEwouldblock) {
  Checked m;
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(host(0, op::WaitExit{k, 3})).blocked());
  EXPECT_TRUE(m.apply(tick(2)).completions.empty());
  const StepResult r = m.apply(tick(1));
  ASSERT_EQ(r.completions.size(), 1u);
  EXPECT_EQ(r.completions[0].outcome.ret, EWOULDBLOCK);
  EXPECT_EQ(r.completions[0].outcome.rule, Rule::K8);
  EXPECT_EQ(r.completions[0].outcome.wait, WaitKind::Exit);
}

TEST(K8, ParkedThreadIsWaitedFor) {
  Checked m;
  const ProcId k = m.kthread("k");
  park(m, k);
  EXPECT_TRUE(m(host(0, op::WaitExit{k, 0})).blocked());
}

TEST(K8, NonKthreadIsEinvalAndReapedIsEsrch) {
  Checked m;
  EXPECT_EQ(m(host(0, op::WaitExit{1, 5})).ret, EINVAL);
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(kthr(k, op::KthreadExit{0})).returned());
  ASSERT_EQ(m(reap(k)).ret, 0);
  EXPECT_EQ(m(host(0, op::WaitExit{k, 5})).ret, ESRCH);
}

// ---- K9 -----------------------------------------------------------------------------

TEST(K9, ReapRemovesTheZombieAndFreesItsPid) {
  Checked m;
  const ProcId k = m.kthread("k");
  const Pid pid = m.proc(k).pid;
  const FdTableId t = m.proc(k).fdtable;
  ASSERT_TRUE(m(kthr(k, op::KthreadExit{0})).returned());
  EXPECT_FALSE(m.model().pid_allowed(pid));  // a zombie still holds its pid
  const Outcome o = m(reap(k));
  EXPECT_EQ(o.ret, 0);
  EXPECT_EQ(o.rule, Rule::K9);
  EXPECT_EQ(m.proc(k).kt.state, KState::Reaped);
  EXPECT_TRUE(m.proc(k).freed);
  EXPECT_EQ(m.state().by_pid(pid), nullptr);
  EXPECT_EQ(m.state().nprocs, 2);
  EXPECT_TRUE(m.state().fdtables[t].freed);
  EXPECT_TRUE(m.model().pid_allowed(pid));
  ASSERT_EQ(m(host(0, op::Rfork{}), Choice{.pid = pid}).ret, 0);  // reused
  EXPECT_EQ(m.getpid(0), pid);
}

TEST(K9, ReapOfALiveKthreadIsEbusyWithNoChange) {
  Checked m;
  const ProcId k = m.kthread("k");
  const State before = m.state();
  EXPECT_EQ(m(reap(k)).ret, EBUSY);
  EXPECT_EQ(m.state(), before);
}

TEST(K9, ReapTwiceIsEsrchAndANonKthreadIsEinval) {
  Checked m;
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(kthr(k, op::KthreadExit{0})).returned());
  ASSERT_EQ(m(reap(k)).ret, 0);
  EXPECT_EQ(m(reap(k)).ret, ESRCH);
  EXPECT_EQ(m(reap(1)).ret, EINVAL);
  EXPECT_EQ(m(reap(0)).ret, EINVAL);
}

TEST(K9, NprocsDropMakesRoomBelowMaxproc) {
  Checked m(Config{.maxproc = 3});
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(kthr(k, op::KthreadExit{0})).returned());
  EXPECT_EQ(m(host(0, op::KthreadCreate{0, "k2"})).ret, EAGAIN);  // a zombie still counts
  ASSERT_EQ(m(reap(k)).ret, 0);
  EXPECT_EQ(m(host(0, op::KthreadCreate{0, "k2"})).ret, 0);
}

// ---- §5 -----------------------------------------------------------------------------

TEST(Tick, ExpiredWaitsEndInDeadlineOrderTiesInTheOrderTheyBegan) {
  Checked m;
  const ProcId a = m.kthread("a");
  const ProcId b = m.kthread("b");
  ASSERT_TRUE(m(host(0, op::Suspend{a, 30})).blocked());  // deadline 30
  ASSERT_TRUE(m(host(3, op::WaitExit{b, 10})).blocked()); // deadline 10, began first
  ASSERT_TRUE(m(host(2, op::Suspend{b, 20})).blocked());  // deadline 20
  ASSERT_TRUE(m(host(1, op::WaitExit{a, 10})).blocked()); // deadline 10, began second
  ASSERT_TRUE(m(tick(4)).returned());
  ASSERT_TRUE(m(host(4, op::Suspend{a, 6})).blocked());   // deadline 10, began third
  const StepResult r = m.apply(tick(100));
  std::vector<Actor> order;
  for (const Completion& c : r.completions) {
    order.push_back(c.actor);
    EXPECT_EQ(c.outcome.ret, EWOULDBLOCK);
  }
  EXPECT_EQ(order, (std::vector<Actor>{Actor::host(3), Actor::host(1), Actor::host(4), Actor::host(2), Actor::host(0)}));
  EXPECT_EQ(m.state().now, 104);
  EXPECT_TRUE(m.state().waits.empty());
}

TEST(Tick, AdvancesTheClockOnly) {
  Checked m;
  State expect = m.state();
  const Outcome o = m(tick(7));
  EXPECT_TRUE(o.returned());
  expect.now = 7;
  EXPECT_EQ(m.state(), expect);
}

// §5 "tick(n) advances now by n": time never moves backwards, however large n is, and a
// pending timed wait still ends once its deadline has passed. (An int64 clock that wraps
// would run a wait's deadline into the past or the future; under UBSan it aborts.)
TEST(Tick, HugeTicksNeverMoveTheClockBackwards) {
  Checked m;
  const ProcId k = m.kthread("k");
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max() / 2 + 1;
  ASSERT_TRUE(m(tick(huge)).returned());
  ASSERT_TRUE(m(host(0, op::Suspend{k, 10})).blocked());
  const Tick before = m.state().now;
  const StepResult r = m.apply(tick(huge));
  EXPECT_GE(m.state().now, before);
  ASSERT_EQ(r.completions.size(), 1u) << "a deadline that has passed must end the wait";
  EXPECT_EQ(r.completions[0].outcome.ret, EWOULDBLOCK);
}

// §5 at the end of time: a wait whose start + timo lies past the saturated clock's end is never
// reached (K3 "until now >= start + timo"), so it waits on; it must not be born already expired.
TEST(Tick, AWaitBegunAtTheEndOfTimeNeverTimesOut) {
  Checked m;
  const ProcId k = m.kthread("k");
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  ASSERT_TRUE(m(tick(max)).returned());
  ASSERT_EQ(m.state().now, max);
  ASSERT_TRUE(m(host(0, op::Suspend{k, 1})).blocked());
  EXPECT_TRUE(m.apply(tick(1)).completions.empty()) << "the clock cannot pass the deadline";
  const StepResult ack = m.apply(kthr(k, op::SuspendCheck{k}));
  ASSERT_EQ(ack.completions.size(), 1u) << "the acknowledgement still ends the wait";
  EXPECT_EQ(ack.completions[0].outcome.ret, 0);
}

// A deadline exactly at the end of time is reached when the clock saturates there.
TEST(Tick, ADeadlineAtTheEndOfTimeIsReached) {
  Checked m;
  const ProcId k = m.kthread("k");
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  ASSERT_TRUE(m(tick(max - 3)).returned());
  ASSERT_TRUE(m(host(0, op::WaitExit{k, 3})).blocked());
  const StepResult r = m.apply(tick(max));
  ASSERT_EQ(r.completions.size(), 1u);
  EXPECT_EQ(r.completions[0].outcome.ret, EWOULDBLOCK);
}

// ---- scenarios from kthread(9) -------------------------------------------------------

TEST(ScenarioKthread, CreateWorkExitWaitReap) {
  Checked m;
  const ProcId k = m.kthread("worker");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(m(kthr(k, op::SuspendCheck{k})).returned());
    ASSERT_TRUE(m(kthr(k, op::Work{})).returned());
  }
  EXPECT_EQ(m.proc(k).kt.progress, 3u);
  ASSERT_TRUE(m(host(0, op::WaitExit{k, 0})).blocked());
  const StepResult r = m.apply(kthr(k, op::KthreadExit{5}));
  ASSERT_EQ(r.completions.size(), 1u);
  EXPECT_EQ(m(host(0, op::WaitExit{k, 0})).ret, 0);
  ASSERT_EQ(m(reap(k)).ret, 0);
  EXPECT_EQ(m.state().nprocs, 2);
}

TEST(ScenarioKthread, SuspendAcknowledgedThenResumed) {
  Checked m;
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(host(0, op::Suspend{k, 100})).blocked());
  ASSERT_TRUE(m(kthr(k, op::Work{})).returned());
  const StepResult ack = m.apply(kthr(k, op::SuspendCheck{k}));
  ASSERT_EQ(ack.completions.size(), 1u);
  EXPECT_EQ(ack.completions[0].outcome.ret, 0);
  EXPECT_TRUE(m.apply(tick(1000)).completions.empty());  // the acknowledged wait has no deadline left
  EXPECT_EQ(m.proc(k).kt.progress, 1u);
  ASSERT_EQ(m(host(0, op::Resume{k})).ret, 0);
  ASSERT_TRUE(m(kthr(k, op::Work{})).returned());
  EXPECT_EQ(m.proc(k).kt.progress, 2u);
}

TEST(ScenarioKthread, SuspendTimedOutFlagStillSet) {
  Checked m;
  const ProcId k = m.kthread("k");
  ASSERT_TRUE(m(host(0, op::Suspend{k, 1})).blocked());
  const StepResult t = m.apply(tick(1));
  ASSERT_EQ(t.completions.size(), 1u);
  EXPECT_EQ(t.completions[0].outcome.ret, EWOULDBLOCK);
  EXPECT_TRUE(m.proc(k).kt.suspend_requested);
  EXPECT_TRUE(m(kthr(k, op::SuspendCheck{k})).blocked());
  EXPECT_EQ(m(host(1, op::Suspend{k, 1})).ret, 0);  // already parked
}

TEST(ScenarioKthread, KprocShutdownOfTwoThreads) {
  Checked m;
  const ProcId a = m.kthread("alpha");
  const ProcId b = m.kthread("beta");
  ASSERT_TRUE(m(host(0, op::KprocShutdown{a})).blocked());
  ASSERT_TRUE(m(kthr(a, op::SuspendCheck{a})).blocked());
  ASSERT_TRUE(m(host(0, op::KprocShutdown{b})).blocked());
  ASSERT_TRUE(m(tick(6000)).returned());
  EXPECT_EQ(m.state().console,
            (std::vector<std::string>{banner("alpha"), "stopped", banner("beta"), "timed out"}));
}

}  // namespace
}  // namespace lockstep::model::testing
