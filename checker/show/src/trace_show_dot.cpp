// `lockstep show --format dot`: the timeline and the process tree as one Graphviz graph,
// written by Boost.Graph's graphviz writer. The timeline is a grid: one node per (step, lane)
// (an invisible-sized point when the lane is idle), rows held level by rank=same groups and
// kept in lane order by invisible flat edges; lane edges show blocked spans, dashed edges the
// wake-ups. Clusters and rank groups are emitted through the writer's graph-property hook.
#include <map>
#include <ostream>
#include <sstream>

#include <boost/graph/adjacency_list.hpp>
// GCC 12 at -O2 flags an optional inside Boost 1.74's edge iterator as maybe-uninitialized once
// write_graphviz is inlined here; the warning is in Boost's code, not ours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/graph/graphviz.hpp>
#pragma GCC diagnostic pop
#include <fmt/format.h>

#include "checker/trace_show.hpp"

namespace lockstep::checker {

using namespace lockstep::model;

namespace {

using Attrs = std::map<std::string, std::string>;
using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, Attrs, Attrs>;
using Vertex = boost::graph_traits<Graph>::vertex_descriptor;

std::string quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    if (c == '\n') {
      q += "\\n";
      continue;
    }
    q += c;
  }
  return q + "\"";
}

void write_attrs(std::ostream& os, const Attrs& a) {
  os << "[";
  bool first = true;
  for (const auto& [k, v] : a) {
    os << (first ? "" : ", ") << k << "=" << (k == "label" && v.rfind('<', 0) == 0 ? v : quote(v));
    first = false;
  }
  os << "]";
}

// Breaks a long label into lines of about `width` characters at spaces or commas.
std::string wrap(const std::string& s, std::size_t width) {
  std::string out, line;
  for (std::size_t i = 0; i < s.size(); ++i) {
    line += s[i];
    if (line.size() >= width && (s[i] == ' ' || s[i] == ',')) {
      out += line + "\n";
      line.clear();
    }
  }
  return out + line;
}

std::string lane_fill(const std::string& lane) {
  if (lane.rfind("H", 0) == 0) return "#dbe9f6";
  if (lane.rfind("K", 0) == 0) return "#fdf0c4";
  return "#eeeeee";
}

class Builder {
 public:
  Vertex node(Attrs a, std::vector<Vertex>* group = nullptr) {
    const Vertex v = boost::add_vertex(std::move(a), g_);
    if (group != nullptr) group->push_back(v);
    return v;
  }
  void edge(Vertex a, Vertex b, Attrs attrs) { boost::add_edge(a, b, std::move(attrs), g_); }
  Graph& graph() { return g_; }

 private:
  Graph g_;
};

std::string html(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

// The interleaving table (show_interleaving_text's layout) as one HTML-like label: a column per
// thread, a row per turn, a preemption in red and a switch at a blocking point in grey.
std::string interleaving_cluster(const Interleaving& il) {
  std::string t = "<<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\" CELLPADDING=\"3\"><TR>";
  for (const std::string& lane : il.lanes) t += "<TD BGCOLOR=\"#dbe9f6\"><B>" + html(lane) + "</B></TD>";
  t += "</TR>";
  for (const InterleavingRow& r : il.rows) {
    t += "<TR>";
    for (std::size_t l = 0; l < il.lanes.size(); ++l) {
      if (l != r.lane) {
        t += "<TD></TD>";
        continue;
      }
      const bool starts = r.text.rfind("> ", 0) == 0;
      std::string text = html(r.text);
      if (starts) text = "<B>" + text + "</B>";
      if (r.after == InterleavingRow::Switch::Preempted) text += " <FONT COLOR=\"#c62828\">&#8631; switch</FONT>";
      if (r.after == InterleavingRow::Switch::Blocked) text += " <FONT COLOR=\"#777777\">&#8594; switch</FONT>";
      t += "<TD ALIGN=\"LEFT\"" + std::string(r.after == InterleavingRow::Switch::Preempted ? " BGCOLOR=\"#fdecea\"" : "") + ">" + text + "</TD>";
    }
    t += "</TR>";
  }
  t += "</TABLE>>";
  const std::string label = fmt::format("interleaving of steps {}..{} as scheduled ({} preemptions, {} context switches)", il.first_step,
                                        il.first_step + std::max<std::size_t>(il.steps, 1) - 1, il.preemptions, il.switches);
  return "subgraph cluster_interleaving {\nlabel=" + quote(label) + "; color=\"#999999\";\ninterleaving [shape=plaintext, fontsize=10, label=" + t +
         "];\n}\n";
}

}  // namespace

std::string show_dot(const Timeline& tl) {
  Builder b;
  std::vector<Vertex> timeline, tree;
  std::vector<std::vector<Vertex>> ranks;

  // Header row: a corner, then one node per lane.
  std::vector<Vertex> head;
  head.push_back(b.node({{"label", "step"}, {"shape", "plaintext"}, {"fontname", "Helvetica-Bold"}}, &timeline));
  for (const std::string& lane : tl.lanes)
    head.push_back(b.node({{"label", lane}, {"group", lane}, {"shape", "box"}, {"style", "filled,bold"}, {"fillcolor", lane_fill(lane)}, {"fontname", "Helvetica-Bold"}},
                          &timeline));
  ranks.push_back(head);
  std::vector<Vertex> prev(head.begin() + 1, head.end());
  std::vector<bool> in_blocked(tl.lanes.size(), false), labelled(tl.lanes.size(), false);
  std::optional<Vertex> diverged_cell;

  for (std::size_t r = 0; r < tl.rows.size(); ++r) {
    std::vector<Vertex> row;
    row.push_back(b.node({{"label", fmt::format("{}", tl.first + r)}, {"shape", "plaintext"}}, &timeline));
    std::optional<Vertex> actor_cell;
    std::vector<Vertex> woken_cells;
    for (std::size_t l = 0; l < tl.lanes.size(); ++l) {
      const LaneCell& c = tl.rows[r][l];
      Attrs a;
      switch (c.kind) {
        case LaneCell::Kind::Idle:
        case LaneCell::Kind::Blocked:
          a = {{"shape", "point"}, {"width", "0.04"}, {"color", c.kind == LaneCell::Kind::Blocked ? "#c62828" : "#bbbbbb"}, {"label", ""}};
          break;
        case LaneCell::Kind::Op:
          a = {{"shape", "box"}, {"style", "rounded,filled"}, {"fillcolor", lane_fill(tl.lanes[l])}, {"fontname", "Helvetica"},
               {"fontsize", "11"}, {"label", wrap(c.text, 34) + "\n= " + c.result}};
          if (c.result.rfind("BLOCKED", 0) == 0) a["color"] = "#c62828";
          if (c.result.rfind("FATAL", 0) == 0) a["fillcolor"] = "#f3c6c6";
          break;
        case LaneCell::Kind::Woken:
          a = {{"shape", "box"}, {"style", "rounded,filled"}, {"fillcolor", "#d7f0d2"}, {"fontname", "Helvetica"}, {"fontsize", "11"},
               {"label", c.text + "\n(woken by " + c.woken_by + ")"}};
          break;
      }
      if (c.diverged) {
        a["shape"] = "box";
        a["style"] = "rounded,filled,bold";
        a["fillcolor"] = "#ff8a80";
        a["color"] = "#b71c1c";
        a["penwidth"] = "3";
        a["width"] = "";
        a["fontsize"] = "11";
        a["label"] = "DIVERGES HERE\n" + (c.kind == LaneCell::Kind::Op || c.kind == LaneCell::Kind::Woken ? a["label"] : std::string("(expected: still blocked)"));
        a.erase("width");
      }
      const Vertex v = b.node(std::move(a), &timeline);
      if (c.diverged) diverged_cell = v;
      b.graph()[v]["group"] = tl.lanes[l];  // same group: Graphviz keeps the lane straight
      if (c.kind == LaneCell::Kind::Op) actor_cell = v;
      if (c.kind == LaneCell::Kind::Woken) woken_cells.push_back(v);
      // The lane: grey while idle, thick red while the lane's actor is blocked in the kernel.
      const bool blocked_span = c.kind == LaneCell::Kind::Blocked || c.kind == LaneCell::Kind::Woken || (c.diverged && in_blocked[l]);
      Attrs la{{"arrowhead", "none"}, {"weight", "20"}};
      if (blocked_span) {
        la["color"] = "#c62828";
        la["penwidth"] = "3";
        if (!labelled[l]) la["label"] = " blocked";
        labelled[l] = true;
        la["fontcolor"] = "#c62828";
        la["fontsize"] = "10";
      } else {
        la["color"] = "#bbbbbb";
      }
      b.edge(prev[l], v, std::move(la));
      prev[l] = v;
      if (c.kind == LaneCell::Kind::Op) in_blocked[l] = c.result.rfind("BLOCKED", 0) == 0;
      if (!blocked_span) labelled[l] = false;
      if (c.kind == LaneCell::Kind::Woken) in_blocked[l] = false;
      if (c.kind == LaneCell::Kind::Blocked) in_blocked[l] = true;
      row.push_back(v);
    }
    for (Vertex w : woken_cells)
      if (actor_cell)
        b.edge(*actor_cell, w, {{"style", "dashed"}, {"color", "#2e7d32"}, {"constraint", "false"}, {"label", "wakes"}, {"fontcolor", "#2e7d32"}, {"fontsize", "10"}});
    if (tl.divergence && tl.first + r == tl.divergence_step) {
      const Vertex note = b.node({{"shape", "note"}, {"style", "filled"}, {"fillcolor", "#ffebee"}, {"color", "#b71c1c"}, {"fontname", "Helvetica-Bold"},
                                  {"fontsize", "11"}, {"label", wrap(*tl.divergence, 48)}},
                                 &timeline);
      row.push_back(note);
      if (diverged_cell) b.edge(*diverged_cell, note, {{"color", "#b71c1c"}, {"penwidth", "2"}, {"constraint", "false"}});
    }
    ranks.push_back(std::move(row));
  }
  // Keep each row's nodes in lane order with invisible flat edges.
  for (const auto& row : ranks)
    for (std::size_t i = 1; i < row.size(); ++i) b.edge(row[i - 1], row[i], {{"style", "invis"}});

  // The process tree after the last shown step.
  const Observation& o = tl.tree;
  std::map<Pid, Vertex> proc_node;
  std::map<int, Vertex> table_node;
  std::map<int, int> sharers;
  for (const ObsProc& p : o.procs) ++sharers[p.fdtable];
  std::map<std::pair<Pid, int>, Vertex> lwp_node;
  for (const ObsProc& p : o.procs) {
    std::string label = fmt::format("pid {}  \"{}\"\n{}  uid {}", p.pid, p.comm, to_string(p.kind), p.uid);
    if (p.kind == ProcKind::Kthread)
      label += fmt::format("\n{}{}  progress {}", to_string(p.kstate), p.suspend_requested ? " +suspend req" : "", p.progress);
    proc_node[p.pid] = b.node({{"shape", "box"}, {"style", "rounded,filled"}, {"fontname", "Helvetica"}, {"fontsize", "11"},
                               {"fillcolor", p.kind == ProcKind::Kthread ? "#fdf0c4" : p.kind == ProcKind::User ? "#dbe9f6" : "#e0e0e0"},
                               {"label", label}},
                              &tree);
    for (const ObsLwp& l : p.lwps) {
      const std::string who = l.released ? "released" : l.bound == kUnbound ? "unbound" : l.bound == kKernelThread ? "kthread" : fmt::format("H{}", l.bound);
      const Vertex lv = b.node({{"shape", "ellipse"}, {"fontsize", "10"}, {"fontname", "Helvetica"}, {"label", fmt::format("lid {}\n{}", l.lid, who)},
                                {"style", l.released ? "dashed" : "solid"}},
                               &tree);
      b.edge(proc_node[p.pid], lv, {{"style", "dotted"}, {"arrowhead", "none"}});
      lwp_node[{p.pid, l.lid}] = lv;
    }
    if (!table_node.contains(p.fdtable)) {
      std::string fds;
      for (const auto& [fd, d] : p.fds) fds += fmt::format("{}{}:d{}", fds.empty() ? "" : " ", fd, d);
      const bool shared = sharers[p.fdtable] > 1;
      table_node[p.fdtable] = b.node({{"shape", "folder"}, {"style", "filled"}, {"fontsize", "10"}, {"fontname", "Helvetica"},
                                      {"fillcolor", shared ? "#ffcc80" : "#f5f5f5"},
                                      {"label", fmt::format("fd table T{}{}\n{}", p.fdtable, shared ? fmt::format(" (shared by {})", sharers[p.fdtable]) : "",
                                                            fds.empty() ? "(empty)" : wrap(fds, 24))}},
                                     &tree);
    }
    b.edge(proc_node[p.pid], table_node[p.fdtable], {{"style", "dashed"}, {"color", "#888888"}, {"arrowhead", "odot"}});
  }
  for (const ObsProc& p : o.procs)
    if (p.ppid != p.pid && proc_node.contains(p.ppid)) b.edge(proc_node[p.ppid], proc_node[p.pid], {{"penwidth", "1.5"}});
  for (std::size_t h = 0; h < o.hosts.size(); ++h)
    if (o.hosts[h].curlwp && lwp_node.contains(*o.hosts[h].curlwp)) {
      const Vertex hv = b.node({{"shape", "hexagon"}, {"style", "filled"}, {"fillcolor", "#dbe9f6"}, {"fontname", "Helvetica-Bold"}, {"label", fmt::format("H{}", h)}}, &tree);
      b.edge(hv, lwp_node[*o.hosts[h].curlwp], {{"label", "curlwp"}, {"fontsize", "10"}, {"color", "#1565c0"}});
    }

  const std::string title = tl.title;
  const std::size_t tree_step = tl.tree_step;
  const std::optional<Interleaving>& interleaving = tl.interleaving;
  auto graph_writer = [&](std::ostream& os) {
    os << "graph [fontname=\"Helvetica\", labelloc=t, label=" << quote(title) << ", nodesep=0.25, ranksep=0.3, newrank=true];\n";
    os << "node [fontname=\"Helvetica\"];\n";
    os << "subgraph cluster_timeline {\nlabel=\"timeline (one lane per host thread and kthread)\"; color=\"#999999\";\n";
    for (Vertex v : timeline) os << v << ";\n";
    for (const auto& row : ranks) {
      os << "{rank=same;";
      for (Vertex v : row) os << " " << v << ";";
      os << "}\n";
    }
    os << "}\n";
    os << "subgraph cluster_tree {\nlabel=" << quote(fmt::format("process tree after step {} (lwps, fd tables)", tree_step)) << "; color=\"#999999\";\n";
    for (Vertex v : tree) os << v << ";\n";
    os << "}\n";
    if (interleaving) os << interleaving_cluster(*interleaving);
  };
  std::ostringstream out;
  const Graph& g = b.graph();
  boost::write_graphviz(
      out, g, [&](std::ostream& os, Vertex v) { write_attrs(os, g[v]); },
      [&](std::ostream& os, const boost::graph_traits<Graph>::edge_descriptor& e) { write_attrs(os, g[e]); }, graph_writer);
  return out.str();
}

}  // namespace lockstep::checker
