// Kernel-private data structures. Each field says which lock guards it. Every `*_locked` function
// asserts the locks its caller holds (impl/assert.hpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "impl/assert.hpp"
#include "impl/kernel.hpp"

namespace lockstep::impl {

// FreeBSD rfork(2) flag values (kthread_create's flags).
inline constexpr int kRFFDG = 1 << 2;
inline constexpr int kRFCFDG = 1 << 12;
inline constexpr int kNdfile = 20;  // NetBSD's NDFILE: the fds a table's first array holds
// rump's own rfork flags.
inline constexpr int kRumpRFFDG = 0x01;
inline constexpr int kRumpRFCFDG = 0x02;
// NetBSD's O_CREAT.
inline constexpr int kRumpOCreat = 0x0200;
inline constexpr std::size_t kMaxComLen = 19;
inline constexpr int kHz = 100;

namespace detail {

struct File {
  explicit File(std::string p) : path(std::move(p)) {}
  const std::string path;
  std::atomic<std::uint64_t> size{0};  // grows by write(); an atomic, so writers need no lock
};

// An open file description: what fds name (several fds after dup or a copied table).
struct OpenFile {
  OpenFile(std::uint64_t i, std::shared_ptr<File> f) : id(i), file(std::move(f)) {}
  const std::uint64_t id;
  const std::shared_ptr<File> file;
};

struct FdTable {
  FdTable(sync::Backend& b, std::uint64_t i) : lock(b, "fdtable" + std::to_string(i) + ".lock"), id(i) {}
  sync::Mutex lock;                                 // guards fds
  std::map<int, std::shared_ptr<OpenFile>> fds;
  std::atomic<int> refs{1};                         // processes referring to this table
  const std::uint64_t id;

  int lowest_free_locked() const {
    LOCKSTEP_ASSERT_HELD(lock);
    int fd = 0;
    for (const auto& [k, v] : fds) {
      if (k != fd) break;
      ++fd;
    }
    return fd;
  }
};

struct Lwp {
  Lwp(std::shared_ptr<Proc> p, int l, std::uint64_t s) : proc(std::move(p)), lid(l), serial(s) {}
  const std::shared_ptr<Proc> proc;  // the owning process (immutable); Proc::lwps points back while live
  const int lid;
  const std::uint64_t serial;        // handle value (with the kernel id on top); never reused
  HostId bound_to = 0;               // guarded by proc->lock: the host it is curlwp of, 0 = none
  bool released = false;             // guarded by proc->lock
};

struct Kthread {
  explicit Kthread(sync::Backend& b, pid_t pid)
      : park_cv(b, "kthread" + std::to_string(pid) + ".park"),
        ack_cv(b, "kthread" + std::to_string(pid) + ".suspend_ack"),
        exit_cv(b, "kthread" + std::to_string(pid) + ".exit") {}
  // All of the following are guarded by the owning Proc::lock unless noted.
  KthreadState state = KthreadState::running;
  // Written under Proc::lock. An atomic only because the injected fault suspend_check_lost_wakeup
  // reads it without the lock (the bug it models); the correct code always reads it locked.
  std::atomic<bool> suspend_requested{false};
  std::uint64_t acks = 0;               // acknowledgements so far (K5); suspenders wait for it to grow
  std::optional<int> exit_code;
  std::atomic<std::uint64_t> progress{0};  // written only by the kthread itself
  sync::CondVar park_cv;  // the parked thread sleeps here until resumed (with Proc::lock)
  sync::CondVar ack_cv;   // suspenders sleep here until an acknowledgement (with Proc::lock)
  sync::CondVar exit_cv;  // K8 waiters sleep here until the exit (with Proc::lock)
  std::function<void()> body;             // immutable after creation
  std::unique_ptr<HostContext> host;      // its kernel-owned host thread (immutable pointer)
  ::proc* handle = nullptr;               // immutable after creation
  std::unique_ptr<sync::ThreadImpl> thread;  // guarded by Kernel::threads_lock_; joined at reap or teardown
};

struct Proc {
  Proc(sync::Backend& b, pid_t p, ProcKind k, std::uint64_t s, std::string c,
       std::shared_ptr<FdTable> t)
      : pid(p), kind(k), serial(s), comm(std::move(c)), fdt(std::move(t)),
        lock(b, "proc" + std::to_string(p) + ".lock") {}
  const pid_t pid;
  const ProcKind kind;
  const std::uint64_t serial;         // struct proc * handle value (with the kernel id on top)
  const std::string comm;
  const std::shared_ptr<FdTable> fdt; // set at creation (shared, copied or fresh), never replaced
  pid_t ppid = 0;                     // guarded by Kernel::proctable_lock_
  bool in_table = true;               // guarded by Kernel::proctable_lock_
  bool pid_forgotten = false;         // guarded by Kernel::proctable_lock_ (fault pid_reuse_zombie)

  sync::Mutex lock;                   // guards the fields below and every Lwp::bound_to/released
  std::vector<std::shared_ptr<Lwp>> lwps;  // live lwps, ascending lid
  std::vector<int> released_lids;     // lids of released lwps, in release order
  int next_lid = 1;
  uid_t uid = 0;
  std::unique_ptr<Kthread> kt;        // kthreads only (pointer immutable after creation)
};

// Locks the locks of two processes (or one, if they are the same or one is null) in the global order:
// ascending (pid, serial).
class ProcLockPair {
 public:
  ProcLockPair(Proc* a, Proc* b) {
    if (a == b) b = nullptr;
    if (a == nullptr) std::swap(a, b);
    if (a != nullptr && b != nullptr &&
        std::pair(b->pid, b->serial) < std::pair(a->pid, a->serial))
      std::swap(a, b);
    if (a != nullptr) first_ = std::unique_lock<sync::Mutex>(a->lock);
    if (b != nullptr) second_ = std::unique_lock<sync::Mutex>(b->lock);
  }

 private:
  std::unique_lock<sync::Mutex> first_, second_;
};

}  // namespace detail
}  // namespace lockstep::impl
