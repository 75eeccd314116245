#include "checker/conflict.hpp"

#include <algorithm>
#include <optional>
#include <string_view>
#include <type_traits>

#include "model/op_traits.hpp"

namespace lockstep::checker {

using namespace lockstep::model;

namespace {

bool fd_op(const OpBody& b) {
  return std::holds_alternative<op::Open>(b) || std::holds_alternative<op::Write>(b) || std::holds_alternative<op::Fstat>(b) ||
         std::holds_alternative<op::Close>(b) || std::holds_alternative<op::Dup>(b) || std::holds_alternative<op::Rfork>(b);
}

// A host op's context: its current process, and what the op reaches through it: the parent for
// getppid, the children for a release (the last lwp's release reparents them), the processes
// sharing the fd table for an fd op (and rfork, which copies or shares the table).
void add_context(ProcId p, const OpBody& b, const State& s, std::vector<ProcId>& out) {
  const Process* proc = s.proc(p);
  if (proc == nullptr) return;
  out.push_back(p);
  if (std::holds_alternative<op::Getppid>(b))
    if (const Process* parent = s.by_pid(proc->ppid)) out.push_back(static_cast<ProcId>(parent - s.procs.data()));
  const bool release = std::holds_alternative<op::Release>(b), fds = fd_op(b);
  if (!release && !fds) return;
  for (ProcId q = 0; q < s.procs.size(); ++q) {
    const Process& other = s.procs[q];
    if (other.freed || q == p) continue;
    if ((release && other.ppid == proc->pid) || (fds && other.fdtable == proc->fdtable)) out.push_back(q);
  }
}

// The fd table an fd op or rfork of process p works on, and the file (by path) an fd op's fd names.
void add_fd_objects(ProcId p, const OpBody& b, const State& s, std::vector<ProcId>& out) {
  const Process* proc = s.proc(p);
  if (proc == nullptr || !fd_op(b)) return;
  out.push_back(kFdTableObjects + proc->fdtable);
  if (const auto* o = std::get_if<op::Open>(&b)) out.push_back(path_object(o->path));
  int fd = -1;
  std::visit(
      [&](const auto& x) {
        if constexpr (requires { x.fd; }) fd = x.fd;
      },
      b);
  const FdTable& t = s.fdtables[proc->fdtable];
  if (fd >= 0 && static_cast<std::size_t>(fd) < t.fds.size() && t.fds[static_cast<std::size_t>(fd)] != kNoDesc)
    out.push_back(path_object(s.files[s.descs[t.fds[static_cast<std::size_t>(fd)]]].path));
}

// The process a pid argument names: the one in the table, else the last freed one that had it. A
// stale pid races the exit that freed its process (the caller may still see it, or see ESRCH).
std::optional<ProcId> named_by_pid(const State& s, Pid pid) {
  if (const Process* p = s.by_pid(pid)) return static_cast<ProcId>(p - s.procs.data());
  for (ProcId q = static_cast<ProcId>(s.procs.size()); q-- > 0;)
    if (s.procs[q].freed && s.procs[q].pid == pid) return q;
  return std::nullopt;
}

}  // namespace

ProcId path_object(std::string_view path) {
  std::uint32_t h = 2166136261u;  // FNV-1a
  for (const char c : path) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return kPathObjects + (h & 0x3fffffffu);
}

std::vector<ProcId> touched_objects(const Op& op, const State& s) {
  std::vector<ProcId> out;
  touched_objects(op, s, out);
  return out;
}

void touched_objects(const Op& op, const State& s, std::vector<ProcId>& out) {
  out.clear();
  switch (op.actor.kind) {
    case Actor::Kind::Host:
      add_context(s.current_proc(static_cast<HostId>(op.actor.index)), op.body, s, out);
      add_fd_objects(s.current_proc(static_cast<HostId>(op.actor.index)), op.body, s, out);
      break;
    case Actor::Kind::Kthread: out.push_back(static_cast<ProcId>(op.actor.index)); break;
    case Actor::Kind::Clock:  // a tick races the events of the waits it may time out: their kthreads
      for (const Wait& w : s.waits)
        if (w.deadline) out.push_back(w.target);
      break;
    default: break;
  }
  for_each_arg(op.body, [&](const ArgTraits& a, const auto& v) {
    using V = std::decay_t<decltype(v)>;
    if constexpr (std::is_integral_v<V>) {
      if (a.kind == ArgKind::ProcSym && static_cast<std::size_t>(v) < s.procs.size()) out.push_back(static_cast<ProcId>(v));
      if (a.kind == ArgKind::LwpSym && static_cast<std::size_t>(v) < s.lwps.size()) out.push_back(s.lwps[static_cast<std::size_t>(v)].proc);
      if (a.kind == ArgKind::Pid)
        if (const std::optional<ProcId> p = named_by_pid(s, static_cast<Pid>(v))) out.push_back(*p);
    }
  });
  const OpTraits& t = traits(op.body);
  if (t.creates == Creates::ProcessAndLwp || t.creates == Creates::Kthread || std::holds_alternative<op::Release>(op.body) ||
      std::holds_alternative<op::Reap>(op.body))
    out.push_back(kProcTableObject);
  std::erase_if(out, [](ProcId p) { return p == 0 || p == 1; });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
}

bool share_object(const std::vector<ProcId>& x, const std::vector<ProcId>& y) {
  std::vector<ProcId> common;
  std::set_intersection(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(common));
  return !common.empty();
}

bool conflicts(const Op& a, const Op& b, const State& s) {
  return a.actor != b.actor && share_object(touched_objects(a, s), touched_objects(b, s));
}

}  // namespace lockstep::checker
