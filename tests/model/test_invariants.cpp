// SPEC §6: each invariant R1-R6 and S1-S6 is reported, under its own rule, by
// check_state or check_step when a state reached by correct ops is corrupted by
// hand; and nothing is reported on the uncorrupted states themselves.
#include "helpers.hpp"

namespace lockstep::model::testing {
namespace {

// A state with a bit of everything, reached by correct ops only.
struct World {
  Checked m;
  Pid user = 0;
  ProcId user_id = 0;
  LwpId a = 0;  // H0's curlwp, the only lwp of `user`
  ProcId k = 0; // a running kthread
  World() {
    user = m.rfork(0, kRumpRfcfdg);
    user_id = m.state().table.at(user);
    a = m.state().curlwp(0);
    k = m.kthread("k", 1);
  }
  State copy() const { return m.state(); }
};

std::vector<Violation> state_check(const State& s) { return check_state(s); }

// check_step for a step whose recorded result is `res`.
std::vector<Violation> step_check(const State& before, const Op& op, const StepResult& res, const State& after) {
  return check_step(before, op, res, after);
}

StepResult returned(std::int64_t ret, Rule rule) {
  StepResult r;
  r.outcome.kind = OutcomeKind::Returned;
  r.outcome.ret = ret;
  r.outcome.rule = rule;
  return r;
}

#define EXPECT_REPORTS(vs, rule) EXPECT_TRUE(has_rule(vs, rule)) << "expected " << rule_name(rule) << ", got:\n" << describe(vs)

TEST(Invariants, ReachedStatesReportNothing) {
  World w;
  EXPECT_TRUE(state_check(w.m.state()).empty()) << describe(state_check(w.m.state()));
  // and a richer one: shared tables, zombies, parked threads, waits, console lines
  Checked& m = w.m;
  m.rfork(2);
  m.rfork(2, kRumpRffdg);
  ASSERT_TRUE(m(host(3, op::Suspend{w.k, 50})).blocked());
  ASSERT_TRUE(m(kthr(w.k, op::SuspendCheck{w.k})).blocked());
  const ProcId z = m.kthread("z");
  ASSERT_TRUE(m(host(4, op::WaitExit{z, 0})).blocked());
  ASSERT_TRUE(m(kthr(z, op::KthreadExit{1})).returned());
  const ProcId s = m.kthread("s");
  ASSERT_TRUE(m(host(5, op::KprocShutdown{s})).blocked());
  EXPECT_TRUE(state_check(m.state()).empty()) << describe(state_check(m.state()));
}

// ---- R1 -----------------------------------------------------------------------------

TEST(InvariantR1, UserProcessWithoutLiveLwpsStillInTheTable) {
  World w;
  State s = w.copy();
  s.lwps[w.a].released = true;
  s.lwps[w.a].bound = kUnbound;
  s.hosts[0].curlwp = kNoLwp;
  EXPECT_REPORTS(state_check(s), Rule::R1);
}

TEST(InvariantR1, UserProcessFreedWhileItHasALiveLwp) {
  World w;
  State s = w.copy();
  s.procs[w.user_id].freed = true;
  EXPECT_REPORTS(state_check(s), Rule::R1);
}

TEST(InvariantR1, ProcessOneFreed) {
  World w;
  State s = w.copy();
  s.procs[1].freed = true;
  EXPECT_REPORTS(state_check(s), Rule::R1);
}

TEST(InvariantR1, ProcessFreedByAnOpThatFreesNothing) {
  World w;
  const State before = w.copy();
  State after = before;
  after.procs[w.user_id].freed = true;
  after.table.erase(w.user);
  --after.nprocs;
  EXPECT_REPORTS(step_check(before, host(1, op::Getpid{}), returned(1, Rule::P6), after), Rule::R1);
}

// ---- R2 -----------------------------------------------------------------------------

TEST(InvariantR2, ReleasedLwpStillBound) {
  World w;
  State s = w.copy();
  s.lwps[w.a].released = true;
  EXPECT_REPORTS(state_check(s), Rule::R2);
}

TEST(InvariantR2, CurlwpNeverIssued) {
  World w;
  State s = w.copy();
  s.hosts[0].curlwp = 9999;
  EXPECT_REPORTS(state_check(s), Rule::R2);
}

TEST(InvariantR2, ReleasedLwpComesBack) {
  World w;
  ASSERT_EQ(w.m(host(0, op::Newlwp{w.user})).ret, 0);
  ASSERT_EQ(w.m(host(0, op::Release{})).ret, 0);
  const LwpId gone = static_cast<LwpId>(w.m.state().lwps.size() - 1);
  const State before = w.copy();
  State after = before;
  after.lwps[gone].released = false;
  EXPECT_REPORTS(step_check(before, host(1, op::Getpid{}), returned(1, Rule::P6), after), Rule::R2);
}

TEST(InvariantR2, SwitchToAReleasedLwpSucceeded) {
  World w;
  ASSERT_EQ(w.m(host(0, op::Newlwp{w.user})).ret, 0);
  ASSERT_EQ(w.m(host(0, op::Release{})).ret, 0);
  const LwpId gone = static_cast<LwpId>(w.m.state().lwps.size() - 1);
  const State before = w.copy();
  EXPECT_REPORTS(step_check(before, host(2, op::Switch{gone}), returned(0, Rule::L3), before), Rule::R2);
}

// ---- R3 -----------------------------------------------------------------------------

TEST(InvariantR3, FdTableRefcountDisagreesWithItsSharers) {
  World w;
  State s = w.copy();
  ++s.fdtables[s.procs[w.user_id].fdtable].refs;
  EXPECT_REPORTS(state_check(s), Rule::R3);
}

TEST(InvariantR3, FdTableFreedWhileInUse) {
  World w;
  State s = w.copy();
  s.fdtables[1].freed = true;  // pid 1's table
  EXPECT_REPORTS(state_check(s), Rule::R3);
}

TEST(InvariantR3, FreedProcessComesBack) {
  World w;
  ASSERT_EQ(w.m(host(0, op::Release{})).ret, 0);  // frees `user`
  const State before = w.copy();
  State after = before;
  after.procs[w.user_id].freed = false;
  EXPECT_REPORTS(step_check(before, host(1, op::Getpid{}), returned(1, Rule::P6), after), Rule::R3);
}

TEST(InvariantR3, FdTableFreedTwice) {
  World w;
  const FdTableId t = w.m.state().procs[w.user_id].fdtable;
  ASSERT_EQ(w.m(host(0, op::Release{})).ret, 0);
  ASSERT_TRUE(w.m.state().fdtables[t].freed);
  const State before = w.copy();
  State after = before;
  after.fdtables[t].freed = false;
  EXPECT_REPORTS(step_check(before, host(1, op::Getpid{}), returned(1, Rule::P6), after), Rule::R3);
}

// ---- R4 -----------------------------------------------------------------------------

TEST(InvariantR4, OneLwpCurlwpOfTwoHosts) {
  World w;
  State s = w.copy();
  s.hosts.resize(std::max<std::size_t>(s.hosts.size(), 2));
  s.hosts[1].curlwp = w.a;
  EXPECT_REPORTS(state_check(s), Rule::R4);
}

TEST(InvariantR4, LwpClaimsAHostThatDoesNotRunIt) {
  World w;
  State s = w.copy();
  s.lwps[0].bound = 0;  // lwp0 claims H0, whose curlwp is `a`
  EXPECT_REPORTS(state_check(s), Rule::R4);
}

// ---- R5 -----------------------------------------------------------------------------

TEST(InvariantR5, TableNamesTheWrongProcess) {
  World w;
  State s = w.copy();
  s.table[w.user] = w.k;
  EXPECT_REPORTS(state_check(s), Rule::R5);
}

TEST(InvariantR5, PidReusedWhileStillHeld) {
  World w;
  const State before = w.copy();
  State after = before;
  after.table[w.user] = w.k;  // pid reassigned in one step
  EXPECT_REPORTS(step_check(before, host(1, op::Getpid{}), returned(1, Rule::P6), after), Rule::R5);
}

// ---- R6 -----------------------------------------------------------------------------

TEST(InvariantR6, NprocsOffByOne) {
  World w;
  State s = w.copy();
  ++s.nprocs;
  EXPECT_REPORTS(state_check(s), Rule::R6);
}

TEST(InvariantR6, PpidNamesNoProcess) {
  World w;
  State s = w.copy();
  s.procs[w.user_id].ppid = 777;
  EXPECT_REPORTS(state_check(s), Rule::R6);
}

// ---- S1 -----------------------------------------------------------------------------

TEST(InvariantS1, ParkedThreadMakesProgress) {
  World w;
  ASSERT_TRUE(w.m(host(2, op::Suspend{w.k, 0})).blocked());
  ASSERT_TRUE(w.m(kthr(w.k, op::SuspendCheck{w.k})).blocked());
  const State before = w.copy();
  State after = before;
  ++after.procs[w.k].kt.progress;
  EXPECT_REPORTS(step_check(before, host(1, op::Getpid{}), returned(1, Rule::P6), after), Rule::S1);
}

// ---- S2 -----------------------------------------------------------------------------

TEST(InvariantS2, SuspenderStillWaitingOnAParkedThread) {
  World w;
  ASSERT_TRUE(w.m(host(2, op::Suspend{w.k, 0})).blocked());
  State s = w.copy();
  s.procs[w.k].kt.state = KState::Parked;
  EXPECT_REPORTS(state_check(s), Rule::S2);
}

TEST(InvariantS2, WaitPastItsDeadlineStillPending) {
  World w;
  ASSERT_TRUE(w.m(host(2, op::Suspend{w.k, 10})).blocked());
  State s = w.copy();
  s.now = 10;
  EXPECT_REPORTS(state_check(s), Rule::S2);
}

TEST(InvariantS2, SuspendReturnedZeroWithoutAcknowledgement) {
  World w;
  const State before = w.copy();
  State after = before;
  after.procs[w.k].kt.suspend_requested = true;
  EXPECT_REPORTS(step_check(before, host(2, op::Suspend{w.k, 0}), returned(0, Rule::K3), after), Rule::S2);
}

TEST(InvariantS2, SuspendReturnedEwouldblockBeforeItsDeadline) {
  World w;
  const State before = w.copy();
  State after = before;
  after.procs[w.k].kt.suspend_requested = true;
  EXPECT_REPORTS(step_check(before, host(2, op::Suspend{w.k, 10}), returned(EWOULDBLOCK, Rule::K3), after), Rule::S2);
}

TEST(InvariantS2, CompletionWithEwouldblockFromANonTickStep) {
  World w;
  ASSERT_TRUE(w.m(host(2, op::Suspend{w.k, 10})).blocked());
  const State before = w.copy();
  State after = before;
  after.waits.clear();
  StepResult r = returned(0, Rule::Body);
  Completion c{Actor::host(2), returned(EWOULDBLOCK, Rule::K3).outcome};
  c.outcome.wait = WaitKind::Suspend;
  c.outcome.wait_target = w.k;
  r.completions.push_back(c);
  ++after.procs[w.k].kt.progress;
  EXPECT_REPORTS(step_check(before, kthr(w.k, op::Work{}), r, after), Rule::S2);
}

// ---- S3 -----------------------------------------------------------------------------

TEST(InvariantS3, ParkedWithoutARequest) {
  World w;
  State s = w.copy();
  s.procs[w.k].kt.state = KState::Parked;
  EXPECT_REPORTS(state_check(s), Rule::S3);
}

TEST(InvariantS3, LeftParkedWithoutAResume) {
  World w;
  ASSERT_TRUE(w.m(host(2, op::Suspend{w.k, 0})).blocked());
  ASSERT_TRUE(w.m(kthr(w.k, op::SuspendCheck{w.k})).blocked());
  const State before = w.copy();
  State after = before;
  after.procs[w.k].kt.state = KState::Running;
  after.procs[w.k].kt.suspend_requested = false;
  EXPECT_REPORTS(step_check(before, host(1, op::Getpid{}), returned(1, Rule::P6), after), Rule::S3);
}

TEST(InvariantS3, ResumeCompletedButStillParked) {
  World w;
  ASSERT_TRUE(w.m(host(2, op::Suspend{w.k, 0})).blocked());
  ASSERT_TRUE(w.m(kthr(w.k, op::SuspendCheck{w.k})).blocked());
  const State before = w.copy();
  EXPECT_REPORTS(step_check(before, host(1, op::Resume{w.k}), returned(0, Rule::K4), before), Rule::S3);
}

// ---- S4 -----------------------------------------------------------------------------

TEST(InvariantS4, WaitOnANonKthread) {
  World w;
  ASSERT_TRUE(w.m(host(2, op::Suspend{w.k, 0})).blocked());
  State s = w.copy();
  s.waits[0].target = 1;
  EXPECT_REPORTS(state_check(s), Rule::S4);
}

TEST(InvariantS4, SuspendOfANonKthreadReturnedZero) {
  World w;
  const State before = w.copy();
  EXPECT_REPORTS(step_check(before, host(1, op::Suspend{1, 0}), returned(0, Rule::K3), before), Rule::S4);
}

TEST(InvariantS4, ResumeOfANonKthreadChangedTheState) {
  World w;
  const State before = w.copy();
  State after = before;
  after.procs[1].uid = 3;
  EXPECT_REPORTS(step_check(before, host(1, op::Resume{1}), returned(EINVAL, Rule::K4), after), Rule::S4);
}

// ---- S5 -----------------------------------------------------------------------------

TEST(InvariantS5, ZombieWithALiveLwp) {
  World w;
  ASSERT_TRUE(w.m(kthr(w.k, op::KthreadExit{0})).returned());
  State s = w.copy();
  s.lwps[s.procs[w.k].lwps[0]].released = false;
  EXPECT_REPORTS(state_check(s), Rule::S5);
}

TEST(InvariantS5, ExitWaiterStillWaitingOnAZombie) {
  World w;
  ASSERT_TRUE(w.m(host(2, op::WaitExit{w.k, 0})).blocked());
  State s = w.copy();
  s.procs[w.k].kt.state = KState::Zombie;
  for (LwpId l : s.procs[w.k].lwps) {
    s.lwps[l].released = true;
    s.lwps[l].bound = kUnbound;
  }
  EXPECT_REPORTS(state_check(s), Rule::S5);
}

TEST(InvariantS5, ExitThatWakesNoWaiter) {
  World w;
  ASSERT_TRUE(w.m(host(2, op::WaitExit{w.k, 0})).blocked());
  const State before = w.copy();
  Model copy = w.m.model();
  const Op exit_op = kthr(w.k, op::KthreadExit{0});
  StepResult r = copy.apply(exit_op);
  ASSERT_EQ(r.completions.size(), 1u);
  r.completions.clear();  // the recorded step forgot to wake H2
  EXPECT_REPORTS(step_check(before, exit_op, r, copy.state()), Rule::S5);
}

TEST(InvariantS5, ProgressAfterExit) {
  World w;
  ASSERT_TRUE(w.m(kthr(w.k, op::KthreadExit{0})).returned());
  const State before = w.copy();
  State after = before;
  ++after.procs[w.k].kt.progress;
  EXPECT_REPORTS(step_check(before, host(1, op::Getpid{}), returned(1, Rule::P6), after), Rule::S5);
}

// ---- S6 -----------------------------------------------------------------------------

TEST(InvariantS6, BannerWithoutResultOrPendingShutdown) {
  World w;
  State s = w.copy();
  s.console.push_back("Waiting (max 60 seconds) for system process `k' to stop...");
  EXPECT_REPORTS(state_check(s), Rule::S6);
}

TEST(InvariantS6, ResultLineWithoutBanner) {
  World w;
  State s = w.copy();
  s.console.push_back("stopped");
  EXPECT_REPORTS(state_check(s), Rule::S6);
}

TEST(InvariantS6, ShutdownStepPrintedTheWrongResult) {
  World w;
  ASSERT_TRUE(w.m(host(2, op::Suspend{w.k, 0})).blocked());
  ASSERT_TRUE(w.m(kthr(w.k, op::SuspendCheck{w.k})).blocked());  // parked: shutdown answers at once
  const State before = w.copy();
  Model copy = w.m.model();
  const Op sh = host(1, op::KprocShutdown{w.k});
  const StepResult r = copy.apply(sh);
  ASSERT_TRUE(r.outcome.returned());
  State after = copy.state();
  ASSERT_EQ(after.console.back(), "stopped");
  EXPECT_TRUE(step_check(before, sh, r, after).empty());  // the real step is fine
  after.console.back() = "timed out";
  EXPECT_REPORTS(step_check(before, sh, r, after), Rule::S6);
}

}  // namespace
}  // namespace lockstep::model::testing
