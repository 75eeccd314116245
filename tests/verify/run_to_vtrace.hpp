// Test-only: a lockstep run's records straight to the Z3 judge's input, with the impl's own
// account of the divergent step (the pid it chose where the SPEC refuses it, R5). The checker
// itself goes run -> trace -> judge; this keeps the fault tests' stronger view until the trace
// records the refused pid as data.
#pragma once
#include <charconv>
#include <optional>
#include <string>
#include <string_view>

#include "checker/lockstep.hpp"
#include "checker/verify.hpp"

namespace lockstep::checker::testing {

inline VOutcome from_impl(const ImplOutcome& i) {
  VOutcome o;
  switch (i.kind) {
    case ImplOutcome::Kind::Returned: o.kind = VOutcome::Kind::Returned; break;
    case ImplOutcome::Kind::Blocked: o.kind = VOutcome::Kind::Blocked; break;
    case ImplOutcome::Kind::Fatal: o.kind = VOutcome::Kind::Fatal; break;
    case ImplOutcome::Kind::Error: o.kind = VOutcome::Kind::Unknown; break;
  }
  o.ret = i.ret;
  // kNoLwp - 1 is the run's marker for an impl handle never bound to a symbol.
  if (i.lwp != model::kNoLwp - 1) o.lwp = i.lwp;
  return o;
}

inline bool creates_kthread(const model::OpBody& b) {
  return std::holds_alternative<model::op::KthreadCreate>(b) || std::holds_alternative<model::op::KprocStart>(b);
}

// "pid 7 (in use)" -> 7: the pid an impl chose that the SPEC refuses; the run records it only there.
inline std::optional<model::Pid> refused_pid(const std::string& observed) {
  std::string_view v = observed;
  if (!v.starts_with("pid ")) return std::nullopt;
  v.remove_prefix(4);
  model::Pid pid = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), pid);
  if (ec != std::errc{}) return std::nullopt;
  return pid;
}

inline VTrace to_vtrace(const LockstepResult& r, int hosts) {
  VTrace t;
  t.hosts = hosts;
  std::uint32_t next_lwp = 1, next_proc = 2;  // lwp0, processes 0 and 1 exist from the start
  for (const StepRecord& s : r.steps) {
    VEvent v;
    v.step = s.index;
    v.op = s.op;
    v.outcome = from_impl(s.impl);
    for (const auto& [actor, o] : s.impl_woke) v.woke.push_back(VCompletion{actor, from_impl(o)});
    v.bound = s.bound;
    for (const Binding& b : s.bound) {
      if (b.kind == Binding::Kind::Lwp) next_lwp = b.id + 1;
      else next_proc = b.id + 1;
    }
    // The run binds no impl handle for a new kthread's own lwp, but it takes the next lwp symbol.
    const bool impl_created = v.outcome.kind == VOutcome::Kind::Returned && v.outcome.ret == 0;
    if (creates_kthread(s.op.body) && impl_created) {
      bool has_lwp = false;
      model::Pid pid = 0;
      for (const Binding& b : v.bound) {
        has_lwp |= b.kind == Binding::Kind::Lwp;
        if (b.kind == Binding::Kind::Proc) pid = b.pid;
      }
      if (!has_lwp && pid != 0) v.bound.push_back(Binding{Binding::Kind::Lwp, next_lwp++, pid});
    }
    // A pid the model refused (R5) was never bound by the run; the impl's choice is in the divergence.
    const bool last = &s == &r.steps.back();
    if (last && r.divergence && r.divergence->what == "pid choice" && v.bound.empty() && impl_created) {
      if (auto pid = refused_pid(r.divergence->observed)) {
        if (std::holds_alternative<model::op::Rfork>(s.op.body)) {
          v.bound.push_back(Binding{Binding::Kind::Lwp, next_lwp++, *pid});
          v.bound.push_back(Binding{Binding::Kind::Proc, next_proc++, *pid});
        } else if (creates_kthread(s.op.body)) {
          v.bound.push_back(Binding{Binding::Kind::Proc, next_proc++, *pid});
          v.bound.push_back(Binding{Binding::Kind::Lwp, next_lwp++, *pid});
        }
      }
    }
    v.observed = s.impl_state;
    t.events.push_back(std::move(v));
  }
  return t;
}

}  // namespace lockstep::checker::testing
