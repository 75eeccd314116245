// The op dispatch table: for each op, the impl call that carries it out on the acting thread, as a
// mailbox command that returns what the call ended in. Host ops run on the runner's host threads;
// kthread ops (suspend_check, work, exit) run on the kthread's own thread, inside its body.
#pragma once
#include <cstdint>
#include <functional>

#include "checker/impl_result.hpp"
#include "impl/kernel.hpp"
#include "checker/impl_symbols.hpp"
#include "model/op.hpp"

namespace lockstep::checker {

ImplResult value(std::int64_t v);  // a call that returned v

// The kernel handles an op's `lwp` and `proc` arguments name (resolved from its symbols).
struct OpHandles {
  ::lwp* lwp = nullptr;
  ::proc* proc = nullptr;
};
OpHandles resolve(const model::Op& op, const ImplSymbols& sym);

// `kthread_body` is the body a kthread_create or kproc_start of this op starts (the new kthread's
// mailbox loop), and `newp` where the call stores the new handle (the body reads it there); other
// ops ignore both.
Mailbox::Command host_command(impl::Kernel& k, impl::HostContext& h, const model::Op& op, const OpHandles& args,
                              const std::function<void()>& kthread_body, ::proc** newp = nullptr);
inline Mailbox::Command host_command(impl::Kernel& k, impl::HostContext& h, const model::Op& op, const ImplSymbols& sym,
                                     const std::function<void()>& kthread_body, ::proc** newp = nullptr) {
  return host_command(k, h, op, resolve(op, sym), kthread_body, newp);
}
// Runs on the kthread's own thread. kthread_exit never returns (it unwinds the body), so its result
// is posted to `mbox` before the call.
Mailbox::Command kthread_command(impl::Kernel& k, Mailbox& mbox, const model::Op& op, const ImplSymbols& sym);

}  // namespace lockstep::checker
