#include "checker/sut_calls.hpp"

#include <cstdio>
#include <regex>
#include <type_traits>
#include <variant>

namespace lockstep::checker::sut {

using namespace lockstep::model;

Call call_of(const OpBody& b) {
  return std::visit(
      [](const auto& o) -> Call {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, op::Init>) return Call::RumpInit;
        else if constexpr (std::is_same_v<T, op::Rfork>) return Call::Rfork;
        else if constexpr (std::is_same_v<T, op::Newlwp>) return Call::Newlwp;
        else if constexpr (std::is_same_v<T, op::Switch>) return Call::Switch;
        else if constexpr (std::is_same_v<T, op::Release>) return Call::Release;
        else if constexpr (std::is_same_v<T, op::Curlwp>) return Call::Curlwp;
        else if constexpr (std::is_same_v<T, op::Getpid>) return Call::Getpid;
        else if constexpr (std::is_same_v<T, op::Getppid>) return Call::Getppid;
        else if constexpr (std::is_same_v<T, op::Open>) return Call::Open;
        else if constexpr (std::is_same_v<T, op::Write>) return Call::Write;
        else if constexpr (std::is_same_v<T, op::Fstat>) return Call::Fstat;
        else if constexpr (std::is_same_v<T, op::Close>) return Call::Close;
        else if constexpr (std::is_same_v<T, op::Dup>) return Call::Dup;
        else if constexpr (std::is_same_v<T, op::Getuid>) return Call::Getuid;
        else if constexpr (std::is_same_v<T, op::Setuid>) return Call::Setuid;
        else if constexpr (std::is_same_v<T, op::KthreadCreate>) return Call::KthreadCreate;
        else if constexpr (std::is_same_v<T, op::KthreadExit>) return Call::KthreadExit;
        else if constexpr (std::is_same_v<T, op::Suspend>) return Call::Suspend;
        else if constexpr (std::is_same_v<T, op::Resume>) return Call::Resume;
        else if constexpr (std::is_same_v<T, op::SuspendCheck>) return Call::SuspendCheck;
        else if constexpr (std::is_same_v<T, op::Work>) return Call::Progress;
        else if constexpr (std::is_same_v<T, op::KprocStart>) return Call::KprocStart;
        else if constexpr (std::is_same_v<T, op::KprocShutdown>) return Call::KprocShutdown;
        else if constexpr (std::is_same_v<T, op::WaitExit>) return Call::WaitExit;
        else if constexpr (std::is_same_v<T, op::Reap>) return Call::Reap;
        else return Call::Count;  // op::Tick: the runner's own clock
      },
      b);
}


void fill_arguments(Request& q, const OpBody& b, const std::function<std::uint64_t(LwpId)>& lwp,
                    const std::function<std::uint64_t(ProcId)>& proc) {
  q.call = call_of(b);
  std::visit(
      [&](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        auto text = [&](const std::string& s) { std::snprintf(q.text, sizeof q.text, "%s", s.c_str()); };
        if constexpr (std::is_same_v<T, op::Rfork>) q.a = o.flags;
        else if constexpr (std::is_same_v<T, op::Newlwp>) q.a = o.pid;
        else if constexpr (std::is_same_v<T, op::Switch>) q.handle = lwp(o.lwp);
        else if constexpr (std::is_same_v<T, op::Open>) { text(o.path); q.a = o.create ? 0x0202 : 0x0002; }
        else if constexpr (std::is_same_v<T, op::Write>) { q.a = o.fd; q.b = o.n; }
        else if constexpr (std::is_same_v<T, op::Fstat> || std::is_same_v<T, op::Close> || std::is_same_v<T, op::Dup>) q.a = o.fd;
        else if constexpr (std::is_same_v<T, op::Setuid>) q.a = o.uid;
        else if constexpr (std::is_same_v<T, op::KthreadCreate>) { q.a = o.flags; text(o.name); }
        else if constexpr (std::is_same_v<T, op::KprocStart>) text(o.name);
        else if constexpr (std::is_same_v<T, op::KthreadExit>) q.a = o.code;
        else if constexpr (std::is_same_v<T, op::Suspend> || std::is_same_v<T, op::WaitExit>) { q.handle = proc(o.proc); q.a = o.timo; }
        else if constexpr (requires { o.proc; }) q.handle = proc(o.proc);
      },
      b);
}

std::uint32_t take_slot(std::uint32_t& next, std::vector<std::uint32_t>& free) {
  if (!free.empty()) {
    const std::uint32_t s = free.back();
    free.pop_back();
    return s;
  }
  return next < kMaxSlots ? next++ : kMaxSlots;
}

std::optional<std::string> panic_rule(const std::string& out) {
  static const std::regex re(R"(panic: ([A-Za-z0-9]+-[A-Za-z0-9-]+):)");
  std::smatch m;
  if (std::regex_search(out, m, re)) return m[1].str();
  return std::nullopt;
}

}  // namespace lockstep::checker::sut
