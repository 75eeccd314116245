// The whole state of one kernel instance (SPEC §1), as plain values. Nothing here
// is ever deleted: freed lwps and processes stay as tombstones so that a stale
// handle is recognisable and R2/R3 can be checked.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/ids.hpp"
#include "model/outcome.hpp"
#include "model/rules.hpp"

namespace lockstep::model {

enum class ProcKind : std::uint8_t { Kernel, Init, User, Kthread };
enum class KState : std::uint8_t { Running, Parked, Zombie, Reaped };

std::string_view to_string(ProcKind k);
std::string_view to_string(KState s);

// Who an lwp is curlwp of.
inline constexpr std::int32_t kUnbound = -1;
inline constexpr std::int32_t kKernelThread = -2;  // a kthread's own kernel-owned host thread

struct Lwp {
  ProcId proc = kNoProc;
  int lid = 0;
  std::int32_t bound = kUnbound;  // HostId, kUnbound or kKernelThread
  bool released = false;
  friend bool operator==(const Lwp&, const Lwp&) = default;
};

struct KthreadState {
  KState state = KState::Running;
  bool suspend_requested = false;
  std::uint64_t progress = 0;
  int exit_code = 0;
  friend bool operator==(const KthreadState&, const KthreadState&) = default;
};

struct Process {
  Pid pid = 0;
  Pid ppid = 0;
  std::string comm;
  ProcKind kind = ProcKind::User;
  FdTableId fdtable = 0;
  Uid uid = 0;
  std::vector<LwpId> lwps;  // every lwp it ever had, released ones included, in lid order
  int next_lid = 1;
  bool freed = false;       // left the table (a freed user process, or a reaped kthread)
  KthreadState kt;          // meaningful for kind Kthread only
  friend bool operator==(const Process&, const Process&) = default;
};

inline constexpr DescId kNoDesc = static_cast<DescId>(-1);

struct FdTable {
  std::vector<DescId> fds;  // index = fd; kNoDesc = not open
  int refs = 0;             // processes sharing it
  bool freed = false;
  friend bool operator==(const FdTable&, const FdTable&) = default;
};

struct File {
  std::string path;
  std::int64_t size = 0;
  friend bool operator==(const File&, const File&) = default;
};

struct HostThread {
  LwpId curlwp = kNoLwp;  // kNoLwp = IMPLICIT
  friend bool operator==(const HostThread&, const HostThread&) = default;
};

// A blocked caller (§5). `deadline` is absent for timo = 0; `seq` orders waits by when they began.
struct Wait {
  HostId host = 0;
  WaitKind kind = WaitKind::Suspend;
  ProcId target = kNoProc;
  std::optional<Tick> deadline;
  std::uint64_t seq = 0;
  friend bool operator==(const Wait&, const Wait&) = default;
};

struct State {
  bool initialized = true;
  Fatal fatal = Fatal::None;  // set once a FATAL killed the instance
  std::vector<Process> procs;          // by ProcId
  std::vector<Lwp> lwps;               // by LwpId
  std::vector<FdTable> fdtables;       // by FdTableId
  std::vector<FileId> descs;           // DescId -> the file it names
  std::vector<File> files;             // by FileId
  std::map<std::string, FileId> paths; // the flat namespace
  std::map<Pid, ProcId> table;         // the process table: live (and zombie) processes by pid
  std::vector<HostThread> hosts;       // by HostId; grows when a new host thread first acts
  std::vector<Wait> waits;             // blocked host threads, in the order their waits began
  std::vector<std::string> console;    // the kernel's message log (K7)
  Tick now = 0;
  int nprocs = 0;
  int maxproc = kDefaultMaxproc;
  Pid pid_max = kPidMax;               // the largest pid (P1); the SPEC's value unless scaled down for a run
  Pid next_pid = 2;                    // the reference pid allocator's cursor (P1)
  std::uint64_t next_wait_seq = 0;
  friend bool operator==(const State&, const State&) = default;

  // Lookups used throughout; all tolerate ids out of range.
  const Process* proc(ProcId p) const { return p < procs.size() ? &procs[p] : nullptr; }
  const Process* by_pid(Pid pid) const {
    auto it = table.find(pid);
    return it == table.end() ? nullptr : &procs[it->second];
  }
  LwpId curlwp(HostId h) const { return h < hosts.size() ? hosts[h].curlwp : kNoLwp; }
  // The lwps of p not yet released (R1: a user process lives exactly as long as it has one).
  int live_lwps(const Process& p) const {
    int n = 0;
    for (LwpId l : p.lwps) n += lwps[l].released ? 0 : 1;
    return n;
  }
  // SPEC §1: the current process is the process of curlwp, or process 1 when IMPLICIT.
  ProcId current_proc(HostId h) const {
    LwpId l = curlwp(h);
    return l == kNoLwp ? ProcId{1} : lwps[l].proc;
  }
  const Wait* wait_of(HostId h) const {
    for (const Wait& w : waits)
      if (w.host == h) return &w;
    return nullptr;
  }
};

}  // namespace lockstep::model
