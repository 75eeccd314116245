// lockstep::impl::Kernel -- one concurrent kernel instance (SPEC §1-§5). Many may coexist in a process.
//
// Every operation is executed on behalf of a host thread H, passed explicitly as a HostContext (it holds
// H's curlwp). The C API (<rump/rump.h>, <rump/rump_syscalls.h>, <sys/kthread.h>) is a thin layer: one
// thread_local HostContext per OS thread over a process-wide default kernel. The checker may create any
// number of HostContexts and act as any of them from threads of its own (one OS thread at a time per
// HostContext).
//
// Conventions of the C++ API:
//  - rump_pub_lwproc_* and kthread_* return 0 or a host errno value, like their C counterparts;
//  - system calls (open, write, ...) return the result (>= 0) or -errno;
//  - a FATAL misuse calls the panic hook; if that returns, the op throws lockstep::impl::Panic (panic.hpp).
//
// Locking (NetBSD lwproc.c style; acquire in this order, never the other way):
//   proctable_lock_ -> Proc::lock (two of them in ascending (pid, serial) order, as ProcLockPair in
//   src/kernel_internal.hpp takes them; the serial orders processes that share a pid, which the fault
//   pid_reuse_zombie allows) -> FdTable::lock -> files_lock_
//   hosts_lock_, waits_lock_, console_lock_, panic_lock_, threads_lock_ are leaves.
// Private `*_locked` members run with the locks their definitions name held, and assert them
// (impl/assert.hpp; on in Debug and sanitizer builds).
// No thread waits on a condition while holding any lock other than the condition's own mutex, so a
// thread *blocked* under the controlled scheduler holds no kernel lock. A thread *preempted* at a
// scheduling point (ControlledBackend::Options::preempt = every_sync_point) may hold some: see
// ControlledBackend::any_stopped_holding_locks().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "impl/faults.hpp"
#include "impl/panic.hpp"
#include "impl/snapshot.hpp"
#include "impl/sync.hpp"

struct lwp;   // the opaque C handles of <rump/rump.h> and <sys/kthread.h>
struct proc;

namespace lockstep::impl {

namespace detail {
struct Proc;
struct Lwp;
struct File;
struct FdTable;
struct Kthread;
}  // namespace detail

class Kernel;

// Receives each console message log entry as it is appended (after it is in Kernel::console()).
using ConsoleSink = std::function<void(std::string_view entry)>;

struct KernelConfig {
  int maxproc = 64;
  // SPEC P1's PID_MAX. A checker may scale it down so that the allocator wraps within short runs.
  pid_t pid_max = 30000;
  // nullptr: a real backend (std primitives, steady clock) with `tick` per tick.
  // Pass a sync::ControlledBackend to drive the kernel deterministically.
  std::shared_ptr<sync::Backend> backend;
  std::chrono::nanoseconds tick = std::chrono::milliseconds(10);  // hz = 100
  FaultSet faults;
  PanicHook panic_hook;      // nullptr: default_panic_hook (print, abort)
  ConsoleSink console_sink;  // nullptr: the log is only kept in memory
};

// A host thread H: its curlwp. Owned by whoever acts as H; used by one OS thread at a time.
// Destroying it (the host thread goes away) unbinds its curlwp, which stays in its process.
class HostContext {
 public:
  explicit HostContext(Kernel& k, std::string name = {});
  ~HostContext();
  HostContext(const HostContext&) = delete;
  HostContext& operator=(const HostContext&) = delete;

  HostId id() const { return id_; }
  const std::string& name() const { return name_; }
  Kernel& kernel() const { return k_; }
  bool kernel_thread() const { return kthread_ != nullptr; }

 private:
  friend class Kernel;
  HostContext(Kernel& k, std::string name, detail::Proc* kthread);
  Kernel& k_;
  const HostId id_;
  const std::string name_;
  detail::Proc* const kthread_ = nullptr;  // the kthread this host thread runs, if kernel-owned
  // curlwp (nullptr = IMPLICIT). Written only by the thread acting as this host, always under
  // Kernel::proctable_lock_; that thread reads it without a lock, others (snapshot) under the table lock.
  std::shared_ptr<detail::Lwp> cur_;
};

// What a kthread body needs about itself (see this_kthread()).
struct KthreadSelf {
  Kernel& kernel;
  HostContext& host;  // its kernel-owned host thread
  ::proc* proc;       // its own handle (FreeBSD: curproc)
};

// The calling OS thread's kthread, or nullptr when the caller is not a kthread body.
const KthreadSelf* this_kthread();

class Kernel {
 public:
  explicit Kernel(KernelConfig cfg = {});
  // Only when no host thread is inside a call. Kthreads still RUNNING/PARKED are stopped: a parked one,
  // or one that next calls kthread_suspend_check, unwinds out of its body; bodies blocked in waits of
  // their own (a checker's mailbox) must be released by their owner first. A controlled backend is
  // switched to free running (release_all) so that stopped threads can finish.
  ~Kernel();
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  // ---- SPEC §3: lwps and processes --------------------------------------------------------------
  int rfork(HostContext& h, int flags);                // P1
  int newlwp(HostContext& h, pid_t pid);               // P2
  void switch_lwp(HostContext& h, ::lwp* l);           // L3
  void releaselwp(HostContext& h);                     // L4
  ::lwp* curlwp(HostContext& h);                       // L5
  pid_t getpid(HostContext& h);                        // P6
  pid_t getppid(HostContext& h);
  int open(HostContext& h, std::string_view path, int flags);       // P7 (fd or -errno)
  long write(HostContext& h, int fd, std::size_t n);                 // n or -errno
  int fstat(HostContext& h, int fd, std::uint64_t* size);            // 0 or -errno
  int close(HostContext& h, int fd);                                 // 0 or -errno
  int dup(HostContext& h, int fd);                                   // fd or -errno
  uid_t getuid(HostContext& h);                                      // P8
  int setuid(HostContext& h, uid_t uid);                             // 0 or -errno

  // ---- SPEC §4: kernel threads -------------------------------------------------------------------
  // K1. `body` runs on a new kernel-owned thread; *newp is set before it runs. flags are FreeBSD's.
  int kthread_create(HostContext& h, std::function<void()> body, ::proc** newp, int flags, int pages,
                     std::string_view name);
  // K2. Only from the kthread's own thread (self = this_kthread()->host). Never returns: unwinds the
  // body to the kernel's thread entry. From any other host: FATAL(K2-not-kthread).
  [[noreturn]] void kthread_exit(HostContext& self, int ecode);
  int kthread_suspend(HostContext& h, ::proc* p, int timo);   // K3
  int kthread_resume(HostContext& h, ::proc* p);              // K4
  void kthread_suspend_check(HostContext& self, ::proc* p);   // K5
  // K6: kthread_create(func, NULL, global_procpp, 0, 0, "%s", arg0); failure -> FATAL(K6-panic).
  void kproc_start(HostContext& h, std::function<void()> func, std::string_view arg0, ::proc** global_procpp);
  void kproc_shutdown(HostContext& h, ::proc* p, int howto);  // K7
  int kthread_wait_exit(HostContext& h, ::proc* p, int timo); // K8
  int kthread_reap(HostContext& h, ::proc* p);                // K9
  // One unit of work by the calling kthread (progress + 1). From another host: FATAL(K2-not-kthread).
  void kthread_progress(HostContext& self);

  // ---- handles -----------------------------------------------------------------------------------
  ::proc* proc_handle(pid_t pid);         // the process that has `pid` now, nullptr if none
  pid_t proc_pid(::proc* p);              // -1 if not in the table
  int lwp_lid(::lwp* l);                  // the lid of a live (not released) lwp, -1 otherwise
  ::lwp* never_issued_lwp() const;        // a handle this kernel never issues (for L3-stale tests)
  ::proc* never_issued_proc() const;

  // ---- configuration and introspection -----------------------------------------------------------
  void set_faults(FaultSet f) { faults_.store(f.to_ulong()); }
  FaultSet faults() const { return FaultSet::from_ulong(faults_.load()); }
  bool fault(Fault f) const { return (faults_.load(std::memory_order_relaxed) >> static_cast<unsigned>(f)) & 1u; }
  int maxproc() const { return cfg_.maxproc; }
  sync::Backend& backend() { return *backend_; }
  sync::Ticks now() { return backend_->now(); }
  std::vector<std::string> console() const;
  void console_into(std::vector<std::string>& out) const;  // the same, into out's storage
  std::optional<PanicInfo> panicked() const;
  // Atomic with respect to kernel operations. Under a controlled backend call it when no registered
  // thread is running (e.g. after ControlledBackend::run returned).
  Snapshot snapshot() const;
  // The same into `out`, whose storage (vectors, strings) is reused: a checker observes after every
  // step, and building each snapshot afresh allocated every list and name in it.
  void snapshot_into(Snapshot& out) const;
  // Teardown only: the instance is dying. Every caller blocked in a kernel wait returns (EINTR), a
  // parked kthread unwinds out of its body. Lets an owner get its host threads out of the kernel
  // before it destroys their HostContexts and then the Kernel. Releases a controlled backend first
  // (release_all): a thread stopped inside a critical section must be able to finish it.
  void interrupt_waits();
  // The same, with a controlled backend kept in control: the caller then runs the woken threads to
  // their end itself (run()). Only when no registered thread is stopped holding a sync mutex
  // (ControlledBackend::any_stopped_holding_locks() is false): the locks taken here would wait for it.
  void interrupt_waits_in_control();

 private:
  friend class HostContext;
  using ProcPtr = std::shared_ptr<detail::Proc>;
  using LwpPtr = std::shared_ptr<detail::Lwp>;

  struct ProcHandleEntry {
    ProcKind kind;
    std::string comm;             // kept so that a stale handle can still be named (K7's banner)
    ProcPtr strong;               // kthreads: kept for ever, so REAPED stays answerable (K3/K4/K8/K9)
    std::weak_ptr<detail::Proc> weak;
  };
  struct WaitRec {
    std::uint64_t seq;
    HostId host;
    std::string host_name;
    WaitKind kind;
    pid_t target;
    std::uint64_t target_handle;
    std::optional<sync::Ticks> deadline;
    sync::Ticks since;
  };

  [[noreturn]] void fatal(const char* rule, std::string reason);
  // A scheduling point right before an access to shared state outside the lock that guards it (the
  // rule in DESIGN.md "Scheduling points"); `what` is a string literal naming the access.
  void yield(const char* what) { backend_->yield_point(what); }
  std::vector<ProcPtr> all_kthreads();
  std::uint64_t encode(std::uint64_t serial) const { return (kid_ << 40) | serial; }
  std::uint64_t new_serial() { return next_serial_.fetch_add(1); }
  ::lwp* lwp_handle(const detail::Lwp& l) const;
  ::proc* proc_handle_locked(const ProcPtr& p);
  ProcPtr current_proc(HostContext& h);
  const ProcHandleEntry* handle_entry_locked(::proc* p) const;
  ProcPtr lookup_proc_locked(::proc* p, ProcKind* kind) const;
  pid_t alloc_pid_locked();
  ProcPtr make_proc_locked(pid_t pid, pid_t ppid, ProcKind kind, std::string comm, uid_t uid,
                           std::shared_ptr<detail::FdTable> fdt);
  LwpPtr make_lwp_locked(const ProcPtr& p, HostContext* bind_to);
  void free_proc_locked(const ProcPtr& p);
  void reparent_children_locked(pid_t pid);
  std::shared_ptr<detail::FdTable> new_fdtable();
  std::shared_ptr<detail::FdTable> copy_fdtable(detail::FdTable& from);
  void drop_fdtable(detail::FdTable& t);
  std::shared_ptr<detail::File> file_locked(std::string_view path, bool create);
  void console_append(std::string line);
  // `since`: the clock reading the deadline was computed from (so deadline - since is the timeout as
  // armed, which lockstep_sut_state reports), or the wait's start when it has none.
  std::uint64_t wait_begin(HostContext& h, WaitKind kind, const detail::Proc& target,
                           std::optional<sync::Ticks> deadline, sync::Ticks since);
  void wait_end(std::uint64_t seq);
  // The waits of `kind` on `target` that a wake-up satisfies leave the list at the wake-up, as
  // wakeup(9) takes its sleepers off the sleep queue, not when each sleeper next runs: a snapshot
  // in between (real threads) shows them no longer blocked, which is how §7 counts them.
  void wake_waits(WaitKind kind, const detail::Proc& target);
  void register_host(HostContext& h);
  void unregister_host(HostContext& h);
  HostId next_host_id() { return next_host_.fetch_add(1); }
  void kthread_main(ProcPtr p);
  detail::Proc& self_kthread(HostContext& self, const char* op);
  int kthread_target(::proc* p, ProcPtr* out);
  void snap_proc_locked(const detail::Proc& p, ProcSnapshot& out) const;

  const KernelConfig cfg_;
  const std::shared_ptr<sync::Backend> backend_;  // declared first among sync users: destroyed last
  const std::uint64_t kid_;                        // instance id, the top bits of every handle
  std::atomic<unsigned long> faults_;
  std::atomic<std::uint64_t> next_serial_{1};
  std::atomic<std::uint64_t> next_id_{1};          // fd table and open description identities
  std::atomic<HostId> next_host_{1};
  std::atomic<bool> dying_{false};

  // proctable_lock_ guards: procs_, next_pid_, nprocs_, lwps_, proc_handles_, reaped_, and the ppid of
  // every process (reparenting touches many processes at once).
  mutable sync::Mutex proctable_lock_;
  std::map<pid_t, ProcPtr> procs_;
  pid_t next_pid_ = 2;
  int nprocs_ = 0;
  std::unordered_map<std::uint64_t, LwpPtr> lwps_;                 // live lwps by serial (L3 lookups)
  std::unordered_map<std::uint64_t, ProcHandleEntry> proc_handles_;  // every proc handle issued
  std::vector<ProcPtr> reaped_;
  ProcPtr proc0_, proc1_;

  // files_lock_ guards files_ (the flat namespace: path -> file; sizes are atomics in File).
  mutable sync::Mutex files_lock_;
  std::map<std::string, std::shared_ptr<detail::File>, std::less<>> files_;

  mutable sync::Mutex hosts_lock_;   // guards hosts_
  std::vector<HostContext*> hosts_;
  mutable sync::Mutex waits_lock_;   // guards waits_, next_wait_
  std::list<WaitRec> waits_;
  std::uint64_t next_wait_ = 1;
  mutable sync::Mutex console_lock_; // guards console_ and the order of console_sink calls
  std::vector<std::string> console_;
  mutable sync::Mutex panic_lock_;   // guards panic_
  std::optional<PanicInfo> panic_;
  sync::Mutex threads_lock_;         // guards every Kthread::thread
  void join_kthread(detail::Proc& p);
};

}  // namespace lockstep::impl
