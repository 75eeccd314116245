// What an impl call ended in, as the thread that made it saw it, and the mailbox that carries it:
// the checker hands one op to a thread that runs under the controlled scheduler (a host thread H0..,
// the reaper, or a kthread body) as a command, and learns whether the op returned (its result is
// posted back) or is still inside the kernel (blocked). The mailbox is impl's sync::Mailbox, whose
// mutex and condition come from the kernel's sync backend, so waiting for the next command is a
// blocking point the scheduler sees like any other.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "impl/mailbox.hpp"

struct lwp;
struct proc;

namespace lockstep::checker {

// What an impl call ended in, as the op thread saw it.
struct ImplResult {
  enum class Kind : std::uint8_t { Returned, Fatal, Error } kind = Kind::Returned;
  std::int64_t ret = 0;
  int err = 0;                // for rump_sys_* failures (the impl returns -errno; we split it as NetBSD does)
  ::lwp* lwp = nullptr;       // rump_pub_lwproc_curlwp's answer
  ::proc* proc = nullptr;     // kthread_create / kproc_start: *newp
  std::int64_t st_size = 0;   // fstat
  // Read by the op thread right after a creating op, for the checker's symbol bindings.
  pid_t new_pid = 0;
  ::lwp* new_lwp = nullptr;
  ::proc* new_proc = nullptr;
  std::string what;           // Fatal: the SPEC rule id; Error: the exception text
};

// A command is one impl call (impl_commands.hpp); the serving thread posts its ImplResult. See
// impl/mailbox.hpp for post / take_result / idle / quit, serve, and post_result (kthread_exit's early
// "return", since it never returns).
using Mailbox = impl::sync::Mailbox<ImplResult>;

}  // namespace lockstep::checker
