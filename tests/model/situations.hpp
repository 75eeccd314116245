// Recognises the interesting situations a random program can reach, from one step's
// (before, op, result, after). Used to measure the generator's reach (a plain gtest
// asserts each occurs) and to classify RapidCheck cases (RC_CLASSIFY).
#pragma once
#include <algorithm>
#include <cerrno>
#include <array>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "model/model.hpp"

namespace lockstep::model::testing {

enum class Situation : std::size_t {
  ThreeLwps,          // a process holding >= 3 unreleased lwps
  LastLwpRelease,     // a release that freed its process
  LwpHandoff,         // an unbound lwp switched to by a host other than the one that last ran it
  SharedFdChanged,    // open/close/dup by a process whose fd table is shared, changing it
  SuspendAcked,       // a blocked suspend answered 0 by an acknowledgement
  SuspendTimedOut,    // a blocked suspend answered EWOULDBLOCK by the clock
  ResumeWhileWaiting, // a resume of a kthread while a suspender waits for it
  ExitWithWaiters,    // kthread_exit waking K8 waiters
  MaxprocReached,     // kthread_create/kproc_start refused at maxproc
  Count
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(Situation::Count)> kSituationNames = {
    "process with >=3 lwps", "last-lwp release", "lwp handed between hosts", "shared fd table changed by a sharer",
    "suspend acknowledged", "suspend timed out", "resume while a suspender waits", "exit with waiters",
    "maxproc reached"};

// Tracks which host last ran each lwp, across the steps of one program.
class SituationTracker {
 public:
  // The situations this step reached.
  std::set<Situation> observe(const State& before, const Op& op, const StepResult& res, const State& after) {
    std::set<Situation> out;
    const Outcome& o = res.outcome;
    const bool ran = o.kind == OutcomeKind::Returned || o.kind == OutcomeKind::Blocked;
    if (ran && std::holds_alternative<op::Newlwp>(op.body)) {
      for (const auto& [pid, id] : after.table) {
        if (after.live_lwps(after.procs[id]) >= 3) out.insert(Situation::ThreeLwps);
      }
    }
    if (ran && std::holds_alternative<op::Release>(op.body) && after.table.size() < before.table.size())
      out.insert(Situation::LastLwpRelease);
    if (const auto* sw = std::get_if<op::Switch>(&op.body); ran && sw && sw->lwp != kNoLwp) {
      auto it = last_host_.find(sw->lwp);
      if (it != last_host_.end() && it->second != op.actor.index) out.insert(Situation::LwpHandoff);
    }
    const bool fd_op = std::holds_alternative<op::Open>(op.body) || std::holds_alternative<op::Close>(op.body) ||
                       std::holds_alternative<op::Dup>(op.body);
    if (ran && fd_op && op.actor.kind == Actor::Kind::Host) {
      const FdTableId t = before.procs[before.current_proc(static_cast<HostId>(op.actor.index))].fdtable;
      if (before.fdtables[t].refs >= 2 && before.fdtables[t].fds != after.fdtables[t].fds)
        out.insert(Situation::SharedFdChanged);
    }
    for (const Completion& c : res.completions) {
      if (c.outcome.wait != WaitKind::Suspend && c.outcome.wait != WaitKind::Shutdown) continue;
      if (c.actor.kind != Actor::Kind::Host) continue;
      const bool timed_out = c.outcome.ret == EWOULDBLOCK || c.outcome.label == "timed out";
      out.insert(timed_out ? Situation::SuspendTimedOut : Situation::SuspendAcked);
    }
    if (const auto* rs = std::get_if<op::Resume>(&op.body); rs && o.returned() && o.ret == 0) {
      const bool waited = std::any_of(before.waits.begin(), before.waits.end(), [&](const Wait& w) {
        return w.target == rs->proc && w.kind != WaitKind::Exit;
      });
      if (waited) out.insert(Situation::ResumeWhileWaiting);
    }
    if (std::holds_alternative<op::KthreadExit>(op.body) && ran && !res.completions.empty())
      out.insert(Situation::ExitWithWaiters);
    const bool creates = std::holds_alternative<op::KthreadCreate>(op.body) || std::holds_alternative<op::KprocStart>(op.body);
    if (creates && ((o.returned() && o.ret == EAGAIN) || o.fatal == Fatal::K6Panic)) out.insert(Situation::MaxprocReached);
    for (HostId h = 0; h < after.hosts.size(); ++h)
      if (after.hosts[h].curlwp != kNoLwp) last_host_[after.hosts[h].curlwp] = h;
    return out;
  }

 private:
  std::map<LwpId, std::uint32_t> last_host_;
};

// "K3:EWOULDBLOCK", "L3:FATAL(L3-stale)", ...: what the reach test requires to be seen.
inline std::string rule_label(const Outcome& o) { return std::string(rule_name(o.rule)) + ":" + std::string(o.label); }

}  // namespace lockstep::model::testing
