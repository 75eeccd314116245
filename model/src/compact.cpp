// compact() (compact.hpp): mark from the roots, then keep the marked objects in order.
#include "model/compact.hpp"

#include <algorithm>

namespace lockstep::model {

namespace {

// The kept ids of a kind in order, as a renaming (kDropped for the others).
std::vector<std::uint32_t> dense(const std::vector<bool>& keep) {
  std::vector<std::uint32_t> to(keep.size(), kDropped);
  std::uint32_t next = 0;
  for (std::size_t i = 0; i < keep.size(); ++i)
    if (keep[i]) to[i] = next++;
  return to;
}

template <class T>
std::vector<T> kept(std::vector<T>&& all, const std::vector<std::uint32_t>& to) {
  std::vector<T> out;
  for (std::size_t i = 0; i < all.size(); ++i)
    if (to[i] != kDropped) out.push_back(std::move(all[i]));
  return out;
}

}  // namespace

std::size_t Renaming::dropped() const {
  std::size_t n = 0;
  for (const auto* v : {&procs, &lwps, &fdtables, &descs, &files}) n += static_cast<std::size_t>(std::count(v->begin(), v->end(), kDropped));
  return n;
}

Renaming compact(State& s, const Pins& pins) {
  std::vector<bool> proc(s.procs.size(), false), lwp(s.lwps.size(), false), table(s.fdtables.size(), false),
      desc(s.descs.size(), false);
  std::vector<ProcId> todo;
  auto keep_proc = [&](ProcId p) {
    if (p < proc.size() && !proc[p]) proc[p] = true, todo.push_back(p);
  };
  auto keep_lwp = [&](LwpId l) {
    if (l < lwp.size() && !lwp[l]) lwp[l] = true, keep_proc(s.lwps[l].proc);
  };
  for (ProcId p : {ProcId{0}, ProcId{1}}) keep_proc(p);
  for (const auto& [pid, p] : s.table) keep_proc(p);
  for (ProcId p : pins.procs) keep_proc(p);
  for (LwpId l : pins.lwps) keep_lwp(l);
  for (const HostThread& h : s.hosts) keep_lwp(h.curlwp);
  for (const Wait& w : s.waits) keep_proc(w.target);
  while (!todo.empty()) {
    const Process& p = s.procs[todo.back()];
    todo.pop_back();
    for (LwpId l : p.lwps) keep_lwp(l);
    if (p.fdtable < table.size()) table[p.fdtable] = true;
  }
  std::size_t emptied = 0;
  // A freed fd table is never read again (only a live process's table is: the caller's, or the one
  // a fork copies or shares), so a kept one, the table of a pinned stale process, keeps no
  // descriptions alive.
  for (std::size_t t = 0; t < table.size(); ++t) {
    if (!table[t]) continue;
    FdTable& ft = s.fdtables[t];
    if (ft.freed && !ft.fds.empty()) {
      ft.fds = {};
      ++emptied;
    }
    for (DescId d : ft.fds)
      if (d < desc.size()) desc[d] = true;
  }

  Renaming r{dense(proc), dense(lwp), dense(table), dense(desc), {}, emptied};
  r.files.resize(s.files.size());
  for (std::uint32_t f = 0; f < r.files.size(); ++f) r.files[f] = f;
  if (r.dropped() == 0) return r;

  auto map = [](const std::vector<std::uint32_t>& to, std::uint32_t id) { return id < to.size() ? to[id] : id; };
  s.procs = kept(std::move(s.procs), r.procs);
  for (Process& p : s.procs) {
    p.fdtable = map(r.fdtables, p.fdtable);
    for (LwpId& l : p.lwps) l = map(r.lwps, l);
  }
  s.lwps = kept(std::move(s.lwps), r.lwps);
  for (Lwp& l : s.lwps) l.proc = map(r.procs, l.proc);
  s.fdtables = kept(std::move(s.fdtables), r.fdtables);
  for (FdTable& t : s.fdtables)
    for (DescId& d : t.fds) d = map(r.descs, d);
  s.descs = kept(std::move(s.descs), r.descs);
  for (auto& [pid, id] : s.table) id = map(r.procs, id);
  for (HostThread& h : s.hosts) h.curlwp = map(r.lwps, h.curlwp);
  for (Wait& w : s.waits) w.target = map(r.procs, w.target);
  return r;
}

}  // namespace lockstep::model
