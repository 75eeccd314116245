/* minimal_sut.c -- the smallest system under test (SUT) for `lockstep run --sut ./libminimal_sut.so`:
 * rump_lwproc(3) as SPEC.md §3 defines it (P1 rfork, P2 newlwp, L3 switch, L4 releaselwp, L5 curlwp)
 * and the optional P6 getpid/getppid. lockstep finds calls by name (dlsym): the six required ones must
 * be exported, each optional one enables the operations that use it. Copy it, put your kernel behind it.
 * Left out on purpose: kthreads (so newlwp never says EBUSY), fd tables (no rump_sys_open, but rfork
 * still validates its flags), comm and nprocs (nothing exported here observes them), and
 * lockstep_sut_tick_ns() of <lockstep/sut.h> (nothing here waits on a clock).
 * Locking: ONE mutex around every call makes each call atomic, which is all the linearizability of
 * SPEC §8 asks. Finer locking is where real implementations go wrong, and what lockstep is there to find. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <rump/rump.h>          /* our prototypes: the compiler checks the definitions against them */
#include <rump/rump_syscalls.h> /* declares more rump_sys_* than we define; those stay absent */

/* Built with -fvisibility=hidden: only SUT_API names are exported, never a helper of a bigger SUT. */
#define SUT_API __attribute__((visibility("default")))
#define PID_MAX 30000 /* SPEC §3 P1 */

/* lwps are never freed, only marked released and kept on the `issued` list. free() would let a new
 * lwp reuse the address, and a stale switch to it would succeed instead of being L3-stale. */
struct lwp {
  struct lwp *next_issued; /* every lwp ever created, newest first */
  pid_t pid;               /* its process (meaningful until released) */
  int lid;                 /* per process, from 1, never reused; not observable through this API */
  bool bound;              /* curlwp of some host thread: L3 does not care which one */
  bool released;
};

struct sut_proc {
  bool in_table;
  pid_t ppid;
  int next_lid;
  int live_lwps; /* lwps not released: a user process goes when this drops to 0 (R1) */
};

static pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER; /* static: usable before rump_init */
static bool initialized;
static struct sut_proc procs[PID_MAX + 1]; /* indexed by pid: trivial lookup, fixed memory */
static pid_t next_pid = 2;
static struct lwp lwp0; /* process 0's own lwp: bound forever, never handed out */
static struct lwp *issued;
static _Thread_local struct lwp *curlwp; /* per OS thread, as in rump; NULL means IMPLICIT */

/* FATAL (SPEC §2): lockstep reads the rule id from this line and expects the process to die. */
static _Noreturn void fatal(const char *rule, const char *why) {
  fprintf(stderr, "panic: %s: %s\n", rule, why);
  fflush(stderr); /* in case the host made stderr buffered */
  abort();
}

/* Every call runs between enter() and leave(); P0 is checked under the lock, after any rump_init(). */
static void enter(void) {
  pthread_mutex_lock(&big_lock);
  if (!initialized) fatal("P0-uninit", "rump kernel used before rump_init()");
}
static void leave(void) { pthread_mutex_unlock(&big_lock); }

static pid_t current_pid(void) { return curlwp ? curlwp->pid : 1; } /* IMPLICIT is pid 1 (§1) */

/* P1/P2: a new lwp of `pid` becomes the caller's curlwp; the old one is switched away from (L3). */
static void switch_to_new_lwp(pid_t pid) {
  struct lwp *l = calloc(1, sizeof *l);
  if (l == NULL) abort(); /* not a SPEC outcome: die without a rule id rather than invent an errno */
  *l = (struct lwp){.next_issued = issued, .pid = pid, .lid = procs[pid].next_lid++, .bound = true};
  issued = l;
  procs[pid].live_lwps++;
  if (curlwp) curlwp->bound = false;
  curlwp = l;
}

/* The reference allocator of P1: increasing from 2, skipping pids in use, wrapping PID_MAX -> 2.
 * Any free pid conforms (lockstep binds the one it gets); this one keeps traces like the reference's. */
static pid_t alloc_pid(void) {
  for (int tries = 0; tries < PID_MAX - 1; tries++) {
    pid_t pid = next_pid;
    next_pid = next_pid == PID_MAX ? 2 : next_pid + 1;
    if (!procs[pid].in_table) return pid;
  }
  return -1;
}

SUT_API int rump_init(void) {
  pthread_mutex_lock(&big_lock);
  if (!initialized) { /* idempotent */
    procs[0] = (struct sut_proc){.in_table = true, .next_lid = 2, .live_lwps = 1}; /* swapper */
    procs[1] = (struct sut_proc){.in_table = true, .next_lid = 1}; /* init: no lwps */
    lwp0 = (struct lwp){.pid = 0, .lid = 1, .bound = true}; /* a switch to it is L3-running */
    issued = &lwp0;
    initialized = true;
  }
  pthread_mutex_unlock(&big_lock);
  return 0;
}

SUT_API int rump_pub_lwproc_rfork(int flags) {
  int err = 0;
  pid_t pid;
  enter();
  if (flags != RUMP_RFFD_SHARE && flags != RUMP_RFFDG && flags != RUMP_RFCFDG) {
    err = EINVAL; /* before alloc_pid(): an invalid call changes nothing, not even the pid cursor */
  } else if ((pid = alloc_pid()) < 0) {
    err = EAGAIN; /* every pid in use: SPEC has no rule for it; the reference says EAGAIN */
  } else {
    procs[pid] = (struct sut_proc){.in_table = true, .ppid = current_pid(), .next_lid = 1};
    switch_to_new_lwp(pid); /* after current_pid() above: the parent is the *old* current process */
  }
  leave();
  return err;
}

SUT_API int rump_pub_lwproc_newlwp(pid_t pid) {
  int err = 0;
  enter();
  if (pid < 0 || pid > PID_MAX || !procs[pid].in_table)
    err = ESRCH;
  else
    switch_to_new_lwp(pid); /* processes 0 and 1 included */
  leave();
  return err;
}

SUT_API void rump_pub_lwproc_switch(struct lwp *l) {
  enter();
  if (l == NULL) {
    if (!curlwp) fatal("L3-null-implicit", "switch(NULL) from the implicit context");
    curlwp->bound = false;
    curlwp = NULL;
  } else {
    /* Find l by address before touching it: a pointer we never issued must not be dereferenced. */
    const struct lwp *it = issued;
    while (it != NULL && it != l) it = it->next_issued;
    if (it == NULL || l->released) fatal("L3-stale", "switching to a released or never issued lwp");
    if (l->bound) fatal("L3-running", "switching to an already running lwp"); /* the caller's own too */
    if (curlwp) curlwp->bound = false;
    l->bound = true;
    curlwp = l;
  }
  leave();
}

SUT_API void rump_pub_lwproc_releaselwp(void) {
  enter();
  struct lwp *l = curlwp;
  if (!l) fatal("L4-implicit", "releasing without a dedicated curlwp");
  l->released = true; /* freed, as far as anyone can tell: only kept to recognise stale handles */
  l->bound = false;
  curlwp = NULL;
  /* R1: the last lwp takes its process with it, in the same step; processes 0 and 1 never go. */
  if (--procs[l->pid].live_lwps == 0 && l->pid >= 2) {
    procs[l->pid].in_table = false; /* its pid may be handed out again (R5) */
    for (pid_t c = 2; c <= PID_MAX; c++) /* R6: orphans point to init */
      if (procs[c].in_table && procs[c].ppid == l->pid) procs[c].ppid = 1;
  }
  leave();
}

SUT_API struct lwp *rump_pub_lwproc_curlwp(void) {
  enter(); /* for the P0 check only: curlwp is this thread's own */
  struct lwp *l = curlwp;
  leave();
  return l;
}

/* P6 (optional): pid and ppid of the caller's current process. */
SUT_API pid_t rump_sys_getpid(void) {
  enter();
  pid_t pid = current_pid();
  leave();
  return pid;
}

SUT_API pid_t rump_sys_getppid(void) {
  enter();
  pid_t ppid = procs[current_pid()].ppid;
  leave();
  return ppid;
}
