// Partial-order mode: the happens-before graph holds exactly the edges the history proves; Z3
// finds the orders that break an invariant (a release racing a newlwp: R1; a pid reused while its
// first process may still be in the table: R5; a switch to an lwp another host may still run: R4)
// and proves that none does once the history orders the racing events; on totally ordered
// histories it agrees with the sequential judge.
#include <gtest/gtest.h>

#include <algorithm>

#include <cstdio>
#include <map>

#include <fmt/format.h>

#include "checker/happens_before.hpp"
#include "checker/trace.hpp"
#include "checker/trace_reorder.hpp"
#include "checker/verify_partial.hpp"
#include "model_traces.hpp"
#include "breadth.hpp"

using namespace lockstep;
using namespace lockstep::checker;
using namespace lockstep::test_traces;
using model::Actor;
using model::Rule;
namespace op = model::op;

namespace {

struct History {
  VTrace t;
  History() { t.hosts = 3; }
  VEvent& add(Actor a, model::OpBody body, VOutcome o = {}) {
    VEvent e;
    e.step = t.events.size();
    e.op = model::Op{a, std::move(body)};
    e.outcome = o;
    t.events.push_back(std::move(e));
    return t.events.back();
  }
  VEvent& rfork(model::HostId h, std::uint32_t proc, std::uint32_t lwp, model::Pid pid) {
    VEvent& e = add(Actor::host(h), op::Rfork{0});
    e.bound = {Binding{Binding::Kind::Proc, proc, pid}, Binding{Binding::Kind::Lwp, lwp, pid}};
    return e;
  }
};

// A model history of up to n random events by three hosts and two kthreads (to the first FATAL).
Trace random_history(std::uint64_t seed, std::size_t n) {
  SplitMix rng(seed);
  model::Model m(model::Config{12, true, 12});
  ChooserConfig cc{kHosts, 2, 0};
  Trace tr;
  tr.header.config.hosts = kHosts;
  for (std::size_t i = 0; i < n; ++i) {
    TraceEvent e = model_step(m, choose_op(m.state(), cc, rng), model::Choice{}, 0);
    e.step = i;
    const bool fatal = e.outcome.kind == model::OutcomeKind::Fatal;
    tr.events.push_back(std::move(e));
    if (fatal) break;
  }
  return tr;
}

VOutcome blocked() {
  VOutcome o;
  o.kind = VOutcome::Kind::Blocked;
  return o;
}
VOutcome ret(std::int64_t v) {
  VOutcome o;
  o.ret = v;
  return o;
}

std::set<Rule> violated(const PartialOrderReport& r) {
  std::set<Rule> out;
  for (const auto& v : r.verdicts)
    if (!v.holds) out.insert(v.rule);
  return out;
}

// H0 forks proc#2 (pid 2); H1 adds an lwp to pid 2; each releases its lwp.
History newlwp_release_race() {
  History h;
  h.rfork(0, 2, 1, 2);                                                                       // 0
  h.add(Actor::host(1), op::Newlwp{2}).bound = {Binding{Binding::Kind::Lwp, 2, 2}};         // 1
  h.add(Actor::host(0), op::Release{});                                                      // 2
  h.add(Actor::host(1), op::Release{});                                                      // 3
  return h;
}

}  // namespace

TEST(HappensBefore, HoldsTheEdgesTheHistoryProvesAndNoOthers) {
  History h;
  h.add(Actor::host(0), op::KthreadCreate{0, "kt"}).bound = {Binding{Binding::Kind::Proc, 2, 2}, Binding{Binding::Kind::Lwp, 1, 2}};  // 0
  h.add(Actor::kthread(2), op::Work{});                                   // 1
  h.add(Actor::host(1), op::Suspend{2, 0}, blocked());                    // 2
  h.add(Actor::kthread(2), op::SuspendCheck{2}, blocked()).woke = {VCompletion{Actor::host(1), ret(0)}};  // 3: acknowledges
  h.add(Actor::host(1), op::Resume{2}).woke = {VCompletion{Actor::kthread(2), ret(0)}};                  // 4
  h.add(Actor::kthread(2), op::Work{});                                   // 5
  h.add(Actor::host(2), op::Getpid{}, ret(1));                            // 6
  const HappensBefore hb(h.t);
  EXPECT_TRUE(hb.before(0, 1));   // a kthread's steps follow its creation
  EXPECT_TRUE(hb.before(0, 2));   // suspend names proc#2
  EXPECT_TRUE(hb.concurrent(1, 2));
  EXPECT_TRUE(hb.before(2, 3));   // the suspend began before the acknowledgement that ended it
  EXPECT_TRUE(hb.before(3, 4));   // H1's next call follows the end of its wait
  EXPECT_TRUE(hb.before(4, 5));   // the parked thread runs again only after the resume
  for (std::size_t i = 0; i < 6; ++i) EXPECT_TRUE(hb.concurrent(i, 6)) << i;  // H2 touches nothing of theirs
  EXPECT_EQ(hb.concurrent_pairs(), 7u);  // (1,2) and the six with event 6
  EXPECT_TRUE(hb.is_linearisation({0, 2, 1, 3, 4, 5, 6}));
  EXPECT_FALSE(hb.is_linearisation({0, 3, 2, 1, 4, 5, 6}));
  // A correct history keeps every invariant in every order the graph allows.
  const PartialOrderReport r = verify_partial_order(h.t);
  EXPECT_TRUE(r.all_hold()) << render(r);
}

TEST(HappensBefore, AnExplicitEdgeThatPointsForwardIsBadInput) {
  History h = newlwp_release_race();
  h.t.events[1].after = {3};
  EXPECT_THROW(HappensBefore{h.t}, std::invalid_argument);
  h.t.events[1].after = {9};
  EXPECT_THROW(HappensBefore{h.t}, std::invalid_argument);
}

TEST(VerifyPartialOrder, AReleaseRacingANewlwpBreaksR1InSomeOrder) {
  History h = newlwp_release_race();
  const PartialOrderReport r = verify_partial_order(h.t);
  ASSERT_FALSE(r.of(Rule::R1).holds) << render(r);
  const auto& v = r.of(Rule::R1);
  const HappensBefore hb(h.t);
  EXPECT_TRUE(hb.is_linearisation(v.order));
  EXPECT_NE(v.order, (std::vector<std::size_t>{0, 1, 2, 3}));  // the recorded order is fine
  // The sequential judge, on the file's order, finds nothing.
  EXPECT_TRUE(verify(h.t).all_hold());
  // Once the history says H0's release came after the newlwp, and H1's after H0's, no order breaks anything.
  h.t.events[2].after = {1};
  h.t.events[3].after = {2};
  const PartialOrderReport ordered = verify_partial_order(h.t);
  EXPECT_TRUE(ordered.all_hold()) << render(ordered);
}

TEST(VerifyPartialOrder, APidReusedWhileItsFirstProcessMayLiveBreaksR5) {
  History h;
  h.rfork(0, 2, 1, 2);                    // 0: proc#2 holds pid 2
  h.add(Actor::host(0), op::Release{});   // 1: and is freed
  h.rfork(1, 3, 2, 2);                    // 2: proc#3 is given pid 2 again
  EXPECT_TRUE(verify(h.t).all_hold());
  const PartialOrderReport r = verify_partial_order(h.t);
  EXPECT_EQ(violated(r), (std::set<Rule>{Rule::R5})) << render(r);
  EXPECT_LT(std::find(r.of(Rule::R5).order.begin(), r.of(Rule::R5).order.end(), 2u) - r.of(Rule::R5).order.begin(),
            std::find(r.of(Rule::R5).order.begin(), r.of(Rule::R5).order.end(), 1u) - r.of(Rule::R5).order.begin());
  h.t.events[2].after = {1};  // the reuse followed the free
  EXPECT_TRUE(verify_partial_order(h.t).all_hold());
}

TEST(VerifyPartialOrder, ASwitchToAnLwpAnotherHostMayStillRunBreaksR4) {
  History h;
  h.rfork(0, 2, 1, 2);                                          // 0: lwp#1 runs on H0
  h.add(Actor::host(0), op::Switch{model::kNoLwp});             // 1: H0 lets go of it
  h.add(Actor::host(1), op::Switch{1});                         // 2: H1 takes it
  h.add(Actor::host(1), op::Release{});                         // 3
  EXPECT_TRUE(verify(h.t).all_hold());
  const PartialOrderReport r = verify_partial_order(h.t);
  EXPECT_FALSE(r.of(Rule::R4).holds) << render(r);
  EXPECT_EQ(r.of(Rule::R4).step, 2u);
  h.t.events[2].after = {1};
  EXPECT_TRUE(verify_partial_order(h.t).all_hold());
}

// A release may orphan a child the file creates only further on (some order creates it first): the
// first pass names it, while the index of the file's order has no entry for it yet. The encoder
// once read that missing entry (a read past the end of the index's process vector: ASan saw a
// heap-use-after-free in Encoder::release). Here proc#4 is given ppid 2 after the release of
// pid 2's first holder, when the index holds procs 0..2 in a vector of capacity 4: proc#4's entry
// would lie just past its end, in ASan's redzone.
TEST(VerifyPartialOrder, AReleaseNamesAChildTheFileCreatesLaterWithoutReadingItsIndexEntry) {
  History h;
  h.rfork(0, 2, 1, 2);                   // 0: proc#2 holds pid 2
  h.add(Actor::host(0), op::Release{});  // 1: and is freed: its orphans (in some order, proc#4) go to 1
  h.rfork(1, 3, 2, 2);                   // 2: proc#3 is given pid 2 again
  h.rfork(1, 4, 3, 4);                   // 3: its child proc#4 (ppid 2)
  // In the file's order (and in the one order a chain allows) both judges find nothing.
  History chained = h;
  for (std::size_t i = 1; i < chained.t.events.size(); ++i) chained.t.events[i].after = {i - 1};
  const VerifyReport seq = verify(chained.t, VerifyOptions{.explain = false});
  EXPECT_TRUE(seq.all_hold()) << render(seq);
  const PartialOrderReport one = verify_partial_order(chained.t);
  EXPECT_TRUE(one.all_hold()) << render(one);
  // Unordered, H1's fork of pid 2 may come before the release: R5, and nothing else. Of the six
  // linearisations, judged sequentially, four break R5 and none breaks another invariant
  // (VerifyPartialOrderExhaustive.RacesTheFileOrderHides judges each, "a release orphans a child
  // the file creates later"). In the two where both forks come first the release orphans proc#4:
  // its ppid becomes 1, init's pid. The judge once reported R6 there too, a false alarm: R6's
  // candidate parents of proc#4 came from the first pass's record of its ppids, which cannot hold
  // that 1 (at the release, the first pass has not yet seen proc#4).
  const PartialOrderReport r = verify_partial_order(h.t);
  EXPECT_EQ(violated(r), (std::set<Rule>{Rule::R5})) << render(r);
  EXPECT_TRUE(r.of(Rule::R6).holds && r.of(Rule::R6).decided) << render(r);
}

// On a history whose edges order every event (each after the one before), there is one order:
// the partial-order judge must say exactly what the sequential one says, over faithful and
// corrupted random traces.
TEST(VerifyPartialOrder, AgreesWithTheSequentialJudgeOnTotallyOrderedHistories) {
  std::size_t violating = 0;
  // The first third of the seeds under a sanitizer: every third seed is a corrupted case.
  for (std::uint64_t seed = 1; seed <= lockstep::test::breadth(300); ++seed) {
    Case c = make_case(seed, 8 + seed % 25, seed % 3 == 0);
    for (std::size_t i = 1; i < c.trace.events.size(); ++i) c.trace.events[i].after = {c.trace.events[i - 1].step};
    const VerifyReport seq = verify(c.trace, VerifyOptions{.explain = false});
    const PartialOrderReport po = verify_partial_order(c.trace);
    std::set<Rule> s;
    for (const auto& v : seq.verdicts)
      if (!v.holds) s.insert(v.rule);
    ASSERT_EQ(violated(po), s) << "seed " << seed << "\n" << render(po) << render(seq);
    for (const auto& v : po.verdicts) {
      if (!v.holds) {
        EXPECT_EQ(v.step, seq.of(v.rule).step) << "seed " << seed;
      }
    }
    violating += s.empty() ? 0 : 1;
  }
  std::printf("histories with a violation: %zu\n", violating);
  EXPECT_GT(violating, lockstep::test::reached(30, 15));  // the corrupted third really was judged
}

// Without the chain, Z3 may pick other orders: every order it reports respects the graph, and the
// history ordered that way (a chain along it) still violates that invariant.
TEST(VerifyPartialOrder, EveryReportedOrderIsALinearisationThatViolates) {
  std::size_t found = 0;
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    Case c = make_case(seed, 10 + seed % 20, false);
    const HappensBefore hb(c.trace);
    const PartialOrderReport po = verify_partial_order(c.trace);
    for (const auto& v : po.verdicts) {
      if (v.holds) continue;
      ++found;
      ASSERT_TRUE(hb.is_linearisation(v.order)) << "seed " << seed;
      // Pin the order: extra edges along it (pointing backwards in file order where it differs are
      // not expressible, so pin only the pairs the file order agrees with) must keep the violation
      // reachable.
      VTrace pinned = c.trace;
      std::vector<std::size_t> where(v.order.size());
      for (std::size_t p = 0; p < v.order.size(); ++p) where[v.order[p]] = p;
      for (std::size_t i = 0; i < pinned.events.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
          if (where[j] < where[i] && hb.concurrent(j, i)) pinned.events[i].after.push_back(pinned.events[j].step);
      EXPECT_FALSE(verify_partial_order(pinned).of(v.rule).holds) << "seed " << seed << " " << model::rule_name(v.rule);
    }
  }
  EXPECT_GT(found, 5u);  // three hosts racing on shared processes: orders that break something exist
}

// The witness as a trace: reorder_trace writes the events in the order Z3 found, and the
// sequential judge, reading that trace step by step, finds the same invariant broken (at the same
// step, or earlier: the partial-order judge reports the first position of the order where its own
// instances fail, which can be an event after the one where the sequential judge first sees it).
TEST(VerifyPartialOrder, TheSequentialJudgeConfirmsEveryWitnessTrace) {
  std::size_t witnesses = 0, confirmed = 0, same_step = 0;
  std::map<Rule, std::size_t> by_rule;
  for (std::uint64_t seed = 1; seed <= 150; seed += lockstep::test::kSeedStride) {
    const Trace tr = random_history(seed, 12 + seed % 20);
    const PartialOrderReport po = verify_partial_order(to_vtrace(tr.header, tr.events));
    for (const auto& v : po.verdicts) {
      if (v.holds) continue;
      ++witnesses;
      const Trace w = reorder_trace(tr, v.order);
      const VerifyReport seq = verify(to_vtrace(w.header, w.events), VerifyOptions{.explain = false});
      const bool same = !seq.of(v.rule).holds && seq.of(v.rule).step <= v.position;
      confirmed += same ? 1 : 0;
      same_step += same && seq.of(v.rule).step == v.position ? 1 : 0;
      by_rule[v.rule] += 1;
      EXPECT_TRUE(same) << "seed " << seed << ": partial order says " << model::rule_name(v.rule) << " at position " << v.position << "\n"
                        << render(po) << "sequential on the witness:\n" << render(seq);
    }
  }
  EXPECT_GT(witnesses, lockstep::test::reached(40, 30));
  EXPECT_GT(same_step * 10, witnesses * 9);
  std::string reached;
  for (const auto& [r, n] : by_rule) reached += fmt::format("{} {}  ", model::rule_name(r), n);
  RecordProperty("witnesses_by_rule", reached);
  std::printf("witnesses: %zu, confirmed by the sequential judge: %zu (%zu at the same step); by rule: %s\n", witnesses, confirmed, same_step,
              reached.c_str());
}

// The first phase's window size changes how fast a race is found, never the verdict: the smallest
// windows (0 = none, 1 taken as 2) and the default agree on histories long enough to be windowed.
TEST(VerifyPartialOrder, TheSearchWindowChangesNoVerdict) {
  std::size_t compared = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    const Trace tr = random_history(seed, 24);
    const VTrace vt = to_vtrace(tr.header, tr.events);
    const std::set<Rule> whole = violated(verify_partial_order(vt, PartialOrderOptions{.search_window = 0}));
    for (std::size_t w : {1u, 2u, 5u}) {
      const PartialOrderReport r = verify_partial_order(vt, PartialOrderOptions{.search_window = w});
      EXPECT_EQ(violated(r), whole) << "seed " << seed << ", window " << w << "\n" << render(r);
      EXPECT_TRUE(r.all_hold() || r.any_violated());
      ++compared;
    }
  }
  EXPECT_EQ(compared, 36u);
}

// A window too long for quadratic memory is bad input: the clock's ticks and H0's calls, which no
// edge orders with each other, have no quiescent point to cut at (test_verify_windows.cpp: the
// clock's ticks alone, a chain, are judged at that length).
TEST(VerifyPartialOrder, AHistoryTooLongForQuadraticMemoryIsBadInput) {
  VTrace t;
  t.hosts = 1;
  for (std::size_t i = 0; i <= kMaxPartialOrderEvents; ++i) {
    VEvent e;
    e.step = i;
    e.op = i % 2 ? model::Op{Actor::host(0), op::Getpid{}} : model::Op{Actor::clock(), op::Tick{1}};
    t.events.push_back(std::move(e));
  }
  EXPECT_THROW(verify_partial_order(t), std::invalid_argument);
}

// Under a resource limit (Z3's rlimit: deterministic, unlike a timeout) the joint question over
// every order may run out; each invariant is then asked alone, so the ones Z3 settles alone keep a
// verdict and only the others are UNDECIDED. Every decided verdict is the unlimited one, and the
// same limit gives the same report twice.
TEST(VerifyPartialOrder, UnderAResourceLimitTheEasyInvariantsAreStillSettled) {
  std::size_t limited = 0, separated = 0;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    const Trace tr = random_history(seed, 60);
    const VTrace vt = to_vtrace(tr.header, tr.events);
    const PartialOrderReport full = verify_partial_order(vt, PartialOrderOptions{.search_window = 0});
    ASSERT_TRUE(full.all_hold() || full.any_violated()) << render(full);
    std::size_t held_at_tightest = 0;
    for (unsigned limit = 2000; limit <= 2'000'000; limit *= 3) {
      const PartialOrderOptions o{.rlimit = limit, .search_window = 0};
      const PartialOrderReport r = verify_partial_order(vt, o), again = verify_partial_order(vt, o);
      std::size_t held = 0, undecided = 0;
      for (std::size_t i = 0; i < r.verdicts.size(); ++i) {
        const PartialOrderVerdict& v = r.verdicts[i];
        const std::string where = fmt::format("seed {}, rlimit {}, {}", seed, limit, model::rule_name(v.rule));
        EXPECT_EQ(v.decided, again.verdicts[i].decided) << where;
        EXPECT_EQ(v.holds, again.verdicts[i].holds) << where;
        if (!v.decided) {
          ++undecided;
          EXPECT_FALSE(v.what.empty()) << where;  // Z3's reason
          continue;
        }
        EXPECT_EQ(v.holds, full.verdicts[i].holds) << where << "\n" << render(r) << render(full);
        if (v.holds) ++held;
      }
      if (limit == 2000) held_at_tightest = held;  // the invariants with no instance at all
      if (undecided == 0) break;  // larger limits decide everything too
      ++limited;
      // Proved to hold alone, beyond those with nothing to prove, while others are undecided.
      if (held > held_at_tightest) ++separated;
    }
  }
  std::printf("limits that left something undecided: %zu; of them, with more invariants proved alone than the tightest: %zu\n", limited,
              separated);
  EXPECT_GT(separated, 0u) << "no limit separated an easy invariant from a hard one: the per-invariant fallback is untested";
}
