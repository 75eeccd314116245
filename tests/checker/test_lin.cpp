// The linearizability judge (checker/lin) on hand-made histories: what it must accept (including
// orders that are neither the invocation nor the response order), what it must reject (with the
// culprit and the SPEC rule), pending calls both ways, blocking requests and their follow-ups,
// FATAL, observations, budgets (unknown, never agree) and the cache's pruning.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <stdexcept>

#include "checker/lin_judge.hpp"
#include "checker/lin_partition.hpp"
#include "model/model.hpp"

namespace lockstep::checker::lin {
namespace {

using namespace lockstep::model;

// Initial state: processes 0 and 1 (proc#0, proc#1), lwp0 (lwp#0). New objects get the next ids
// in the order the model creates them, but the history's symbols for them are the recorder's.
History fresh(int hosts = 3) {
  History h;
  h.before = Model().state();
  h.hosts = hosts;
  return h;
}

TraceOutcome value(std::int64_t ret) {
  TraceOutcome o;
  o.ret = ret;
  return o;
}
TraceOutcome sys_error(int err) {
  TraceOutcome o;
  o.ret = -1;
  o.err = err;
  return o;
}
TraceOutcome fatal(Fatal f) {
  TraceOutcome o;
  o.kind = OutcomeKind::Fatal;
  o.fatal = f;
  return o;
}
TraceOutcome lwp(LwpId l) {
  TraceOutcome o;
  o.lwp = l;
  return o;
}

Operation call(Actor a, OpBody b, std::size_t at, std::optional<std::size_t> ret, TraceOutcome out = value(0),
               std::vector<Binding> created = {}) {
  Operation o;
  o.op = Op{a, std::move(b)};
  o.call = at;
  o.ret = ret;
  o.outcome = std::move(out);
  o.created = std::move(created);
  return o;
}

Binding proc(std::uint32_t sym, Pid pid) { return Binding{Binding::Kind::Proc, sym, pid}; }
Binding lwp_of(std::uint32_t sym, Pid pid) { return Binding{Binding::Kind::Lwp, sym, pid}; }

const Actor H0 = Actor::host(0), H1 = Actor::host(1), H2 = Actor::host(2);

TEST(LinJudge, EmptyHistoryAgrees) {
  const Judgement j = judge(fresh());
  EXPECT_EQ(j.verdict, Verdict::Agree);
  EXPECT_TRUE(j.order.empty());
  ASSERT_TRUE(j.after);
}

TEST(LinJudge, SequentialHistoryAgreesWithItsOwnOrder) {
  History h = fresh();
  h.ops.push_back(call(H0, op::Rfork{kRumpRffdg}, 0, 1, value(0), {proc(10, 2), lwp_of(20, 2)}));
  h.ops.push_back(call(H0, op::Getpid{}, 2, 3, value(2)));
  h.ops.push_back(call(H0, op::Curlwp{}, 4, 5, lwp(20)));
  const Judgement j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Agree) << summary(h, j);
  ASSERT_EQ(j.order.size(), 3u);
  EXPECT_EQ(j.order[2].result.outcome.lwp, 1u);  // the recorder's lwp 20 is the model's lwp 1
  EXPECT_EQ(j.after->state().procs.size(), 3u);
}

TEST(LinJudge, CurlwpNamingAnotherLwpIsRejected) {
  History h = fresh();
  h.ops.push_back(call(H0, op::Rfork{kRumpRffdg}, 0, 1, value(0), {proc(10, 2), lwp_of(20, 2)}));
  h.ops.push_back(call(H1, op::Newlwp{1}, 0, 1, value(0), {lwp_of(21, 1)}));
  h.ops.push_back(call(H0, op::Curlwp{}, 4, 5, lwp(21)));  // H1's lwp, not H0's
  const Judgement j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Violation);
  EXPECT_EQ(j.culprit, 2u);
}

// H1's dup is invoked first and answers first, but it saw H0's open: only open-then-dup explains it.
// Neither the invocation order nor the response order is a linearisation.
TEST(LinJudge, FindsAnOrderThatIsNeitherInvocationNorResponseOrder) {
  History h = fresh();
  h.ops.push_back(call(H0, op::Open{"/a", true}, 1, 100, value(3)));
  h.ops.push_back(call(H1, op::Dup{0}, 0, 2, value(4)));
  const Judgement j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Agree) << summary(h, j);
  ASSERT_EQ(j.order.size(), 2u);
  EXPECT_EQ(j.order[0].index, 0u);
  EXPECT_EQ(j.order[1].index, 1u);
}

// The same two calls without overlap: dup returned before open was invoked, so it cannot see fd 3 taken.
TEST(LinJudge, RealTimeOrderIsRespected) {
  History h = fresh();
  h.ops.push_back(call(H0, op::Open{"/a", true}, 3, 100, value(3)));
  h.ops.push_back(call(H1, op::Dup{0}, 0, 2, value(4)));
  const Judgement j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Violation);
  EXPECT_EQ(j.culprit, 1u);
  EXPECT_EQ(j.rule, Rule::P7);
  EXPECT_NE(summary(h, j).find("rump_sys_dup"), std::string::npos) << summary(h, j);
}

// A placement that succeeds at once and fails later: H1's write answers first, so it is tried first,
// but H2's fstat saw the file empty, so the search must take the write back and place fstat before it.
TEST(LinJudge, BacktracksWhenAnEarlyPlacementFailsLater) {
  History h = fresh();
  h.ops.push_back(call(H0, op::Open{"/f", true}, 0, 1, value(3)));
  h.ops.push_back(call(H1, op::Write{3, 5}, 2, 50, value(5)));
  h.ops.push_back(call(H2, op::Fstat{3}, 3, 60, value(0)));
  const Judgement j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Agree) << summary(h, j);
  EXPECT_GT(j.stats.backtracks, 0u);
  ASSERT_EQ(j.order.size(), 3u);
  EXPECT_EQ(j.order[1].index, 2u);
  EXPECT_EQ(j.order[2].index, 1u);
}

// A getpid that sees a process which an earlier, completed release removed.
TEST(LinJudge, GetpidSeeingAProcessRemovedEarlierIsRejected) {
  History h = fresh();
  h.ops.push_back(call(H0, op::Rfork{kRumpRfcfdg}, 0, 1, value(0), {proc(10, 2), lwp_of(20, 2)}));
  h.ops.push_back(call(H0, op::Release{}, 2, 3));
  h.ops.push_back(call(H0, op::Getpid{}, 4, 5, value(2)));
  Judgement j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Violation);
  EXPECT_EQ(j.culprit, 2u);
  EXPECT_EQ(j.rule, Rule::P6);
  EXPECT_EQ(j.expected, "1");
  EXPECT_EQ(j.observed, "2");
  EXPECT_EQ(j.order.size(), 2u);  // the longest explained prefix: rfork, release

  // Another host's getppid overlapping the release may see the process either way.
  History g = fresh();
  g.ops.push_back(call(H0, op::Rfork{kRumpRfcfdg}, 0, 1, value(0), {proc(10, 2), lwp_of(20, 2)}));
  g.ops.push_back(call(H1, op::Rfork{kRumpRfcfdg}, 0, 1, value(0), {proc(11, 3), lwp_of(21, 3)}));
  g.ops.push_back(call(H0, op::Release{}, 2, 10));
  g.ops.push_back(call(H0, op::Getpid{}, 11, 12, value(1)));
  g.ops.push_back(call(H1, op::Newlwp{2}, 4, 5, value(0), {lwp_of(22, 2)}));  // pid 2 still there
  j = judge(g);
  ASSERT_EQ(j.verdict, Verdict::Agree) << summary(g, j);
}

History kthread_history() {
  History h = fresh();
  // kthread_create by H0: proc#2 (symbol 10) with pid 2, its lwp (symbol 20).
  Operation k = call(H0, op::KthreadCreate{0, "kt"}, 0, 1, value(0), {proc(10, 2), lwp_of(20, 2)});
  k.outcome.proc = 10;
  h.ops.push_back(std::move(k));
  return h;
}
const Actor K = Actor::kthread(10);  // the kthread's own thread, by the history's symbol

// A suspend that returns 0 while the thread never acknowledged (S2).
TEST(LinJudge, SuspendReturningWithoutAcknowledgementIsRejected) {
  History h = kthread_history();
  h.ops.push_back(call(H0, op::Suspend{10, 0}, 2, 5, value(0)));
  const Judgement j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Violation);
  EXPECT_EQ(j.culprit, 1u);
  EXPECT_EQ(j.rule, Rule::S2);
  EXPECT_NE(j.what.find("wake-up"), std::string::npos) << summary(h, j);
}

// Request + follow-up: the suspend blocks, the thread's suspend_check acknowledges it (and parks
// until the resume), and each response comes after the step that ended its wait.
TEST(LinJudge, BlockingRequestAndFollowUpAgree) {
  History h = kthread_history();
  h.ops.push_back(call(H0, op::Suspend{10, 0}, 2, 10, value(0)));
  h.ops.push_back(call(K, op::SuspendCheck{10}, 3, 20));  // parks at 3..10, returns after the resume
  h.ops.push_back(call(H1, op::Resume{10}, 12, 13, value(0)));
  h.ops[1].blocked = true;
  h.ops[2].blocked = true;
  const Judgement j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Agree) << summary(h, j);
  ASSERT_EQ(j.order.size(), 4u);
  // The suspend's request comes before the acknowledgement that completes it.
  EXPECT_EQ(j.order[1].index, 1u);
  EXPECT_TRUE(j.order[1].result.outcome.blocked());
  EXPECT_EQ(j.order[2].result.completions.size(), 1u);
}

// The response of a blocked call must come after the follow-up: here the acknowledgement is
// invoked only after the suspend returned.
TEST(LinJudge, ResponseBeforeItsFollowUpIsRejected) {
  History h = kthread_history();
  h.ops.push_back(call(H0, op::Suspend{10, 0}, 2, 3, value(0)));
  h.ops.push_back(call(K, op::SuspendCheck{10}, 4, std::nullopt));
  h.ops.back().blocked_at_end = true;
  const Judgement j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Violation);
  EXPECT_EQ(j.culprit, 1u);
}

// A wait for exit that timed out: the clock's tick is the follow-up; racing the thread's exit, the
// order decides which answer the wait gets (§5), and either recorded answer is explained.
TEST(LinJudge, TimeoutRacingItsEventIsEitherOutcome) {
  for (const int answer : {0, EWOULDBLOCK}) {
    History h = kthread_history();
    h.ops.push_back(call(H0, op::WaitExit{10, 5}, 2, 20, value(answer)));
    h.ops.push_back(call(Actor::clock(), op::Tick{5}, 3, 10));
    h.ops.push_back(call(K, op::KthreadExit{7}, 4, 10));
    const Judgement j = judge(h);
    EXPECT_EQ(j.verdict, Verdict::Agree) << answer << ": " << summary(h, j);
  }
}

// A call still in flight at the end may have taken effect...
TEST(LinJudge, PendingCallThatMustHaveTakenEffect) {
  History h = fresh();
  h.ops.push_back(call(H0, op::Open{"/x", true}, 0, std::nullopt));
  h.ops.push_back(call(H1, op::Open{"/x", false}, 1, 2, value(4)));  // /x exists, fd 3 is taken
  const Judgement j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Agree) << summary(h, j);
  EXPECT_EQ(j.order.size(), 2u);
}

// ...or not.
TEST(LinJudge, PendingCallThatCannotHaveTakenEffect) {
  History h = fresh();
  h.ops.push_back(call(H0, op::Open{"/x", true}, 0, std::nullopt));
  h.ops.push_back(call(H1, op::Open{"/x", false}, 1, 2, sys_error(ENOENT)));
  const Judgement j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Agree) << summary(h, j);
  EXPECT_EQ(j.order.size(), 1u);
  EXPECT_EQ(j.order[0].index, 1u);
}

// A call the impl still shows blocked must have been requested, and nothing may wake it.
TEST(LinJudge, BlockedAtTheEnd) {
  History h = kthread_history();
  h.ops.push_back(call(H0, op::Suspend{10, 0}, 2, std::nullopt));
  h.ops.back().blocked_at_end = true;
  EXPECT_EQ(judge(h).verdict, Verdict::Agree);
  h.ops.push_back(call(K, op::SuspendCheck{10}, 3, std::nullopt));  // acknowledges: would wake the suspend
  h.ops.back().blocked_at_end = true;                               // and is itself parked: it took effect
  const Judgement j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Violation);
  EXPECT_EQ(j.rule, Rule::S2);
}

// A pid the history leaves open (a pending rfork) is tried with every pid the history names.
TEST(LinJudge, OpenPidChoiceIsTriedAgainstNamedPids) {
  History h = fresh();
  h.ops.push_back(call(H0, op::Rfork{kRumpRffdg}, 0, std::nullopt));
  h.ops.push_back(call(H1, op::Newlwp{7}, 1, 2, value(0), {lwp_of(30, 7)}));
  const Judgement j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Agree) << summary(h, j);
  ASSERT_EQ(j.order.size(), 2u);
  EXPECT_EQ(j.order[0].choice.pid, 7);
}

TEST(LinJudge, ImplPidsAreBoundAndChecked) {
  History h = fresh();
  h.ops.push_back(call(H0, op::Rfork{kRumpRffdg}, 0, 1, value(0), {proc(10, 9), lwp_of(20, 9)}));
  h.ops.push_back(call(H0, op::Getpid{}, 2, 3, value(9)));
  EXPECT_EQ(judge(h).verdict, Verdict::Agree);
  h.ops.push_back(call(H1, op::Rfork{kRumpRffdg}, 4, 5, value(0), {proc(11, 9), lwp_of(21, 9)}));  // pid 9 is taken
  const Judgement j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Violation);
  EXPECT_EQ(j.rule, Rule::R5);
  EXPECT_EQ(j.culprit, 2u);
}

// Which of two lwps created at once in one process got which lid shows in no answer; when the
// recorder gives the lids, they decide the order at once.
TEST(LinJudge, RecordedLidsAreChecked) {
  History h = fresh();
  h.ops.push_back(call(H0, op::Newlwp{1}, 0, 10, value(0), {lwp_of(20, 1)}));
  h.ops.push_back(call(H1, op::Newlwp{1}, 1, 9, value(0), {lwp_of(21, 1)}));
  h.ops[0].created_lids = {1};  // H0's newlwp came first, although H1's answered first
  h.ops[1].created_lids = {2};
  Judgement j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Agree) << summary(h, j);
  EXPECT_EQ(j.order[0].index, 0u);
  h.ops[1].created_lids = {1};  // both cannot be lid 1
  j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Violation);
  EXPECT_NE(j.expected.find("lid"), std::string::npos) << summary(h, j);
  h.ops[1].created_lids = {1, 2};  // more lids than lwps
  EXPECT_THROW(judge(h), std::invalid_argument);
}

// FATAL ends the instance: the calls overlapping it are not judged, the ones before it are.
TEST(LinJudge, FatalEndsTheHistory) {
  History h = fresh();
  h.ops.push_back(call(H0, op::Switch{99}, 2, 3, fatal(Fatal::L3Stale)));  // a handle never issued
  h.ops.push_back(call(H1, op::Getpid{}, 1, 6, value(777)));                // after the panic: not judged
  Judgement j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Agree) << summary(h, j);
  EXPECT_TRUE(j.ended_by_fatal);
  ASSERT_EQ(j.order.size(), 1u);

  h.ops[1].ret = 1;  // now it answered before the panic began: judged, and wrong
  h.ops[1].call = 0;
  j = judge(h);
  EXPECT_EQ(j.verdict, Verdict::Violation);

  History g = fresh();
  g.ops.push_back(call(H0, op::Switch{kNoLwp}, 0, 1, fatal(Fatal::L3Stale)));  // the model says L3-null-implicit
  j = judge(g);
  ASSERT_EQ(j.verdict, Verdict::Violation);
  EXPECT_EQ(j.observed, "FATAL(L3-stale)");
}

TEST(LinJudge, QuiescentObservationsAreCompared) {
  History h = fresh();
  h.ops.push_back(call(H0, op::Rfork{kRumpRffdg}, 0, 1, value(0), {proc(10, 2), lwp_of(20, 2)}));
  h.ops.push_back(call(H1, op::Open{"/o", true}, 0, 2, value(3)));
  Model m;
  m.apply(Op{H0, op::Rfork{kRumpRffdg}});
  m.apply(Op{H1, op::Open{"/o", true}});
  h.observations.push_back(ObservationPoint{3, observe(m.state(), h.hosts)});
  EXPECT_EQ(judge(h).verdict, Verdict::Agree);

  h.observations[0].state.files["/o"] = 9;
  const Judgement j = judge(h);
  ASSERT_EQ(j.verdict, Verdict::Violation);
  EXPECT_TRUE(j.culprit_is_observation);
  EXPECT_EQ(j.rule, Rule::P7);
}

// Two lwps made at once in one process, their lids not recorded (a plug-in SUT's history), then
// both unbound: an observation there shows two lwps that differ only in which symbol is which, and
// only a later switch to one of them tells. Committing at that observation would keep whichever
// order the search tried first (here the wrong one: the earlier middle); it is no commit point
// (items.cpp, `lwp_symbols_ambiguous`), and the impl's order is found.
TEST(LinJudge, LwpsThatOnlyALaterStepTellsApartMakeNoCommitPoint) {
  History h = fresh(2);
  h.ops.push_back(call(H0, op::Newlwp{1}, 10, 40, value(0), {lwp_of(20, 1)}));
  h.ops.push_back(call(H1, op::Newlwp{1}, 20, 50, value(0), {lwp_of(21, 1)}));
  h.ops.push_back(call(H0, op::Switch{kNoLwp}, 60, 61));
  h.ops.push_back(call(H1, op::Switch{kNoLwp}, 62, 63));
  h.ops.push_back(call(H1, op::Switch{21}, 80, 81));
  Model m;
  m.apply(Op{H1, op::Newlwp{1}});  // the impl's order: H1's lwp (symbol 21) is lwp#1, H0's lwp#2
  m.apply(Op{H0, op::Newlwp{1}});
  m.apply(Op{H0, op::Switch{kNoLwp}});
  m.apply(Op{H1, op::Switch{kNoLwp}});
  h.observations.push_back(ObservationPoint{70, observe(m.state(), h.hosts)});
  m.apply(Op{H1, op::Switch{1}});
  h.observations.push_back(ObservationPoint{90, observe(m.state(), h.hosts)});
  const Judgement j = judge(h);
  EXPECT_EQ(j.verdict, Verdict::Agree) << summary(h, j);
  EXPECT_EQ(j.stats.commits, 1u) << "the second observation, where H1's curlwp names its lwp, is one";
  // With the lids recorded there is nothing to tell apart: both observations are commit points.
  h.ops[0].created_lids = {2};
  h.ops[1].created_lids = {1};
  const Judgement k = judge(h);
  EXPECT_EQ(k.verdict, Verdict::Agree) << summary(h, k);
  EXPECT_EQ(k.stats.commits, 2u);
}

TEST(LinJudge, ConsoleLinesAreComparedAtTheNextObservation) {
  History h = kthread_history();
  h.ops.push_back(call(H0, op::KprocShutdown{10}, 2, std::nullopt));
  h.ops.back().blocked_at_end = true;
  Model m;
  m.apply(Op{H0, op::KthreadCreate{0, "kt"}});
  m.apply(Op{H0, op::KprocShutdown{2}});
  h.observations.push_back(ObservationPoint{5, observe(m.state(), h.hosts)});
  for (bool invariants : {false, true}) {
    Options o;
    o.invariants = invariants;  // keeps the console in the states instead of aside
    EXPECT_EQ(judge(h, o).verdict, Verdict::Agree) << invariants;
    History bad = h;
    bad.observations[0].state.console[0] += "!";
    const Judgement j = judge(bad, o);
    EXPECT_EQ(j.verdict, Verdict::Violation) << invariants;
  }
}

// SPEC K7 and §8: a kproc_shutdown's caller writes its banner and its result line itself, so the
// lines of two overlapping shutdowns reach the console in any interleaving that keeps each caller's
// order, and those of a shutdown that returned before another began come first. Two kthreads (kt,
// symbol 10, pid 2; kt2, symbol 11, pid 3); their shutdowns time out at the tick of 60 * hz.
History two_kthreads() {
  History h = kthread_history();
  Operation k = call(H1, op::KthreadCreate{0, "kt2"}, 0, 1, value(0), {proc(11, 3), lwp_of(21, 3)});
  k.outcome.proc = 11;
  h.ops.push_back(std::move(k));
  return h;
}
// The §7 state after both shutdowns timed out (the console is each test's).
Observation after_two_shutdowns(const History& h) {
  Model m;
  m.apply(Op{H0, op::KthreadCreate{0, "kt"}});
  m.apply(Op{H1, op::KthreadCreate{0, "kt2"}});
  m.apply(Op{H0, op::KprocShutdown{2}});
  m.apply(Op{H1, op::KprocShutdown{3}});
  m.apply(Op{Actor::clock(), op::Tick{60 * kHz}});
  return observe(m.state(), h.hosts);
}
TEST(LinJudge, OverlappingShutdownsLinesInterleaveByCaller) {
  const std::string b1 = "Waiting (max 60 seconds) for system process `kt' to stop...";
  const std::string b2 = "Waiting (max 60 seconds) for system process `kt2' to stop...";
  const TraceOutcome timed_out = value(0);  // kproc_shutdown returns nothing; its line says how it ended
  History h = two_kthreads();
  h.ops.push_back(call(H0, op::KprocShutdown{10}, 2, 10, timed_out));
  h.ops.push_back(call(H1, op::KprocShutdown{11}, 3, 11, timed_out));
  h.ops.push_back(call(Actor::clock(), op::Tick{60 * kHz}, 5, 6));
  const Observation seen = after_two_shutdowns(h);
  for (const auto& lines : {std::vector<std::string>{b1, b2, "timed out", "timed out"}, {b2, b1, "timed out", "timed out"},
                            {b2, "timed out", b1, "timed out"}}) {
    History ok = h;
    ok.observations.push_back(ObservationPoint{12, seen});
    ok.observations[0].state.console = lines;
    for (bool invariants : {false, true}) {
      Options o;
      o.invariants = invariants;
      const Judgement j = judge(ok, o);
      EXPECT_EQ(j.verdict, Verdict::Agree) << fmt::format("{} (invariants {})", fmt::join(lines, " | "), invariants) << summary(ok, j);
    }
  }
  // A caller's result before its own banner, and a line nobody wrote.
  for (const auto& lines : {std::vector<std::string>{"timed out", b1, b2, "timed out"}, {b1, b2, "timed out", "stopped"}}) {
    History bad = h;
    bad.observations.push_back(ObservationPoint{12, seen});
    bad.observations[0].state.console = lines;
    const Judgement j = judge(bad);
    ASSERT_EQ(j.verdict, Verdict::Violation) << fmt::format("{}", fmt::join(lines, " | "));
    EXPECT_EQ(j.rule, Rule::K7) << summary(bad, j);
    EXPECT_TRUE(j.culprit_is_observation);
  }
}
TEST(LinJudge, ShutdownLinesKeepRealTimeOrder) {
  const std::string b1 = "Waiting (max 60 seconds) for system process `kt' to stop...";
  const std::string b2 = "Waiting (max 60 seconds) for system process `kt2' to stop...";
  const TraceOutcome timed_out = value(0);  // kproc_shutdown returns nothing; its line says how it ended
  History h = two_kthreads();
  // H0's shutdown returns (4) before H1's begins (6): its lines were written first.
  h.ops.push_back(call(H0, op::KprocShutdown{10}, 2, 4, timed_out));
  h.ops.push_back(call(Actor::clock(), op::Tick{60 * kHz}, 3, 3));
  h.ops.push_back(call(H1, op::KprocShutdown{11}, 6, 9, timed_out));
  h.ops.push_back(call(Actor::clock(), op::Tick{60 * kHz}, 7, 7));
  const Observation seen = after_two_shutdowns(h);
  History ok = h;
  ok.observations.push_back(ObservationPoint{10, seen});
  ok.observations[0].state.console = {b1, "timed out", b2, "timed out"};
  EXPECT_EQ(judge(ok).verdict, Verdict::Agree) << summary(ok, judge(ok));
  History bad = h;
  bad.observations.push_back(ObservationPoint{10, seen});
  bad.observations[0].state.console = {b2, b1, "timed out", "timed out"};
  const Judgement j = judge(bad);
  ASSERT_EQ(j.verdict, Verdict::Violation);
  EXPECT_EQ(j.rule, Rule::K7) << summary(bad, j);
}

// Calls blocked before the history: their requests are in `before`.
TEST(LinJudge, CarriedBlockedCall) {
  Model m;
  m.apply(Op{H0, op::KthreadCreate{0, "kt"}});  // proc#2, lwp#1
  m.apply(Op{H1, op::Suspend{2, 0}});           // H1 blocked
  History h;
  h.before = m.state();
  Operation s = call(H1, op::Suspend{2, 0}, 0, 10, value(0));
  s.carried = true;
  h.ops.push_back(s);
  EXPECT_EQ(judge(h).verdict, Verdict::Violation);  // nothing acknowledges it
  h.ops.push_back(call(Actor::kthread(2), op::SuspendCheck{2}, 1, std::nullopt));
  const Judgement j = judge(h);
  EXPECT_EQ(j.verdict, Verdict::Agree) << summary(h, j);
}

TEST(LinJudge, OutOfBudgetIsUnknownNeverAgree) {
  History h = fresh(8);
  for (HostId k = 0; k < 8; ++k) h.ops.push_back(call(Actor::host(k), op::Getuid{}, k, 100 + k, value(0)));
  h.ops.push_back(call(Actor::host(0), op::Getpid{}, 200, 201, value(5)));  // impossible
  Options o;
  o.budget.max_steps = 20;
  Judgement j = judge(h, o);
  EXPECT_EQ(j.verdict, Verdict::Unknown);
  EXPECT_FALSE(j.budget_exhausted.empty());
  EXPECT_NE(summary(h, j).find("unknown"), std::string::npos);
  // An agreeing history is still unknown when the budget cannot reach the end.
  h.ops.pop_back();
  o.budget.max_steps = 3;
  EXPECT_EQ(judge(h, o).verdict, Verdict::Unknown);
}

// Commuting calls: the cache explores each subset of them once (2^k nodes) instead of each order (k!).
TEST(LinJudge, MemoisationPrunes) {
  History h = fresh(8);
  for (HostId k = 0; k < 7; ++k) h.ops.push_back(call(Actor::host(k), op::Getuid{}, k, 100 + k, value(0)));
  h.ops.push_back(call(Actor::host(7), op::Getpid{}, 7, 99, value(5)));  // no order explains it
  Options memo, off;
  off.cache = CacheMode::Off;
  const Judgement a = judge(h, memo), b = judge(h, off);
  ASSERT_EQ(a.verdict, Verdict::Violation);
  ASSERT_EQ(b.verdict, Verdict::Violation);
  EXPECT_LE(a.stats.states, 1u << 7);
  EXPECT_GT(a.stats.pruned, 0u);
  EXPECT_GT(b.stats.states, 10 * a.stats.states) << a.stats.states << " vs " << b.stats.states;
  Options fp;
  fp.cache = CacheMode::Fingerprint;
  EXPECT_EQ(judge(h, fp).stats.states, a.stats.states);
}

TEST(LinJudge, MalformedHistoryThrows) {
  History h = fresh();
  h.ops.push_back(call(H0, op::Getpid{}, 0, 5, value(1)));
  h.ops.push_back(call(H0, op::Getpid{}, 3, 6, value(1)));  // one actor, two calls at once
  EXPECT_TRUE(validate(h).has_value());
  EXPECT_THROW(judge(h), std::invalid_argument);
  History g = fresh();
  g.ops.push_back(call(H0, op::Rfork{0}, 0, 1, value(0), {proc(1, 5)}));  // proc#1 is init
  EXPECT_THROW(judge(g), std::invalid_argument);
}

TEST(LinJudge, PrecedesIsRealTimeOrder) {
  const Operation a = call(H0, op::Getpid{}, 0, 2), b = call(H1, op::Getpid{}, 3, 4), c = call(H2, op::Getpid{}, 2, 5);
  EXPECT_TRUE(precedes(a, b));
  EXPECT_FALSE(precedes(b, a));
  EXPECT_FALSE(precedes(a, c));  // a response and an invocation at one position overlap
}

TEST(LinPartition, WholeIsOnePartWithTheSameVerdict) {
  History h = fresh();
  h.ops.push_back(call(H0, op::Getpid{}, 0, 1, value(1)));
  const std::vector<Part> parts = whole(h);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].ops, std::vector<std::size_t>{0});
  EXPECT_EQ(judge_parts(h, whole).verdict, Verdict::Agree);
  h.ops[0].outcome.ret = 3;
  const PartsJudgement p = judge_parts(h, whole);
  EXPECT_EQ(p.verdict, Verdict::Violation);
  EXPECT_EQ(p.deciding, 0u);
}

}  // namespace
}  // namespace lockstep::checker::lin
