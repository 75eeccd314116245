#include "checker/state_graph.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <unordered_map>

#include <boost/graph/breadth_first_search.hpp>

namespace lockstep::checker {

using namespace lockstep::model;

namespace {

std::size_t mix(std::size_t h, std::size_t v) { return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)); }

// A hash over what distinguishes states; equality is State's own operator==.
std::size_t hash_state(const State& s) {
  std::size_t h = s.procs.size();
  for (const Process& p : s.procs) {
    h = mix(h, static_cast<std::size_t>(p.pid) * 31 + p.freed);
    h = mix(h, p.uid);
    h = mix(h, p.fdtable);
    h = mix(h, static_cast<std::size_t>(p.kt.state) * 7 + p.kt.suspend_requested + p.kt.progress * 13);
    h = mix(h, p.lwps.size());
  }
  for (const Lwp& l : s.lwps) h = mix(h, static_cast<std::size_t>(l.bound + 3) * 2 + l.released);
  for (const HostThread& t : s.hosts) h = mix(h, t.curlwp);
  for (const Wait& w : s.waits) h = mix(h, w.host * 131 + w.target);
  for (const FdTable& t : s.fdtables) h = mix(h, t.fds.size() * 17 + t.refs);
  for (const File& f : s.files) h = mix(h, static_cast<std::size_t>(f.size));
  h = mix(h, static_cast<std::size_t>(s.now));
  h = mix(h, s.console.size());
  return h;
}

}  // namespace

std::vector<Op> alphabet(const State& s, const ExploreBounds& b) {
  std::vector<Op> ops;
  int user_procs = 0, kthreads = 0;
  for (const auto& [pid, id] : s.table) {
    user_procs += s.procs[id].kind == ProcKind::User;
    kthreads += s.procs[id].kind == ProcKind::Kthread;
  }
  const bool lwps_left = static_cast<int>(s.lwps.size()) - 1 - kthreads < b.max_lwps;
  for (HostId h = 0; h < b.hosts; ++h) {
    if (s.wait_of(h) != nullptr) continue;
    auto add = [&](OpBody body) { ops.push_back(Op{Actor::host(h), std::move(body)}); };
    if (user_procs < b.max_user_procs && lwps_left)
      for (int f : {kRumpRffdShare, kRumpRffdg, kRumpRfcfdg}) add(op::Rfork{f});
    if (lwps_left)
      for (const auto& [pid, id] : s.table) add(op::Newlwp{pid});
    add(op::Switch{kNoLwp});
    for (LwpId l = 1; l < s.lwps.size(); ++l)
      if (s.lwps[l].bound != kKernelThread) add(op::Switch{l});
    add(op::Release{});
    // No file ops: fd table sharing shows in the observation right after the rfork.
    add(op::Setuid{1000});
    add(op::Setuid{1001});
    if (kthreads < b.max_kthreads) add(op::KthreadCreate{0, "kt"});
    for (ProcId p = 0; p < s.procs.size(); ++p) {
      if (s.procs[p].kind != ProcKind::Kthread) continue;
      add(op::Suspend{p, 5});
      add(op::Resume{p});
      add(op::WaitExit{p, 5});
    }
    add(op::Suspend{2 < s.procs.size() ? ProcId{2} : ProcId{1}, 5});  // a non-kthread when proc#2 is a user process
  }
  for (ProcId p = 0; p < s.procs.size(); ++p) {
    const Process& k = s.procs[p];
    if (k.kind != ProcKind::Kthread || k.kt.state != KState::Running) continue;
    ops.push_back(Op{Actor::kthread(p), op::SuspendCheck{p}});
    ops.push_back(Op{Actor::kthread(p), op::Work{}});
    ops.push_back(Op{Actor::kthread(p), op::KthreadExit{0}});
  }
  for (ProcId p = 0; p < s.procs.size(); ++p)
    if (s.procs[p].kind == ProcKind::Kthread && s.procs[p].kt.state == KState::Zombie)
      ops.push_back(Op{Actor::reaper(), op::Reap{p}});
  if (s.now + 5 <= b.max_now) ops.push_back(Op{Actor::clock(), op::Tick{5}});
  return ops;
}

Exploration explore(const ExploreBounds& b) {
  Exploration e;
  std::unordered_map<std::size_t, std::vector<Vertex>> seen;
  Model init;
  e.root = boost::add_vertex(StateVertex{init.state(), 0}, e.graph);
  seen[hash_state(init.state())].push_back(e.root);
  std::deque<Vertex> queue{e.root};
  while (!queue.empty()) {
    const Vertex v = queue.front();
    queue.pop_front();
    if (e.graph[v].depth >= b.max_depth) continue;
    const State from = e.graph[v].state;
    for (const Op& op : alphabet(from, b)) {
      // Re-enter the state: the model is a value, so copying its state in is exact.
      Model m = Model::from_state(from);
      const StepResult r = m.apply(op);
      if (r.outcome.kind == OutcomeKind::NotRunnable) continue;
      const State& to = m.state();
      auto& bucket = seen[hash_state(to)];
      auto same = std::find_if(bucket.begin(), bucket.end(), [&](Vertex u) { return e.graph[u].state == to; });
      Vertex u;
      if (same != bucket.end()) {
        u = *same;
      } else {
        if (boost::num_vertices(e.graph) >= b.max_states) {
          e.complete = false;
          continue;
        }
        u = boost::add_vertex(StateVertex{to, e.graph[v].depth + 1}, e.graph);
        bucket.push_back(u);
        // A dead instance (FATAL) has no successors worth exploring.
        if (to.fatal == Fatal::None) queue.push_back(u);
      }
      boost::add_edge(v, u, OpEdge{op}, e.graph);
    }
  }
  return e;
}

std::vector<std::vector<Op>> candidate_programs(const Exploration& e) {
  const std::size_t n = boost::num_vertices(e.graph);
  std::vector<Vertex> pred(n);
  std::vector<std::size_t> dist(n, 0);
  for (Vertex v = 0; v < n; ++v) pred[v] = v;
  // Shortest paths from the root by a Boost BFS with predecessor and distance recorders.
  boost::breadth_first_search(
      e.graph, e.root,
      boost::visitor(boost::make_bfs_visitor(std::make_pair(
          boost::record_predecessors(pred.data(), boost::on_tree_edge()),
          boost::record_distances(dist.data(), boost::on_tree_edge())))));
  std::vector<std::vector<Op>> path(n);
  std::vector<Vertex> order(n);
  for (Vertex v = 0; v < n; ++v) order[v] = v;
  std::stable_sort(order.begin(), order.end(), [&](Vertex a, Vertex b) { return dist[a] < dist[b]; });
  for (Vertex v : order) {
    if (v == e.root) continue;
    // The tree edge pred[v] -> v: its op extends the predecessor's path.
    for (auto [ei, end] = boost::out_edges(pred[v], e.graph); ei != end; ++ei)
      if (boost::target(*ei, e.graph) == v) {
        path[v] = path[pred[v]];
        path[v].push_back(e.graph[*ei].op);
        break;
      }
  }
  std::vector<std::vector<Op>> out;
  for (Vertex v : order)
    for (auto [ei, end] = boost::out_edges(v, e.graph); ei != end; ++ei) {
      std::vector<Op> prog = path[v];
      prog.push_back(e.graph[*ei].op);
      out.push_back(std::move(prog));
    }
  return out;
}

}  // namespace lockstep::checker
