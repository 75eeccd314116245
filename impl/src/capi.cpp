// The C API: a thin layer over one process-wide default kernel (created by rump_init()) and one
// HostContext per OS thread (curlwp is per OS thread, as in rump). A kthread body's OS thread uses its
// kthread's own host context.
//
// The bootstrap below (an atomic pointer published once) is the only threading outside the sync layer:
// it is not kernel logic and never blocks.
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "impl/delay_backend.hpp"
#include "impl/kernel.hpp"
#include "sut_state.hpp"
#include "lockstep/faults.h"
#include "lockstep/sut.h"
#include "rump/rump.h"
#include "rump/rump_syscalls.h"
#include "sys/kthread.h"

using lockstep::impl::FaultSet;
using lockstep::impl::HostContext;
using lockstep::impl::Kernel;
using lockstep::impl::KernelConfig;

namespace {

std::atomic<Kernel*> g_kernel{nullptr};
std::mutex g_init_m;                       // rump_init and lockstep_sut_reset
std::atomic<unsigned> g_generation{0};     // kernels made so far: a thread's context of an older one is stale
std::atomic<bool> g_have_pending_faults{false};
std::atomic<unsigned long> g_pending_faults{0};
thread_local std::unique_ptr<HostContext> tl_host;
thread_local unsigned tl_host_generation = 0;
// OS threads lockstep named as its hosts (lockstep_sut_name_host): their contexts' ids -> index.
std::mutex g_names_m;
std::map<lockstep::impl::HostId, int> g_host_names;  // guarded by g_names_m
thread_local int tl_host_index = -1;                  // this OS thread's name, until its context exists

void remember_name(lockstep::impl::HostId id, int index) {
  std::lock_guard l(g_names_m);
  g_host_names[id] = index;
}

Kernel& kernel() {
  Kernel* k = g_kernel.load(std::memory_order_acquire);
  if (k == nullptr) lockstep::impl::default_panic_hook({"P0-uninit", "rump kernel used before rump_init()"});
  return *k;
}

HostContext& host(Kernel& k) {
  if (const auto* self = lockstep::impl::this_kthread(); self != nullptr && &self->kernel == &k) return self->host;
  if (!tl_host || tl_host_generation != g_generation.load(std::memory_order_acquire)) {
    tl_host = std::make_unique<HostContext>(k, "os-thread");
    tl_host_generation = g_generation.load(std::memory_order_acquire);
    if (tl_host_index >= 0) remember_name(tl_host->id(), tl_host_index);
  }
  return *tl_host;
}

long env_long(const char* name, long dflt) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return dflt;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (*end != '\0' || n <= 0) {
    std::fprintf(stderr, "lockstep: ignoring %s=%s (not a positive integer)\n", name, v);
    return dflt;
  }
  return n;
}

// A probability from the environment in [0, 1) (LOCKSTEP_DELAY_PROB, LOCKSTEP_SPURIOUS_PROB); 0 when unset.
double env_probability(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return 0;
  char* end = nullptr;
  const double p = std::strtod(v, &end);
  if (*end != '\0' || !(p >= 0 && p < 1)) {
    std::fprintf(stderr, "lockstep: ignoring %s=%s (not a probability in [0, 1))\n", name, v);
    return 0;
  }
  return p;
}

// FreeBSD prints "Waiting ... to stop..." and then "stopped\n" / "timed out\n" on the same line.
void stderr_console(std::string_view entry) {
  const bool continued = entry.size() >= 3 && entry.substr(entry.size() - 3) == "...";
  std::fprintf(stderr, "%.*s%s", static_cast<int>(entry.size()), entry.data(), continued ? "" : "\n");
  std::fflush(stderr);
}

void init_default_kernel() {
  KernelConfig cfg;
  cfg.maxproc = static_cast<int>(env_long("LOCKSTEP_MAXPROC", 64));
  cfg.pid_max = static_cast<pid_t>(env_long("LOCKSTEP_PID_MAX", 30000));
  cfg.tick = std::chrono::microseconds(env_long("LOCKSTEP_TICK_US", 10000));
  cfg.console_sink = stderr_console;
  // Delay injection at the sync points, as `lockstep stress` does in process: when the built-in
  // implementation is a plug-in SUT (`lockstep stress --sut`), the only way in is the environment.
  const double delay_p = env_probability("LOCKSTEP_DELAY_PROB"), spurious_p = env_probability("LOCKSTEP_SPURIOUS_PROB");
  if (delay_p > 0 || spurious_p > 0) {
    lockstep::impl::sync::DelayOptions d;
    d.probability = delay_p;
    d.spurious_probability = spurious_p;
    d.seed = static_cast<std::uint64_t>(env_long("LOCKSTEP_DELAY_SEED", 1));
    cfg.backend = std::make_shared<lockstep::impl::sync::DelayBackend>(
        lockstep::impl::sync::make_real_backend(cfg.tick, std::chrono::steady_clock::now()), d);
  }
  if (g_have_pending_faults.load()) {
    cfg.faults = FaultSet::from_ulong(g_pending_faults.load());
  } else if (const char* f = std::getenv("LOCKSTEP_FAULT"); f != nullptr) {
    std::string err;
    auto fs = FaultSet::parse(f, &err);
    if (!fs) {
      std::fprintf(stderr, "lockstep: LOCKSTEP_FAULT: %s (see 'lockstep faults')\n", err.c_str());
      std::exit(2);
    }
    cfg.faults = *fs;
  }
  // Never destroyed: kthreads may still run when the process exits.
  g_kernel.store(new Kernel(std::move(cfg)), std::memory_order_release);
}


}  // namespace

extern "C" {

int rump_init(void) {
  std::lock_guard l(g_init_m);
  if (g_kernel.load(std::memory_order_acquire) == nullptr) init_default_kernel();
  return 0;
}

// The plug-in interface's reset (<lockstep/sut.h>): the kernel is set aside, never destroyed (a
// thread lockstep left idle in a kthread body may still hold its context), so no handle it issued
// can ever name an object of the next one; every thread's context is made anew on its next call.
// maxproc and PID_MAX come from LOCKSTEP_MAXPROC / LOCKSTEP_PID_MAX at rump_init (the config above).
int lockstep_sut_env_limits(void) { return 1; }

int lockstep_sut_reset(void) {
  std::lock_guard l(g_init_m);
  static std::vector<Kernel*> set_aside;
  if (Kernel* k = g_kernel.exchange(nullptr, std::memory_order_acq_rel)) set_aside.push_back(k);
  g_generation.fetch_add(1, std::memory_order_acq_rel);
  std::lock_guard n(g_names_m);
  g_host_names.clear();
  return 0;
}

// The plug-in interface (<lockstep/sut.h>): the tick rump_init() will use (or uses).
long long lockstep_sut_tick_ns(void) {
  return static_cast<long long>(env_long("LOCKSTEP_TICK_US", 10000)) * 1000;
}

// Called before rump_init too (the host threads name themselves when they start): the name waits
// for the thread's context.
void lockstep_sut_name_host(int index) {
  tl_host_index = index;
  if (tl_host) remember_name(tl_host->id(), index);
}

long lockstep_sut_state(char* buf, unsigned long len) {
  Kernel* k = g_kernel.load(std::memory_order_acquire);
  if (k == nullptr) return -1;
  std::map<lockstep::impl::HostId, int> names;
  {
    std::lock_guard l(g_names_m);
    names = g_host_names;
  }
  const std::string s = lockstep::impl::sut_state_json(k->snapshot(), names);
  if (buf != nullptr && len > s.size()) std::memcpy(buf, s.data(), s.size() + 1);
  return static_cast<long>(s.size());
}

int lockstep_set_faults(const char* csv) {
  auto fs = FaultSet::parse(csv ? csv : "");
  if (!fs) return EINVAL;
  if (Kernel* k = g_kernel.load(std::memory_order_acquire)) {
    k->set_faults(*fs);
  } else {
    g_pending_faults.store(fs->to_ulong());
    g_have_pending_faults.store(true);
  }
  return 0;
}

// ---- rump_lwproc(3) --------------------------------------------------------------------------------

int rump_pub_lwproc_rfork(int flags) {
  Kernel& k = kernel();
  return k.rfork(host(k), flags);
}

int rump_pub_lwproc_newlwp(pid_t pid) {
  Kernel& k = kernel();
  return k.newlwp(host(k), pid);
}

void rump_pub_lwproc_switch(struct lwp* l) {
  Kernel& k = kernel();
  k.switch_lwp(host(k), l);
}

void rump_pub_lwproc_releaselwp(void) {
  Kernel& k = kernel();
  k.releaselwp(host(k));
}

struct lwp* rump_pub_lwproc_curlwp(void) {
  Kernel& k = kernel();
  return k.curlwp(host(k));
}

// ---- system calls: -1 and errno ---------------------------------------------------------------------

static long sys_result(long r) {
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}

pid_t rump_sys_getpid(void) {
  Kernel& k = kernel();
  return k.getpid(host(k));
}

pid_t rump_sys_getppid(void) {
  Kernel& k = kernel();
  return k.getppid(host(k));
}

uid_t rump_sys_getuid(void) {
  Kernel& k = kernel();
  return k.getuid(host(k));
}

int rump_sys_setuid(uid_t uid) {
  Kernel& k = kernel();
  return static_cast<int>(sys_result(k.setuid(host(k), uid)));
}

int rump_sys_open(const char* path, int flags, ...) {
  Kernel& k = kernel();
  if (path == nullptr) return static_cast<int>(sys_result(-EFAULT));
  return static_cast<int>(sys_result(k.open(host(k), path, flags)));
}

ssize_t rump_sys_write(int fd, const void* /*buf*/, size_t n) {
  Kernel& k = kernel();
  return static_cast<ssize_t>(sys_result(k.write(host(k), fd, n)));
}

int rump_sys_fstat(int fd, struct stat* sb) {
  Kernel& k = kernel();
  std::uint64_t size = 0;
  const int r = k.fstat(host(k), fd, &size);
  if (r < 0) return static_cast<int>(sys_result(r));
  if (sb != nullptr) {
    std::memset(sb, 0, sizeof *sb);
    sb->st_size = static_cast<off_t>(size);
  }
  return 0;
}

int rump_sys_close(int fd) {
  Kernel& k = kernel();
  return static_cast<int>(sys_result(k.close(host(k), fd)));
}

int rump_sys_dup(int fd) {
  Kernel& k = kernel();
  return static_cast<int>(sys_result(k.dup(host(k), fd)));
}

// ---- kthread(9) -------------------------------------------------------------------------------------

int kthread_create(void (*func)(void*), void* arg, struct proc** newpp, int flags, int pages, const char* fmt, ...) {
  Kernel& k = kernel();
  char name[MAXCOMLEN + 1] = "";
  if (fmt != nullptr) {
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(name, sizeof name, fmt, ap);  // truncated to MAXCOMLEN bytes
    va_end(ap);
  }
  return k.kthread_create(host(k), [func, arg] { func(arg); }, newpp, flags, pages, name);
}

void kthread_exit(int ecode) {
  Kernel& k = kernel();
  k.kthread_exit(host(k), ecode);
}

int kthread_resume(struct proc* p) {
  Kernel& k = kernel();
  return k.kthread_resume(host(k), p);
}

int kthread_suspend(struct proc* p, int timo) {
  Kernel& k = kernel();
  return k.kthread_suspend(host(k), p, timo);
}

void kthread_suspend_check(struct proc* p) {
  Kernel& k = kernel();
  k.kthread_suspend_check(host(k), p);
}

void kproc_start(const void* udata) {
  Kernel& k = kernel();
  const auto* kp = static_cast<const struct kproc_desc*>(udata);
  void (*func)(void) = kp->func;
  k.kproc_start(host(k), [func] { func(); }, kp->arg0 ? kp->arg0 : "", kp->global_procpp);
}

void kproc_shutdown(void* arg, int howto) {
  Kernel& k = kernel();
  k.kproc_shutdown(host(k), static_cast<struct proc*>(arg), howto);
}

int kthread_wait_exit(struct proc* p, int timo) {
  Kernel& k = kernel();
  return k.kthread_wait_exit(host(k), p, timo);
}

int kthread_reap(struct proc* p) {
  Kernel& k = kernel();
  return k.kthread_reap(host(k), p);
}

struct proc* lockstep_curproc(void) {
  const auto* self = lockstep::impl::this_kthread();
  return self ? self->proc : nullptr;
}

struct proc* lockstep_pfind(pid_t pid) { return kernel().proc_handle(pid); }

pid_t lockstep_proc_pid(struct proc* p) { return kernel().proc_pid(p); }

void lockstep_kthread_progress(void) {
  Kernel& k = kernel();
  k.kthread_progress(host(k));
}

}  // extern "C"
