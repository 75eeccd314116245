// The happens-before graph of a history whose events are only partially ordered (checker/verify/VERIFY.md,
// "Partial-order mode"): which events must precede which, whatever the real interleaving was.
// Edges come from what the history itself proves, never from the order its events were written in:
//   program  — an actor's events in the order it issued them;
//   wake     — a blocked call began before the event that ended it, and that event precedes the
//              blocked actor's next call;
//   bind     — the event that created a handle (proc#N, lwp#N, a kthread K<p>) precedes every event
//              that names it; likewise a successful newlwp(pid) follows the creation of that process;
//   barrier  — a FATAL step, and a step whose observed state describes the whole kernel, are
//              ordered with every other event;
//   explicit — the trace's own `after` edges (e.g. real-time order recorded by a stress run).
// The file order must be one linearisation of these edges (a recorder writes a topological order);
// an edge that points backwards is bad input.
// No other edge is inferred: a reap is not ordered after the kthread_exit it depends on (a history
// that records no such edge admits the order in which the reap comes first, and its recorded
// success is then judged in that order), and an observed state is a barrier because it describes
// the whole kernel at one instant.
// Memory: reachability is a bitset per event, n²/8 bytes (10^4 events: 12.5 MB). A long history is
// first built without it (edges only, linear), cut at its quiescent points (`cuts()`), and each
// window between two cuts gets its own graph with reachability (the window constructor).

#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include <boost/dynamic_bitset.hpp>
#include <boost/graph/adjacency_list.hpp>

#include "checker/verify.hpp"

namespace lockstep::checker {

class HappensBefore {
 public:
  enum class Why : std::uint8_t { Program, Wake, Bind, Barrier, Explicit };
  struct EdgeInfo { Why why = Why::Program; };  // the first reason found for the edge
  // Edges by reason (indexed by Why), for reports.
  std::vector<std::size_t> edges_by_why() const;
  using Graph = boost::adjacency_list<boost::setS, boost::vecS, boost::directedS, boost::no_property, EdgeInfo>;

  // Throws std::invalid_argument (naming the events) when an edge points backwards in file order.
  // Without `reach`, only the edges (and `cuts()`, `edges()`, `graph()`) are available.
  explicit HappensBefore(const VTrace& t, bool reach = true);
  // The events [begin, end) of `whole` as a graph of their own (indices from 0), with reachability:
  // the edges between them (a path between two of them never leaves the range, since edges point
  // forward in the file).
  HappensBefore(const HappensBefore& whole, std::size_t begin, std::size_t end);

  // The quiescent cuts: every c (0 < c < size()) such that every event before c happens before every
  // event from c on (no operation in flight across it), ascending. Linear in the edges: c is such a
  // cut iff an edge joins every maximal event of [0, c) to every minimal event of [c, size()) (a path
  // from a maximal event to a minimal one has no room for a third event). A cut whose two frontiers
  // would need more than `max_frontier` edge look-ups is not reported (never a wrong cut, at worst a
  // missed one). A blocked call is two events (its request, which starts the wait, and the event that
  // ends it): a cut between them carries the wait across as state, like any other field.
  std::vector<std::size_t> cuts(std::size_t max_frontier = 4096) const;

  std::size_t size() const { return boost::num_vertices(g_); }
  const Graph& graph() const { return g_; }
  // a happens before b (strictly, transitively); indices into VTrace::events.
  bool before(std::size_t a, std::size_t b) const { return reach_[a].test(b); }  // needs reach
  bool concurrent(std::size_t a, std::size_t b) const { return a != b && !before(a, b) && !before(b, a); }
  std::size_t edges() const { return boost::num_edges(g_); }
  std::size_t concurrent_pairs() const;  // unordered pairs of events no edge path orders (needs reach)
  // The events of `order` (indices) respect every edge.
  bool is_linearisation(const std::vector<std::size_t>& order) const;

  static std::string_view why_name(Why w);

 private:
  void edge(std::size_t a, std::size_t b, Why why, const VTrace& t);
  void compute_reach();
  Graph g_;
  std::vector<boost::dynamic_bitset<>> reach_;  // reach_[a][b]: a happens before b
};

}  // namespace lockstep::checker
