// The lockstep driver on hand-written programs: agreement on the correct impl, and
// each kind of divergence reported at the right step with the right rule.
#include <gtest/gtest.h>

#include "checker/lockstep.hpp"

using namespace lockstep;
using namespace lockstep::checker;
using namespace lockstep::model;

namespace {
Op H(HostId h, OpBody b) { return Op{Actor::host(h), std::move(b)}; }
Op K(ProcId p, OpBody b) { return Op{Actor::kthread(p), std::move(b)}; }
Op tick(std::int64_t n) { return Op{Actor::clock(), op::Tick{n}}; }
LockstepConfig with(std::initializer_list<impl::Fault> f) {
  LockstepConfig c;
  c.faults = impl::FaultSet(f);
  return c;
}
}  // namespace

TEST(Lockstep, HandOffBetweenHostsAgrees) {
  // H0 forks, hands its lwp to H1 via switch(NULL) + switch(l), H1 releases it: the process goes.
  const std::vector<Op> prog = {H(0, op::Rfork{kRumpRffdg}), H(0, op::Switch{kNoLwp}), H(1, op::Switch{1}),
                                H(1, op::Getpid{}), H(1, op::Release{}), H(1, op::Getpid{})};
  const LockstepResult r = run_lockstep(prog, LockstepConfig{});
  EXPECT_EQ(r.verdict, Verdict::Agree) << listing(r);
  ASSERT_EQ(r.events.size(), prog.size());
  EXPECT_EQ(r.events[3].outcome.ret, 2);  // the impl agreed with each of the model's outcomes
  EXPECT_EQ(r.events[5].outcome.ret, 1);
}

TEST(Lockstep, SuspendAcknowledgedAndTimedOutAgree) {
  const std::vector<Op> prog = {H(0, op::KthreadCreate{0, "kt"}), H(0, op::Suspend{2, 0}), H(1, op::Suspend{2, 3}),
                                K(2, op::SuspendCheck{2}),          H(1, op::Resume{2}),     K(2, op::Work{}),
                                H(0, op::Suspend{2, 5}),            tick(5),                 K(2, op::SuspendCheck{2})};
  const LockstepResult r = run_lockstep(prog, LockstepConfig{});
  EXPECT_EQ(r.verdict, Verdict::Agree) << listing(r);
  ASSERT_EQ(r.events.size(), prog.size());
  EXPECT_EQ(r.events[3].woke.size(), 2u) << listing(r);  // both suspenders woke with 0
  EXPECT_EQ(r.events[7].woke.size(), 1u) << listing(r);  // H0 timed out
}

TEST(Lockstep, FatalOnBothSidesEndsTheProgramInAgreement) {
  const std::vector<Op> prog = {H(0, op::Release{}), H(0, op::Getpid{})};
  const LockstepResult r = run_lockstep(prog, LockstepConfig{});
  EXPECT_EQ(r.verdict, Verdict::Agree) << listing(r);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].outcome.kind, OutcomeKind::Fatal);
  EXPECT_EQ(r.events[0].outcome.fatal, Fatal::L4Implicit);
}

TEST(Lockstep, ReportsAStateDivergenceWithItsRule) {
  const std::vector<Op> prog = {H(0, op::Rfork{kRumpRffdg}), H(0, op::Release{})};
  const LockstepResult r = run_lockstep(prog, with({impl::Fault::release_keeps_proc}));
  ASSERT_EQ(r.verdict, Verdict::Diverge) << listing(r);
  ASSERT_TRUE(r.divergence);
  EXPECT_EQ(r.divergence->step, 1u);
  EXPECT_EQ(r.divergence->rule, Rule::R1);
  EXPECT_EQ(r.summary(), "DIVERGE at step 1 [R1]: state after the step: process table: pid 2 present, not expected");
}

TEST(Lockstep, ReportsAnOutcomeDivergence) {
  // switch to an lwp another host runs: the SPEC says FATAL(L3-running); the fault lets it through.
  const std::vector<Op> prog = {H(0, op::Rfork{0}), H(1, op::Switch{1})};
  const LockstepResult r = run_lockstep(prog, with({impl::Fault::switch_ignores_running}));
  ASSERT_EQ(r.verdict, Verdict::Diverge) << listing(r);
  EXPECT_EQ(r.divergence->rule, Rule::L3);
  EXPECT_EQ(r.divergence->expected, "FATAL(L3-running)");
  EXPECT_EQ(r.divergence->observed, "returned");
}

TEST(Lockstep, ReportsAWakeUpTheModelDoesNotAllow) {
  const std::vector<Op> prog = {H(0, op::KthreadCreate{0, "kt"}), H(0, op::Suspend{2, 0}), H(1, op::Resume{2})};
  const LockstepResult r = run_lockstep(prog, with({impl::Fault::shared_wakeup_channel}));
  ASSERT_EQ(r.verdict, Verdict::Diverge) << listing(r);
  EXPECT_EQ(r.divergence->step, 2u);
  EXPECT_EQ(r.divergence->rule, Rule::S2);
  EXPECT_NE(r.divergence->what.find("wake-up of H0"), std::string::npos) << r.summary();
}

TEST(Lockstep, AProgramLeftBlockedForeverTearsDownCleanly) {
  // H0 waits without limit for a suspend that a zombie never acknowledges (K3, K2).
  const std::vector<Op> prog = {H(0, op::KthreadCreate{0, "kt"}), K(2, op::KthreadExit{3}), H(0, op::Suspend{2, 0}),
                                H(1, op::WaitExit{2, 0})};
  const LockstepResult r = run_lockstep(prog, LockstepConfig{});
  EXPECT_EQ(r.verdict, Verdict::Agree) << listing(r);
  EXPECT_EQ(r.events.size(), prog.size());
}

TEST(Lockstep, AStepThatNeverReturnsNorBlocksIsADeadlockVerdict) {
  // With park_spins the parked kthread polls instead of sleeping: under the one-at-a-time scheduler
  // its step never ends. The run must say DEADLOCK with every thread's state, and return.
  LockstepConfig c = with({impl::Fault::park_spins});
  c.watchdog = std::chrono::milliseconds(300);
  const std::vector<Op> prog = {H(0, op::KthreadCreate{0, "kt"}), H(0, op::Suspend{2, 0}), K(2, op::SuspendCheck{2}),
                                H(1, op::Resume{2})};
  const auto t0 = std::chrono::steady_clock::now();
  const LockstepResult r = run_lockstep(prog, c);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
  ASSERT_EQ(r.verdict, Verdict::Deadlock) << listing(r);
  EXPECT_NE(r.deadlock_report.find("K2 did not return or block"), std::string::npos) << r.deadlock_report;
  EXPECT_NE(r.deadlock_report.find("RUNNING (stuck)"), std::string::npos) << r.deadlock_report;
  EXPECT_NE(r.deadlock_report.find("H0"), std::string::npos) << r.deadlock_report;
}

// A run's rounds as they ran (LockstepResult::formed), run again as a planned program, are the same
// run: every event with its scheduling decisions, and the same rounds. Shrinking an interleaved
// counterexample stands on this: it drops steps from the formed program, not from the choices.
TEST(Lockstep, ARunsFormedRoundsRunTheSameWay) {
  LockstepConfig c;
  c.schedule.strategy = Strategy{Strategy::Kind::Portfolio};
  const std::size_t programs = 100;
  std::size_t same = 0, rounds = 0;
  for (std::uint64_t i = 0; i < programs; ++i) {
    SplitMix src(100 + i);
    const Program p = random_program(src, 40);
    c.schedule.seed = 1000 + i;
    c.schedule.program_index = i;
    const LockstepResult a = run_lockstep(p, c);
    ASSERT_EQ(a.verdict, Verdict::Agree) << a.summary();
    ASSERT_FALSE(a.formed.plan.empty());
    for (const PlannedRound& r : a.formed.plan) rounds += r.size > 1 ? 1 : 0;
    const LockstepResult b = run_lockstep(a.formed, c);
    const bool identical = b.events == a.events && b.formed == a.formed;
    same += identical ? 1 : 0;
    if (!identical) {
      std::size_t k = 0;
      while (k < a.events.size() && k < b.events.size() && a.events[k] == b.events[k]) ++k;
      ADD_FAILURE() << "program " << i << ": " << a.summary() << ", then planned: " << b.summary() << "; first difference at event "
                    << k << " (" << (k < a.events.size() ? to_string(a.events[k].op) : "-") << " / "
                    << (k < b.events.size() ? to_string(b.events[k].op) : "-") << ")";
    }
  }
  EXPECT_GT(rounds, programs * 5) << "the runs hardly interleaved";
  EXPECT_EQ(same, programs);
}
