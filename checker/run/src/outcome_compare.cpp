// Comparing and rendering outcomes (see outcome_compare.hpp).
#include "checker/outcome_compare.hpp"

#include <cerrno>

#include <fmt/format.h>

#include "model/op_traits.hpp"

namespace lockstep::checker {

using namespace lockstep::model;

namespace {

bool is_sys_call(const OpBody& b) { return traits(b).returns == Returns::Syscall || traits(b).returns == Returns::Stat; }
bool is_void(const OpBody& b) { return traits(b).returns == Returns::Nothing; }

}  // namespace

std::optional<std::string> compare(const Outcome& m, const std::optional<ImplResult>& r, const OpBody& b, const ImplSymbols& sym) {
  if (m.kind == OutcomeKind::Blocked) {
    if (r) return std::string(" (the call should block)");
    return std::nullopt;
  }
  if (!r) return std::string(" (the call blocked)");
  if (r->kind == ImplResult::Kind::Error) return fmt::format(" (the impl threw: {})", r->what);
  if (m.kind == OutcomeKind::Fatal) {
    if (r->kind != ImplResult::Kind::Fatal || r->what != fatal_name(m.fatal)) return std::string();
    return std::nullopt;
  }
  if (r->kind == ImplResult::Kind::Fatal) return std::string();
  if (traits(b).returns == Returns::Lwp) {
    if (r->lwp == nullptr) return m.lwp == kNoLwp ? std::nullopt : std::optional<std::string>(std::string());
    const std::optional<LwpId> got = sym.lwp_symbol(r->lwp);  // nullopt: a handle no symbol names
    if (!got || *got != m.lwp) return std::string();
    return std::nullopt;
  }
  if (is_void(b)) return std::nullopt;
  if (m.ret != r->ret || (m.ret == -1 && is_sys_call(b) && m.err != r->err)) return std::string();
  if (traits(b).returns == Returns::Stat && m.ret == 0 && m.st_size != r->st_size) return std::string(" (st_size)");
  return std::nullopt;
}

TraceOutcome impl_outcome(const std::optional<ImplResult>& r, const ImplSymbols& sym) {
  TraceOutcome t;
  if (!r) {
    t.kind = OutcomeKind::Blocked;
    return t;
  }
  switch (r->kind) {
    case ImplResult::Kind::Returned:
      t.kind = OutcomeKind::Returned;
      t.ret = r->ret;
      t.err = r->err;
      t.st_size = r->st_size;
      if (r->lwp != nullptr) {
        const std::optional<LwpId> l = sym.lwp_symbol(r->lwp);
        t.lwp = l.value_or(kNoLwp);
        t.lwp_unnamed = !l;
      }
      break;
    case ImplResult::Kind::Fatal:
      t.kind = OutcomeKind::Fatal;
      for (std::size_t i = 1; i < static_cast<std::size_t>(Fatal::Count); ++i)
        if (fatal_name(static_cast<Fatal>(i)) == r->what) t.fatal = static_cast<Fatal>(i);
      if (t.fatal == Fatal::None) {
        t.kind = OutcomeKind::Dead;
        t.label = fmt::format("FATAL({})", r->what);
      }
      break;
    case ImplResult::Kind::Error:
      t.kind = OutcomeKind::Dead;
      t.label = fmt::format("exception: {}", r->what);
      break;
  }
  return t;
}

std::string render_outcome(const TraceOutcome& o, const OpBody& b) {
  switch (o.kind) {
    case OutcomeKind::Blocked: return "BLOCKED";
    case OutcomeKind::Fatal: return fmt::format("FATAL({})", fatal_name(o.fatal));
    case OutcomeKind::NotRunnable: return fmt::format("not runnable ({})", o.label.value_or("?"));
    case OutcomeKind::Dead: return o.label && o.label != "dead" ? *o.label : "dead";
    case OutcomeKind::Returned: break;
  }
  return render_returned(b, o.ret, o.err, o.st_size, o.lwp_unnamed ? "an lwp never bound" : lwp_name(o.lwp));
}

std::string render_impl(const ImplResult& r, const OpBody& b, const ImplSymbols& sym) {
  if (r.kind == ImplResult::Kind::Fatal) return fmt::format("FATAL({})", r.what);
  if (r.kind == ImplResult::Kind::Error) return fmt::format("exception: {}", r.what);
  std::string lwp = "NULL";
  if (r.lwp != nullptr) {
    const std::optional<LwpId> l = sym.lwp_symbol(r.lwp);
    lwp = l ? lwp_name(*l) : fmt::format("an lwp never bound ({})", static_cast<const void*>(r.lwp));
  }
  return render_returned(b, r.ret, r.err, r.st_size, lwp);
}

}  // namespace lockstep::checker
