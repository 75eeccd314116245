/* kthread(9) as documented for FreeBSD 5 (2004), backed by lockstep's concurrent kernel (impl/),
 * on the C API's default kernel (see <rump/rump.h>: rump_init() must have been called).
 *
 * Kernel threads are real OS threads running func(arg). kthread_exit() never returns: it unwinds the
 * body's stack back to the kernel's thread entry (a C++ exception of an internal type), so C bodies need
 * unwind tables -- the default of GCC and Clang on x86-64 and AArch64 Linux (-funwind-tables elsewhere),
 * and C++ bodies must not swallow it with catch (...) without rethrowing. Returning from func behaves as
 * in FreeBSD 5's fork_exit(): the console gets "Kernel thread "NAME" (pid N) exited prematurely." and
 * the thread exits with code 0. */
#ifndef LOCKSTEP_SYS_KTHREAD_H
#define LOCKSTEP_SYS_KTHREAD_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct proc; /* opaque; stale handles are detected (EINVAL / ESRCH, SPEC §4) */

/* FreeBSD's rfork(2) flag values (<sys/unistd.h>). */
#ifndef RFFDG
#define RFFDG (1 << 2)
#endif
#ifndef RFCFDG
#define RFCFDG (1 << 12)
#endif

#define MAXCOMLEN 19

struct kproc_desc {
  const char *arg0;            /* name of the process */
  void (*func)(void);          /* the body */
  struct proc **global_procpp; /* where to store its handle */
};

int kthread_create(void (*func)(void *), void *arg, struct proc **newpp, int flags, int pages,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void kthread_exit(int ecode) __attribute__((noreturn));
int kthread_resume(struct proc *p);
int kthread_suspend(struct proc *p, int timo);
void kthread_suspend_check(struct proc *p);
void kproc_start(const void *udata); /* udata: const struct kproc_desc * */
void kproc_shutdown(void *arg, int howto); /* arg: struct proc * */

/* ---- Documented extensions (not in FreeBSD 5) ---------------------------------------------------- */

/* SPEC K8: what code that tsleep()s on the handle for kthread_exit()'s wakeup does. 0 when p has exited
 * (at once if it is a zombie already), EWOULDBLOCK after timo > 0 ticks, EINVAL if p is not a kthread
 * or timo < 0, ESRCH if p was reaped. timo = 0 waits without limit. */
int kthread_wait_exit(struct proc *p, int timo);
/* SPEC K9: what init does for a dead child. 0: the zombie leaves the table (nprocs drops, its pid may be
 * reused). EBUSY if p has not exited, ESRCH if already reaped, EINVAL if p is not a kthread. */
int kthread_reap(struct proc *p);
/* The calling kthread's own process (FreeBSD: curproc), NULL on a thread that is not a kthread. */
struct proc *lockstep_curproc(void);
#ifndef curproc
#define curproc (lockstep_curproc())
#endif
/* A handle for the process that has `pid` now (any kind), NULL if none. */
struct proc *lockstep_pfind(pid_t pid);
/* pid of a process handle, -1 if it is not in the table any more. */
pid_t lockstep_proc_pid(struct proc *p);
/* One unit of work by the calling kthread: its progress counter + 1 (SPEC §4 iteration body). */
void lockstep_kthread_progress(void);

#ifdef __cplusplus
}
#endif

#endif
