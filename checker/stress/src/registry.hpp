// What the threads of a stress run share about the objects they create: the symbol counters (a
// history names every created lwp and process by a symbol, lin_history.hpp) and the kthreads, whose
// handles any host may pass to kthread_suspend / resume / shutdown / wait and the reaper reaps.
// Entries are published once and never move; readers take a count with acquire.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "model/ids.hpp"

struct proc;

namespace lockstep::checker::stress {

struct KthreadEntry {
  ::proc* handle = nullptr;
  std::uint32_t sym = 0;     // its proc symbol (also its actor index)
  model::Pid pid = 0;
  std::atomic<bool> exiting{false};  // its body chose to exit (the reaper's hint)
  std::atomic<bool> reaped{false};   // the reaper reaped it (it stops trying)
  // A host about to wait for its exit without a timeout asked it to exit (host_chooser.hpp, "The
  // focus"): the body exits at its next turn (when no hold keeps it), so the exit meets a waiter.
  std::atomic<bool> exit_asked{false};

  // A host about to wait for the kthread's acknowledgement without a timeout (or with K7's long one)
  // holds it: the body does not exit while it is held, since an exit never acknowledges (K2) and
  // the host would wait for ever. False when the body already chose to exit.
  bool hold() {
    std::lock_guard l(m);
    if (exiting.load()) return false;
    ++holds;
    return true;
  }
  void release() {
    std::lock_guard l(m);
    --holds;
  }
  // The body asks before it exits.
  bool try_exit() {
    std::lock_guard l(m);
    if (holds > 0) return false;
    exiting = true;
    return true;
  }

 private:
  std::mutex m;
  int holds = 0;  // guarded by m
};

class Registry {
 public:
  Registry(std::uint32_t first_lwp, std::uint32_t first_proc, std::size_t capacity)
      : next_lwp_(first_lwp), next_proc_(first_proc), slots_(capacity), order_(new KthreadEntry*[capacity]) {
    for (auto& s : slots_) s = std::make_unique<KthreadEntry>();
  }
  std::uint32_t new_lwp_symbol() { return next_lwp_.fetch_add(1, std::memory_order_relaxed); }
  std::uint32_t new_proc_symbol() { return next_proc_.fetch_add(1, std::memory_order_relaxed); }
  std::uint32_t lwp_symbols() const { return next_lwp_.load(); }
  std::uint32_t proc_symbols() const { return next_proc_.load(); }

  // A slot for a kthread about to be created (nullptr when all are used); publish() makes it visible.
  KthreadEntry* reserve() {
    const std::size_t i = reserved_.fetch_add(1);
    return i < slots_.size() ? slots_[i].get() : nullptr;
  }
  void publish(KthreadEntry* e) {
    std::lock_guard l(publish_m_);  // creators publish in any order; readers see a dense prefix
    const std::size_t n = count_.load(std::memory_order_relaxed);
    order_[n] = e;
    count_.store(n + 1, std::memory_order_release);
  }
  std::size_t count() const { return count_.load(std::memory_order_acquire); }
  KthreadEntry& at(std::size_t i) const { return *order_[i]; }  // i < count()
  std::size_t capacity() const { return slots_.size(); }
  std::atomic<int> alive{0};  // kthreads created and not known to exit (bounds kthread_create)

  // Pids that hosts forked lately, so that a host also acts inside another's processes (newlwp):
  // that is where a process's free races with what its other lwps and its children do.
  void publish_pid(model::Pid pid) {
    recent_pids_[recent_next_.fetch_add(1, std::memory_order_relaxed) % recent_pids_.size()].store(pid, std::memory_order_relaxed);
  }
  model::Pid recent_pid(std::uint32_t pick) const { return recent_pids_[pick % recent_pids_.size()].load(std::memory_order_relaxed); }

  // The focus (host_chooser.hpp, "The focus"): one recently forked process that every host leans on
  // for a stretch of kFocusCalls draws, so that calls of different hosts meet in one process, one fd
  // table and one new path at once; and the stretch's number, which names that path. Every draw calls
  // next_draw(); the draw that starts a stretch moves the focus to another recent pid (half the time
  // the newest).
  static constexpr std::uint32_t kFocusCalls = 48;
  struct Focus {
    model::Pid pid = 0;        // 0: none yet (no host has forked)
    std::uint32_t stretch = 0;
  };
  Focus focus() const {
    const std::uint64_t f = focus_.load(std::memory_order_relaxed);
    return Focus{static_cast<model::Pid>(f & 0xffffffffu), static_cast<std::uint32_t>(f >> 32)};
  }
  void next_draw(std::uint32_t pick) {
    if (draws_.fetch_add(1, std::memory_order_relaxed) % kFocusCalls != 0) return;
    const Focus f = focus();
    // Half the time the newest fork (alive, most likely, and a child of a process hosts are in),
    // else any of the recent ones.
    const model::Pid pid = recent_pid(pick % 2 == 0 ? recent_next_.load(std::memory_order_relaxed) - 1 : pick / 2);
    focus_.store((static_cast<std::uint64_t>(f.stretch + 1) << 32) | static_cast<std::uint32_t>(pid == 0 ? f.pid : pid),
                 std::memory_order_relaxed);
  }

 private:
  std::atomic<std::uint32_t> next_lwp_, next_proc_;
  std::vector<std::unique_ptr<KthreadEntry>> slots_;
  std::atomic<std::size_t> reserved_{0};
  std::mutex publish_m_;
  std::unique_ptr<KthreadEntry*[]> order_;  // the published entries, in publication order
  std::array<std::atomic<model::Pid>, 32> recent_pids_{};
  std::atomic<std::uint32_t> recent_next_{0};
  std::atomic<std::uint64_t> focus_{0};  // Focus: stretch << 32 | pid, one word so a reader sees a pair
  std::atomic<std::uint64_t> draws_{0};
 public:
  std::atomic<std::uint64_t> focused_draws{0};  // draws that leaned on the focus (StressStats::focused)
  std::atomic<std::size_t> count_{0};
};

}  // namespace lockstep::checker::stress
