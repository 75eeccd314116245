// The breadth-first state graph: bounded, deduplicated, and its candidate programs
// come shortest first, so the first divergence found is a shortest one.
#include <gtest/gtest.h>

#include "checker/mutants.hpp"
#include "checker/state_graph.hpp"

using namespace lockstep;
using namespace lockstep::checker;

TEST(StateGraph, ExploresWithinItsBoundsAndDeduplicates) {
  ExploreBounds b;
  b.max_depth = 2;
  const Exploration e = explore(b);
  EXPECT_TRUE(e.complete);
  const auto n = boost::num_vertices(e.graph);
  EXPECT_GT(n, 20u);
  EXPECT_LT(n, boost::num_edges(e.graph) + 1);  // more edges than new states: some ops lead to known states
  for (std::size_t v = 0; v < n; ++v) EXPECT_LE(e.graph[v].depth, 2u);
}

TEST(StateGraph, CandidatesAreShortestFirstAndEachExtendsAShortestPath) {
  ExploreBounds b;
  b.max_depth = 3;
  const auto c = candidate_programs(explore(b));
  ASSERT_FALSE(c.empty());
  for (std::size_t i = 1; i < c.size(); ++i) EXPECT_LE(c[i - 1].size(), c[i].size());
  EXPECT_EQ(c.front().size(), 1u);
  EXPECT_EQ(c.back().size(), 3u);  // depth d: programs of at most d ops
}

TEST(StateGraph, ShortestExposureOfFaults) {
  ExploreBounds b;
  b.max_depth = 3;
  const auto cand = candidate_programs(explore(b));
  LockstepConfig lc;
  lc.program.chooser.hosts = b.hosts;
  std::size_t tried = 0;
  lc.faults = impl::FaultSet{impl::Fault::rfcfdg_shares};
  EXPECT_EQ(shortest_exposure(cand, lc, 60, &tried), std::optional<std::size_t>(1));
  lc.faults = impl::FaultSet{impl::Fault::release_keeps_proc};
  EXPECT_EQ(shortest_exposure(cand, lc, 60, &tried), std::optional<std::size_t>(2));
  lc.faults = impl::FaultSet{impl::Fault::shared_wakeup_channel};
  EXPECT_EQ(shortest_exposure(cand, lc, 60, &tried), std::optional<std::size_t>(3));
  // The correct impl agrees on all of them. This sweep runs every candidate (thousands): seconds in
  // a plain build, about a minute under ThreadSanitizer, more on a loaded machine; the budget only
  // guards against a hang (below ctest's 900 s under the sanitizers), since a sweep cut short fails
  // the count below.
  lc.faults = {};
  EXPECT_EQ(shortest_exposure(cand, lc, 600, &tried), std::nullopt);
  EXPECT_EQ(tried, cand.size());
}
