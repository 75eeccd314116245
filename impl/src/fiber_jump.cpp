// Built with -fno-sanitize=thread (impl/CMakeLists.txt): see fiber_jump.hpp. The TSan entry point
// is weak, so the same object serves builds without TSan, where it is null.
#include "fiber_jump.hpp"

extern "C" void __tsan_switch_to_fiber(void* fiber, unsigned flags) __attribute__((weak));

namespace lockstep::impl::sync::detail {

__attribute__((noinline)) transfer_t fiber_jump(fcontext_t to, void* data, void* tsan_to) {
  if (tsan_to != nullptr && __tsan_switch_to_fiber != nullptr) __tsan_switch_to_fiber(tsan_to, 0);
  return boost::context::detail::jump_fcontext(to, data);
}

fcontext_t fiber_make(void* stack_top, std::size_t size, void (*entry)(transfer_t)) {
  return boost::context::detail::make_fcontext(stack_top, size, entry);
}

}  // namespace lockstep::impl::sync::detail
