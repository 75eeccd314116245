#include "checker/observation.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

namespace lockstep::checker {

using namespace lockstep::model;

namespace {

std::string_view wait_name(WaitKind k) {
  switch (k) {
    case WaitKind::Suspend: return "kthread_suspend";
    case WaitKind::Shutdown: return "kthread_suspend";  // kproc_shutdown waits inside kthread_suspend
    case WaitKind::Exit: return "kthread_wait_exit";
    case WaitKind::Resume: return "kthread_suspend_check";
  }
  return "?";
}

std::string render(const ObsLwp& l) {
  std::string b = l.bound == kUnbound ? "unbound" : l.bound == kKernelThread ? "kthread" : fmt::format("H{}", l.bound);
  return fmt::format("lid {} {}{}", l.lid, b, l.released ? " released" : "");
}

std::string render_fds(const ObsProc& p) {
  std::string out = fmt::format("table t{} {{", p.fdtable);
  for (const auto& [fd, d] : p.fds) out += fmt::format(" {}:d{}", fd, d);
  return out + " }";
}

// A binding difference breaks R4 (one lwp, one host), a released flag R2, anything else L3/L4.
Rule lwp_rule(const std::vector<ObsLwp>& a, const std::vector<ObsLwp>& b) {
  if (a.size() != b.size()) return Rule::R2;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].released != b[i].released) return Rule::R2;
    if (a[i].bound != b[i].bound) return Rule::R4;
  }
  return Rule::L3;
}

}  // namespace

void canonicalize_fds(std::vector<ObsProc>& procs, const std::vector<std::uint64_t>& table_keys,
                      const std::vector<std::vector<std::pair<int, std::uint64_t>>>& fd_keys) {
  // Usually a handful of tables and descriptions: a linear scan beats a map there (hot path).
  // Past 16 keys (long programs that keep files open) a hash index takes over, so naming stays
  // linear in the size of the state.
  struct Names {
    std::vector<std::uint64_t> seen;
    std::unordered_map<std::uint64_t, int> index;
    int operator()(std::uint64_t key) {
      if (seen.size() <= 16) {
        for (std::size_t i = 0; i < seen.size(); ++i)
          if (seen[i] == key) return static_cast<int>(i);
      } else if (auto it = index.find(key); it != index.end()) {
        return it->second;
      }
      seen.push_back(key);
      const int name = static_cast<int>(seen.size() - 1);
      if (seen.size() == 17)
        for (std::size_t i = 0; i < seen.size(); ++i) index.emplace(seen[i], static_cast<int>(i));
      else if (seen.size() > 17)
        index.emplace(key, name);
      return name;
    }
  };
  Names tables, descs;
  auto name_of = [](Names& names, std::uint64_t key) { return names(key); };
  for (std::size_t i = 0; i < procs.size(); ++i) {
    procs[i].fdtable = name_of(tables, table_keys[i]);
    procs[i].fds.clear();
    procs[i].fds.reserve(fd_keys[i].size());
    for (const auto& [fd, key] : fd_keys[i]) procs[i].fds.emplace_back(fd, name_of(descs, key));
  }
}

namespace {

constexpr std::uint64_t kFnvPrime = 0x100000001b3ULL;

// kFnvPowers[k] = kFnvPrime^k (mod 2^64): FNV-1a over k zero bytes multiplies by it.
constexpr std::array<std::uint64_t, 9> kFnvPowers = [] {
  std::array<std::uint64_t, 9> p{};
  p[0] = 1;
  for (std::size_t k = 1; k < p.size(); ++k) p[k] = p[k - 1] * kFnvPrime;
  return p;
}();

}  // namespace

std::uint64_t fnv1a_number(std::uint64_t h, std::int64_t v) {
  // Most numbers are small and non-negative: their high zero bytes are one multiplication by a power
  // of the prime, which is the value byte-by-byte FNV-1a gives (x ^ 0 = x) in a fraction of the
  // serial multiplications.
  auto u = static_cast<std::uint64_t>(v);
  std::size_t k = 0;
  for (; k < 8 && u != 0; ++k, u >>= 8) h = (h ^ (u & 0xff)) * kFnvPrime;
  return h * kFnvPowers[8 - k];
}

namespace {

// The digest's running hash: the canonical rendering is numbers (8 little-endian bytes each) and
// strings (their length as a number, then their bytes).
struct Fnv {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  void num(std::int64_t v) { h = fnv1a_number(h, v); }
  void str(std::string_view s) {
    num(static_cast<std::int64_t>(s.size()));
    for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * kFnvPrime;
  }
};

}  // namespace

bool same_wait(const ObsWait& expected, const ObsWait& observed) {
  return expected.host == observed.host && expected.what == observed.what && expected.target == observed.target &&
         (!observed.deadline_said || expected.deadline == observed.deadline);
}

std::uint64_t digest(const Observation& o) {
  Fnv f;
  f.num(o.nprocs);
  for (const ObsProc& p : o.procs) {
    f.num(p.pid), f.num(p.ppid), f.str(p.comm), f.num(static_cast<int>(p.kind)), f.num(p.uid), f.num(p.fdtable);
    for (const ObsLwp& l : p.lwps) f.num(l.lid), f.num(l.bound), f.num(l.released);
    for (const auto& [fd, d] : p.fds) f.num(fd), f.num(d);
    f.num(static_cast<int>(p.kstate)), f.num(p.suspend_requested), f.num(static_cast<std::int64_t>(p.progress)), f.num(p.exit_code);
  }
  for (const ObsHost& x : o.hosts) f.num(x.curlwp ? x.curlwp->first : -1), f.num(x.curlwp ? x.curlwp->second : -1), f.num(x.pid);
  for (const ObsWait& w : o.blocked) f.num(w.host), f.str(w.what), f.num(w.target);
  for (const auto& [path, size] : o.files) f.str(path), f.num(size);
  for (const std::string& line : o.console) f.str(line);
  return f.h;
}

namespace {

// What observe() orders and names, taken from a state into buffers kept per thread (a run does this
// after every step): fd tables and descriptions named by first appearance (canonicalize_fds), the
// waits in observe()'s order, the files as observe()'s map by path holds them.
struct StateView {
  std::vector<std::uint64_t> tables, descs;
  std::vector<std::pair<int, const Wait*>> waits;
  std::vector<const File*> files;

  static StateView& of(const State& s) {
    thread_local StateView v;
    v.tables.clear(), v.descs.clear(), v.waits.clear(), v.files.clear();
    // observe() sorts its waits by host with std::sort: the same comparisons on the same sequence
    // give the same order, ties included.
    for (const Wait& w : s.waits) v.waits.emplace_back(w.host, &w);
    std::sort(v.waits.begin(), v.waits.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    // A map by path: sorted, and a later file of one path replaces an earlier one.
    for (const File& x : s.files) v.files.push_back(&x);
    std::stable_sort(v.files.begin(), v.files.end(), [](const File* a, const File* b) { return a->path < b->path; });
    std::size_t kept = 0;
    for (std::size_t i = 0; i < v.files.size(); ++i)
      if (i + 1 == v.files.size() || v.files[i + 1]->path != v.files[i]->path) v.files[kept++] = v.files[i];
    v.files.resize(kept);
    return v;
  }
  static int name_of(std::vector<std::uint64_t>& seen, std::uint64_t key) {
    for (std::size_t i = 0; i < seen.size(); ++i)
      if (seen[i] == key) return static_cast<int>(i);
    seen.push_back(key);
    return static_cast<int>(seen.size() - 1);
  }
  int table(std::uint64_t key) { return name_of(tables, key); }
  int desc(std::uint64_t key) { return name_of(descs, key); }
};

}  // namespace

bool observes_as(const State& s, int hosts, const Observation& o, bool console) {
  if (o.nprocs != s.nprocs || o.procs.size() != s.table.size() || o.hosts.size() != static_cast<std::size_t>(std::max(hosts, 0)) ||
      o.blocked.size() != s.waits.size() || (console && o.console != s.console))
    return false;
  StateView& v = StateView::of(s);
  std::size_t k = 0;
  for (const auto& [pid, id] : s.table) {
    const Process& p = s.procs[id];
    const ObsProc& x = o.procs[k++];
    if (x.pid != p.pid || x.ppid != p.ppid || x.comm != p.comm || x.kind != p.kind || x.uid != p.uid || x.fdtable != v.table(p.fdtable) ||
        x.lwps.size() != p.lwps.size())
      return false;
    for (std::size_t i = 0; i < p.lwps.size(); ++i) {
      const Lwp& l = s.lwps[p.lwps[i]];
      if (x.lwps[i] != ObsLwp{l.lid, l.bound, l.released}) return false;
    }
    const FdTable& t = s.fdtables[p.fdtable];
    std::size_t n = 0;
    for (std::size_t fd = 0; fd < t.fds.size(); ++fd) {
      if (t.fds[fd] == kNoDesc) continue;
      if (n >= x.fds.size() || x.fds[n].first != static_cast<int>(fd) || x.fds[n].second != v.desc(t.fds[fd])) return false;
      ++n;
    }
    if (n != x.fds.size()) return false;
    const bool kt = p.kind == ProcKind::Kthread;
    if (x.kstate != (kt ? p.kt.state : KState::Running) || x.suspend_requested != (kt && p.kt.suspend_requested) ||
        x.progress != (kt ? p.kt.progress : 0) || x.exit_code != (kt ? p.kt.exit_code : 0))
      return false;
  }
  for (int h = 0; h < hosts; ++h) {
    const ObsHost& x = o.hosts[static_cast<std::size_t>(h)];
    const LwpId l = s.curlwp(static_cast<HostId>(h));
    if (x.curlwp.has_value() != (l != kNoLwp)) return false;
    if (x.curlwp && *x.curlwp != std::pair{s.procs[s.lwps[l].proc].pid, s.lwps[l].lid}) return false;
    if (x.pid != s.procs[s.current_proc(static_cast<HostId>(h))].pid) return false;
  }
  for (std::size_t i = 0; i < v.waits.size(); ++i) {
    const ObsWait& x = o.blocked[i];
    const Wait& w = *v.waits[i].second;
    if (x.host != w.host || x.what != wait_name(w.kind) || x.target != s.procs[w.target].pid) return false;
    if (x.deadline_said && x.deadline != w.deadline) return false;
  }
  if (o.files.size() != v.files.size()) return false;
  std::size_t i = 0;
  for (const auto& [path, size] : o.files) {
    if (path != v.files[i]->path || size != v.files[i]->size) return false;
    ++i;
  }
  return true;
}

std::uint64_t state_digest(const State& s, int hosts) {
  // observe()'s fields in digest()'s order.
  StateView& v = StateView::of(s);
  Fnv f;
  f.num(s.nprocs);
  for (const auto& [pid, id] : s.table) {
    const Process& p = s.procs[id];
    f.num(p.pid), f.num(p.ppid), f.str(p.comm), f.num(static_cast<int>(p.kind)), f.num(p.uid), f.num(v.table(p.fdtable));
    for (LwpId l : p.lwps) f.num(s.lwps[l].lid), f.num(s.lwps[l].bound), f.num(s.lwps[l].released);
    const FdTable& t = s.fdtables[p.fdtable];
    for (std::size_t fd = 0; fd < t.fds.size(); ++fd)
      if (t.fds[fd] != kNoDesc) f.num(static_cast<int>(fd)), f.num(v.desc(t.fds[fd]));
    const bool kt = p.kind == ProcKind::Kthread;
    f.num(static_cast<int>(kt ? p.kt.state : KState::Running)), f.num(kt && p.kt.suspend_requested);
    f.num(static_cast<std::int64_t>(kt ? p.kt.progress : 0)), f.num(kt ? p.kt.exit_code : 0);
  }
  for (int x = 0; x < hosts; ++x) {
    const LwpId l = s.curlwp(static_cast<HostId>(x));
    f.num(l != kNoLwp ? s.procs[s.lwps[l].proc].pid : -1), f.num(l != kNoLwp ? s.lwps[l].lid : -1);
    f.num(s.procs[s.current_proc(static_cast<HostId>(x))].pid);
  }
  for (const auto& [host, w] : v.waits) f.num(host), f.str(wait_name(w->kind)), f.num(s.procs[w->target].pid);
  for (const File* x : v.files) f.str(x->path), f.num(x->size);
  for (const std::string& line : s.console) f.str(line);
  return f.h;
}

Observation observe(const State& s, int hosts) {
  Observation o;
  std::vector<std::uint64_t> table_keys;
  std::vector<std::vector<std::pair<int, std::uint64_t>>> fd_keys;
  for (const auto& [pid, id] : s.table) {
    const Process& p = s.procs[id];
    ObsProc op;
    op.pid = p.pid;
    op.ppid = p.ppid;
    op.comm = p.comm;
    op.kind = p.kind;
    op.uid = p.uid;
    for (LwpId l : p.lwps) op.lwps.push_back(ObsLwp{s.lwps[l].lid, s.lwps[l].bound, s.lwps[l].released});
    if (p.kind == ProcKind::Kthread) {
      op.kstate = p.kt.state;
      op.suspend_requested = p.kt.suspend_requested;
      op.progress = p.kt.progress;
      op.exit_code = p.kt.exit_code;
    }
    table_keys.push_back(p.fdtable);
    std::vector<std::pair<int, std::uint64_t>> fds;
    const FdTable& t = s.fdtables[p.fdtable];
    for (std::size_t fd = 0; fd < t.fds.size(); ++fd)
      if (t.fds[fd] != kNoDesc) fds.emplace_back(static_cast<int>(fd), t.fds[fd]);
    fd_keys.push_back(std::move(fds));
    o.procs.push_back(std::move(op));
  }
  canonicalize_fds(o.procs, table_keys, fd_keys);
  o.nprocs = s.nprocs;
  for (int h = 0; h < hosts; ++h) {
    ObsHost oh;
    const LwpId l = s.curlwp(static_cast<HostId>(h));
    if (l != kNoLwp) oh.curlwp = std::pair{s.procs[s.lwps[l].proc].pid, s.lwps[l].lid};
    oh.pid = s.procs[s.current_proc(static_cast<HostId>(h))].pid;
    o.hosts.push_back(oh);
  }
  for (const Wait& w : s.waits) o.blocked.push_back(ObsWait{w.host, std::string(wait_name(w.kind)), s.procs[w.target].pid, true, w.deadline});
  std::sort(o.blocked.begin(), o.blocked.end(), [](const ObsWait& a, const ObsWait& b) { return a.host < b.host; });
  for (const File& f : s.files) o.files[f.path] = f.size;
  o.console = s.console;
  return o;
}

std::optional<Difference> first_difference(const Observation& e, const Observation& g, Rule op_rule) {
  auto diff = [](Rule r, std::string text) { return std::optional<Difference>(Difference{r, std::move(text)}); };
  std::map<Pid, const ObsProc*> ep, gp;
  for (const ObsProc& p : e.procs) ep[p.pid] = &p;
  for (const ObsProc& p : g.procs) gp[p.pid] = &p;
  for (const auto& [pid, p] : ep)
    if (!gp.contains(pid)) return diff(Rule::R1, fmt::format("process table: pid {} expected, missing", pid));
  for (const auto& [pid, p] : gp)
    if (!ep.contains(pid)) return diff(Rule::R1, fmt::format("process table: pid {} present, not expected", pid));
  if (e.nprocs != g.nprocs) return diff(Rule::R6, fmt::format("nprocs: expected {}, observed {}", e.nprocs, g.nprocs));
  for (const auto& [pid, xp] : ep) {
    const ObsProc& x = *xp;
    const ObsProc& y = *gp[pid];
    if (x.ppid != y.ppid) return diff(Rule::R6, fmt::format("pid {} ppid: expected {}, observed {}", pid, x.ppid, y.ppid));
    if (x.comm != y.comm) return diff(op_rule, fmt::format("pid {} comm: expected \"{}\", observed \"{}\"", pid, x.comm, y.comm));
    if (x.kind != y.kind) return diff(op_rule, fmt::format("pid {} kind: expected {}, observed {}", pid, to_string(x.kind), to_string(y.kind)));
    if (x.uid != y.uid) return diff(Rule::P8, fmt::format("pid {} uid: expected {}, observed {}", pid, x.uid, y.uid));
    if (x.lwps != y.lwps) {
      std::string a, b;
      for (const ObsLwp& l : x.lwps) a += (a.empty() ? "" : ", ") + render(l);
      for (const ObsLwp& l : y.lwps) b += (b.empty() ? "" : ", ") + render(l);
      return diff(lwp_rule(x.lwps, y.lwps), fmt::format("pid {} lwps: expected [{}], observed [{}]", pid, a, b));
    }
    if (x.fdtable != y.fdtable || x.fds != y.fds)
      return diff(Rule::P7, fmt::format("pid {} fd table: expected {}, observed {}", pid, render_fds(x), render_fds(y)));
    if (x.kind == ProcKind::Kthread) {
      if (x.kstate != y.kstate) return diff(Rule::S3, fmt::format("kthread pid {} state: expected {}, observed {}", pid, to_string(x.kstate), to_string(y.kstate)));
      if (x.suspend_requested != y.suspend_requested)
        return diff(Rule::K3, fmt::format("kthread pid {} suspend request: expected {}, observed {}", pid, x.suspend_requested, y.suspend_requested));
      if (x.progress != y.progress) return diff(Rule::S1, fmt::format("kthread pid {} progress: expected {}, observed {}", pid, x.progress, y.progress));
      if (x.exit_code != y.exit_code) return diff(Rule::K2, fmt::format("kthread pid {} exit code: expected {}, observed {}", pid, x.exit_code, y.exit_code));
    }
  }
  for (std::size_t h = 0; h < e.hosts.size() && h < g.hosts.size(); ++h) {
    auto cur = [](const ObsHost& x) { return x.curlwp ? fmt::format("lwp {}.{}", x.curlwp->first, x.curlwp->second) : std::string("IMPLICIT"); };
    if (e.hosts[h].curlwp != g.hosts[h].curlwp)
      return diff(Rule::L3, fmt::format("H{} curlwp: expected {}, observed {}", h, cur(e.hosts[h]), cur(g.hosts[h])));
    if (e.hosts[h].pid != g.hosts[h].pid) return diff(Rule::P6, fmt::format("H{} current pid: expected {}, observed {}", h, e.hosts[h].pid, g.hosts[h].pid));
  }
  std::size_t k = 0;
  while (k < e.blocked.size() && k < g.blocked.size() && same_wait(e.blocked[k], g.blocked[k])) ++k;
  if (k < e.blocked.size() || k < g.blocked.size()) {
    const bool deadlines = std::any_of(g.blocked.begin(), g.blocked.end(), [](const ObsWait& w) { return w.deadline_said; });
    auto list = [deadlines](const std::vector<ObsWait>& v) {
      std::string s;
      for (const ObsWait& w : v)
        s += fmt::format("{}H{} in {}(pid {}){}", s.empty() ? "" : ", ", w.host, w.what, w.target,
                         !deadlines ? "" : w.deadline ? fmt::format(" until tick {}", *w.deadline) : std::string(" untimed"));
      return s.empty() ? std::string("none") : s;
    };
    // The rule of the first caller the two lists disagree on: a waiter for an exit breaks K8, a
    // suspender (kproc_shutdown's too) S2. (A parked kthread is no blocked caller: its state shows it.)
    // A deadline of its own breaks the rule of its call's timeout: K8's, or K3's for a suspend.
    const ObsWait& first = k < e.blocked.size() ? e.blocked[k] : g.blocked[k];
    const bool exit_wait = first.what == wait_name(WaitKind::Exit);
    const bool only_deadline = k < e.blocked.size() && k < g.blocked.size() && e.blocked[k].host == g.blocked[k].host &&
                               e.blocked[k].what == g.blocked[k].what && e.blocked[k].target == g.blocked[k].target;
    const Rule rule = exit_wait ? Rule::K8 : only_deadline ? Rule::K3 : Rule::S2;
    return diff(rule, fmt::format("blocked callers: expected [{}], observed [{}]", list(e.blocked), list(g.blocked)));
  }
  if (e.files != g.files) {
    for (const auto& [path, size] : e.files) {
      auto it = g.files.find(path);
      if (it == g.files.end()) return diff(Rule::P7, fmt::format("file {}: expected size {}, missing", path, size));
      if (it->second != size) return diff(Rule::P7, fmt::format("file {} size: expected {}, observed {}", path, size, it->second));
    }
    for (const auto& [path, size] : g.files)
      if (!e.files.contains(path)) return diff(Rule::P7, fmt::format("file {}: expected none, observed size {}", path, size));
  }
  if (e.console != g.console) {
    for (std::size_t i = 0; i < std::max(e.console.size(), g.console.size()); ++i) {
      const std::string a = i < e.console.size() ? e.console[i] : "(none)";
      const std::string b = i < g.console.size() ? g.console[i] : "(none)";
      if (a != b) return diff(Rule::S6, fmt::format("console line {}: expected \"{}\", observed \"{}\"", i, a, b));
    }
  }
  return std::nullopt;
}

namespace {
// Depth-first over which writer wrote the next line. Identical lines of different writers (two
// "stopped") make the choice matter, so the progress vectors already known to fail are remembered:
// the search visits each at most once (the product of the writers' lengths, plus one each).
struct Interleaving {
  const std::vector<std::string>& lines;
  const std::vector<std::vector<std::string>>& writers;
  const std::vector<std::vector<std::size_t>>& after;
  std::vector<std::size_t> next;
  std::set<std::vector<std::size_t>> failed;

  bool may_write(std::size_t w) const {
    if (next[w] > 0 || w >= after.size()) return true;  // only a writer's first line waits
    return std::all_of(after[w].begin(), after[w].end(), [&](std::size_t v) { return next[v] == writers[v].size(); });
  }
  bool from(std::size_t at) {
    if (at == lines.size()) {
      for (std::size_t w = 0; w < writers.size(); ++w)
        if (next[w] != writers[w].size()) return false;
      return true;
    }
    if (failed.contains(next)) return false;
    for (std::size_t w = 0; w < writers.size(); ++w) {
      if (next[w] == writers[w].size() || writers[w][next[w]] != lines[at] || !may_write(w)) continue;
      ++next[w];
      const bool ok = from(at + 1);
      --next[w];
      if (ok) return true;
    }
    failed.insert(next);
    return false;
  }
};
}  // namespace

bool interleaves(const std::vector<std::string>& lines, const std::vector<std::vector<std::string>>& writers,
                 const std::vector<std::vector<std::size_t>>& after) {
  std::size_t total = 0;
  for (const auto& w : writers) total += w.size();
  if (total != lines.size()) return false;
  Interleaving i{lines, writers, after, std::vector<std::size_t>(writers.size(), 0), {}};
  return i.from(0);
}

}  // namespace lockstep::checker
