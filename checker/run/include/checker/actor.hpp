// An actor's mailbox: how the checker hands one op to a thread that runs under the
// controlled scheduler, and learns whether the op returned (its result is posted
// back) or is still inside the kernel (blocked). The mailbox's own mutex and
// condition come from the kernel's sync backend, so waiting for the next command
// is a blocking point the scheduler sees like any other.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "impl/sync.hpp"

struct lwp;
struct proc;

namespace lockstep::checker {

// What an impl call ended in, as the actor thread saw it.
struct ImplResult {
  enum class Kind : std::uint8_t { Returned, Fatal, Error } kind = Kind::Returned;
  std::int64_t ret = 0;
  int err = 0;                // for rump_sys_* failures (the impl returns -errno; we split it as NetBSD does)
  ::lwp* lwp = nullptr;       // rump_pub_lwproc_curlwp's answer
  ::proc* proc = nullptr;     // kthread_create / kproc_start: *newp
  std::int64_t st_size = 0;   // fstat
  // Read by the actor right after a creating op, for the checker's symbol bindings.
  pid_t new_pid = 0;
  ::lwp* new_lwp = nullptr;
  ::proc* new_proc = nullptr;
  std::string what;           // Fatal: the SPEC rule id; Error: the exception text
};

class Mailbox {
 public:
  using Command = std::function<ImplResult()>;
  explicit Mailbox(impl::sync::Backend& b, const std::string& name);

  // Checker side (the control thread).
  void post(Command c);
  std::optional<ImplResult> take_result();   // the result, once the command has returned
  bool idle();                                // no command posted or running
  void quit();

  // Actor side: runs commands until quit(). Exceptions from a command other than those
  // the command converts itself propagate (kthread_exit unwinds through here on purpose).
  void serve();
  // Posts a result early: kthread_exit never returns, so its "return" is recorded before it runs.
  void post_result(ImplResult r);

 private:
  impl::sync::Mutex m_;       // guards everything below
  impl::sync::CondVar cv_;
  Command cmd_;
  bool has_cmd_ = false;
  bool running_ = false;
  bool quit_ = false;
  std::optional<ImplResult> result_;
};

}  // namespace lockstep::checker
