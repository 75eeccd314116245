#include "match.hpp"

#include <fmt/format.h>

#include "model/op_traits.hpp"

namespace lockstep::checker::lin::detail {

using namespace lockstep::model;

bool explains(const Outcome& m, const TraceOutcome& impl, const OpBody& b, std::uint32_t impl_lwp) {
  if (impl.kind == OutcomeKind::Fatal) return m.kind == OutcomeKind::Fatal && m.fatal == impl.fatal;
  if (impl.kind != OutcomeKind::Returned || m.kind != OutcomeKind::Returned) return false;
  switch (traits(b).returns) {
    case Returns::Nothing: return true;
    case Returns::Errno:
    case Returns::Value: return m.ret == impl.ret;
    case Returns::Syscall: return m.ret == impl.ret && (m.ret != -1 || m.err == impl.err);
    case Returns::Stat:
      return m.ret == impl.ret && (m.ret != -1 || m.err == impl.err) && (m.ret != 0 || m.st_size == impl.st_size);
    case Returns::Lwp:
      if (impl.lwp_unnamed) return false;
      return impl.lwp == kNoLwp ? m.lwp == kNoLwp : m.lwp == impl_lwp;
  }
  return false;
}

namespace {

std::string returned(const OpBody& b, std::int64_t ret, int err, std::int64_t st_size, const std::string& lwp) {
  switch (traits(b).returns) {
    case Returns::Nothing: return "returned";
    case Returns::Lwp: return lwp;
    case Returns::Syscall:
    case Returns::Stat:
      if (ret == -1) return fmt::format("-1 errno {}", err);
      if (traits(b).returns == Returns::Stat) return fmt::format("0 st_size={}", st_size);
      return fmt::format("{}", ret);
    case Returns::Errno:
    case Returns::Value: break;
  }
  return fmt::format("{}", ret);
}

}  // namespace

std::string render_model(const Outcome& m, const OpBody& b) {
  switch (m.kind) {
    case OutcomeKind::Blocked: return "BLOCKED";
    case OutcomeKind::Fatal: return fmt::format("FATAL({})", fatal_name(m.fatal));
    case OutcomeKind::NotRunnable: return fmt::format("not runnable ({})", m.label);
    case OutcomeKind::Dead: return "dead";
    case OutcomeKind::Returned: break;
  }
  const std::string lwp = m.lwp == kNoLwp ? "NULL" : fmt::format("model lwp {}", m.lwp);
  const std::string label = m.label == "ok" ? "" : fmt::format(" ({})", m.label);
  return returned(b, m.ret, m.err, m.st_size, lwp) + label;
}

std::string render_impl(const TraceOutcome& o, const OpBody& b) {
  switch (o.kind) {
    case OutcomeKind::Blocked: return "BLOCKED";
    case OutcomeKind::Fatal: return fmt::format("FATAL({})", fatal_name(o.fatal));
    case OutcomeKind::NotRunnable: return "not runnable";
    case OutcomeKind::Dead: return o.label.value_or("dead");
    case OutcomeKind::Returned: break;
  }
  const std::string lwp = o.lwp_unnamed ? "an lwp no symbol names" : o.lwp == kNoLwp ? "NULL" : symbol(Binding::Kind::Lwp, o.lwp);
  return returned(b, o.ret, o.err, o.st_size, lwp);
}

Rule wake_rule(const OpBody& b) {
  if (std::holds_alternative<op::Suspend>(b) || std::holds_alternative<op::KprocShutdown>(b)) return Rule::S2;
  if (std::holds_alternative<op::WaitExit>(b)) return Rule::S5;
  if (std::holds_alternative<op::SuspendCheck>(b)) return Rule::S3;
  return Rule::K3;
}

}  // namespace lockstep::checker::lin::detail
