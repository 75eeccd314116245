// The partial-order judge window by window (checker/verify/VERIFY.md, "Windows"): a history is cut
// at its quiescent points (every event before happens before every event after, so no operation is
// in flight across the cut) and judged window by window, carrying the states a window may end in.
// The cuts are exactly the quiescent points; the verdicts are the one-window judge's, on stress-like
// histories with violating orders and with a violation planted in a late window; a history with no
// quiescent point stays one window, and its budget ends it with UNDECIDED, never a hang.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <set>

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

std::set<Rule> violated(const PartialOrderReport& r) {
  std::set<Rule> out;
  for (const auto& v : r.verdicts)
    if (!v.holds) out.insert(v.rule);
  return out;
}

bool all_decided(const PartialOrderReport& r) {
  return std::all_of(r.verdicts.begin(), r.verdicts.end(), [](const PartialOrderVerdict& v) { return v.decided; });
}

// A stress-like history of up to n model steps by three hosts and two kthreads: the steps in bursts
// of 1..max_burst, each step after every step of the burst before (a stress recorder's real-time
// order when calls overlap only within a burst), unordered within its burst but for what the
// history proves itself.
Trace bursty_history(std::uint64_t seed, std::size_t n, std::uint32_t max_burst) {
  SplitMix rng(seed * 104729 + 3);
  model::Model m(model::Config{12, true, 12});
  ChooserConfig cc{kHosts, 2, 0};
  Trace tr;
  tr.header.config.hosts = kHosts;
  tr.header.partial_order = true;
  std::size_t prev_begin = 0, begin = 0, end = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (i == end) {
      prev_begin = begin;
      begin = i;
      end = i + 1 + rng.below(max_burst);
    }
    if (!append_burst_event(tr, m, choose_op(m.state(), cc, rng), i, prev_begin, begin)) break;
  }
  return tr;
}

// Bursts of 1..max_burst over a given trace's events (ordered as above).
void add_bursts(VTrace& t, std::uint64_t seed, std::uint32_t max_burst) {
  SplitMix rng(seed * 31 + 7);
  std::size_t prev_begin = 0, begin = 0;
  while (begin < t.events.size()) {
    const std::size_t end = std::min(t.events.size(), begin + 1 + rng.below(max_burst));
    for (std::size_t i = begin; i < end; ++i)
      for (std::size_t j = prev_begin; j < begin; ++j) t.events[i].after.push_back(t.events[j].step);
    prev_begin = begin;
    begin = end;
  }
}

// Every c such that each event before c happens before each event from c on, by brute force.
std::vector<std::size_t> quiescent_points(const HappensBefore& hb) {
  std::vector<std::size_t> out;
  for (std::size_t c = 1; c < hb.size(); ++c) {
    bool cut = true;
    for (std::size_t i = 0; i < c && cut; ++i)
      for (std::size_t j = c; j < hb.size() && cut; ++j) cut = hb.before(i, j);
    if (cut) out.push_back(c);
  }
  return out;
}

}  // namespace

// The cuts are exactly the points where nothing is in flight, on histories with and without them:
// bursty ones (a cut between two bursts, and inside a burst where its own edges order it), causal
// ones (three hosts and two kthreads, ordered only by what they prove), and histories with
// real-time intervals (each step a call from its invocation to its response, around the instant it
// took effect; a step is after another only if that one's response came before its invocation).
TEST(Cuts, AreExactlyThePointsWhereNoOperationIsInFlight) {
  std::size_t cuts = 0, histories = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    std::vector<VTrace> ts;
    const Trace b = bursty_history(seed, 60, 1 + seed % 5);
    ts.push_back(to_vtrace(b.header, b.events));
    ts.push_back(make_case(seed, 60, false).trace);
    VTrace timed = make_case(seed + 1000, 60, false).trace;
    SplitMix rng(seed);
    std::vector<std::int64_t> inv, resp;
    for (std::size_t k = 0; k < timed.events.size(); ++k) {
      inv.push_back(static_cast<std::int64_t>(10 * k) - rng.below(25));
      resp.push_back(static_cast<std::int64_t>(10 * k) + rng.below(25));
      for (std::size_t i = 0; i < k; ++i)
        if (resp[i] < inv[k]) timed.events[k].after.push_back(timed.events[i].step);
    }
    ts.push_back(timed);
    for (const VTrace& t : ts) {
      const HappensBefore full(t), edges_only(t, false);
      const std::vector<std::size_t> found = edges_only.cuts();
      ASSERT_EQ(found, quiescent_points(full)) << "seed " << seed;
      cuts += found.size();
      ++histories;
    }
    // On the timed history: at every cut, every call before it has responded before every call
    // after it was invoked, or the history orders them itself (program order, wake-ups, creation).
    for (const std::size_t c : HappensBefore(timed, false).cuts()) {
      const HappensBefore full(timed);
      for (std::size_t i = 0; i < c; ++i)
        for (std::size_t j = c; j < timed.events.size(); ++j) ASSERT_TRUE(resp[i] < inv[j] || full.before(i, j)) << "seed " << seed << " cut " << c;
    }
  }
  EXPECT_GT(cuts, histories);  // most histories have cuts to find
}

// Window by window (every cut taken, or windows of at least 16 events, or at most one state across
// a cut, which drops the cuts more states cross) the judge says what it says in one window: the
// same invariants violated, every one decided, and every witness a linearisation of the whole
// history in which the sequential judge finds that invariant broken.
TEST(Windows, AgreeWithOneWindowOnBurstyHistories) {
  std::size_t windowed = 0, carried_several = 0, merged = 0, witnesses = 0, violating = 0;
  for (std::uint64_t seed = 1; seed <= 30; seed += lockstep::test::kSeedStride) {
    const Trace tr = bursty_history(seed, 50 + seed % 30, 2 + seed % 4);
    const VTrace vt = to_vtrace(tr.header, tr.events);
    const HappensBefore hb(vt);
    const PartialOrderReport one = verify_partial_order(vt, PartialOrderOptions{.cut = false});
    ASSERT_TRUE(all_decided(one)) << render(one);
    violating += one.any_violated() ? 1 : 0;
    for (const PartialOrderOptions& o : {PartialOrderOptions{.min_window = 1}, PartialOrderOptions{}, PartialOrderOptions{.min_window = 1, .max_cut_states = 1}}) {
      const PartialOrderReport r = verify_partial_order(vt, o);
      const std::string where = fmt::format("seed {}, min_window {}, max_cut_states {}", seed, o.min_window, o.max_cut_states);
      EXPECT_EQ(violated(r), violated(one)) << where << "\n" << render(r) << render(one);
      EXPECT_TRUE(all_decided(r)) << where << "\n" << render(r);
      windowed += r.windows > 1 ? 1 : 0;
      carried_several += r.max_cut_states > 1 ? 1 : 0;
      merged += r.merged_cuts > 0 ? 1 : 0;
      for (const PartialOrderVerdict& v : r.verdicts) {
        if (v.holds) continue;
        ASSERT_TRUE(hb.is_linearisation(v.order)) << where;
        const VerifyReport seq = verify(to_vtrace(tr.header, reorder_trace(tr, v.order).events), VerifyOptions{.explain = false});
        EXPECT_TRUE(!seq.of(v.rule).holds && seq.of(v.rule).step <= v.position)
            << where << ": " << model::rule_name(v.rule) << " at position " << v.position << "\n" << render(seq);
        ++witnesses;
      }
    }
  }
  std::printf("histories with a violation: %zu; windowed judgements: %zu (with several states across a cut: %zu; with a cut dropped for too many states: %zu); witnesses: %zu\n",
              violating, windowed, carried_several, merged, witnesses);
  // A sanitized build judges every third seed (kSeedStride): a third of the full run's bound.
  EXPECT_GT(violating, lockstep::test::reached(5, 1));
  EXPECT_GT(windowed, lockstep::test::reached(60, 20));
  EXPECT_GT(carried_several, lockstep::test::reached(5, 3)) << "no window ended in several states: the carried states are untested";
  EXPECT_GT(merged, 3u) << "no cut was dropped: the merging is untested";
}

// A violation planted in the last event (a corrupted outcome or observed state, test_traces::
// make_case) of a long history: totally ordered, the windowed judge reports exactly what the model
// says is broken, at that event, many windows after the start; in bursts, what the one-window
// judge reports.
TEST(Windows, AViolationInALateWindowIsFoundAtItsEvent) {
  std::size_t planted = 0;
  // 80 seeds: about a quarter of the cases plant a violation the model sees in a history this long
  // (the count depends on what the generator draws: 14 of 60 once exit codes went past a byte).
  for (std::uint64_t seed = 1; seed <= 80; seed += lockstep::test::kSeedStride) {
    Case c = make_case(seed, 200, true);
    if (c.model_verdict.empty() || c.trace.events.size() < 100) continue;
    ++planted;
    const std::size_t last = c.trace.events.back().step;
    VTrace chain = c.trace;
    for (std::size_t i = 1; i < chain.events.size(); ++i) chain.events[i].after = {chain.events[i - 1].step};
    const PartialOrderReport r = verify_partial_order(chain, PartialOrderOptions{.min_window = 4});
    EXPECT_GT(r.windows, 20u);
    EXPECT_EQ(violated(r), c.model_verdict) << "seed " << seed << " (" << c.what << ")\n" << render(r);
    for (Rule x : c.model_verdict) EXPECT_EQ(r.of(x).step, last) << "seed " << seed << " " << model::rule_name(x) << "\n" << render(r);
    VTrace bursts = c.trace;
    add_bursts(bursts, seed, 3);
    const PartialOrderReport w = verify_partial_order(bursts, PartialOrderOptions{.min_window = 1});
    const PartialOrderReport one = verify_partial_order(bursts, PartialOrderOptions{.cut = false});
    EXPECT_GT(w.windows, 10u);
    EXPECT_EQ(violated(w), violated(one)) << "seed " << seed << "\n" << render(w) << render(one);
    for (Rule x : c.model_verdict) EXPECT_FALSE(w.of(x).holds) << "seed " << seed << " " << model::rule_name(x);
  }
  std::printf("histories with a planted violation: %zu\n", planted);
  EXPECT_GT(planted, lockstep::test::reached(15, 4));
}

// Two actors that never wait for each other (the clock's ticks and H0's getpid): no event of one
// is ordered with the other's, so there is no quiescent point and the history stays one window.
// Longer than kMaxPartialOrderEvents that is bad input (quadratic memory); the clock's ticks alone
// are a chain, every point a cut, judged window by window at any length.
TEST(Windows, AHistoryWithNoQuiescentPointStaysOneWindow) {
  VTrace two, chain;
  two.hosts = chain.hosts = 1;
  for (std::size_t i = 0; i < 200; ++i) {
    VEvent e;
    e.step = i;
    e.op = i % 2 ? model::Op{Actor::host(0), op::Getpid{}} : model::Op{Actor::clock(), op::Tick{1}};
    two.events.push_back(e);
  }
  EXPECT_TRUE(HappensBefore(two, false).cuts().empty());
  const PartialOrderReport r = verify_partial_order(two);
  EXPECT_EQ(r.windows, 1u);
  EXPECT_TRUE(r.all_hold()) << render(r);
  while (two.events.size() <= kMaxPartialOrderEvents) {
    VEvent e = two.events[two.events.size() - 2];
    e.step = two.events.size();
    two.events.push_back(e);
  }
  EXPECT_THROW(verify_partial_order(two), std::invalid_argument);
  for (std::size_t i = 0; i <= kMaxPartialOrderEvents; ++i) {
    VEvent e;
    e.step = i;
    e.op = model::Op{Actor::clock(), op::Tick{1}};
    chain.events.push_back(std::move(e));
  }
  const PartialOrderReport c = verify_partial_order(chain);
  EXPECT_TRUE(c.all_hold()) << render(c);
  EXPECT_GT(c.windows, 100u);
}

// The budget bounds the whole judgement, however many windows: past it every check is UNKNOWN, so
// what is not yet settled is UNDECIDED (never "holds"), with the budget named as the reason; a
// violation found before it stays found.
TEST(Windows, AnExhaustedBudgetGivesUndecidedNotAHang) {
  std::size_t undecided = 0;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const Trace tr = bursty_history(seed, 400, 4);
    const VTrace vt = to_vtrace(tr.header, tr.events);
    const PartialOrderReport full = verify_partial_order(vt);
    const auto t0 = std::chrono::steady_clock::now();
    const PartialOrderReport r = verify_partial_order(vt, PartialOrderOptions{.budget_ms = 1});
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30.0);
    for (std::size_t i = 0; i < r.verdicts.size(); ++i) {
      const PartialOrderVerdict& v = r.verdicts[i];
      if (!v.holds) {
        EXPECT_FALSE(full.verdicts[i].holds) << "seed " << seed;  // a violation found in time is real
        continue;
      }
      EXPECT_FALSE(v.decided && full.verdicts[i].holds == false) << "seed " << seed;
      if (!v.decided) {
        ++undecided;
        EXPECT_NE(v.what.find("budget"), std::string::npos) << v.what;
      }
    }
    EXPECT_FALSE(r.all_hold()) << "seed " << seed << ": 1 ms cannot settle " << vt.events.size() << " events\n" << render(r);
  }
  EXPECT_GT(undecided, 0u);
}
