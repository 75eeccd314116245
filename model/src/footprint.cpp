#include "model/footprint.hpp"

#include <algorithm>
#include <stdexcept>

namespace lockstep::model {

namespace {

template <class Id, class T>
const T* find_image(const std::vector<std::pair<Id, T>>& v, Id id) {
  for (const auto& [k, t] : v)
    if (k == id) return &t;
  return nullptr;
}

// The objects of `before` that `after` holds differently, as before-images.
template <class Id, class T>
void diff_objects(const std::vector<T>& before, const std::vector<T>& after, std::vector<std::pair<Id, T>>& out, const char* what) {
  if (after.size() < before.size()) throw std::invalid_argument(std::string("the later state has fewer ") + what);
  for (std::size_t i = 0; i < before.size(); ++i)
    if (!(before[i] == after[i])) out.emplace_back(static_cast<Id>(i), before[i]);
}

}  // namespace

Footprint Footprint::of(const State& s) {
  Footprint f;
  f.procs_before = s.procs.size();
  f.lwps_before = s.lwps.size();
  f.fdtables_before = s.fdtables.size();
  f.hosts_before = s.hosts.size();
  f.console_before = s.console.size();
  f.fatal = s.fatal;
  f.now = s.now;
  f.nprocs = s.nprocs;
  f.next_pid = s.next_pid;
  f.next_wait_seq = s.next_wait_seq;
  return f;
}

bool Footprint::unchanged(const State& after) const {
  return !whole && procs.empty() && lwps.empty() && fdtables.empty() && hosts.empty() && table.empty() && !waits && !files &&
         procs_before == after.procs.size() && lwps_before == after.lwps.size() && fdtables_before == after.fdtables.size() &&
         hosts_before == after.hosts.size() && console_before == after.console.size() && fatal == after.fatal && now == after.now &&
         nprocs == after.nprocs && next_pid == after.next_pid && next_wait_seq == after.next_wait_seq;
}

const Process* Footprint::proc_before(ProcId id) const { return find_image(procs, id); }
const Lwp* Footprint::lwp_before(LwpId id) const { return find_image(lwps, id); }
const FdTable* Footprint::fdtable_before(FdTableId id) const { return find_image(fdtables, id); }
const HostThread* Footprint::host_before(HostId id) const { return find_image(hosts, id); }

std::optional<ProcId> Footprint::table_before(Pid pid, const State& after) const {
  for (const auto& [k, id] : table)
    if (k == pid) return id;
  auto it = after.table.find(pid);
  return it == after.table.end() ? std::nullopt : std::optional<ProcId>(it->second);
}

Footprint diff(const State& before, const State& after) {
  Footprint f = Footprint::of(before);
  if (before.initialized != after.initialized || before.maxproc != after.maxproc || before.pid_max != after.pid_max) {
    f.whole = true;
    return f;
  }
  diff_objects(before.procs, after.procs, f.procs, "processes");
  diff_objects(before.lwps, after.lwps, f.lwps, "lwps");
  diff_objects(before.fdtables, after.fdtables, f.fdtables, "fd tables");
  diff_objects(before.hosts, after.hosts, f.hosts, "host threads");
  if (after.console.size() < before.console.size() ||
      !std::equal(before.console.begin(), before.console.end(), after.console.begin()))
    throw std::invalid_argument("the later state's console does not begin with the earlier one's");
  for (const auto& [pid, id] : before.table) {
    auto it = after.table.find(pid);
    if (it == after.table.end() || it->second != id) f.table.emplace_back(pid, id);
  }
  for (const auto& [pid, id] : after.table)
    if (!before.table.contains(pid)) f.table.emplace_back(pid, std::nullopt);
  if (before.waits != after.waits) f.waits = before.waits;
  f.files = before.files != after.files || before.descs != after.descs || before.paths != after.paths;
  return f;
}

}  // namespace lockstep::model
