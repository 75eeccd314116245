// The scheduling strategies as pure policies, on simulated threads (no kernel): names and bad names,
// determinism given the seed, and that each explores what it promises -- PCT meets its probability
// bound on a depth-2 ordering bug, POS resamples racing events, the portfolio rotates.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checker/strategy.hpp"

using namespace lockstep::checker;
using Sched = lockstep::impl::sync::ControlledBackend;

namespace {

// A simulated program: each thread is a list of events, each event the sync object it touches. The
// policy picks among the threads that have events left; the result is the order events ran in.
struct SimThread {
  std::vector<std::string> events;
};

// With a `round_key`, the threads are one round of the runner's (SchedulePolicy::round_begins), whose
// leaders are `leaders` (thread t is id t + 1).
std::vector<std::pair<int, int>> simulate(SchedulePolicy& policy, const std::vector<SimThread>& threads,
                                          std::optional<std::uint64_t> round_key = std::nullopt,
                                          const std::vector<Sched::ThreadId>& leaders = {}) {
  if (round_key) {
    policy.round_begins(threads.size(), *round_key);
    policy.round_leaders(leaders);
  }
  std::vector<std::size_t> at(threads.size(), 0);
  std::vector<std::pair<int, int>> order;  // (thread, event index)
  std::uint64_t stamp = 0;
  std::vector<std::uint64_t> order_of(threads.size(), 0);
  for (auto& o : order_of) o = ++stamp;
  for (;;) {
    std::vector<Sched::ThreadInfo> runnable;
    for (std::size_t t = 0; t < threads.size(); ++t)
      if (at[t] < threads[t].events.size()) {
        Sched::ThreadInfo i;
        i.id = static_cast<Sched::ThreadId>(t + 1);
        i.state = Sched::State::runnable;
        i.object = threads[t].events[at[t]];
        i.order = order_of[t];
        // Stopped right after an unlock: where a thread's lock gap begins (the gap strategy).
        if (at[t] > 0 && threads[t].events[at[t] - 1].starts_with("unlock")) i.point = Sched::Point::unlock;
        runnable.push_back(i);
      }
    if (runnable.empty()) return order;
    std::sort(runnable.begin(), runnable.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
    const auto id = policy.next(runnable);
    const std::size_t t = id - 1;
    EXPECT_LT(t, threads.size());
    EXPECT_LT(at[t], threads[t].events.size()) << "the policy picked a thread that is not runnable";
    order.emplace_back(static_cast<int>(t), static_cast<int>(at[t]++));
    order_of[t] = ++stamp;
  }
}

Schedule schedule(std::string_view name, std::uint64_t seed, std::uint32_t expected = 20) {
  Schedule s;
  s.strategy = *parse_strategy(name);
  s.seed = seed;
  s.expected_choices = expected;
  return s;
}

std::vector<SimThread> two_threads(int k) {
  SimThread a, b;
  for (int i = 0; i < k; ++i) a.events.push_back("a" + std::to_string(i)), b.events.push_back("b" + std::to_string(i));
  return {a, b};
}

}  // namespace

TEST(Strategy, NamesRoundTrip) {
  for (std::string_view n : {"op", "random", "pct:1", "pct:3", "pct:16", "pos", "gap", "lead", "portfolio"}) {
    const auto s = parse_strategy(n);
    ASSERT_TRUE(s) << n;
    EXPECT_EQ(to_string(*s), n);
  }
  EXPECT_EQ(to_string(*parse_strategy("pct")), "pct:3");
}

TEST(Strategy, BadNamesSayWhatWasExpected) {
  for (std::string_view n : {"", "Random", "pct:", "pct:0", "pct:17", "pct:2x", "pct:-1", "pos:2", "surw"}) {
    std::string error;
    EXPECT_FALSE(parse_strategy(n, &error)) << n;
    EXPECT_NE(error.find("--strategy"), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << "one line: " << error;
  }
}

TEST(Strategy, OnlyOpKeepsOperationsWhole) {
  EXPECT_FALSE(make_policy(schedule("op", 1))->interleaves());
  for (std::string_view n : {"random", "pct:2", "pos", "gap", "lead", "portfolio"}) EXPECT_TRUE(make_policy(schedule(n, 1))->interleaves()) << n;
}

TEST(Strategy, SameSeedSameInterleavingOtherSeedsOthers) {
  const auto threads = two_threads(6);
  for (std::string_view n : {"random", "pct:3", "pos", "gap", "lead"}) {
    std::set<std::vector<std::pair<int, int>>> seen;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
      auto p1 = make_policy(schedule(n, seed)), p2 = make_policy(schedule(n, seed));
      const auto o1 = simulate(*p1, threads);
      EXPECT_EQ(o1, simulate(*p2, threads)) << n << " seed " << seed;
      seen.insert(o1);
    }
    EXPECT_GE(seen.size(), 5u) << n << " explores too few interleavings";
  }
}

TEST(Strategy, RandomWalkIsUniformOverRunnableThreads) {
  auto p = make_policy(schedule("random", 7));
  std::vector<Sched::ThreadInfo> runnable(3);
  for (std::size_t i = 0; i < 3; ++i) runnable[i].id = static_cast<Sched::ThreadId>(i + 1), runnable[i].order = i;
  std::map<Sched::ThreadId, int> count;
  for (int i = 0; i < 30000; ++i) ++count[p->next(runnable)];
  for (auto& [id, n] : count) EXPECT_NEAR(n, 10000, 600) << "thread " << id;
}

TEST(Strategy, PctOfDepthOneRunsOneThreadToTheEnd) {
  // No change point: the highest-priority thread runs until it has nothing left.
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    auto p = make_policy(schedule("pct:1", seed));
    const auto order = simulate(*p, two_threads(5));
    for (std::size_t i = 1; i < 5; ++i) EXPECT_EQ(order[i].first, order[0].first) << "seed " << seed;
  }
}

// A depth-2 bug: thread 1's event 0 must run between thread 0's events 2 and 3 (one ordering
// constraint beyond the start). PCT with d = 2 finds it with probability >= 1/(n k), n = 2 threads,
// k = 8 events: 1/16. Measured over 4000 seeds, with a margin for sampling error.
TEST(Strategy, PctMeetsItsBoundOnADepthTwoBug) {
  const int k = 4;
  const auto threads = two_threads(k);
  auto bug = [](const std::vector<std::pair<int, int>>& order) {
    auto pos = [&](int t, int e) { return std::find(order.begin(), order.end(), std::pair{t, e}) - order.begin(); };
    return pos(0, 2) < pos(1, 0) && pos(1, 0) < pos(0, 3);
  };
  int found = 0;
  const int runs = 4000;
  for (int seed = 1; seed <= runs; ++seed) {
    auto p = make_policy(schedule("pct:2", static_cast<std::uint64_t>(seed), 2 * k));
    found += bug(simulate(*p, threads));
  }
  const double bound = 1.0 / (2.0 * 2 * k);
  EXPECT_GE(static_cast<double>(found) / runs, 0.8 * bound) << found << " of " << runs;
}

// POS resamples the order of events that race (same object) after each event: two threads that
// alternate on one mutex interleave in many ways, with both orders of the first race about equally.
TEST(Strategy, PosResamplesRacingEvents) {
  SimThread a{{"m", "m", "m"}}, b{{"m", "m", "m"}};
  int a_first = 0;
  std::set<std::vector<std::pair<int, int>>> seen;
  const int runs = 2000;
  for (int seed = 1; seed <= runs; ++seed) {
    auto p = make_policy(schedule("pos", static_cast<std::uint64_t>(seed)));
    const auto order = simulate(*p, {a, b});
    a_first += order.front().first == 0;
    seen.insert(order);
  }
  EXPECT_NEAR(a_first, runs / 2, runs / 10);
  EXPECT_EQ(seen.size(), 20u) << "every interleaving of 3 + 3 events (6 choose 3) shows";
}

TEST(Strategy, PortfolioRotatesAcrossPrograms) {
  Schedule s = schedule("portfolio", 1);
  std::vector<std::string> picks;
  for (std::uint64_t i = 0; i < 8; ++i) {
    s.program_index = i;
    picks.push_back(to_string(effective(s)));
    EXPECT_EQ(make_policy(s)->name(), picks.back());
  }
  EXPECT_EQ(picks, (std::vector<std::string>{"random", "pos", "lead", "pct:2", "pct:3", "lead", "gap", "random"}));
}

TEST(Strategy, SpuriousWakeupsAreRareButHappen) {
  for (std::string_view n : {"random", "pct:3", "pos", "gap", "lead"}) {
    auto p = make_policy(schedule(n, 3));
    std::vector<Sched::ThreadInfo> waiting(2);
    waiting[0].id = 4, waiting[1].id = 9;
    int woken = 0;
    for (int i = 0; i < 24000; ++i)
      if (auto w = p->spurious(waiting)) {
        EXPECT_TRUE(*w == 4 || *w == 9);
        ++woken;
      }
    EXPECT_NEAR(woken, 1000, 200) << n;
  }
  auto op = make_policy(schedule("op", 3));
  std::vector<Sched::ThreadInfo> waiting(1);
  waiting[0].id = 2;
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(op->spurious(waiting));
}

// A lock gap: thread 0's call has two critical sections; threads 1 and 2 each run a short call. The
// race shows only when both other calls return inside thread 0's gap (after its first unlock, before
// its second lock), which takes several choices in a row against thread 0. The gap
// strategy holds a thread stopped after an unlock while others can run: it lands there far more
// often than the random walk does.
TEST(Strategy, GapRunsWholeCallsInsideALockGap) {
  const SimThread gapped{{"lock t", "unlock t", "lock t", "unlock t", "return"}};
  const SimThread other{{"lock t", "unlock t", "return"}};
  auto inside = [](const std::vector<std::pair<int, int>>& order) {
    auto pos = [&](int t, int e) { return std::find(order.begin(), order.end(), std::pair{t, e}) - order.begin(); };
    const auto open = pos(0, 1), close = pos(0, 2);  // thread 0's unlock ran; its next lock runs
    for (int t : {1, 2})
      if (pos(t, 2) < open || pos(t, 2) > close) return false;  // each other call returns inside the gap
    return true;
  };
  const int runs = 2000;
  std::map<std::string, int> found;
  for (std::string_view n : {"random", "gap"})
    for (int seed = 1; seed <= runs; ++seed) {
      auto p = make_policy(schedule(n, static_cast<std::uint64_t>(seed)));
      found[std::string(n)] += inside(simulate(*p, {gapped, other, other}));
    }
  std::printf("both calls inside the lock gap: gap %d, random %d of %d schedules\n", found["gap"], found["random"], runs);
  EXPECT_GE(found["gap"], runs / 10) << "gap " << found["gap"] << ", random " << found["random"];
  EXPECT_GE(found["gap"], 3 * std::max(found["random"], 1)) << "gap " << found["gap"] << ", random " << found["random"];
}


// An actor's two calls inside another call's lock gap: thread 0's call has two critical sections,
// thread 1 runs two calls one after the other (the round's queued second op). The bug shows only when
// both of thread 1's calls fall between thread 0's first unlock and its second lock. `lead`, told
// that thread 0 is the round's leader, runs it alone to its first unlock (one time in two) and holds
// it there; the random walk needs five choices in a row against thread 0, and `gap` at least three.
TEST(Strategy, LeadRunsAnActorsTwoCallsInsideALockGap) {
  const SimThread gapped{{"lock t", "unlock t", "lock t", "unlock t", "return"}};
  const SimThread twice{{"lock t", "unlock t", "return", "lock t", "unlock t", "return"}};
  auto inside = [](const std::vector<std::pair<int, int>>& order) {
    auto pos = [&](int t, int e) { return std::find(order.begin(), order.end(), std::pair{t, e}) - order.begin(); };
    return pos(1, 0) > pos(0, 1) && pos(1, 5) < pos(0, 2);
  };
  const int runs = 2000;
  std::map<std::string, int> found;
  int unnamed = 0;  // lead with no leaders named: it picks one of the two
  for (std::string_view n : {"random", "gap", "lead"})
    for (int seed = 1; seed <= runs; ++seed) {
      auto p = make_policy(schedule(n, static_cast<std::uint64_t>(seed)));
      found[std::string(n)] += inside(simulate(*p, {gapped, twice}, static_cast<std::uint64_t>(seed) * 0x9e3779b97f4a7c15ULL, {1}));
      if (n == "lead") {
        auto q = make_policy(schedule(n, static_cast<std::uint64_t>(seed)));
        unnamed += inside(simulate(*q, {gapped, twice}, static_cast<std::uint64_t>(seed) * 0x9e3779b97f4a7c15ULL));
      }
    }
  std::printf("two calls inside one lock gap: lead %d (%d with no leader named), gap %d, random %d of %d schedules\n", found["lead"], unnamed,
              found["gap"], found["random"], runs);
  EXPECT_GE(found["lead"], runs * 2 / 5);
  EXPECT_GE(unnamed, runs / 5);
  EXPECT_GE(found["lead"], 3 * std::max(found["gap"], 1));
  EXPECT_GE(found["lead"], 3 * std::max(found["random"], 1));
}

// Without a round (a run's start-up) or with one op, lead is a random walk: no thread is held.
TEST(Strategy, LeadHoldsNobodyOutsideARound) {
  const SimThread gapped{{"lock t", "unlock t", "lock t", "unlock t", "return"}};
  std::set<std::vector<std::pair<int, int>>> seen;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    auto p = make_policy(schedule("lead", seed));
    seen.insert(simulate(*p, {gapped, gapped}));
  }
  EXPECT_GE(seen.size(), 20u);
  auto one = make_policy(schedule("lead", 5));
  EXPECT_EQ(simulate(*one, {gapped}, 7).size(), 5u);
}
