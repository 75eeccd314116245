// A lane: one thread's append-only record of its calls (a host thread, the reaper, or a kthread
// body). Only its own thread writes it, so recording costs two clock reads and two uncontended
// lock/unlock pairs per call; the lock exists for the end of the run, when the recorder closes the
// lanes while a thread blocked in the kernel may still return (its response then arrives after the
// history's end and is not part of it).
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "checker/trace.hpp"
#include "impl/delay_backend.hpp"
#include "model/op.hpp"

namespace lockstep::checker::stress {

using Clock = std::chrono::steady_clock;

// One call as its thread saw it. The answer is kept compact (no strings unless the call died).
struct Record {
  model::Op op;                    // arguments in history symbols
  std::int64_t call_ns = 0;        // since the run's epoch
  std::int64_t ret_ns = -1;        // -1: no response (still in flight when the lane closed)
  model::OutcomeKind kind = model::OutcomeKind::Returned;  // Returned, Fatal or Dead
  std::int64_t ret = 0;
  int err = 0;
  std::int64_t st_size = 0;
  std::int64_t lwp = -1;           // curlwp's answer: a symbol, -1 NULL, -2 a handle no symbol names
  std::string what;                // Fatal: the rule id; Dead: what happened
  std::array<Binding, 2> created{};
  std::uint8_t n_created = 0;
  std::int64_t request_ns = -1;    // a call that waited: by then its request had taken effect (-1: it never waited)
  std::int64_t hint_ns = -1;       // when the thread took the kernel lock of its effect, a guess (-1: none)
  int lid = -1;                    // the lid of the lwp the call created (-1: none); spares the judge a guess
};

class Lane {
 public:
  Lane(std::string name, model::Actor actor, Clock::time_point epoch, bool record, std::size_t reserve)
      : name_(std::move(name)), actor_(actor), epoch_(epoch),
        epoch_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(epoch.time_since_epoch()).count()), record_(record) {
    if (record_) done_.reserve(reserve);
  }
  const std::string& name() const { return name_; }
  model::Actor actor() const { return actor_; }

  std::int64_t now_ns() const { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - epoch_).count(); }

  // The call starts: returns the record to fill with the answer before end().
  // The moment a call that waits first went to sleep (what it did before had taken effect), read
  // while it waits; recorded with the call (see Record::request_ns).
  void waited_at(std::int64_t steady_ns) {
    std::lock_guard l(m_);
    if (pending_ && steady_ns != 0 && pending_->request_ns < 0) pending_->request_ns = steady_ns - epoch_ns_;
  }
  Record& begin(const model::Op& op) {
    untimed_.store(untimed_wait(op), std::memory_order_relaxed);
    impl::sync::DelayBackend::reset_lock_stamp();
    in_call_ = true;
    if (!record_) {
      scratch_.n_created = 0;  // the caller fills the answer in as in a recorded call
      return scratch_;
    }
    const std::int64_t t = now_ns();
    std::lock_guard l(m_);
    pending_.emplace();
    pending_->op = op;
    pending_->call_ns = t;
    return *pending_;
  }
  // `lock_ns`: the steady clock's ns at a lock acquisition inside the call (0: unknown), the hint.
  void end(std::int64_t lock_ns = 0) {
    in_call_ = false;
    ++calls_;
    if (!record_) return;
    const std::int64_t t = now_ns();
    std::lock_guard l(m_);
    if (closed_ || !pending_) return;
    pending_->ret_ns = t;
    const std::int64_t hint = lock_ns - epoch_ns_;
    if (lock_ns != 0 && hint >= pending_->call_ns && hint <= t) pending_->hint_ns = hint;
    done_.push_back(std::move(*pending_));
    pending_.reset();
  }
  // Ends the history of this lane: what it answered so far, and the call still in flight, if any.
  std::vector<Record> close() {
    std::lock_guard l(m_);
    closed_ = true;
    std::vector<Record> out = std::move(done_);
    if (pending_) out.push_back(std::move(*pending_));
    pending_.reset();
    return out;
  }
  // Whether the thread is inside a call now (read by the controller while the thread runs: a hint,
  // confirmed by the kernel's list of waits).
  bool in_call() const { return in_call_.load(std::memory_order_acquire); }
  // The call in progress can wait without a timeout (suspend or wait_exit with timo 0, suspend_check):
  // the only kind a barrier lets stay in flight (lin's commit rule, LIN.md).
  bool untimed() const { return untimed_.load(std::memory_order_relaxed); }
  // The thread waits at the run's barrier gate (outside the kernel).
  void at_gate(bool v) { at_gate_.store(v, std::memory_order_release); }
  bool at_gate() const { return at_gate_.load(std::memory_order_acquire); }
  static bool untimed_wait(const model::Op& op) {
    const auto& b = op.body;
    return std::holds_alternative<model::op::SuspendCheck>(b) ||
           (std::holds_alternative<model::op::Suspend>(b) && std::get<model::op::Suspend>(b).timo == 0) ||
           (std::holds_alternative<model::op::WaitExit>(b) && std::get<model::op::WaitExit>(b).timo == 0);
  }
  std::uint64_t calls() const { return calls_.load(std::memory_order_relaxed); }
  // The lane's thread will make no further call (it left its loop, exited, or was never started).
  void finish() { finished_.store(true, std::memory_order_release); }
  bool finished() const { return finished_.load(std::memory_order_acquire); }

 private:
  const std::string name_;
  const model::Actor actor_;
  const Clock::time_point epoch_;
  const std::int64_t epoch_ns_;
  const bool record_;
  std::mutex m_;
  bool closed_ = false;
  std::vector<Record> done_;
  std::optional<Record> pending_;
  Record scratch_;
  std::atomic<bool> in_call_{false};
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<bool> finished_{false};
  std::atomic<bool> untimed_{false};
  std::atomic<bool> at_gate_{false};
};

}  // namespace lockstep::checker::stress
