// The one place a fiber switch happens: Boost.Context's jump_fcontext, preceded by ThreadSanitizer's
// switch of fiber context. Compiled without TSan instrumentation (impl/CMakeLists.txt), so that no
// instrumented frame is entered on one fiber's shadow call stack and left on another's: between
// __tsan_switch_to_fiber and the jump nothing runs, and after the jump back only this function
// returns, on the fiber it was entered on. (With instrumented code there, TSan's per-fiber shadow
// stacks drifted by a frame per switch and TSan crashed after some thousand switches.)
#pragma once
#include <boost/context/detail/fcontext.hpp>

namespace lockstep::impl::sync::detail {

using boost::context::detail::fcontext_t;
using boost::context::detail::transfer_t;

// Switches to `to`, handing it `data`; TSan (when present and `tsan_to` is not null) follows to the
// fiber context `tsan_to`. Returns when something jumps back: its context and what it handed over.
transfer_t fiber_jump(fcontext_t to, void* data, void* tsan_to);

// A context that starts `entry` on the stack whose top is `stack_top` (`size` bytes below it).
fcontext_t fiber_make(void* stack_top, std::size_t size, void (*entry)(transfer_t));

}  // namespace lockstep::impl::sync::detail
