// Free-running stress (checker/stress): the delay decorator, the recorder's histories, the judge's
// verdict on the correct impl, the trace it writes, the witness shrinker, and bad configurations.
// Short runs (a fraction of a second): these run under ThreadSanitizer too (the impl on real
// threads with delays injected is exactly what TSan should watch).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <atomic>
#include <thread>
#include <vector>

#include "checker/lin_judge.hpp"
#include "checker/observation.hpp"
#include "checker/stress.hpp"
#include "checker/stress_files.hpp"
#include "checker/stress_trace.hpp"
#include "checker/stress_verdict.hpp"
#include "checker/trace_check.hpp"
#include "impl/delay_backend.hpp"
#include "history_merge.hpp"
#include "model/model.hpp"

namespace {

using namespace lockstep;
using namespace lockstep::checker;
using namespace lockstep::checker::stress;
using namespace lockstep::model;
namespace sync = lockstep::impl::sync;

std::shared_ptr<sync::DelayBackend> delays(double p, std::uint64_t seed = 1) {
  sync::DelayOptions o;
  o.probability = p;
  o.max_delay = std::chrono::microseconds(20);
  o.seed = seed;
  return std::make_shared<sync::DelayBackend>(sync::make_real_backend(std::chrono::milliseconds(1)), o);
}

// Four threads bump a counter under a mutex of the backend: mutual exclusion must hold whatever the
// decorator does around the lock, and it counts the sync points it passed.
std::uint64_t hammer(sync::DelayBackend& b) {
  sync::Mutex m(b, "m");
  std::uint64_t counter = 0;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        std::lock_guard l(m);
        ++counter;
      }
    });
  for (auto& t : ts) t.join();
  return counter;
}

TEST(DelayBackend, ProbabilityZeroIsAPassThrough) {
  auto b = delays(0.0);
  EXPECT_EQ(hammer(*b), 2000u);
  EXPECT_EQ(b->delays(), 0u);
  EXPECT_EQ(b->points(), 0u);  // not even counted: the decorator costs one branch
}

TEST(DelayBackend, ProbabilityOneDelaysEveryLockAndUnlock) {
  auto b = delays(1.0);
  EXPECT_EQ(hammer(*b), 2000u);
  EXPECT_EQ(b->points(), 4000u);  // before each lock, after each unlock
  EXPECT_EQ(b->delays(), 4000u);
}

TEST(DelayBackend, DelaysAboutTheConfiguredFraction) {
  auto b = delays(0.25);
  EXPECT_EQ(hammer(*b), 2000u);
  EXPECT_EQ(b->points(), 4000u);
  EXPECT_GT(b->delays(), 800u);
  EXPECT_LT(b->delays(), 1200u);
}

TEST(DelayBackend, ConditionWaitsAndTimeoutsPassThrough) {
  auto b = delays(0.5);
  sync::Mutex m(*b, "m");
  sync::CondVar cv(*b, "cv");
  std::unique_lock l(m);
  // A deadline two ticks ahead times out (nobody notifies); the mutex is held again afterwards.
  EXPECT_EQ(cv.wait_until(l, b->now() + 2), sync::WaitStatus::timed_out);
  EXPECT_TRUE(m.held());
}

StressConfig small(std::uint64_t seed) {
  StressConfig c;
  c.threads = 3;
  c.kthreads = 2;
  c.duration = 0.4;
  c.ops = 4000;
  c.seed = seed;
  return c;
}

TEST(Stress, BadConfigurationsAreRefusedWithOneLine) {
  auto bad = [](auto edit) {
    StressConfig c = small(1);
    edit(c);
    const auto why = check_config(c);
    EXPECT_TRUE(why.has_value());
    if (why) {
      EXPECT_EQ(why->find('\n'), std::string::npos) << *why;
    }
    EXPECT_THROW(record_stress(c), std::invalid_argument);
  };
  bad([](StressConfig& c) { c.threads = 0; });
  bad([](StressConfig& c) { c.threads = -3; });
  bad([](StressConfig& c) { c.duration = 0; });
  bad([](StressConfig& c) { c.duration = -1; });
  bad([](StressConfig& c) { c.delay_probability = 1.5; });
  bad([](StressConfig& c) { c.delay_probability = -0.1; });
  bad([](StressConfig& c) { c.kthreads = -1; });
  bad([](StressConfig& c) { c.tick = std::chrono::nanoseconds(10); });
  bad([](StressConfig& c) { c.focus_percent = 101; });
  bad([](StressConfig& c) { c.focus_percent = -1; });
  EXPECT_FALSE(check_config(small(1)).has_value());
}

// The correct impl, run free on real threads with delays: the recorded history is well formed, has
// what the run did (host calls, kthread iterations, ticks, barrier observations, the lids of new
// lwps), and the judge finds an order that explains it.
TEST(Stress, TheCorrectImplAgrees) {
  for (std::uint64_t seed : {1u, 2u}) {
    StressRecording rec = record_stress(small(seed));
    // A barrier counts only if every thread pauses within its limit: under load (a sanitizer build
    // beside another test on two cores) all of a 0.4 s run's barriers can miss it (CI saw 0 of them
    // count once). A longer run must count one; a recorder whose barriers never count fails both.
    // Likewise the paced kthread bodies can spend most of the 4 000-call budget while the hosts,
    // slowed by the sanitizer and the load, make few calls of their own (CI saw 60 once).
    if ((rec.history.observations.size() < 2 && rec.stats.barriers_skipped > 0) || rec.stats.host_ops < 100) {
      StressConfig longer = small(seed);
      longer.duration = 3;
      longer.ops = 40000;
      rec = record_stress(longer);
    }
    ASSERT_TRUE(rec.stuck.empty());
    ASSERT_FALSE(rec.panic) << *rec.panic;
    const lin::History& h = rec.history;
    EXPECT_FALSE(lin::validate(h).has_value()) << *lin::validate(h);
    EXPECT_GE(rec.stats.host_ops, 100u);
    EXPECT_GT(rec.stats.kthread_ops, 0u);
    EXPECT_GT(rec.stats.ticks, 0u);
    EXPECT_GT(rec.stats.delays, 0u);
    EXPECT_TRUE(rec.observed);
    EXPECT_GE(h.observations.size(), 2u) << "barriers observe the impl while it runs";
    std::size_t lids = 0, hints = 0, kthread_ops = 0;
    for (const lin::Operation& o : h.ops) {
      lids += o.created_lids.size();
      hints += o.hint ? 1 : 0;
      kthread_ops += o.op.actor.kind == Actor::Kind::Kthread ? 1 : 0;
      if (o.ret) {
        EXPECT_LE(o.call, *o.ret);
      }
    }
    EXPECT_GT(lids, 0u);
    EXPECT_GT(hints, h.ops.size() / 4);
    // Every kthread call answered is in the history; so are the parked ones still in flight at the end.
    EXPECT_GE(kthread_ops, rec.stats.kthread_ops);
    EXPECT_LE(kthread_ops, rec.stats.kthread_ops + static_cast<std::uint64_t>(rec.stats.kthreads_created));
    VerdictOptions vo;
    vo.budget.max_seconds = 60;
    const StressVerdict v = judge_stress(rec, vo);
    EXPECT_EQ(v.kind, StressVerdictKind::Agree) << v.line;
    EXPECT_EQ(exit_code(v.kind), 0);
    if (v.kind != StressVerdictKind::Agree) {
      // A false alarm of a free-running run cannot be replayed: keep what it recorded for the reader.
      const StressFiles f = write_stress_files(".", fmt::format("the-correct-impl-agrees-{}", seed), rec, v, seed, {});
      for (const std::string& w : f.written) std::printf("wrote %s\n", w.c_str());
    }
  }
}

// What is written on agreement is the judge's order as a trace that the model replays event by
// event, with format 1.2 real-time edges that point backwards.
TEST(Stress, TheTraceOfAnAgreementReplaysThroughTheModel) {
  const StressRecording rec = record_stress(small(3));
  const StressVerdict v = judge_stress(rec, VerdictOptions{});
  ASSERT_EQ(v.kind, StressVerdictKind::Agree) << v.line;
  const StressTrace t = stress_trace(rec.history, v.judgement, rec, 3, {});
  EXPECT_FALSE(t.header.partial_order);  // the judge's order: an execution, event by event
  std::size_t edges = 0;
  for (const TraceEvent& e : t.events) {
    for (std::size_t a : e.after) EXPECT_LT(a, e.step);
    edges += e.after.size();
  }
  EXPECT_GT(edges, 0u);
  const CheckReport r = check_trace(Trace{t.header, t.events});
  EXPECT_TRUE(r.valid()) << (r.mismatch ? r.mismatch->what : "");
  EXPECT_EQ(r.events, t.events.size());
}

TEST(Stress, WithoutRecordingNothingIsKeptButCallsAreCounted) {
  StressConfig c = small(4);
  c.record = false;
  const StressRecording rec = record_stress(c);
  EXPECT_TRUE(rec.history.ops.empty());
  // The budget counts every lane's calls, and the kthread bodies may spend most of it when the
  // hosts run slowly (CI under AddressSanitizer: 60 host calls), so the hosts are only asked to have
  // made calls, and all lanes together enough of them.
  EXPECT_GT(rec.stats.host_ops, 0u);
  EXPECT_GT(rec.stats.kthread_ops, 0u);
  EXPECT_GT(rec.stats.host_ops + rec.stats.kthread_ops, 100u);
  EXPECT_FALSE(rec.panic) << *rec.panic;  // the unrecorded path drives the kthread bodies the same way
  EXPECT_TRUE(rec.stuck.empty());
}

// History building for the witness tests: an answer, and an operation with its interval.
TraceOutcome returning(std::int64_t v) {
  TraceOutcome o;
  o.ret = v;
  return o;
}

void add_op(lin::History& h, Actor a, OpBody b, std::size_t call, std::size_t ret, TraceOutcome out) {
  lin::Operation o;
  o.op = Op{a, std::move(b)};
  o.call = call;
  o.ret = ret;
  o.outcome = out;
  h.ops.push_back(std::move(o));
}

// A history in which one getpid cannot be explained, among unrelated calls of other threads: the
// witness keeps the culprit and what it needs, and drops the rest.
TEST(Witness, ShrinksToTheCallsThatMatter) {
  lin::History h;
  h.before = Model().state();
  h.hosts = 3;
  std::size_t t = 0;
  auto add = [&](Actor a, OpBody b, TraceOutcome out) {
    add_op(h, a, std::move(b), t, t + 3, out);
    t += 4;
  };
  auto value = returning;
  for (int i = 0; i < 20; ++i) add(Actor::host(1 + i % 2), op::Getuid{}, value(0));
  add(Actor::host(0), op::Getpid{}, value(7));  // the implicit context is process 1
  for (int i = 0; i < 20; ++i) add(Actor::host(1 + i % 2), op::Getppid{}, value(0));
  const lin::Judgement j = lin::judge(h);
  ASSERT_EQ(j.verdict, lin::Verdict::Violation);
  const Witness w = shrink_witness(h, j, lin::Budget{}, 10);
  EXPECT_EQ(w.judgement.verdict, lin::Verdict::Violation);
  EXPECT_EQ(w.judgement.rule, j.rule);
  ASSERT_EQ(w.history.ops.size(), 1u);
  EXPECT_EQ(w.ops[0], 20u);
  EXPECT_GT(w.candidates, 0u);
  // The drawing names the culprit and the rule.
  const std::string svg = history_svg(w.history, w.judgement, "witness");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("#f4b6b6"), std::string::npos);  // the culprit's colour
}

// A history of overlapping writes, a quiescent observation, then a tail in which an fstat shows one
// byte more than was written: the failure needs every write (each changes the size expected), and
// none of the tail's other calls.
lin::History writes_then_a_wrong_size(std::size_t pairs) {
  Model m;
  lin::History h;
  h.before = m.state();
  h.hosts = 2;
  std::size_t t = 0;
  auto add = [&](Actor a, OpBody b, std::size_t call, std::size_t ret, TraceOutcome out) { add_op(h, a, std::move(b), call, ret, out); };
  auto value = returning;
  std::int64_t size = 0;
  for (std::size_t i = 0; i < pairs; ++i) {  // H0's and H1's writes overlap, pair by pair
    const std::int64_t a = 1 + static_cast<std::int64_t>(i), b = 2 + static_cast<std::int64_t>(i);
    add(Actor::host(0), op::Write{1, static_cast<std::uint32_t>(a)}, t, t + 3, value(a));
    add(Actor::host(1), op::Write{1, static_cast<std::uint32_t>(b)}, t + 1, t + 4, value(b));
    m.apply(h.ops[h.ops.size() - 2].op, {});
    m.apply(h.ops.back().op, {});
    size += a + b;
    t += 6;
  }
  h.observations.push_back(lin::ObservationPoint{t, observe(m.state(), 2)});
  t += 2;
  add(Actor::host(0), op::Getuid{}, t, t + 3, value(0));
  TraceOutcome wrong = value(0);
  wrong.st_size = size + 1;
  add(Actor::host(1), op::Fstat{1}, t + 1, t + 4, wrong);
  add(Actor::host(0), op::Getppid{}, t + 5, t + 6, value(0));
  return h;
}

// The judge reports how much of the order it committed to: up to and including the observation.
TEST(Witness, TheJudgeSaysWhatItCommittedTo) {
  const lin::History h = writes_then_a_wrong_size(20);
  const lin::Judgement j = lin::judge(h);
  ASSERT_EQ(j.verdict, lin::Verdict::Violation) << lin::summary(h, j);
  ASSERT_EQ(j.committed, 41u) << lin::summary(h, j);
  EXPECT_TRUE(j.order[j.committed - 1].observation);
  lin::Options no_commits;
  no_commits.commit_at_quiescent_observations = false;
  EXPECT_EQ(lin::judge(h, no_commits).committed, 0u);
}

// What the judge committed to is narrowed to the order it kept: the writes become a sequence (the
// witness's search walks it), the tail is shrunk to the failing fstat, and the failure is the same.
TEST(Witness, WhatTheJudgeCommittedToIsNarrowedToItsOrder) {
  const lin::History h = writes_then_a_wrong_size(20);
  const lin::Judgement j = lin::judge(h);
  ASSERT_EQ(j.verdict, lin::Verdict::Violation);
  const Witness w = shrink_witness(h, j, lin::Budget{}, 20);
  ASSERT_EQ(w.judgement.verdict, lin::Verdict::Violation) << lin::summary(w.history, w.judgement);
  EXPECT_EQ(w.judgement.rule, j.rule);
  EXPECT_EQ(w.judgement.expected, j.expected);
  EXPECT_EQ(w.judgement.observed, j.observed);
  ASSERT_EQ(w.history.ops.size(), 41u) << lin::summary(w.history, w.judgement);  // the 40 writes and the fstat
  EXPECT_TRUE(std::holds_alternative<op::Fstat>(w.history.ops.back().op.body));
  ASSERT_EQ(w.narrowed.size(), 40u);
  // The narrowed writes follow one another, in the order the judge committed to.
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  for (std::size_t i : w.narrowed) spans.emplace_back(w.history.ops[i].call, *w.history.ops[i].ret);
  std::sort(spans.begin(), spans.end());
  for (std::size_t k = 1; k < spans.size(); ++k) EXPECT_LT(spans[k - 1].second, spans[k].first);
  // The witness is judged as it stands: the same failure again.
  const lin::Judgement again = lin::judge(w.history);
  EXPECT_EQ(again.verdict, lin::Verdict::Violation);
  EXPECT_EQ(again.expected, j.expected);
  // The summary says what was narrowed, and lists the fstat and the writes it depends on.
  StressRecording rec;
  rec.history = h;
  StressVerdict v;
  v.kind = StressVerdictKind::Violation;
  v.line = "VIOLATION";
  v.witness = w;
  const std::string text = verdict_summary(rec, v);
  EXPECT_NE(text.find("40 of its operations came before the last observation the judge committed to"), std::string::npos) << text;
  EXPECT_NE(text.find("* H1 rump_sys_fstat(1)"), std::string::npos) << text;
  EXPECT_NE(text.find("H0 rump_sys_write(1, 20)"), std::string::npos) << text;
}

// A witness fails where the history failed, the same way. The console shows 25 bytes where 10 were
// written (observation 1). Without H1's write, observation 0 (10 bytes) would fail under the same
// rule, and observation 1 the other way (0 expected): a history the implementation never made. The
// shrinker keeps the write and drops only the getuid that nothing depends on.
TEST(Witness, FailsAtTheSameCulpritWithTheSameDifference) {
  Model m;
  lin::History h;
  h.before = m.state();
  h.hosts = 2;
  auto add = [&](Actor a, OpBody b, std::int64_t ret, std::size_t call) {
    lin::Operation o;
    o.op = Op{a, std::move(b)};
    o.call = call;
    o.ret = call + 1;
    o.outcome.ret = ret;
    h.ops.push_back(std::move(o));
  };
  add(Actor::host(1), op::Write{1, 10}, 10, 0);
  m.apply(h.ops[0].op, {});
  h.observations.push_back(lin::ObservationPoint{2, observe(m.state(), 2)});
  add(Actor::host(0), op::Getuid{}, 0, 3);
  Observation wrong = observe(m.state(), 2);
  ASSERT_EQ(wrong.files.count("/dev/console"), 1u);
  wrong.files["/dev/console"] = 25;
  h.observations.push_back(lin::ObservationPoint{5, wrong});
  const lin::Judgement j = lin::judge(h);
  ASSERT_EQ(j.verdict, lin::Verdict::Violation);
  ASSERT_TRUE(j.culprit_is_observation);
  ASSERT_EQ(j.culprit, 1u);
  const Witness w = shrink_witness(h, j, lin::Budget{}, 10);
  EXPECT_EQ(w.judgement.verdict, lin::Verdict::Violation);
  EXPECT_TRUE(w.judgement.culprit_is_observation);
  EXPECT_EQ(w.judgement.expected, j.expected);
  EXPECT_EQ(w.judgement.observed, j.observed);
  ASSERT_EQ(w.history.ops.size(), 1u) << lin::summary(w.history, w.judgement);
  EXPECT_EQ(w.ops[0], 0u);
  ASSERT_EQ(w.history.observations.size(), 1u);
  EXPECT_EQ(w.history.observations[0].state.files.at("/dev/console"), 25);
}

// A witness the shrinker could not cut is listed so that it can be read: a run of clock ticks is one
// line, and past 100 operations each thread shows its last calls (the culprit always), the history
// file holding the rest.
TEST(Witness, ALongWitnessIsListedReadably) {
  StressRecording rec;
  StressVerdict v;
  v.kind = StressVerdictKind::Violation;
  v.line = "VIOLATION";
  Witness w;
  std::size_t t = 0;
  auto add = [&](Actor a, OpBody b) {
    lin::Operation o;
    o.op = Op{a, std::move(b)};
    o.call = t;
    o.ret = t + 1;
    t += 2;
    w.history.ops.push_back(std::move(o));
  };
  for (int i = 0; i < 300; ++i) add(Actor::host(0), op::Getuid{});
  add(Actor::host(0), op::Getpid{});  // the culprit, last of H0
  for (int i = 0; i < 40; ++i) add(Actor::host(1), i == 5 ? OpBody{op::Getppid{}} : OpBody{op::Getuid{}});
  for (int i = 0; i < 50; ++i) add(Actor::clock(), op::Tick{1});
  w.judgement.verdict = lin::Verdict::Violation;
  w.judgement.culprit = 300;
  v.witness = w;
  const std::string text = verdict_summary(rec, v);
  EXPECT_NE(text.find("(285 earlier operations of H0: the history file lists them)"), std::string::npos) << text;
  EXPECT_NE(text.find("* H0 rump_sys_getpid()"), std::string::npos) << text;
  EXPECT_NE(text.find("(24 earlier operations of H1"), std::string::npos) << text;
  EXPECT_EQ(text.find("rump_sys_getppid"), std::string::npos) << "H1's 6th call is not among its last 16";
  EXPECT_NE(text.find("clock: 16 ticks"), std::string::npos) << text;
  EXPECT_LT(std::count(text.begin(), text.end(), '\n'), 60) << text;
}

}  // namespace

// SPEC §5 under real time: a timed suspend whose kthread parks after the deadline's tick began but
// before the waiter returned may return 0 (the impl decides the timeout when the waiter runs again).
// merge_history lets that tick take effect up to the waiter's return, and no further than the next.
namespace {

using namespace lockstep::model;
using lockstep::checker::stress::Record;

Record call(Op op, std::int64_t call_us, std::int64_t ret_us, std::int64_t hint_us, std::int64_t ret = 0) {
  Record r;
  r.op = std::move(op);
  r.call_ns = call_us * 1000;
  r.ret_ns = ret_us < 0 ? -1 : ret_us * 1000;
  r.hint_ns = hint_us < 0 ? -1 : hint_us * 1000;
  r.ret = ret;
  return r;
}

struct LateAck {
  lockstep::checker::stress::Merged merged;
  std::size_t tick_at(std::int64_t us) const {
    for (std::size_t i = 0; i < merged.history.ops.size(); ++i)
      if (std::holds_alternative<op::Tick>(merged.history.ops[i].op.body) && merged.call_ns[i] == us * 1000) return i;
    return merged.history.ops.size();
  }
};

// H0 suspends kthread K (`timo` ticks of 1 ms, the clock's phase known to `slack_us`) at
// `request_us`; K parks at `park_us`; H0 returns `answer` at `return_us`.
struct SuspendAt {
  std::int64_t request_us = 500;
  int timo = 2;
  std::int64_t slack_us = 0;
};
LateAck late_ack(std::int64_t park_us, std::int64_t return_us, std::int64_t answer, SuspendAt at = {}) {
  Model m;
  m.apply(Op{Actor::host(0), op::KthreadCreate{0, "k"}}, {});
  const auto k = static_cast<ProcId>(m.state().procs.size() - 1);
  lockstep::checker::stress::MergeInput in;
  in.before = m.state();
  in.hosts = 1;
  in.tick_ns = 1'000'000;
  in.tick_slack_ns = at.slack_us * 1000;
  in.end_ns = 4'000'000;
  std::vector<std::vector<Record>> lanes(2);
  lanes[0].push_back(call(Op{Actor::host(0), op::Suspend{k, at.timo}}, at.request_us, return_us, at.request_us, answer));
  lanes[1].push_back(call(Op{Actor::kthread(k), op::SuspendCheck{k}}, park_us, -1, park_us));
  return LateAck{lockstep::checker::stress::merge_history(std::move(in), lanes)};
}

}  // namespace

TEST(StressMerge, AnAcknowledgementAfterTheDeadlinesTickButBeforeTheReturnIsAllowed) {
  const LateAck a = late_ack(2200, 2400, 0);
  const std::size_t t2 = a.tick_at(2000);
  ASSERT_LT(t2, a.merged.history.ops.size());
  EXPECT_EQ(*a.merged.history.ops[t2].ret, 2u * 2'400'000);  // tick 2 lasts until the waiter returned
  lockstep::checker::lin::Options o;
  EXPECT_EQ(lockstep::checker::lin::judge(a.merged.history, o).verdict, lockstep::checker::lin::Verdict::Agree);
}

TEST(StressMerge, AWaiterThatTimedOutLeavesTheTicksAlone) {
  const LateAck a = late_ack(2200, 2400, 11 /* EWOULDBLOCK */);
  const std::size_t t2 = a.tick_at(2000);
  ASSERT_LT(t2, a.merged.history.ops.size());
  EXPECT_EQ(*a.merged.history.ops[t2].ret, a.merged.history.ops[t2].call);
}

// With a phase known to 200 µs, a request that began 500 µs after tick 1's nominal instant read at
// least tick 1: only one that began within the slack may have read tick 0 and have its deadline a
// tick lower. So tick 1 is widened to the waiter's return for the second request only; widened for
// the first, it would reach over everything between the request and the return (a barrier there
// would be no commit point).
TEST(StressMerge, OnlyARequestWithinATicksSlackMayHaveReadTheTickBefore) {
  for (const std::int64_t request_us : {1500, 1100}) {
    const LateAck a = late_ack(1700, 1800, 0, SuspendAt{request_us, 1, 200});
    const std::size_t t1 = a.tick_at(1000);
    ASSERT_LT(t1, a.merged.history.ops.size());
    const auto& tick = a.merged.history.ops[t1];
    if (request_us == 1500) EXPECT_EQ(*tick.ret, tick.call + 2u * 200'000) << "a request 500 µs into tick 1 widened it";
    else EXPECT_EQ(*tick.ret, 2u * 1'800'000) << "a request within the slack may have read tick 0: tick 1 lasts until the waiter returned";
    EXPECT_EQ(lockstep::checker::lin::judge(a.merged.history, lockstep::checker::lin::Options{}).verdict, lockstep::checker::lin::Verdict::Agree);
  }
}

TEST(StressMerge, AWideningTickStopsShortOfTheNext) {
  // The waiter returns at 4.5 ms. Ticks 1-3 are one tick(3) at 3 ms (no event between them), which
  // carries the deadline's ticks 2 and 3: it may last until just before tick 4 begins, no further.
  const LateAck a = late_ack(3200, 4500, 0);
  const auto& ops = a.merged.history.ops;
  const std::size_t t3 = a.tick_at(3000), t4 = a.tick_at(4000);
  ASSERT_LT(t4, ops.size());
  EXPECT_EQ(std::get<op::Tick>(ops[t3].op.body).n, 3);
  EXPECT_EQ(*ops[t3].ret, ops[t4].call - 1);
  EXPECT_EQ(*ops[t4].ret, ops[t4].call);
  EXPECT_FALSE(lockstep::checker::lin::validate(a.merged.history).has_value());
}
