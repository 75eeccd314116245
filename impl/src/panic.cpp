#include "impl/panic.hpp"

#include <cstdio>
#include <cstdlib>

namespace lockstep::impl {

void default_panic_hook(const PanicInfo& info) {
  std::fprintf(stderr, "panic: %s: %s\n", info.rule.c_str(), info.reason.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace lockstep::impl
