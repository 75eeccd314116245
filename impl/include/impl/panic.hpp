// FATAL outcomes (SPEC §2). A misuse calls the kernel's panic hook with the SPEC rule id
// ("P0-uninit", "L3-null-implicit", "L3-stale", "L3-running", "L4-implicit", "K5-other", "K6-panic",
// plus the impl-defined "K2-not-kthread").
//
// Default hook: prints "panic: <rule id>: <reason>" to stderr and aborts (SIGABRT), as the rump kernel
// does. If the hook returns (the checker's hook records the panic and returns), the kernel throws
// lockstep::impl::Panic from the operation: every lock the operation held is released by unwinding, no
// other thread is left waiting on the failed operation, and the C++ caller catches Panic. After a panic
// the instance is dead (SPEC §2): Kernel::panicked() reports it; further operations are not meaningful.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

namespace lockstep::impl {

struct PanicInfo {
  std::string rule;    // SPEC rule id
  std::string reason;  // human-readable
};

class Panic : public std::runtime_error {
 public:
  explicit Panic(PanicInfo info)
      : std::runtime_error("panic: " + info.rule + ": " + info.reason), info_(std::move(info)) {}
  const std::string& rule() const { return info_.rule; }
  const std::string& reason() const { return info_.reason; }
  const PanicInfo& info() const { return info_; }

 private:
  PanicInfo info_;
};

using PanicHook = std::function<void(const PanicInfo&)>;

// Prints "panic: <rule>: <reason>\n" to stderr and calls std::abort().
[[noreturn]] void default_panic_hook(const PanicInfo& info);

}  // namespace lockstep::impl
