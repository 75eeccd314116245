// The model's state graph for a small bound, explored breadth-first: vertices are
// distinct model states, edges are ops from a small concrete alphabet. Boost.Graph
// holds it and computes shortest op paths from the initial state, so that for
// each injected fault the checker can report the length of the shortest program
// that exposes it (and compare the shrunk counterexample against it).
#pragma once
#include <cstddef>
#include <vector>

#include <boost/graph/adjacency_list.hpp>

#include "model/model.hpp"
#include "model/op.hpp"

namespace lockstep::checker {

struct ExploreBounds {
  int hosts = 2;
  int max_user_procs = 3;  // processes created by rfork, alive at once
  int max_lwps = 4;        // host-visible lwps issued in all
  int max_kthreads = 1;
  model::Tick max_now = 20;
  std::size_t max_depth = 4;  // the longest candidate program
  std::size_t max_states = 200000;
};

struct StateVertex {
  model::State state;
  std::size_t depth = 0;
};
struct OpEdge {
  model::Op op;
};

using StateGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, StateVertex, OpEdge>;
using Vertex = boost::graph_traits<StateGraph>::vertex_descriptor;
using Edge = boost::graph_traits<StateGraph>::edge_descriptor;

// The ops tried from `s` within the bounds: every host op on every object that exists
// (stale and running lwps included, since faults hide there), kthread steps, ticks, reaps.
std::vector<model::Op> alphabet(const model::State& s, const ExploreBounds& b);

struct Exploration {
  StateGraph graph;
  Vertex root = 0;
  bool complete = true;  // false when max_states cut the search
};

Exploration explore(const ExploreBounds& b);

// Every program of the form (shortest path to a state) + (one op from it), shortest first:
// the candidates in which a fault can first show. Paths come from a Boost BFS over the graph.
std::vector<std::vector<model::Op>> candidate_programs(const Exploration& e);

}  // namespace lockstep::checker
