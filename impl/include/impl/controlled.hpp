// The controlled backend: a deterministic scheduler behind the sync layer.
//
// Contract (what the checker relies on):
//  - Threads started with spawn() are *registered*; they get ids 1, 2, ... in spawn order. A registered
//    thread runs only while it holds the scheduler's single token: at most one registered thread runs
//    at a time, and it keeps running until it blocks (contended mutex, condition wait), is preempted at
//    a scheduling point (see Options::preempt), or its body returns.
//  - Scheduling points (Options::preempt):
//      none              only blocking stops a thread;
//      locks             also before each mutex acquire made while holding no sync mutex (the old
//                        Options::preempt_at_locks, which still selects it);
//      every_sync_point  before every mutex acquire (also while holding other mutexes), after every
//                        unlock, before every notify, right after spawning a thread (the new thread is
//                        registered and runnable), and at every Backend::yield_point().
//    A preempted thread is RUNNABLE with reason `preempted`, `point` saying which kind of point and
//    `object` naming the mutex / condition / new thread / yield label. The unlock and re-acquire inside
//    a condition wait are part of the wait: never a separate point. Unregistered threads are never
//    preempted, and nothing is preempted after release_all().
//  - A notify (or an unlock handing a mutex over) makes the woken thread RUNNABLE; it does not run until
//    the control thread calls run(id) for it. wake_spuriously(id) does the same for a thread in a
//    condition wait without any notify: its wait returns WaitStatus::notified (a spurious wakeup, which
//    the real backend may produce at any time; correct callers loop on their predicate).
//  - Virtual time starts at 0 and advances only by tick(n). A timed wait expires only when now reaches
//    its deadline; expired waits become RUNNABLE in deadline order, ties in the order the waits began.
//  - The control thread (any unregistered thread, e.g. the checker's main thread) calls run(id), which
//    returns when that thread blocks, stops at its next scheduling point or exits, or when the real-time
//    watchdog expires (the thread is then still running: a hang becomes a report, never a hang of the
//    checker).
//  - Same sequence of run()/tick()/wake_spuriously() calls -> same interleaving -> same outcome.
//  - Unregistered threads may lock a free mutex and notify at any time (e.g. snapshot(), posting to a
//    mailbox). If they would have to block while a registered thread is stopped, std::logic_error is
//    thrown instead (under control nobody else could ever wake them). Under every_sync_point a thread
//    can be stopped inside a critical section: ThreadInfo::held and any_stopped_holding_locks() tell
//    the checker when a snapshot would fail that way.
//  - release_all() ends control (teardown): from then on every thread runs when it is not blocked,
//    including threads stopped holding locks, so every thread can finish.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "impl/spare_thread.hpp"
#include "impl/sync.hpp"

namespace lockstep::impl::sync {

class ControlledBackend final : public Backend {
 public:
  using ThreadId = std::uint32_t;

  // Where threads may be stopped besides blocking (see the contract above).
  enum class Preempt { none, locks, every_sync_point };

  // Field order is kept for positional initialisers ({preempt_at_locks, watchdog}) in older callers.
  struct Options {
    // Old spelling of preempt = Preempt::locks (true selects at least that).
    bool preempt_at_locks = false;
    // Real-time bound for run().
    std::chrono::milliseconds watchdog{10000};
    Preempt preempt = Preempt::none;
    // Sync objects whose name ends with this are never a scheduling point (they still block):
    // a harness's own plumbing (the checker's mailboxes) whose interleavings explore nothing of
    // the code under test. Empty: every object is one.
    std::string quiet_suffix{};
    // Registered threads as fibers on the OS thread that calls run(): a scheduling decision is a
    // user-space switch (tens of ns) instead of a hand-off between OS threads (tens of µs). The
    // decisions, and so the interleavings and traces, are the same in both modes. After
    // release_all() a runner thread runs the fibers that can run. false: one OS thread per
    // registered thread. DESIGN.md, "Fiber mode".
    bool fibers = true;
    // A fiber's stack, above a guard page (an overflow faults instead of corrupting memory).
    std::size_t fiber_stack = 256 * 1024;
    // The mode in force: the stronger of `preempt` and the old flag.
    Preempt mode() const {
      return preempt_at_locks && preempt == Preempt::none ? Preempt::locks : preempt;
    }
  };

  enum class State { runnable, running, blocked, exited };
  // Why a thread is where it is.
  // `join`: blocked in ThreadImpl::join() until the joined registered thread exits.
  enum class Reason { start, preempted, mutex, cond, woken, timed_out, handed_mutex, exited, spurious, join };
  // The kind of scheduling point a preempted thread stopped at (Reason::preempted); none otherwise.
  enum class Point { none, lock, unlock, notify, spawn, yield };

  struct ThreadInfo {
    ThreadId id = 0;
    std::string name;
    State state = State::runnable;
    Reason reason = Reason::start;
    std::string object;              // name of the mutex / condition it blocks on or was preempted at
    std::optional<Ticks> deadline;   // for a timed condition wait
    std::uint64_t order = 0;         // when it became runnable / began its wait (a global sequence)
    Point point = Point::none;       // with reason == preempted: before a lock, after an unlock, ...
    int held = 0;                    // sync mutexes it owns now (> 0: a snapshot may need one of them)
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
  void yield_point(const char* what) override;

  // --- scheduler API (call from an unregistered thread) ---
  RunResult run(ThreadId id);
  RunResult run(ThreadId id, std::chrono::milliseconds watchdog);
  // Runs runnable threads, earliest-runnable first, until none is runnable or max_runs runs happened.
  // Returns the results in order (a watchdog result ends the loop).
  std::vector<RunResult> run_until_quiescent(std::size_t max_runs = 100000);
  void tick(Ticks n);
  std::vector<ThreadInfo> threads() const;
  // The same into `out`, whose elements' strings are reused: a scheduler asking at every turn
  // allocates nothing once its buffer has grown.
  void threads(std::vector<ThreadInfo>& out) const;
  // The same for the threads that have not exited (a scheduler's per-turn view: exited threads stay
  // listed for good, and a long program's would be copied at every turn for nothing).
  void live_threads(std::vector<ThreadInfo>& out) const;
  std::optional<ThreadInfo> thread(ThreadId id) const;
  std::vector<ThreadId> runnable() const;            // earliest-runnable first
  std::optional<ThreadId> running() const;
  std::optional<Ticks> next_deadline() const;         // earliest pending timed wait
  // Nothing runnable or running, no timed wait pending, and some thread blocked: only a
  // notify from outside could ever make progress.
  bool deadlocked() const;
  bool free_running() const;  // release_all() was called
  // Some threads wait for mutexes in a cycle (each for one the next holds): however the others run,
  // those never go on. The threads of an AB-BA deadlock, and any thread, registered or not, that
  // waits for a mutex one of them holds, are stuck for good. Says the cycle ("H1 waits for m (held
  // by H2), H2 waits for n (held by H1)"), or nothing.
  std::string lock_cycle() const;
  // A spurious wakeup as a scheduling choice: a thread blocked in a condition wait (timed or not) is
  // taken off the condition's queue and made RUNNABLE (reason spurious); its wait returns notified.
  // False (and no change) if the thread is not in a condition wait.
  bool wake_spuriously(ThreadId id);
  // Some registered thread that is not running (runnable, preempted, blocked) owns a sync mutex. A
  // snapshot from the control thread may then throw std::logic_error; a checker takes its snapshots
  // when this is false (a quiescent point).
  bool any_stopped_holding_locks() const;
  // The id of the calling thread if it is registered with this backend.
  std::optional<ThreadId> self() const;

  struct Rec;
  struct CMutex;
  struct CCond;
  struct Watchdog;

 private:
  friend struct CMutex;
  friend struct CCond;
  friend class CThread;
  // The *_locked members run under m_, which `lk` owns (they assert it).
  Rec* current_locked(std::unique_lock<std::mutex>& lk);  // registers an unknown external thread
  Rec* find_current_locked(const std::unique_lock<std::mutex>& lk) const;  // nullptr if unknown
  void stop_and_wait(std::unique_lock<std::mutex>& lk, Rec* r);
  // A scheduling point of kind `p` on `object`: stops r there if the preemption mode says so.
  void preempt_locked(std::unique_lock<std::mutex>& lk, Rec* r, Point p, const std::string& object);
  bool preempts_at(Point p, const Rec& r) const;
  void make_runnable(Rec* w, Reason why);
  bool can_run(const Rec* r) const;
  void acquire_locked(std::unique_lock<std::mutex>& lk, CMutex& m, Rec* r);
  void lock_mutex(CMutex& m);
  void unlock_mutex(CMutex& m);
  void release_locked(std::unique_lock<std::mutex>& lk, CMutex& m, Rec* r);
  bool owned_by_caller(const CMutex& m) const;  // MutexImpl::held()
  WaitStatus cond_wait(CCond& c, CMutex& m, const Ticks* deadline);
  void notify(CCond& c, bool all);
  void thread_main(Rec* r, const std::function<void()>& body);
  // Fiber mode.
  bool fiber_mode() const { return opts_.fibers; }
  void fiber_main(Rec* r, const std::function<void()>& body);
  void finished_locked(Rec* r);  // a registered thread's body returned
  // Resumes fiber r (its state already set) with m_ released; false when a watchdog took over.
  bool resume_fiber(std::unique_lock<std::mutex>& lk, Rec* r);
  void runner_main();  // after release_all(): runs the fibers that can run
  void start_runner_locked(std::unique_lock<std::mutex>& lk);
  Rec* first_runnable_fiber() const;
  // ThreadImpl::join(): a registered caller blocks in the scheduler (it is not running while the
  // joined thread still has to be scheduled to finish), then joins the OS thread.
  void join_thread(Rec* target);
  void wait_in_join_locked(std::unique_lock<std::mutex>& lk, Rec* me, Rec* target);
  static ThreadInfo info(const Rec& r);
  void fill_threads(std::vector<ThreadInfo>& out, bool live_only) const;
  [[noreturn]] void misuse(const std::string& what);

  const Options opts_;
  const Preempt mode_;          // opts_.mode()
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
  std::condition_variable drive_cv_;      // fiber mode after release_all(): a fiber became runnable
  SpareThread runner_;                    // fiber mode after release_all(): runs the runnable fibers
  bool runner_idle_ = true, runner_stop_ = false;
  std::shared_ptr<Watchdog> watchdog_;    // fiber mode, started by the first run()
  bool taken_over_ = false;               // a watchdog took the control context over: fibers are left alone
};

}  // namespace lockstep::impl::sync
