// Kernel instance lifecycle, handles, pid allocation, fd tables, files, console, waits, panic.
#include <algorithm>
#include <atomic>

#include "kernel_internal.hpp"

namespace lockstep::impl {
namespace {
std::atomic<std::uint64_t> g_next_kernel_id{1};
}  // namespace

const char* to_string(ProcKind k) {
  switch (k) {
    case ProcKind::kernel: return "kernel";
    case ProcKind::init: return "init";
    case ProcKind::user: return "user";
    case ProcKind::kthread: return "kthread";
  }
  return "?";
}

const char* to_string(KthreadState s) {
  switch (s) {
    case KthreadState::running: return "RUNNING";
    case KthreadState::parked: return "PARKED";
    case KthreadState::zombie: return "ZOMBIE";
    case KthreadState::reaped: return "REAPED";
  }
  return "?";
}

const char* to_string(WaitKind k) {
  switch (k) {
    case WaitKind::suspend: return "suspend";
    case WaitKind::wait_exit: return "wait_exit";
    case WaitKind::park: return "park";
  }
  return "?";
}

// ---- HostContext ------------------------------------------------------------------------------------

HostContext::HostContext(Kernel& k, std::string name) : HostContext(k, std::move(name), nullptr) {}

HostContext::HostContext(Kernel& k, std::string name, detail::Proc* kthread)
    : k_(k), id_(k.next_host_id()), name_(name.empty() ? "host" + std::to_string(id_) : std::move(name)),
      kthread_(kthread) {
  k_.register_host(*this);
}

HostContext::~HostContext() {
  {
    // The host thread goes away: its curlwp stays in its process, unbound (no longer running).
    std::unique_lock t(k_.proctable_lock_);
    if (cur_) {
      std::unique_lock l(cur_->proc->lock);
      if (cur_->bound_to == id_) cur_->bound_to = 0;
    }
    cur_.reset();
  }
  k_.unregister_host(*this);
}

void Kernel::register_host(HostContext& h) {
  std::unique_lock l(hosts_lock_);
  hosts_.push_back(&h);
}

void Kernel::unregister_host(HostContext& h) {
  std::unique_lock l(hosts_lock_);
  hosts_.erase(std::remove(hosts_.begin(), hosts_.end(), &h), hosts_.end());
}

// ---- lifecycle --------------------------------------------------------------------------------------

Kernel::Kernel(KernelConfig cfg)
    : cfg_(std::move(cfg)),
      backend_(cfg_.backend ? cfg_.backend : sync::make_real_backend(cfg_.tick)),
      kid_(g_next_kernel_id.fetch_add(1)),
      faults_(cfg_.faults.to_ulong()),
      proctable_lock_(*backend_, "proctable_lock"),
      files_lock_(*backend_, "files_lock"),
      hosts_lock_(*backend_, "hosts_lock"),
      waits_lock_(*backend_, "waits_lock"),
      console_lock_(*backend_, "console_lock"),
      panic_lock_(*backend_, "panic_lock"),
      threads_lock_(*backend_, "threads_lock") {
  // SPEC §1 initial state.
  std::unique_lock t(proctable_lock_);
  proc0_ = make_proc_locked(0, 0, ProcKind::kernel, "swapper", 0, new_fdtable());
  make_lwp_locked(proc0_, nullptr);  // lwp0: never bound to a host thread

  auto fdt1 = new_fdtable();
  std::shared_ptr<detail::File> console;
  {
    std::unique_lock f(files_lock_);
    console = file_locked("/dev/console", true);
  }
  auto desc = std::make_shared<detail::OpenFile>(next_id_.fetch_add(1), console);
  for (int fd = 0; fd <= 2; ++fd) fdt1->fds.emplace(fd, desc);
  proc1_ = make_proc_locked(1, 0, ProcKind::init, "", 0, std::move(fdt1));
}

std::vector<Kernel::ProcPtr> Kernel::all_kthreads() {
  std::vector<ProcPtr> kthreads;
  std::unique_lock t(proctable_lock_);
  for (auto& [serial, e] : proc_handles_)
    if (e.strong && e.strong->kt) kthreads.push_back(e.strong);
  return kthreads;
}

void Kernel::interrupt_waits() {
  // A thread stopped by a controlled scheduler while it holds proctable_lock_ or a process lock would
  // make the locking below throw (or hang): let every thread run on from here.
  dying_.store(true);
  backend_->release_all();
  interrupt_waits_in_control();
}

void Kernel::interrupt_waits_in_control() {
  dying_.store(true);
  const std::vector<ProcPtr> kthreads = all_kthreads();
  // Wake every kernel wait of a kthread: a parked thread unwinds out of its body (KernelShutdown).
  for (auto& p : kthreads) {
    std::unique_lock l(p->lock);
    p->kt->park_cv.notify_all();
    p->kt->ack_cv.notify_all();
    p->kt->exit_cv.notify_all();
  }
}

Kernel::~Kernel() {
  interrupt_waits();  // also releases a controlled backend: stopped threads run to their end
  const std::vector<ProcPtr> kthreads = all_kthreads();
  for (auto& p : kthreads) join_kthread(*p);
  for (auto& p : kthreads) p->kt->host.reset();  // unregisters the kthreads' host contexts
  // Break the Proc <-> Lwp reference cycles.
  std::unique_lock t(proctable_lock_);
  for (auto& [pid, p] : procs_) p->lwps.clear();
  for (auto& p : kthreads) p->lwps.clear();
  // Also processes no longer in procs_ whose lwps live on (FAULT fork_pid_gap displaces one).
  for (auto& [serial, l] : lwps_) l->proc->lwps.clear();
  lwps_.clear();
}

[[noreturn]] void Kernel::fatal(const char* rule, std::string reason) {
  PanicInfo info{rule, std::move(reason)};
  {
    std::unique_lock l(panic_lock_);
    if (!panic_) panic_ = info;
  }
  if (cfg_.panic_hook)
    cfg_.panic_hook(info);
  else
    default_panic_hook(info);
  throw Panic(std::move(info));
}

std::optional<PanicInfo> Kernel::panicked() const {
  std::unique_lock l(panic_lock_);
  return panic_;
}

// ---- handles ----------------------------------------------------------------------------------------

::lwp* Kernel::lwp_handle(const detail::Lwp& l) const {
  return reinterpret_cast<::lwp*>(static_cast<std::uintptr_t>(encode(l.serial)));
}

::lwp* Kernel::never_issued_lwp() const {
  return reinterpret_cast<::lwp*>(static_cast<std::uintptr_t>(encode((std::uint64_t{1} << 40) - 1)));
}

::proc* Kernel::never_issued_proc() const {
  return reinterpret_cast<::proc*>(static_cast<std::uintptr_t>(encode((std::uint64_t{1} << 40) - 2)));
}

// Caller holds proctable_lock_ (proc_handles_).
::proc* Kernel::proc_handle_locked(const ProcPtr& p) {
  LOCKSTEP_ASSERT_HELD(proctable_lock_);
  auto [it, fresh] = proc_handles_.try_emplace(p->serial);
  if (fresh) {
    it->second.kind = p->kind;
    it->second.comm = p->comm;
    if (p->kind == ProcKind::kthread)
      it->second.strong = p;  // REAPED must stay answerable for ever (K3, K4, K8, K9)
    else
      it->second.weak = p;
  }
  return reinterpret_cast<::proc*>(static_cast<std::uintptr_t>(encode(p->serial)));
}

::proc* Kernel::proc_handle(pid_t pid) {
  std::unique_lock t(proctable_lock_);
  auto it = procs_.find(pid);
  if (it == procs_.end()) return nullptr;
  return proc_handle_locked(it->second);
}

// Caller holds proctable_lock_ (proc_handles_); the entry stays valid while it does.
const Kernel::ProcHandleEntry* Kernel::handle_entry_locked(::proc* p) const {
  LOCKSTEP_ASSERT_HELD(proctable_lock_);
  const auto v = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p));
  if (p == nullptr || (v >> 40) != kid_) return nullptr;
  auto it = proc_handles_.find(v & ((std::uint64_t{1} << 40) - 1));
  return it == proc_handles_.end() ? nullptr : &it->second;
}

// Caller holds proctable_lock_ (proc_handles_).
Kernel::ProcPtr Kernel::lookup_proc_locked(::proc* p, ProcKind* kind) const {
  LOCKSTEP_ASSERT_HELD(proctable_lock_);
  const ProcHandleEntry* e = handle_entry_locked(p);
  if (e == nullptr) return nullptr;
  if (kind) *kind = e->kind;
  return e->strong ? e->strong : e->weak.lock();
}

pid_t Kernel::proc_pid(::proc* p) {
  std::unique_lock t(proctable_lock_);
  ProcPtr pp = lookup_proc_locked(p, nullptr);
  return pp && pp->in_table ? pp->pid : -1;
}

int Kernel::lwp_lid(::lwp* l) {
  const auto v = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(l));
  std::unique_lock t(proctable_lock_);
  auto it = (v >> 40) == kid_ ? lwps_.find(v & ((std::uint64_t{1} << 40) - 1)) : lwps_.end();
  return it == lwps_.end() ? -1 : it->second->lid;
}

// ---- processes and lwps -----------------------------------------------------------------------------

// SPEC P1's reference allocator: increasing pids from 2, skipping pids in the table, wrapping from
// PID_MAX to 2. Returns -1 when every pid is taken. Caller holds proctable_lock_ (next_pid_, procs_).
pid_t Kernel::alloc_pid_locked() {
  LOCKSTEP_ASSERT_HELD(proctable_lock_);
  const pid_t pid_max = std::max<pid_t>(2, cfg_.pid_max);
  for (pid_t tries = 0; tries < pid_max - 1; ++tries) {
    const pid_t candidate = next_pid_;
    next_pid_ = next_pid_ >= pid_max ? 2 : next_pid_ + 1;
    auto it = procs_.find(candidate);
    if (it == procs_.end()) return candidate;
    // FAULT pid_reuse_zombie (breaks R5, P1): the zombie's pid was handed back to the allocator at
    // kthread_exit, so it counts as free although the zombie is still in the table.
    if (it->second->pid_forgotten && fault(Fault::pid_reuse_zombie)) return candidate;
  }
  return -1;
}

// Caller holds proctable_lock_ (procs_, nprocs_, ppid). The new process's own fields need no lock
// here: nobody else can reach it before the caller releases proctable_lock_.
Kernel::ProcPtr Kernel::make_proc_locked(pid_t pid, pid_t ppid, ProcKind kind, std::string comm, uid_t uid,
                                         std::shared_ptr<detail::FdTable> fdt) {
  LOCKSTEP_ASSERT_HELD(proctable_lock_);
  auto p = std::make_shared<detail::Proc>(*backend_, pid, kind, new_serial(), std::move(comm), std::move(fdt));
  p->ppid = ppid;
  p->uid = uid;
  // With pid_reuse_zombie a zombie may hold `pid`: it silently drops out of the map (but not nprocs).
  procs_.insert_or_assign(pid, p);
  ++nprocs_;
  return p;
}

// Caller holds proctable_lock_ and p->lock (or p is not yet visible to anyone else).
//
// p->lock is asserted only as far as it is always true. The callers that skip it (the constructor,
// rfork, kthread_create) give p its first lwp in the very proctable_lock_ critical section that
// created it: until then p is reachable only through procs_, so holding proctable_lock_ is enough.
// "Not yet visible" is not recorded anywhere, so the exemption checked is the weaker "p has never had
// an lwp" (next_lid == 1, read unlocked only when p->lock is not held, i.e. only for such a fresh p).
// It also lets through process 1 before its first newlwp -- but newlwp holds p->lock anyway.
Kernel::LwpPtr Kernel::make_lwp_locked(const ProcPtr& p, HostContext* bind_to) {
  LOCKSTEP_ASSERT_HELD(proctable_lock_);
  LOCKSTEP_ASSERT_HELD_OR(p->lock, p->next_lid == 1);
  auto l = std::make_shared<detail::Lwp>(p, p->next_lid++, new_serial());
  if (bind_to) l->bound_to = bind_to->id();
  p->lwps.push_back(l);
  lwps_.emplace(l->serial, l);
  return l;
}

Kernel::ProcPtr Kernel::current_proc(HostContext& h) { return h.cur_ ? h.cur_->proc : proc1_; }

// Takes the process out of the table (R1: in the same step as its last lwp; K9: at reap).
// Caller holds proctable_lock_ (procs_, in_table, nprocs_, every ppid); it may or may not hold p->lock
// (neither caller does: p's lwp and kthread fields are not touched here).
void Kernel::free_proc_locked(const ProcPtr& p) {
  LOCKSTEP_ASSERT_HELD(proctable_lock_);
  auto it = procs_.find(p->pid);
  if (it != procs_.end() && it->second == p) procs_.erase(it);
  p->in_table = false;
  // FAULT nprocs_not_decremented (breaks R6): the counter keeps counting the freed process.
  if (!fault(Fault::nprocs_not_decremented)) --nprocs_;
  // FAULT orphans_keep_ppid (breaks L4/R6): children keep pointing at the dead parent.
  // (FAULT reparent_late: releaselwp reparents them later, in a critical section of its own.)
  if (!fault(Fault::orphans_keep_ppid) && !fault(Fault::reparent_late)) reparent_children_locked(p->pid);
  drop_fdtable(*p->fdt);
}

// The children of `pid` get ppid 1 (init). Caller holds proctable_lock_ (every ppid).
void Kernel::reparent_children_locked(pid_t pid) {
  LOCKSTEP_ASSERT_HELD(proctable_lock_);
  for (auto& [cpid, q] : procs_)
    if (q->ppid == pid) q->ppid = 1;
}

// ---- fd tables and files ----------------------------------------------------------------------------

std::shared_ptr<detail::FdTable> Kernel::new_fdtable() {
  return std::make_shared<detail::FdTable>(*backend_, next_id_.fetch_add(1));
}

std::shared_ptr<detail::FdTable> Kernel::copy_fdtable(detail::FdTable& from) {
  auto t = new_fdtable();
  std::unique_lock l(from.lock);
  t->fds = from.fds;  // same fds naming the same open descriptions (RFFDG)
  return t;
}

void Kernel::drop_fdtable(detail::FdTable& t) {
  if (t.refs.fetch_sub(1) == 1) {  // the last sharer is gone: close everything (R3)
    std::unique_lock l(t.lock);
    t.fds.clear();
  }
}

// Caller holds files_lock_ (files_).
std::shared_ptr<detail::File> Kernel::file_locked(std::string_view path, bool create) {
  LOCKSTEP_ASSERT_HELD(files_lock_);
  auto it = files_.find(path);
  if (it != files_.end()) return it->second;
  if (!create) return nullptr;
  auto f = std::make_shared<detail::File>(std::string(path));
  files_.emplace(f->path, f);
  return f;
}

// ---- console, waits ---------------------------------------------------------------------------------

void Kernel::console_append(std::string line) {
  std::unique_lock l(console_lock_);
  console_.push_back(line);
  if (cfg_.console_sink) cfg_.console_sink(console_.back());
}

std::vector<std::string> Kernel::console() const {
  std::unique_lock l(console_lock_);
  return console_;
}

void Kernel::console_into(std::vector<std::string>& out) const {
  std::unique_lock l(console_lock_);
  out.resize(console_.size());
  for (std::size_t i = 0; i < console_.size(); ++i) out[i].assign(console_[i]);
}

std::uint64_t Kernel::wait_begin(HostContext& h, WaitKind kind, const detail::Proc& target,
                                 std::optional<sync::Ticks> deadline, sync::Ticks since) {
  std::unique_lock l(waits_lock_);
  const auto seq = next_wait_++;
  waits_.push_back(WaitRec{seq, h.id(), h.name(), kind, target.pid, encode(target.serial), deadline, since});
  return seq;
}

void Kernel::wait_end(std::uint64_t seq) {
  std::unique_lock l(waits_lock_);
  waits_.remove_if([&](const WaitRec& w) { return w.seq == seq; });
}

void Kernel::wake_waits(WaitKind kind, const detail::Proc& target) {
  LOCKSTEP_ASSERT_HELD(target.lock);  // the wake-up's critical section: its sleepers cannot run yet
  const std::uint64_t handle = encode(target.serial);
  std::unique_lock l(waits_lock_);
  waits_.remove_if([&](const WaitRec& w) { return w.kind == kind && w.target_handle == handle; });
}

}  // namespace lockstep::impl
