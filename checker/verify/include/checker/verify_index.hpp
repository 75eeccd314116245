// The concrete index beside the Z3 encoding (checker/verify/VERIFY.md): which object a field belongs to
// (which lwp a host runs, which process holds a pid, who waits on whom), mirrored in the file's
// order from the same effects the encoding writes. The values are Z3's; the index only says who is
// who, so that an event's formulas name the right objects.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "model/ids.hpp"
#include "model/state.hpp"

namespace lockstep::checker::verify_detail {

// How the kthread state and a host's wait are written as Int values (in the index and in Z3).
enum Kst : int { kRunning = 0, kParked = 1, kZombie = 2, kReaped = 3 };
enum Wk : int { kNoWait = 0, kSuspendWait = 1, kShutdownWait = 2, kExitWait = 3 };

struct Index {
  struct Proc {
    model::Pid pid = 0;
    model::ProcKind kind = model::ProcKind::User;
    model::Pid ppid = 0;
    int live = 0;                    // unreleased lwps
    bool in_table = true;
    bool freed = false;              // left the table once (R3)
    std::vector<model::LwpId> lwps;  // by lid - 1
    int kst = kRunning;
  };
  struct Lwp {
    model::ProcId proc = 0;
    std::int32_t bnd = model::kUnbound;
  };
  struct Wait {
    int kind = kNoWait;
    model::ProcId target = 0;
    std::int64_t deadline = -1;  // in the file's order's time; -1: none
  };

  explicit Index(int hosts);  // §1's initial state

  std::optional<model::ProcId> proc_by_pid(model::Pid pid, bool table_only) const;
  model::Pid current_pid(model::HostId h) const;  // §1: IMPLICIT is associated with pid 1
  void enter_table(model::ProcId p);
  void leave_table(model::ProcId p);

  std::vector<Proc> procs;
  std::vector<Lwp> lwps;
  std::vector<model::LwpId> cur_lwp;  // by host, kNoLwp = IMPLICIT
  std::vector<Wait> waits;            // by host
  std::map<model::Pid, model::ProcId> last_by_pid;
  std::set<model::ProcId> table;  // processes in the table: loops stay O(table), not O(history)
  std::int64_t now = 0;           // the file's order's time (a wait's deadline is timed from it)
};

}  // namespace lockstep::checker::verify_detail
