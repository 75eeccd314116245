// The breadth-first state graph: bounded, deduplicated, and its candidate programs
// come shortest first, so the first divergence found is a shortest one.
#include <gtest/gtest.h>

#include "checker/mutants.hpp"
#include "checker/state_graph.hpp"
#include "breadth.hpp"

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
  // Each budget only guards against a hang (a search cut short fails its expectation): under
  // ThreadSanitizer on a loaded machine the depth-3 search took more than a minute.
  lc.faults = impl::FaultSet{impl::Fault::rfcfdg_shares};
  EXPECT_EQ(shortest_exposure(cand, lc, 200, &tried), std::optional<std::size_t>(1));
  lc.faults = impl::FaultSet{impl::Fault::release_keeps_proc};
  EXPECT_EQ(shortest_exposure(cand, lc, 200, &tried), std::optional<std::size_t>(2));
  lc.faults = impl::FaultSet{impl::Fault::shared_wakeup_channel};
  EXPECT_EQ(shortest_exposure(cand, lc, 200, &tried), std::optional<std::size_t>(3));
  // The correct impl agrees on all of them. This sweep runs every candidate (thousands): seconds in
  // a plain build, minutes under ThreadSanitizer, so there it runs every third (tests/breadth.hpp).
  std::vector<std::vector<model::Op>> sweep;
  for (std::size_t i = 0; i < cand.size(); i += lockstep::test::kSeedStride) sweep.push_back(cand[i]);
  lc.faults = {};
  EXPECT_EQ(shortest_exposure(sweep, lc, 300, &tried), std::nullopt);
  EXPECT_EQ(tried, sweep.size());
}
