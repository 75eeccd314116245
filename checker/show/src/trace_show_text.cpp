// `lockstep show --format txt`: the timeline as a table (one column per lane) and the process
// tree as an indented list. ASCII only, so columns line up in any terminal.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "checker/trace_show.hpp"

namespace lockstep::checker {

using namespace lockstep::model;

namespace {

constexpr std::size_t kMaxColumn = 46;

std::string cell_text(const LaneCell& c) {
  std::string s;
  switch (c.kind) {
    case LaneCell::Kind::Idle: break;
    case LaneCell::Kind::Op: s = c.text + " -> " + c.result; break;
    case LaneCell::Kind::Blocked: s = "|  (blocked)"; break;
    case LaneCell::Kind::Woken: s = "'-> " + c.text + " (woken by " + c.woken_by + ")"; break;
  }
  if (c.diverged) s = "!! " + (s.empty() ? std::string("(still blocked)") : s);
  if (s.size() > kMaxColumn) s = s.substr(0, kMaxColumn - 3) + "...";
  return s;
}

std::string proc_line(const ObsProc& p) {
  std::string s = fmt::format("pid {} \"{}\" {} uid {}", p.pid, p.comm, to_string(p.kind), p.uid);
  if (p.kind == ProcKind::Kthread)
    s += fmt::format(" {}{} progress {}{}", to_string(p.kstate), p.suspend_requested ? " (suspend requested)" : "", p.progress,
                     p.kstate == KState::Zombie ? fmt::format(" exit {}", p.exit_code) : "");
  std::string lwps;
  for (const ObsLwp& l : p.lwps)
    lwps += fmt::format("{}{}:{}", lwps.empty() ? "" : " ", l.lid,
                        l.released ? "released" : l.bound == kUnbound ? "unbound" : l.bound == kKernelThread ? "kthread" : fmt::format("H{}", l.bound));
  std::string fds;
  for (const auto& [fd, d] : p.fds) fds += fmt::format("{}{}->d{}", fds.empty() ? "" : " ", fd, d);
  return s + fmt::format("  lwps [{}]  fd table T{} {{{}}}", lwps, p.fdtable, fds);
}

void tree(const Observation& o, Pid pid, const std::string& indent, bool last, bool root, std::string& out) {
  const ObsProc* p = nullptr;
  for (const ObsProc& q : o.procs)
    if (q.pid == pid) p = &q;
  if (p == nullptr) return;
  out += indent + (root ? "" : last ? "`- " : "+- ") + proc_line(*p) + "\n";
  std::vector<Pid> kids;
  for (const ObsProc& q : o.procs)
    if (q.ppid == pid && q.pid != pid) kids.push_back(q.pid);
  for (std::size_t i = 0; i < kids.size(); ++i)
    tree(o, kids[i], root ? indent + "  " : indent + (last ? "   " : "|  "), i + 1 == kids.size(), false, out);
}

}  // namespace

std::string show_text(const Timeline& tl) {
  std::string out = tl.title + "\n\n";
  std::vector<std::size_t> width(tl.lanes.size());
  for (std::size_t l = 0; l < tl.lanes.size(); ++l) {
    width[l] = tl.lanes[l].size();
    for (const auto& row : tl.rows) width[l] = std::max(width[l], cell_text(row[l]).size());
  }
  out += fmt::format("{:>6} ", "step");
  for (std::size_t l = 0; l < tl.lanes.size(); ++l) out += fmt::format("| {:<{}} ", tl.lanes[l], width[l]);
  out += "\n" + std::string(7, '-');
  for (std::size_t w : width) out += "+" + std::string(w + 2, '-');
  out += "\n";
  for (std::size_t r = 0; r < tl.rows.size(); ++r) {
    out += fmt::format("{:>6} ", tl.first + r);
    for (std::size_t l = 0; l < tl.lanes.size(); ++l) out += fmt::format("| {:<{}} ", cell_text(tl.rows[r][l]), width[l]);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += "\n";
  }
  if (tl.divergence) out += "\n>>> " + *tl.divergence + "\n";
  if (tl.interleaving) out += "\n" + show_interleaving_text(*tl.interleaving);

  const Observation& o = tl.tree;
  out += fmt::format("\nprocess tree after step {} (the model's state; nprocs {}):\n", tl.tree_step, o.nprocs);
  tree(o, 0, "  ", true, true, out);
  std::map<int, std::vector<Pid>> sharers;
  for (const ObsProc& p : o.procs) sharers[p.fdtable].push_back(p.pid);
  for (const auto& [table, pids] : sharers)
    if (pids.size() > 1) {
      std::string list;
      for (Pid p : pids) list += fmt::format("{}{}", list.empty() ? "" : ", ", p);
      out += fmt::format("  fd table T{} is shared by pids {}\n", table, list);
    }
  for (std::size_t h = 0; h < o.hosts.size(); ++h)
    out += fmt::format("  H{}: {}\n", h, o.hosts[h].curlwp ? fmt::format("curlwp pid {} lid {}", o.hosts[h].curlwp->first, o.hosts[h].curlwp->second)
                                                          : fmt::format("IMPLICIT (pid {})", o.hosts[h].pid));
  for (const ObsWait& w : o.blocked)
    out += fmt::format("  H{} blocked in {} on pid {}{}\n", w.host, w.what, w.target,
                       !w.deadline_said ? "" : w.deadline ? fmt::format(" until tick {}", *w.deadline) : std::string(", no timeout"));
  for (const std::string& line : o.console) out += fmt::format("  console: {}\n", line);
  return out;
}

}  // namespace lockstep::checker
