// sync::Mailbox<Result>: the one mailbox. A control thread posts a command (a function returning
// Result); the thread serving the mailbox runs it and posts its result back; the control thread takes
// it. One command at a time. The mailbox's mutex and condition come from the backend and are both named
// "<owner>.mailbox", so under a ControlledBackend a server waiting for its next command is blocked on
// that object like on any other: a blocking point the scheduler sees, and one a runner can tell apart
// from a wait inside the kernel (mailbox_suffix).
//
// Built on it: sync::JobThread (impl/job_thread.hpp), a backend thread running posted jobs, and the
// checker's op threads (a host thread H0.., the reaper, or a kthread body serving a Mailbox<ImplResult>).
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "impl/sync.hpp"

namespace lockstep::impl::sync {

// How a mailbox's sync objects are named: "<owner>" + mailbox_suffix.
inline constexpr std::string_view mailbox_suffix = ".mailbox";

template <class Result>
class Mailbox {
 public:
  using Command = std::function<Result()>;

  Mailbox(Backend& b, const std::string& owner)
      : object_(owner + std::string(mailbox_suffix)), m_(b, object_), cv_(b, object_) {}
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // The name of the mailbox's mutex and condition: what a server waiting for a command is blocked on.
  const std::string& object_name() const { return object_; }

  // Control side.
  // Posts a command (replacing any command not yet taken) and forgets any result not yet taken.
  void post(Command c) {
    std::unique_lock lk(m_);
    put(std::move(c));
  }
  // Posts a command only if the mailbox is idle; false (nothing posted) if one is pending or running.
  bool try_post(Command c) {
    std::unique_lock lk(m_);
    if (has_cmd_ || running_) return false;
    put(std::move(c));
    return true;
  }
  // The result, once the command has returned (or posted it early); taking it clears it.
  std::optional<Result> take_result() {
    std::unique_lock lk(m_);
    std::optional<Result> r = std::move(result_);
    result_.reset();
    has_result_.store(false, std::memory_order_release);
    return r;
  }
  // The server has taken the posted command (it is running it, or has run it): the call was invoked.
  // These two peeks read flags written under the mutex without taking it: an answer is already stale
  // when it returns, so the lock would add nothing, and under a ControlledBackend a runner asks after
  // every turn (each lock is a trip through the backend's bookkeeping). The mutex is never held
  // across a blocking point, so a controlled thread that is stopped has left the flags consistent.
  bool taken() const { return !has_cmd_.load(std::memory_order_acquire); }
  // A result is waiting to be taken: the call has returned.
  bool has_result() const { return has_result_.load(std::memory_order_acquire); }
  // No command posted or running.
  bool idle() {
    std::unique_lock lk(m_);
    return !has_cmd_ && !running_;
  }
  // serve() returns once no command is pending (after the running one, if any).
  void quit() {
    std::unique_lock lk(m_);
    quit_ = true;
    cv_.notify_all();
  }

  // Serving side: runs commands until quit(). An exception a command throws propagates (and the
  // mailbox stays busy, unless the command posted its result first): the checker's kthread_exit
  // command unwinds through here on purpose. A command whose exceptions are results catches them.
  void serve() {
    for (;;) {
      Command c;
      {
        std::unique_lock lk(m_);
        while (!has_cmd_ && !quit_) cv_.wait(lk);
        if (quit_ && !has_cmd_) return;
        c = std::move(cmd_);
        cmd_ = nullptr;
        has_cmd_.store(false, std::memory_order_release);
        running_ = true;
      }
      Result r = c();
      post_result(std::move(r));
    }
  }
  // Posts the running command's result early (kthread_exit never returns, so its "return" is posted
  // before it runs); the mailbox is idle from then on.
  void post_result(Result r) {
    std::unique_lock lk(m_);
    result_ = std::move(r);
    has_result_.store(true, std::memory_order_release);
    running_ = false;
  }

 private:
  void put(Command c) {
    cmd_ = std::move(c);
    has_cmd_.store(true, std::memory_order_release);
    result_.reset();
    has_result_.store(false, std::memory_order_release);
    cv_.notify_all();
  }

  const std::string object_;
  Mutex m_;  // guards everything below
  CondVar cv_;
  Command cmd_;
  std::atomic<bool> has_cmd_{false};     // written under m_; read without it by taken()
  std::atomic<bool> has_result_{false};  // result_.has_value(), for has_result()
  bool running_ = false;
  bool quit_ = false;
  std::optional<Result> result_;
};

}  // namespace lockstep::impl::sync
