// What one step ends in (SPEC §2): a return value, BLOCKED, or FATAL. Two more
// kinds describe steps that never reach the kernel: the actor cannot act now
// (a blocked host, a parked or exited kthread), or the instance already died.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "model/ids.hpp"
#include "model/op.hpp"
#include "model/rules.hpp"

namespace lockstep::model {

enum class OutcomeKind : std::uint8_t { Returned, Blocked, Fatal, NotRunnable, Dead };

// What a blocked caller waits for (§5): the end of its wait is decided by an
// acknowledgement (K3, K7), an exit (K8), or the clock (a deadline).
// A parked kthread waits for a resume (K5).
enum class WaitKind : std::uint8_t { Suspend, Shutdown, Exit, Resume };

// Why a step is NotRunnable (it never reaches the kernel). The outcome's label names it too
// ("pid-not-allowed", ...), for coverage and listings; code tests this.
enum class NotRunnableWhy : std::uint8_t {
  None,              // the step is runnable (any other kind of outcome)
  NotThisActorsOp,   // "not-this-actor's-op": the actor does not perform this op
  ActorNotRunnable,  // "actor-not-runnable": blocked, parked, exited or reaped
  UnknownProcHandle, // "unknown-proc-handle"
  NegativeTick,      // "negative-tick": time does not go back
  PidNotAllowed,     // "pid-not-allowed": the pid chosen for a new process is not one the SPEC allows (R5)
};

struct Outcome {
  OutcomeKind kind = OutcomeKind::Returned;
  Rule rule = Rule::P0;             // the SPEC rule that decided this outcome
  std::string_view label = "ok";    // coverage label: "ok", "EINVAL", "EWOULDBLOCK", "BLOCKED", "FATAL(L3-stale)", ...
  // Returned: `ret` is the C return value (0, an errno for rump_pub_*/kthread_*, a pid, an fd, a size,
  // or -1 for a failed rump_sys_* call, with `err` set to its errno). `lwp` is L5's answer, kNoLwp = NULL.
  std::int64_t ret = 0;
  int err = 0;
  LwpId lwp = kNoLwp;
  ProcId proc = kNoProc;        // K1/K6: the new kthread (`*newp`)
  std::int64_t st_size = 0;     // P7 fstat: the file's size
  // Blocked: what the caller waits for. Also set on a Completion: which wait ended.
  WaitKind wait = WaitKind::Suspend;
  ProcId wait_target = kNoProc;
  // Fatal: which misuse.
  Fatal fatal = Fatal::None;
  // NotRunnable: why.
  NotRunnableWhy why = NotRunnableWhy::None;

  bool returned() const { return kind == OutcomeKind::Returned; }
  bool blocked() const { return kind == OutcomeKind::Blocked; }
  bool is_fatal() const { return kind == OutcomeKind::Fatal; }
};

// A caller that was blocked earlier and whose wait ended in this step, with what
// its call finally returns. A parked kthread whose suspend_check returns after a
// resume is reported the same way (actor kind Kthread).
struct Completion {
  Actor actor;
  Outcome outcome;
};

struct StepResult {
  Outcome outcome;                      // of the acting actor's op
  std::vector<Completion> completions;  // in the order the SPEC wakes them
};

}  // namespace lockstep::model
