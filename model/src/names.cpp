// Human-readable names and one-line renderings of ops, actors and states.
#include <array>
#include <string>

#include <fmt/format.h>

#include "model/op.hpp"
#include "model/op_traits.hpp"
#include "model/state.hpp"

namespace lockstep::model {

namespace {

std::string rfork_flags(int flags) {
  switch (flags) {
    case kRumpRffdShare: return "RUMP_RFFD_SHARE";
    case kRumpRffdg: return "RUMP_RFFDG";
    case kRumpRfcfdg: return "RUMP_RFCFDG";
    default: return fmt::format("{:#x}", flags);
  }
}

std::string kthread_flags(int flags) {
  if (flags == 0) return "0";
  if (flags == kRffdg) return "RFFDG";
  if (flags == kRfcfdg) return "RFCFDG";
  if (flags == (kRffdg | kRfcfdg)) return "RFFDG|RFCFDG";
  return fmt::format("{:#x}", flags);
}

std::string proc_ref(ProcId p) { return fmt::format("proc#{}", p); }

std::string args(const OpBody& body) {
  return std::visit(
      [](const auto& o) -> std::string {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, op::Rfork>) return rfork_flags(o.flags);
        else if constexpr (std::is_same_v<T, op::Newlwp>) return fmt::format("{}", o.pid);
        else if constexpr (std::is_same_v<T, op::Switch>) return o.lwp == kNoLwp ? "NULL" : fmt::format("lwp#{}", o.lwp);
        else if constexpr (std::is_same_v<T, op::Open>) return fmt::format("\"{}\"{}", o.path, o.create ? ", O_CREAT" : ", 0");
        else if constexpr (std::is_same_v<T, op::Write>) return fmt::format("{}, {}", o.fd, o.n);
        else if constexpr (std::is_same_v<T, op::Fstat> || std::is_same_v<T, op::Close> || std::is_same_v<T, op::Dup>)
          return fmt::format("{}", o.fd);
        else if constexpr (std::is_same_v<T, op::Setuid>) return fmt::format("{}", o.uid);
        else if constexpr (std::is_same_v<T, op::KthreadCreate>) return fmt::format("{}, \"{}\"", kthread_flags(o.flags), o.name);
        else if constexpr (std::is_same_v<T, op::KthreadExit>) return fmt::format("{}", o.code);
        else if constexpr (std::is_same_v<T, op::Suspend> || std::is_same_v<T, op::WaitExit>)
          return fmt::format("{}, {}", proc_ref(o.proc), o.timo);
        else if constexpr (std::is_same_v<T, op::Resume> || std::is_same_v<T, op::SuspendCheck> ||
                           std::is_same_v<T, op::KprocShutdown> || std::is_same_v<T, op::Reap>)
          return proc_ref(o.proc);
        else if constexpr (std::is_same_v<T, op::KprocStart>) return fmt::format("\"{}\"", o.name);
        else if constexpr (std::is_same_v<T, op::Tick>) return fmt::format("{}", o.n);
        else return "";
      },
      body);
}

}  // namespace

std::string_view op_name(std::size_t kind_index) {
  return kind_index < kOpTraits.size() ? kOpTraits[kind_index].name : std::string_view{"?"};
}

std::string to_string(const Actor& a) {
  switch (a.kind) {
    case Actor::Kind::Host: return fmt::format("H{}", a.index);
    case Actor::Kind::Kthread: return fmt::format("K{}", a.index);
    case Actor::Kind::Clock: return "clock";
    case Actor::Kind::Reaper: return "reaper";
  }
  return "?";
}

std::string to_string(const Op& op) {
  return fmt::format("{} {}({})", to_string(op.actor), op_name(op.body), args(op.body));
}

std::string_view to_string(ProcKind k) {
  switch (k) {
    case ProcKind::Kernel: return "kernel";
    case ProcKind::Init: return "init";
    case ProcKind::User: return "user";
    case ProcKind::Kthread: return "kthread";
  }
  return "?";
}

std::string_view to_string(KState s) {
  switch (s) {
    case KState::Running: return "RUNNING";
    case KState::Parked: return "PARKED";
    case KState::Zombie: return "ZOMBIE";
    case KState::Reaped: return "REAPED";
  }
  return "?";
}

}  // namespace lockstep::model
