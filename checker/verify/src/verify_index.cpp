// The concrete index of the Z3 encoding: who is who in the file's order.
#include "checker/verify_index.hpp"

namespace lockstep::checker::verify_detail {

using namespace lockstep::model;

Index::Index(int hosts) {
  // §1 initial state: process 0 (kernel, lwp0 never bound) and process 1 (init, no lwps).
  procs.push_back(Proc{0, ProcKind::Kernel, 0, 1, true, false, {0}, kRunning});
  procs.push_back(Proc{1, ProcKind::Init, 0, 0, true, false, {}, kRunning});
  lwps.push_back(Lwp{0, kUnbound});
  last_by_pid = {{0, 0}, {1, 1}};
  table = {0, 1};
  cur_lwp.assign(hosts, kNoLwp);
  waits.assign(hosts, Wait{});
}

std::optional<ProcId> Index::proc_by_pid(Pid pid, bool table_only) const {
  auto it = last_by_pid.find(pid);
  if (it == last_by_pid.end()) return std::nullopt;
  if (table_only && !procs[it->second].in_table) return std::nullopt;
  return it->second;
}

Pid Index::current_pid(HostId h) const {
  const LwpId l = cur_lwp[h];
  return l == kNoLwp ? 1 : procs[lwps[l].proc].pid;
}

void Index::enter_table(ProcId p) {
  procs[p].in_table = true;
  last_by_pid[procs[p].pid] = p;
  table.insert(p);
}

void Index::leave_table(ProcId p) {
  if (procs[p].in_table) procs[p].freed = true;
  procs[p].in_table = false;
  table.erase(p);
}

}  // namespace lockstep::checker::verify_detail
