// Kernel::snapshot(): a plain-value copy of everything SPEC §7 compares, taken atomically with respect
// to kernel operations (under the process-table lock and every process lock; see Kernel::snapshot()).
//
// Identity fields (`handle`, fd table `id`, open description `id`) are opaque numbers that are stable for
// the life of the object and never reused within one kernel instance, so a checker can map them to the
// model's identities with a binding recorded on first sight.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "impl/sync.hpp"

namespace lockstep::impl {

using HostId = std::uint32_t;  // 1, 2, ... in HostContext creation order; never reused

enum class ProcKind { kernel, init, user, kthread };
enum class KthreadState { running, parked, zombie, reaped };

const char* to_string(ProcKind);
const char* to_string(KthreadState);

struct LwpSnapshot {
  int lid = 0;
  std::uint64_t handle = 0;        // the struct lwp * value, as an integer; 0 once released
  std::optional<HostId> bound_to;  // the host thread it is curlwp of
  bool released = false;           // released lwps stay listed (with their lid) while the process exists
};

struct FdSnapshot {
  int fd = 0;
  std::uint64_t description = 0;   // open file description identity: dup / copied tables share it
  std::string path;
};

struct FdTableSnapshot {
  std::uint64_t id = 0;            // table identity: processes that share a table have the same id
  int refs = 0;                    // processes referring to it
  std::vector<FdSnapshot> fds;     // ascending fd
};

struct KthreadSnapshot {
  KthreadState state = KthreadState::running;
  bool suspend_requested = false;
  std::uint64_t progress = 0;      // units of work done (Kernel::kthread_progress)
  std::optional<int> exit_code;    // set from ZOMBIE on
  std::optional<HostId> host;      // its kernel-owned host thread while RUNNING/PARKED
};

struct ProcSnapshot {
  pid_t pid = 0;
  pid_t ppid = 0;
  std::string comm;
  ProcKind kind = ProcKind::user;
  uid_t uid = 0;
  std::vector<LwpSnapshot> lwps;   // ascending lid, released ones included
  std::uint64_t fdtable = 0;       // FdTableSnapshot::id
  std::uint64_t handle = 0;        // struct proc * value (kthreads: the handle kthread_create returned)
  std::optional<KthreadSnapshot> kthread;
};

struct HostSnapshot {
  HostId id = 0;
  std::string name;
  bool kernel_thread = false;      // a kthread's own host thread
  std::uint64_t curlwp = 0;        // struct lwp * value, 0 = IMPLICIT
  std::optional<pid_t> curlwp_pid; // owning process and lid of curlwp
  std::optional<int> curlwp_lid;
  pid_t current_pid = 1;           // current process (1 in the implicit context)
};

enum class WaitKind { suspend, wait_exit, park };
const char* to_string(WaitKind);

// One blocked caller: who (host) waits for what (kind, target) until when (deadline).
struct WaitSnapshot {
  HostId host = 0;
  std::string host_name;
  WaitKind kind = WaitKind::suspend;
  pid_t target = 0;
  std::uint64_t target_handle = 0;
  std::optional<sync::Ticks> deadline;  // absolute, in ticks
  sync::Ticks since = 0;                // when the wait began: the reading its deadline was computed from
};

struct FileSnapshot {
  std::string path;
  std::uint64_t size = 0;
};

struct Snapshot {
  std::vector<ProcSnapshot> procs;     // the process table, ascending pid (zombies included)
  std::vector<ProcSnapshot> reaped;    // kthreads reaped so far (state REAPED), creation order
  std::vector<FdTableSnapshot> fdtables;  // every table referenced by a process in the table, by id
  std::vector<FileSnapshot> files;     // the flat namespace, by path
  int nprocs = 0;                      // the kernel's counter (R6: equals procs.size() unless a fault)
  int maxproc = 0;
  std::vector<HostSnapshot> hosts;     // live host contexts, by id (kthreads' own hosts included)
  std::vector<WaitSnapshot> blocked;   // kernel-level blocked callers, in the order the waits began
  std::vector<std::string> console;    // console message log entries, in order
  sync::Ticks now = 0;
  std::optional<std::string> panic;    // rule id of the FATAL that killed the instance, if any

  const ProcSnapshot* proc(pid_t pid) const {
    for (const auto& p : procs)
      if (p.pid == pid) return &p;
    return nullptr;
  }
  const FdTableSnapshot* fdtable(std::uint64_t id) const {
    for (const auto& t : fdtables)
      if (t.id == id) return &t;
    return nullptr;
  }
  const HostSnapshot* host(HostId id) const {
    for (const auto& h : hosts)
      if (h.id == id) return &h;
    return nullptr;
  }
};

}  // namespace lockstep::impl
