// The controlled backend: a deterministic scheduler behind the sync layer.
//
// Contract (what the checker relies on):
//  - Threads started with spawn() are *registered*; they get ids 1, 2, ... in spawn order. A registered
//    thread runs only while it holds the scheduler's single token: at most one registered thread runs
//    at a time, and it keeps running until it blocks (contended mutex, condition wait), is preempted
//    (only with Options::preempt_at_locks: at every mutex acquire made while holding no sync mutex), or
//    its body returns.
//  - A notify (or an unlock handing a mutex over) makes the woken thread RUNNABLE; it does not run until
//    the control thread calls run(id) for it.
//  - Virtual time starts at 0 and advances only by tick(n). A timed wait expires only when now reaches
//    its deadline; expired waits become RUNNABLE in deadline order, ties in the order the waits began.
//  - The control thread (any unregistered thread, e.g. the checker's main thread) calls run(id), which
//    returns when that thread blocks, is preempted or exits, or when the real-time watchdog expires (the
//    thread is then still running: a hang becomes a report, never a hang of the checker).
//  - Same sequence of run()/tick() calls -> same interleaving -> same outcome.
//  - Unregistered threads may lock a free mutex and notify at any time (e.g. snapshot(), posting to a
//    mailbox). If they would have to block while a registered thread is stopped, std::logic_error is
//    thrown instead (under control nobody else could ever wake them).
//  - release_all() ends control (teardown): from then on every thread runs when it is not blocked.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "impl/sync.hpp"

namespace lockstep::impl::sync {

class ControlledBackend final : public Backend {
 public:
  using ThreadId = std::uint32_t;

  struct Options {
    // Also stop a thread before each mutex acquire it makes while holding no sync mutex, so that
    // interleavings between critical sections (e.g. an unlocked flag test and the lock) can be chosen.
    bool preempt_at_locks = false;
    // Real-time bound for run().
    std::chrono::milliseconds watchdog{10000};
  };

  enum class State { runnable, running, blocked, exited };
  // Why a thread is where it is.
  enum class Reason { start, preempted, mutex, cond, woken, timed_out, handed_mutex, exited };

  struct ThreadInfo {
    ThreadId id = 0;
    std::string name;
    State state = State::runnable;
    Reason reason = Reason::start;
    std::string object;              // name of the mutex / condition it blocks on or was preempted at
    std::optional<Ticks> deadline;   // for a timed condition wait
    std::uint64_t order = 0;         // when it became runnable / began its wait (a global sequence)
  };

  enum class Stop { blocked, preempted, exited, watchdog };
  struct RunResult {
    Stop stop;
    ThreadInfo thread;  // its state after the run
  };

  ControlledBackend();
  explicit ControlledBackend(Options opts);
  ~ControlledBackend() override;

  // --- Backend ---
  const char* name() const override { return "controlled"; }
  bool controlled() const override { return true; }
  Ticks now() override;
  std::unique_ptr<MutexImpl> make_mutex(std::string name) override;
  std::unique_ptr<CondImpl> make_cond(std::string name) override;
  std::unique_ptr<ThreadImpl> spawn(std::string name, std::function<void()> body) override;
  void release_all() override;

  // --- scheduler API (call from an unregistered thread) ---
  RunResult run(ThreadId id);
  RunResult run(ThreadId id, std::chrono::milliseconds watchdog);
  // Runs runnable threads, earliest-runnable first, until none is runnable or max_runs runs happened.
  // Returns the results in order (a watchdog result ends the loop).
  std::vector<RunResult> run_until_quiescent(std::size_t max_runs = 100000);
  void tick(Ticks n);
  std::vector<ThreadInfo> threads() const;
  std::optional<ThreadInfo> thread(ThreadId id) const;
  std::vector<ThreadId> runnable() const;            // earliest-runnable first
  std::optional<ThreadId> running() const;
  std::optional<Ticks> next_deadline() const;         // earliest pending timed wait
  // Nothing runnable or running, no timed wait pending, and some thread blocked: only a
  // notify from outside could ever make progress.
  bool deadlocked() const;
  bool free_running() const;  // release_all() was called
  // The id of the calling thread if it is registered with this backend.
  std::optional<ThreadId> self() const;

  struct Rec;
  struct CMutex;
  struct CCond;

 private:
  friend struct CMutex;
  friend struct CCond;
  friend class CThread;
  // The *_locked members run under m_, which `lk` owns (they assert it).
  Rec* current_locked(std::unique_lock<std::mutex>& lk);  // registers an unknown external thread
  Rec* find_current_locked(const std::unique_lock<std::mutex>& lk) const;  // nullptr if unknown
  void stop_and_wait(std::unique_lock<std::mutex>& lk, Rec* r);
  void make_runnable(Rec* w, Reason why);
  bool can_run(const Rec* r) const;
  void acquire_locked(std::unique_lock<std::mutex>& lk, CMutex& m, Rec* r);
  void lock_mutex(CMutex& m, bool preemption_point);
  void unlock_mutex(CMutex& m);
  void release_locked(std::unique_lock<std::mutex>& lk, CMutex& m, Rec* r);
  bool owned_by_caller(const CMutex& m) const;  // MutexImpl::held()
  WaitStatus cond_wait(CCond& c, CMutex& m, const Ticks* deadline);
  void notify(CCond& c, bool all);
  void thread_main(Rec* r, const std::function<void()>& body);
  static ThreadInfo info(const Rec& r);
  [[noreturn]] void misuse(const std::string& what);

  const Options opts_;
  const std::uint64_t serial_;  // tells this backend's registered threads from other backends'
  // m_ guards every field below and every Rec, CMutex and CCond of this backend.
  mutable std::mutex m_;
  std::condition_variable control_cv_;  // the control thread waits here in run()
  std::vector<std::unique_ptr<Rec>> recs_;   // registered threads, by id - 1; never shrinks
  std::vector<std::unique_ptr<Rec>> externals_;  // unregistered threads that touched this backend
  Rec* running_ = nullptr;
  bool free_ = false;
  Ticks now_ = 0;
  std::uint64_t seq_ = 0;
};

}  // namespace lockstep::impl::sync
