// Trace outcomes: conversion from the model, comparison and rendering; one model step as an event.
#include "checker/trace.hpp"

#include <cerrno>

#include <fmt/format.h>

#include "checker/observation.hpp"
#include "model/model.hpp"
#include "model/op_traits.hpp"

namespace lockstep::checker {

using namespace lockstep::model;

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::Agree: return "agree";
    case Verdict::Diverge: return "DIVERGE";
    case Verdict::Deadlock: return "DEADLOCK";
  }
  return "?";
}

std::string symbol(Binding::Kind k, std::uint32_t id) {
  return fmt::format("{}#{}", k == Binding::Kind::Lwp ? "lwp" : "proc", id);
}

std::string actor_name(const Actor& a) { return to_string(a); }

std::string_view wait_name(WaitKind w) {
  switch (w) {
    case WaitKind::Suspend: return "suspend";
    case WaitKind::Shutdown: return "shutdown";
    case WaitKind::Exit: return "exit";
    case WaitKind::Resume: return "resume";
  }
  return "?";
}

std::string_view kind_name(OutcomeKind k) {
  switch (k) {
    case OutcomeKind::Returned: return "returned";
    case OutcomeKind::Blocked: return "blocked";
    case OutcomeKind::Fatal: return "fatal";
    case OutcomeKind::NotRunnable: return "not_runnable";
    case OutcomeKind::Dead: return "dead";
  }
  return "?";
}

TraceOutcome to_trace(const Outcome& o) {
  TraceOutcome t;
  t.kind = o.kind;
  t.rule = o.rule;
  t.label = std::string(o.label);
  t.ret = o.ret;
  t.err = o.err;
  t.lwp = o.lwp;
  t.proc = o.proc;
  t.st_size = o.st_size;
  t.wait = o.wait;
  t.wait_target = o.wait_target;
  t.fatal = o.fatal;
  return t;
}

std::string outcome_difference(const TraceOutcome& r, const TraceOutcome& a) {
  std::string d;
  auto field = [&](bool differs, std::string_view name, const std::string& want, const std::string& got) {
    if (differs && d.empty()) d = fmt::format("{}: trace has {}, got {}", name, want, got);
  };
  field(r.kind != a.kind, "kind", std::string(kind_name(r.kind)), std::string(kind_name(a.kind)));
  field(r.rule && a.rule && *r.rule != *a.rule, "rule", r.rule ? std::string(rule_name(*r.rule)) : "",
        a.rule ? std::string(rule_name(*a.rule)) : "");
  field(r.label && a.label && *r.label != *a.label, "label", r.label.value_or(""), a.label.value_or(""));
  field(r.ret != a.ret, "ret", std::to_string(r.ret), std::to_string(a.ret));
  field(r.err != a.err, "err", std::to_string(r.err), std::to_string(a.err));
  auto lwp = [](LwpId l) { return l == kNoLwp ? std::string("NULL") : symbol(Binding::Kind::Lwp, l); };
  auto proc = [](ProcId p) { return p == kNoProc ? std::string("none") : symbol(Binding::Kind::Proc, p); };
  field(r.lwp != a.lwp, "lwp", lwp(r.lwp), lwp(a.lwp));
  field(r.lwp_unnamed != a.lwp_unnamed, "lwp", r.lwp_unnamed ? "an lwp no symbol names" : lwp(r.lwp),
        a.lwp_unnamed ? "an lwp no symbol names" : lwp(a.lwp));
  field(r.proc != a.proc, "proc", proc(r.proc), proc(a.proc));
  field(r.st_size != a.st_size, "st_size", std::to_string(r.st_size), std::to_string(a.st_size));
  // What a caller waits for is meaningful only while it waits and when its wait ends.
  field(r.wait_target != a.wait_target, "wait target", proc(r.wait_target), proc(a.wait_target));
  field(r.wait_target != kNoProc && r.wait != a.wait, "wait", std::string(wait_name(r.wait)), std::string(wait_name(a.wait)));
  field(r.fatal != a.fatal, "fatal", std::string(fatal_name(r.fatal)), std::string(fatal_name(a.fatal)));
  return d;
}

std::string outcome_difference(const TraceOutcome& recorded, const Outcome& actual) {
  return outcome_difference(recorded, to_trace(actual));
}

std::string render(const TraceOutcome& o) {
  switch (o.kind) {
    case OutcomeKind::Blocked:
      return o.wait_target == kNoProc ? "BLOCKED" : fmt::format("BLOCKED ({} proc#{})", wait_name(o.wait), o.wait_target);
    case OutcomeKind::Fatal: return fmt::format("FATAL({})", fatal_name(o.fatal));
    case OutcomeKind::NotRunnable: return fmt::format("not runnable ({})", o.label.value_or("?"));
    case OutcomeKind::Dead: return "dead";
    case OutcomeKind::Returned: break;
  }
  if (o.lwp_unnamed) return "an lwp no symbol names";
  if (o.lwp != kNoLwp) return symbol(Binding::Kind::Lwp, o.lwp);
  if (o.proc != kNoProc) return fmt::format("{} (*newp = proc#{})", o.ret, o.proc);
  if (o.label && *o.label != "ok")  // "ok(not parked)" -> "0 (not parked)", "EINVAL" -> "22 (EINVAL)"
    return fmt::format("{} ({})", o.ret, o.label->rfind("ok(", 0) == 0 ? o.label->substr(3, o.label->size() - 4) : *o.label);
  if (o.st_size != 0) return fmt::format("{} st_size={}", o.ret, o.st_size);
  return std::to_string(o.ret);
}

Choice recorded_choice(const TraceEvent& e) {
  Choice choice;
  for (const Binding& b : e.bound)
    if (b.kind == Binding::Kind::Proc) choice.pid = b.pid;
  return choice;
}

TraceEvent model_step(Model& m, const Op& op, const Choice& choice, int digest_hosts, Outcome* raw) {
  TraceEvent e;
  e.op = op;
  const std::size_t lwps_before = m.state().lwps.size(), procs_before = m.state().procs.size();
  const StepResult r = m.apply(op, choice);
  const State& s = m.state();
  e.outcome = to_trace(r.outcome);
  if (raw) *raw = r.outcome;
  for (const Completion& c : r.completions) e.woke.push_back(TraceCompletion{c.actor, to_trace(c.outcome)});
  // Creation order within a step: rfork's lwp then its process, a kthread's process then its lwp.
  for (std::size_t p = procs_before; p < s.procs.size(); ++p)
    e.bound.push_back(Binding{Binding::Kind::Proc, static_cast<std::uint32_t>(p), s.procs[p].pid});
  for (std::size_t l = lwps_before; l < s.lwps.size(); ++l)
    e.bound.push_back(Binding{Binding::Kind::Lwp, static_cast<std::uint32_t>(l), s.procs[s.lwps[l].proc].pid});
  if (digest_hosts > 0) e.digest = state_digest(s, digest_hosts);
  return e;
}

std::string errno_name(int e) {
  switch (e) {
    case 0: return "0";
    case EINVAL: return "EINVAL";
    case ESRCH: return "ESRCH";
    case EBUSY: return "EBUSY";
    case EBADF: return "EBADF";
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    case EAGAIN: return "EAGAIN/EWOULDBLOCK";
    default: return "errno " + std::to_string(e);
  }
}

std::string lwp_name(LwpId l) { return l == kNoLwp ? "NULL" : fmt::format("lwp#{}", l); }

// A returned value as the C API shows it; shared by both sides' renderings so they read alike.
std::string render_returned(const OpBody& b, std::int64_t ret, int err, std::int64_t st_size, const std::string& lwp) {
  switch (traits(b).returns) {
    case Returns::Lwp: return lwp;
    case Returns::Nothing: return "returned";
    case Returns::Stat:
    case Returns::Syscall:
      if (ret == -1) return fmt::format("-1 {}", errno_name(err));
      if (traits(b).returns == Returns::Stat) return fmt::format("0 st_size={}", st_size);
      return fmt::format("{}", ret);
    case Returns::Value: return fmt::format("{}", ret);
    case Returns::Errno: break;
  }
  return errno_name(static_cast<int>(ret));
}


std::string render_model(const Outcome& o, const OpBody& b) {
  switch (o.kind) {
    case OutcomeKind::Blocked: return "BLOCKED";
    case OutcomeKind::Fatal: return std::string(o.label);
    case OutcomeKind::NotRunnable: return fmt::format("not runnable ({})", o.label);
    case OutcomeKind::Dead: return "dead";
    case OutcomeKind::Returned: break;
  }
  return render_returned(b, o.ret, o.err, o.st_size, lwp_name(o.lwp));
}


Rule wake_rule(const OpBody& b) {
  if (std::holds_alternative<op::Suspend>(b) || std::holds_alternative<op::KprocShutdown>(b)) return Rule::S2;
  if (std::holds_alternative<op::WaitExit>(b)) return Rule::S5;
  if (std::holds_alternative<op::SuspendCheck>(b)) return Rule::S3;
  return Rule::K3;
}

}  // namespace lockstep::checker
