#include "checker/sut_calls.hpp"

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


std::optional<std::string> panic_rule(const std::string& out) {
  static const std::regex re(R"(panic: ([A-Za-z0-9]+-[A-Za-z0-9-]+):)");
  std::smatch m;
  if (std::regex_search(out, m, re)) return m[1].str();
  return std::nullopt;
}

}  // namespace lockstep::checker::sut
