/* fine_grained_sut.c -- an independent, fine-grained implementation of the whole C API of
 * <rump/rump.h>, <rump/rump_syscalls.h> and <sys/kthread.h> (SPEC.md §1-§5), written as a foreign
 * system under test for `lockstep run --sut`. It shares nothing with impl/: its purpose is to show
 * that lockstep raises no false alarm on a correct implementation built differently.
 *
 * Build: gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -fPIC -shared -fvisibility=hidden \
 *            -I impl/include -o libfine_grained_sut.so fine_grained_sut.c -lpthread
 *
 * Choices that differ from the reference (all allowed by SPEC.md):
 *  - Pids (P1/K1 allow any free pid in 2..PID_MAX): by default the LOWEST free pid, so a freed pid is
 *    reused at once. FGSUT_PIDS=down takes a cursor that walks DOWN from PID_MAX (wrapping to PID_MAX
 *    after 2); FGSUT_PIDS=random picks any free pid at random; FGSUT_PIDS=ref is the reference
 *    allocator. lockstep learns pids through getpid and
 *    lockstep_proc_pid.
 *  - Handles (§3): a struct lwp * is not a pointer but an encoded (slot, generation) pair; slots are
 *    recycled, generations never repeat, so no value is handed out twice and any value decodes safely.
 *    A struct proc * points to a small "ticket" that is never freed (one per process incarnation that
 *    got a handle); the process records behind tickets are recycled and carry a generation.
 *  - Time (§5): its own clock thread counts ticks of 10 ms from rump_init (FGSUT_TICK_US, else the
 *    LOCKSTEP_TICK_US lockstep passes, overrides);
 *    each timed wait registers a deadline, and the clock ends due waits itself, all in one critical
 *    section, in deadline order (ties in start order). A kproc_shutdown's result line is written by
 *    whoever ends its wait (acknowledger or clock), at that instant. `now` itself is read off the
 *    steady clock (whole ticks since rump_init), never off the clock thread's progress.
 *  - Reset: exported; process records, lwp slots and the clock thread are recycled, tickets kept.
 * Environment (besides LOCKSTEP_MAXPROC / LOCKSTEP_PID_MAX, read at rump_init): FGSUT_PIDS (above),
 * FGSUT_TICK_US (tick length), FGSUT_DEBUG=FILE (appends a timeline of waits and acknowledgements),
 * FGSUT_INIT_DELAY_US (rump_init sleeps that long before its clock starts: a SUT that builds big tables).
 *
 * Locking (every call is linearizable: each takes effect inside one critical section, and no state
 * another call can observe is ever left half-changed between two sections). Lock order, outermost first:
 *    1. table_lock   (rwlock: pid table, nprocs, process creation/freeing. Write-locked to add or
 *                     remove processes; read-locked by calls that hold two process locks)
 *    2. proc->lock   (per process incarnation record: ppid, uid, lwps, kthread state). A thread holds
 *                     two or more only (a) under the table write lock, in any order, or (b) under the
 *                     table read lock, in ascending address order. Everyone else holds at most one.
 *    3. fdt->lock    (per fd table; never two at once except the state reader, in address order)
 *    4. files_lock   (the flat file namespace, file sizes, open-description reference counts)
 *    5. wait_lock    (registry of blocked callers, the clock's `now`)
 *    6. console_lock (console log and its stderr copy)
 *    7. pool_lock, host_lock (allocators and the host registry; leaves)
 * Blocked callers (K3/K7/K8) and parked kthreads (K5) hold no lock while they sleep.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lockstep/sut.h>
#include <rump/rump.h>
#include <rump/rump_syscalls.h>
#include <sys/kthread.h>

#define API __attribute__((visibility("default")))

enum { KIND_KERNEL, KIND_INIT, KIND_USER, KIND_KTHREAD };
enum { KS_RUNNING, KS_PARKED, KS_ZOMBIE };
enum { BOUND_NONE = -1, BOUND_KTHREAD = -2, HOST_UNNAMED = -3 };
enum { W_SUSPEND, W_EXIT };

/* ------------------------------------------------------------------------------------------------ */
/* Objects */

struct file {
  struct file *next;
  char *path;
  int64_t size; /* files_lock */
};

struct desc {
  struct file *f;
  int refs; /* files_lock: fds naming it, over all tables */
  int key;
};

struct fdtab {
  pthread_mutex_t lock;
  int refs; /* processes sharing it */
  int key;
  int cap;
  struct desc **fd;
};

struct sproc;

struct klwp {
  _Atomic(struct sproc *) proc; /* NULL while free in the pool */
  _Atomic uint32_t gen;         /* bumped at release and at recycling: old handles turn stale */
  uint32_t idx;                 /* slot number, fixed */
  int lid;
  int bound;                    /* host index, BOUND_NONE, BOUND_KTHREAD */
  bool released;
  struct klwp *next_in_proc;
  struct klwp *next_free;
};

struct ticket { /* what a struct proc * points to; never freed */
  struct sproc *p;
  uint64_t gen;
  int kind;
  char comm[MAXCOMLEN + 1];
};

struct sproc {
  pthread_mutex_t lock;
  pthread_cond_t park_cv;
  uint64_t gen; /* changes (under lock) when this record stops naming its process */
  bool live;
  pid_t pid, ppid;
  int kind;
  char comm[MAXCOMLEN + 1];
  uid_t uid;
  struct fdtab *fdt; /* fixed for the process's life */
  struct klwp *lwps, *lwps_tail;
  int next_lid;
  int live_lwps;
  int kstate;
  bool suspend_requested;
  int64_t progress;
  int exit_code;
  struct ticket *ticket;
  struct sproc *next_free;
};

struct waiter {
  struct waiter *prev, *next; /* registry, in start order */
  uint64_t seq;
  struct sproc *p;
  uint64_t gen;
  int host, what;
  bool shutdown;
  pid_t target;
  int timo;
  int64_t deadline; /* when timo > 0 */
  bool done;
  int result;
  pthread_cond_t cv; /* waited on with p->lock */
};

struct hostctx {
  struct hostctx *next;
  int index;
  _Atomic(struct klwp *) cur; /* NULL: IMPLICIT */
};

/* ------------------------------------------------------------------------------------------------ */
/* Globals */

static pthread_rwlock_t init_lock = PTHREAD_RWLOCK_INITIALIZER; /* rump_init, reset, state: write-locked */
static atomic_bool initialized;
static pthread_rwlock_t table_lock;
static pthread_once_t table_lock_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t files_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t wait_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t console_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t host_lock = PTHREAD_MUTEX_INITIALIZER;

static int pid_max = 30000, maxproc = 64;
static int pid_mode; /* 0 lowest, 1 down, 2 reference, 3 random */
static uint64_t pid_rng = 0x9e3779b97f4a7c15ull;
static pid_t pid_cursor;
static struct sproc **ptab; /* [pid_max + 1]: table_lock */
static int ptab_size;
static int nprocs; /* table_lock */
static struct sproc *proc0, *proc1;

static struct file *files; /* files_lock */
static int desc_keys;       /* files_lock */
static atomic_int fdt_keys;

static struct waiter *wait_head, *wait_tail; /* wait_lock */
static uint64_t wait_seq;
static long long tick_len_ns = 10000000LL; /* fixed at rump_init */

static char **console; /* console_lock */
static size_t console_n, console_cap;

static struct sproc *proc_free; /* pool_lock */
static struct klwp *lwp_free;
#define LWP_CHUNK 4096
#define LWP_CHUNKS 4096
static struct klwp **lwp_chunks[LWP_CHUNKS];
static _Atomic uint32_t lwp_count;

static struct hostctx *hosts; /* host_lock */
static _Thread_local struct hostctx *me;
static _Thread_local struct sproc *kself; /* the calling kthread's record, if any */
static _Thread_local uint64_t kself_gen;

static pthread_t clock_thread;
static bool clock_running;
static pthread_mutex_t clock_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t clock_cv;
static bool clock_stop;
static struct timespec clock_t0;

/* `now` (SPEC §5) is read off the real clock: whole ticks since rump_init. The clock thread only
 * delivers timeouts (it may run late under load); whoever ends a wait decides by `now`, so a wait
 * whose deadline has passed ends with EWOULDBLOCK even when an acknowledgement reaches it first. */
static int64_t now_ticks(void);
static void dbg(const char *fmt, ...) {
  FILE *f = fopen(getenv("FGSUT_DEBUG"), "a");
  if (f == NULL) return;
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  fprintf(f, "%d %ld.%06ld ", (int)getpid(), (long)t.tv_sec, t.tv_nsec / 1000);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fclose(f);
}
static int64_t now_ticks(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  int64_t ns = (int64_t)(t.tv_sec - clock_t0.tv_sec) * 1000000000LL + (t.tv_nsec - clock_t0.tv_nsec);
  return ns < 0 ? 0 : ns / tick_len_ns;
}

/* ------------------------------------------------------------------------------------------------ */
/* Helpers */

static _Noreturn void fatal(const char *rule, const char *why) {
  char line[256];
  int n = snprintf(line, sizeof line, "panic: %s: %s\n", rule, why);
  if (n > 0) {
    ssize_t w = write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    (void)w;
  }
  abort();
}

static void *xcalloc(size_t n, size_t s) {
  void *p = calloc(n, s);
  if (p == NULL) abort();
  return p;
}

/* Set while rump_init builds a new instance: nothing else can reach it before `initialized` is
 * published (every call checks it; state and reset hold init_lock), so it takes no inner locks. That
 * keeps rump_init short, which lockstep needs to place the clock's phase (rump_init < half a tick). */
static _Thread_local bool tl_private;

static void lock(pthread_mutex_t *m) {
  if (tl_private) return;
  if (pthread_mutex_lock(m) != 0) abort();
}
static void unlock(pthread_mutex_t *m) {
  if (!tl_private) pthread_mutex_unlock(m);
}
static void ilock(void) { pthread_rwlock_wrlock(&init_lock); }
static void iunlock(void) { pthread_rwlock_unlock(&init_lock); }

static void table_lock_init(void) {
  pthread_rwlockattr_t a;
  pthread_rwlockattr_init(&a);
  pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&table_lock, &a);
  pthread_rwlockattr_destroy(&a);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&clock_cv, &ca);
  pthread_condattr_destroy(&ca);
}
static void rdlock(void) { pthread_rwlock_rdlock(&table_lock); }
static void wrlock(void) { pthread_rwlock_wrlock(&table_lock); }
static void tunlock(void) { pthread_rwlock_unlock(&table_lock); }

static void need_init(void) {
  if (!atomic_load_explicit(&initialized, memory_order_acquire)) fatal("P0-uninit", "rump kernel used before rump_init()");
}

static struct hostctx *host_self(void) {
  if (me == NULL) {
    struct hostctx *h = xcalloc(1, sizeof *h);
    h->index = HOST_UNNAMED;
    lock(&host_lock);
    h->next = hosts;
    hosts = h;
    unlock(&host_lock);
    me = h;
  }
  return me;
}

static struct klwp *my_cur(void) { return atomic_load_explicit(&host_self()->cur, memory_order_relaxed); }

/* The caller's current process (§1): its curlwp's, process 1 when IMPLICIT, a kthread's own. It cannot
 * go away under the caller: only the caller can release the lwp that keeps it alive. */
static struct sproc *current_proc(void) {
  if (kself != NULL) return kself;
  struct klwp *l = my_cur();
  return l != NULL ? atomic_load_explicit(&l->proc, memory_order_relaxed) : proc1;
}

static long long tick_ns(void) {
  const char *e = getenv("FGSUT_TICK_US");
  if (e == NULL) e = getenv("LOCKSTEP_TICK_US");
  long long us = e != NULL ? atoll(e) : 0;
  return us > 0 ? us * 1000LL : 10000000LL; /* 10 ms: hz 100 */
}

/* Console (K7): the instance's log, each line also on stderr in one write. console_lock held. */
static void console_put_locked(const char *line) {
  if (console_n == console_cap) {
    console_cap = console_cap ? console_cap * 2 : 16;
    console = realloc(console, console_cap * sizeof *console);
    if (console == NULL) abort();
  }
  console[console_n++] = strdup(line);
  size_t n = strlen(line);
  char *buf = xcalloc(n + 2, 1);
  memcpy(buf, line, n);
  buf[n] = '\n';
  ssize_t w = write(2, buf, n + 1);
  (void)w;
  free(buf);
}

/* ------------------------------------------------------------------------------------------------ */
/* Pools: process records and lwp slots are recycled, never returned to malloc. */

static struct sproc *proc_alloc(void) { /* table write lock held */
  lock(&pool_lock);
  struct sproc *p = proc_free;
  if (p != NULL) proc_free = p->next_free;
  unlock(&pool_lock);
  if (p == NULL) {
    p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->park_cv, NULL);
    p->gen = 1;
  }
  /* Fields are written under p->lock: a stale suspender may still lock this record. */
  lock(&p->lock);
  p->live = true;
  p->next_free = NULL;
  p->lwps = p->lwps_tail = NULL;
  p->next_lid = 1;
  p->live_lwps = 0;
  p->kstate = KS_RUNNING;
  p->suspend_requested = false;
  p->progress = 0;
  p->exit_code = 0;
  p->ticket = NULL;
  p->fdt = NULL;
  p->uid = 0;
  p->comm[0] = '\0';
  unlock(&p->lock);
  return p;
}

static struct klwp *lwp_slot(uint32_t idx) { return lwp_chunks[idx / LWP_CHUNK][idx % LWP_CHUNK]; }

/* A new lwp of p, next lid; p->lock held. */
static struct klwp *lwp_new(struct sproc *p, int bound) {
  lock(&pool_lock);
  struct klwp *l = lwp_free;
  if (l != NULL) {
    lwp_free = l->next_free;
  } else {
    uint32_t idx = atomic_load_explicit(&lwp_count, memory_order_relaxed);
    if (idx / LWP_CHUNK >= LWP_CHUNKS) abort();
    if (lwp_chunks[idx / LWP_CHUNK] == NULL) lwp_chunks[idx / LWP_CHUNK] = xcalloc(LWP_CHUNK, sizeof(struct klwp *));
    l = xcalloc(1, sizeof *l);
    l->idx = idx;
    atomic_store(&l->gen, 1);
    lwp_chunks[idx / LWP_CHUNK][idx % LWP_CHUNK] = l;
    atomic_store_explicit(&lwp_count, idx + 1, memory_order_release);
  }
  unlock(&pool_lock);
  l->lid = p->next_lid++;
  l->bound = bound;
  l->released = false;
  l->next_free = NULL;
  l->next_in_proc = NULL;
  if (p->lwps_tail) p->lwps_tail->next_in_proc = l; else p->lwps = l;
  p->lwps_tail = l;
  p->live_lwps++;
  atomic_store_explicit(&l->proc, p, memory_order_release);
  return l;
}

static struct lwp *lwp_handle(const struct klwp *l) {
  uint64_t v = ((uint64_t)atomic_load(&l->gen) << 32) | ((uint64_t)l->idx << 4) | 0x5u;
  return (struct lwp *)(uintptr_t)v;
}

/* Decodes a handle; NULL if it never named an lwp slot. *gen gets its generation. */
static struct klwp *lwp_decode(const struct lwp *h, uint32_t *gen) {
  uint64_t v = (uint64_t)(uintptr_t)h;
  if ((v & 0xfu) != 0x5u) return NULL;
  uint32_t idx = (uint32_t)((v >> 4) & 0x0fffffffu);
  if (idx >= atomic_load_explicit(&lwp_count, memory_order_acquire)) return NULL;
  *gen = (uint32_t)(v >> 32);
  return lwp_slot(idx);
}

/* Marks l released (§3 L4): its handle is stale from now on. Its proc's lock held. */
static void lwp_release(struct sproc *p, struct klwp *l) {
  l->released = true;
  l->bound = BOUND_NONE;
  atomic_fetch_add(&l->gen, 1);
  p->live_lwps--;
}

/* ------------------------------------------------------------------------------------------------ */
/* Files and fd tables */

static struct fdtab *fdt_new(int cap) {
  struct fdtab *t = xcalloc(1, sizeof *t);
  pthread_mutex_init(&t->lock, NULL);
  t->refs = 1;
  t->key = atomic_fetch_add(&fdt_keys, 1);
  t->cap = cap > 0 ? cap : 8;
  t->fd = xcalloc((size_t)t->cap, sizeof *t->fd);
  return t;
}

static struct fdtab *fdt_copy(struct fdtab *src) {
  lock(&src->lock);
  struct fdtab *t = fdt_new(src->cap);
  lock(&files_lock);
  for (int i = 0; i < src->cap; i++)
    if ((t->fd[i] = src->fd[i]) != NULL) t->fd[i]->refs++;
  unlock(&files_lock);
  unlock(&src->lock);
  return t;
}

static void desc_drop_locked(struct desc *d) { /* files_lock held */
  if (--d->refs == 0) free(d);
}

/* One sharer fewer; the last frees the table (R3). Table write lock held. */
static void fdt_unref(struct fdtab *t) {
  lock(&t->lock);
  bool last = --t->refs == 0;
  unlock(&t->lock);
  if (!last) return;
  lock(&files_lock);
  for (int i = 0; i < t->cap; i++)
    if (t->fd[i] != NULL) desc_drop_locked(t->fd[i]);
  unlock(&files_lock);
  pthread_mutex_destroy(&t->lock);
  free(t->fd);
  free(t);
}

static int fdt_lowest_locked(struct fdtab *t) {
  for (int i = 0; i < t->cap; i++)
    if (t->fd[i] == NULL) return i;
  int old = t->cap;
  t->cap *= 2;
  t->fd = realloc(t->fd, (size_t)t->cap * sizeof *t->fd);
  if (t->fd == NULL) abort();
  memset(t->fd + old, 0, (size_t)(t->cap - old) * sizeof *t->fd);
  return old;
}

static struct desc *fdt_get_locked(struct fdtab *t, int fd) {
  return fd >= 0 && fd < t->cap ? t->fd[fd] : NULL;
}

/* Takes t's lock and returns fd's description; or, when fd is not open, leaves it unlocked and
 * returns NULL with errno EBADF. */
static struct desc *fdt_lock_get(struct fdtab *t, int fd) {
  lock(&t->lock);
  struct desc *d = fdt_get_locked(t, fd);
  if (d == NULL) {
    unlock(&t->lock);
    errno = EBADF;
  }
  return d;
}

static struct file *file_find_locked(const char *path) {
  for (struct file *f = files; f != NULL; f = f->next)
    if (strcmp(f->path, path) == 0) return f;
  return NULL;
}

static struct file *file_create_locked(const char *path) {
  struct file *f = xcalloc(1, sizeof *f);
  f->path = strdup(path);
  f->next = files;
  files = f;
  return f;
}

/* ------------------------------------------------------------------------------------------------ */
/* Process table (table write lock held for all of these) */

static pid_t pid_alloc(void) {
  if (pid_max < 2) return -1;
  const int span = pid_max - 1;
  switch (pid_mode) {
    case 1: /* down */
      for (int i = 0; i < span; i++) {
        pid_t pid = pid_cursor;
        pid_cursor = pid_cursor <= 2 ? pid_max : pid_cursor - 1;
        if (ptab[pid] == NULL) return pid;
      }
      return -1;
    case 2: /* reference: increasing from 2, wrap PID_MAX -> 2 */
      for (int i = 0; i < span; i++) {
        pid_t pid = pid_cursor;
        pid_cursor = pid_cursor >= pid_max ? 2 : pid_cursor + 1;
        if (ptab[pid] == NULL) return pid;
      }
      return -1;
    case 3: { /* a random free pid: xorshift64 from a fixed seed */
      int n = 0;
      for (pid_t pid = 2; pid <= pid_max; pid++) n += ptab[pid] == NULL;
      if (n == 0) return -1;
      pid_rng ^= pid_rng << 13;
      pid_rng ^= pid_rng >> 7;
      pid_rng ^= pid_rng << 17;
      int k = (int)(pid_rng % (uint64_t)n);
      for (pid_t pid = 2; pid <= pid_max; pid++)
        if (ptab[pid] == NULL && k-- == 0) return pid;
      return -1;
    }
    default: /* lowest free */
      for (pid_t pid = 2; pid <= pid_max; pid++)
        if (ptab[pid] == NULL) return pid;
      return -1;
  }
}

static struct ticket *ticket_of(struct sproc *p) { /* p->lock held */
  if (p->ticket == NULL) {
    struct ticket *t = xcalloc(1, sizeof *t);
    t->p = p;
    t->gen = p->gen;
    t->kind = p->kind;
    memcpy(t->comm, p->comm, sizeof t->comm);
    p->ticket = t;
  }
  return p->ticket;
}

/* Takes p out of the table: R1/R6/R3. Table write lock and p->lock held; p->lock is released. */
static void proc_free_locked(struct sproc *p) {
  ptab[p->pid] = NULL;
  nprocs--;
  /* R6: every child is reparented in this one step. getppid reads ppid under the child's lock only,
   * so all children stay locked until the last is done: no reader sees one orphan reparented and
   * another not yet. (Several process locks under the table write lock: any order is safe.) */
  struct sproc **kids = NULL;
  size_t nk = 0;
  for (int c = 2; c <= pid_max; c++) {
    struct sproc *q = ptab[c];
    if (q == NULL || q == p) continue;
    lock(&q->lock);
    if (q->ppid == p->pid) {
      kids = realloc(kids, (nk + 1) * sizeof *kids);
      if (kids == NULL) abort();
      kids[nk++] = q;
    } else {
      unlock(&q->lock);
    }
  }
  for (size_t i = 0; i < nk; i++) kids[i]->ppid = 1;
  for (size_t i = 0; i < nk; i++) unlock(&kids[i]->lock);
  free(kids);
  struct fdtab *t = p->fdt;
  p->fdt = NULL;
  struct klwp *l = p->lwps;
  p->lwps = p->lwps_tail = NULL;
  p->live = false;
  p->gen++; /* tickets and handles of this incarnation are stale from here */
  p->ticket = NULL;
  unlock(&p->lock);
  if (t != NULL) fdt_unref(t);
  lock(&pool_lock);
  while (l != NULL) {
    struct klwp *n = l->next_in_proc;
    atomic_store(&l->proc, NULL);
    atomic_fetch_add(&l->gen, 1);
    l->next_free = lwp_free;
    lwp_free = l;
    l = n;
  }
  p->next_free = proc_free;
  proc_free = p;
  unlock(&pool_lock);
}

/* ------------------------------------------------------------------------------------------------ */
/* Waits (K3, K7, K8) */

static void waiter_unlink_locked(struct waiter *w) { /* wait_lock held */
  if (w->prev) w->prev->next = w->next; else wait_head = w->next;
  if (w->next) w->next->prev = w->prev; else wait_tail = w->prev;
  w->prev = w->next = NULL;
}

/* Ends w with `result`: caller holds w->p->lock and wait_lock. A shutdown's result line is written
 * here, at the instant its suspend ends (K7, S6). */
static void waiter_complete_locked(struct waiter *w, int result) {
  if (getenv("FGSUT_DEBUG")) dbg("dbg: complete host %d what %d timo %d deadline %lld result %d now %lld\n", w->host, w->what, w->timo, (long long)w->deadline, result, (long long)now_ticks());
  w->done = true;
  w->result = result;
  waiter_unlink_locked(w);
  if (w->shutdown) {
    lock(&console_lock);
    console_put_locked(result == EWOULDBLOCK ? "timed out" : "stopped");
    unlock(&console_lock);
  }
  pthread_cond_signal(&w->cv);
}

/* Blocks the caller on p (p->lock held, p live in generation gen) until the wait is completed. */
static int wait_on(struct sproc *p, int what, int timo, bool shutdown) {
  struct waiter w;
  memset(&w, 0, sizeof w);
  pthread_cond_init(&w.cv, NULL);
  w.p = p;
  w.gen = p->gen;
  w.host = me != NULL ? me->index : HOST_UNNAMED;
  w.what = what;
  w.shutdown = shutdown;
  w.target = p->pid;
  w.timo = timo;
  lock(&wait_lock);
  w.seq = ++wait_seq;
  w.deadline = timo > 0 ? now_ticks() + timo : 0;
  if (getenv("FGSUT_DEBUG")) dbg("dbg: wait host %d what %d timo %d deadline %lld now %lld\n", w.host, what, timo, (long long)w.deadline, (long long)now_ticks());
  w.prev = wait_tail;
  if (wait_tail) wait_tail->next = &w; else wait_head = &w;
  wait_tail = &w;
  unlock(&wait_lock);
  while (!w.done) pthread_cond_wait(&w.cv, &p->lock);
  pthread_cond_destroy(&w.cv);
  return w.result;
}

/* Ends every wait of `what` on p's current incarnation with `result`, in start order: one whose
 * deadline has passed already timed out (the clock thread has not got to it yet). p->lock held. */
static void wake_waiters(struct sproc *p, int what, int result) {
  lock(&wait_lock);
  const int64_t t = now_ticks();
  for (struct waiter *w = wait_head, *n; w != NULL; w = n) {
    n = w->next;
    if (w->p == p && w->gen == p->gen && w->what == what && !w->done)
      waiter_complete_locked(w, w->timo > 0 && w->deadline <= t ? EWOULDBLOCK : result);
  }
  unlock(&wait_lock);
}

/* One tick of the clock: `now` becomes t and every wait due at t ends with EWOULDBLOCK, all in one
 * critical section (the procs of the due waits locked in address order under the table read lock). */
static int cmp_ptr(const void *a, const void *b) {
  uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
  return x < y ? -1 : x > y;
}
static int cmp_due(const void *a, const void *b) {
  const struct waiter *x = *(struct waiter *const *)a, *y = *(struct waiter *const *)b;
  if (x->deadline != y->deadline) return x->deadline < y->deadline ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}
static bool due(const struct waiter *w, int64_t t) { return !w->done && w->timo > 0 && w->deadline <= t; }

static void clock_tick(int64_t t) {
  for (;;) {
    rdlock();
    size_t n = 0, cap = 0;
    struct sproc **ps = NULL;
    lock(&wait_lock);
    for (struct waiter *w = wait_head; w != NULL; w = w->next)
      if (due(w, t)) {
        if (n == cap) {
          cap = cap ? cap * 2 : 8;
          ps = realloc(ps, cap * sizeof *ps);
          if (ps == NULL) abort();
        }
        ps[n++] = w->p;
      }
    unlock(&wait_lock);
    if (n > 0) qsort(ps, n, sizeof *ps, cmp_ptr);  /* qsort(NULL, 0, ...) is undefined */
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
      if (k == 0 || ps[k - 1] != ps[i]) ps[k++] = ps[i];
    for (size_t i = 0; i < k; i++) lock(&ps[i]->lock);
    lock(&wait_lock);
    bool covered = true;
    size_t m = 0;
    for (struct waiter *w = wait_head; w != NULL; w = w->next)
      if (due(w, t)) {
        m++;
        if (k == 0 || bsearch(&w->p, ps, k, sizeof *ps, cmp_ptr) == NULL) covered = false;
      }
    if (covered) {
      struct waiter **ws = m ? xcalloc(m, sizeof *ws) : NULL;
      size_t j = 0;
      for (struct waiter *w = wait_head; w != NULL; w = w->next)
        if (due(w, t)) ws[j++] = w;
      if (m > 0) qsort(ws, m, sizeof *ws, cmp_due);
      for (j = 0; j < m; j++) waiter_complete_locked(ws[j], EWOULDBLOCK);
      free(ws);
    }
    unlock(&wait_lock);
    for (size_t i = k; i-- > 0;) unlock(&ps[i]->lock);
    tunlock();
    free(ps);
    if (covered) return;
  }
}

static void *clock_main(void *arg) {
  (void)arg;
  lock(&clock_mu);
  while (!clock_stop) {
    int64_t next = now_ticks() + 1;
    long long ns = (long long)clock_t0.tv_nsec + next * tick_len_ns;
    struct timespec due_at = {clock_t0.tv_sec + (time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL)};
    int rc = 0;
    while (!clock_stop && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&clock_cv, &clock_mu, &due_at);
    if (clock_stop) break;
    unlock(&clock_mu);
    if (getenv("FGSUT_DEBUG")) dbg("clock woke rc %d next %lld now %lld\n", rc, (long long)next, (long long)now_ticks());
    clock_tick(now_ticks()); /* may be past `next` when this thread ran late */
    lock(&clock_mu);
  }
  unlock(&clock_mu);
  return NULL;
}

/* ------------------------------------------------------------------------------------------------ */
/* rump_init and reset */

static int env_int(const char *name, int dflt) {
  const char *e = getenv(name);
  if (e == NULL || *e == '\0') return dflt;
  char *end;
  long v = strtol(e, &end, 10);
  return *end == '\0' && v > 0 && v < INT_MAX ? (int)v : dflt;
}

API int rump_init(void) {
  pthread_once(&table_lock_once, table_lock_init);
  ilock();
  if (atomic_load(&initialized)) {
    iunlock();
    return 0;
  }
  maxproc = env_int("LOCKSTEP_MAXPROC", 64);
  pid_max = env_int("LOCKSTEP_PID_MAX", 30000);
  if (pid_max < 2) pid_max = 2;
  const char *mode = getenv("FGSUT_PIDS");
  pid_mode = mode == NULL                ? 0
             : strcmp(mode, "down") == 0   ? 1
             : strcmp(mode, "ref") == 0    ? 2
             : strcmp(mode, "random") == 0 ? 3
                                           : 0;
  pid_cursor = pid_mode == 1 ? pid_max : 2;
  tl_private = true;
  if (ptab_size < pid_max + 1) {
    free(ptab);
    ptab = xcalloc((size_t)pid_max + 1, sizeof *ptab);
    ptab_size = pid_max + 1;
  } else {
    memset(ptab, 0, (size_t)ptab_size * sizeof *ptab);
  }
  /* the console file and process 1's fds 0-2 on one description */
  lock(&files_lock);
  struct file *console_file = file_create_locked("/dev/console");
  struct desc *d = xcalloc(1, sizeof *d);
  d->f = console_file;
  d->refs = 3;
  d->key = desc_keys++;
  unlock(&files_lock);

  proc0 = proc_alloc();
  lock(&proc0->lock);
  proc0->pid = 0;
  proc0->ppid = 0;
  proc0->kind = KIND_KERNEL;
  strcpy(proc0->comm, "swapper");
  proc0->fdt = fdt_new(8);
  lwp_new(proc0, BOUND_NONE); /* lwp0: never handed out */
  unlock(&proc0->lock);

  proc1 = proc_alloc();
  lock(&proc1->lock);
  proc1->pid = 1;
  proc1->ppid = 0;
  proc1->kind = KIND_INIT;
  proc1->comm[0] = '\0';
  proc1->fdt = fdt_new(8);
  proc1->fdt->fd[0] = proc1->fdt->fd[1] = proc1->fdt->fd[2] = d;
  unlock(&proc1->lock);

  ptab[0] = proc0;
  ptab[1] = proc1;
  nprocs = 2;
  clock_stop = false; /* no clock thread runs now */
  tick_len_ns = tick_ns();
  const char *delay = getenv("FGSUT_INIT_DELAY_US");
  if (delay != NULL && atoll(delay) > 0) usleep((useconds_t)atoll(delay));
  clock_gettime(CLOCK_MONOTONIC, &clock_t0);
  if (getenv("FGSUT_DEBUG")) dbg("rump_init t0 (now 0)\n");
  tl_private = false;
  if (pthread_create(&clock_thread, NULL, clock_main, NULL) != 0) abort();
  clock_running = true;
  atomic_store_explicit(&initialized, true, memory_order_release);
  iunlock();
  return 0;
}

API int lockstep_sut_reset(void) {
  pthread_once(&table_lock_once, table_lock_init);
  ilock();
  lock(&wait_lock);
  bool busy = wait_head != NULL;
  unlock(&wait_lock);
  if (busy) { /* not quiescent: let lockstep start a fresh process */
    iunlock();
    return 1;
  }
  if (clock_running) {
    lock(&clock_mu);
    clock_stop = true;
    pthread_cond_broadcast(&clock_cv);
    unlock(&clock_mu);
    pthread_join(clock_thread, NULL);
    clock_running = false;
  }
  if (!atomic_load(&initialized)) {
    iunlock();
    return 0;
  }
  wrlock();
  for (int pid = 0; pid < ptab_size; pid++) { /* a parked kthread: not quiescent (lockstep never asks) */
    struct sproc *p = ptab[pid];
    if (p == NULL) continue;
    lock(&p->lock);
    bool parked = p->kind == KIND_KTHREAD && p->kstate == KS_PARKED;
    unlock(&p->lock);
    if (parked) {
      tunlock();
      iunlock();
      return 1; /* the clock is stopped: lockstep starts a fresh process */
    }
  }
  for (int pid = ptab_size - 1; pid >= 0; pid--) {
    struct sproc *p = ptab[pid];
    if (p == NULL) continue;
    lock(&p->lock);
    proc_free_locked(p);
  }
  nprocs = 0;
  proc0 = proc1 = NULL;
  lock(&files_lock);
  while (files != NULL) {
    struct file *f = files;
    files = f->next;
    free(f->path);
    free(f);
  }
  unlock(&files_lock);
  lock(&console_lock);
  for (size_t i = 0; i < console_n; i++) free(console[i]);
  console_n = 0;
  unlock(&console_lock);
  lock(&host_lock);
  for (struct hostctx *h = hosts; h != NULL; h = h->next) atomic_store(&h->cur, NULL);
  unlock(&host_lock);
  atomic_store(&initialized, false);
  tunlock();
  iunlock();
  return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* §3 rump lwp/process operations */

API int rump_pub_lwproc_rfork(int flags) {
  need_init();
  if (flags != RUMP_RFFD_SHARE && flags != RUMP_RFFDG && flags != RUMP_RFCFDG) return EINVAL;
  struct hostctx *h = host_self();
  struct klwp *old = my_cur();
  struct sproc *parent = current_proc();
  wrlock();
  pid_t pid = pid_alloc();
  if (pid < 0) {
    tunlock();
    return EAGAIN;
  }
  struct sproc *np = proc_alloc();
  lock(&parent->lock);
  lock(&np->lock);
  np->pid = pid;
  np->ppid = parent->pid;
  np->kind = KIND_USER;
  if (parent->comm[0] != '\0') memcpy(np->comm, parent->comm, sizeof np->comm);
  else strcpy(np->comm, "rumproc");
  np->uid = parent->uid;
  if (flags == RUMP_RFFD_SHARE) {
    np->fdt = parent->fdt;
    lock(&np->fdt->lock);
    np->fdt->refs++;
    unlock(&np->fdt->lock);
  } else if (flags == RUMP_RFFDG) {
    np->fdt = fdt_copy(parent->fdt);
  } else {
    np->fdt = fdt_new(8);
  }
  struct klwp *l = lwp_new(np, h->index);
  if (old != NULL) old->bound = BOUND_NONE; /* old is parent's lwp: parent->lock held */
  atomic_store(&h->cur, l);
  ptab[pid] = np;
  nprocs++;
  unlock(&np->lock);
  unlock(&parent->lock);
  tunlock();
  return 0;
}

/* Locks a and b (either may be NULL or equal) in ascending address order: table read lock held. */
static void lock_two(struct sproc *a, struct sproc *b) {
  if (a == b || b == NULL) { lock(&a->lock); return; }
  if (a == NULL) { lock(&b->lock); return; }
  if ((uintptr_t)a < (uintptr_t)b) { lock(&a->lock); lock(&b->lock); }
  else { lock(&b->lock); lock(&a->lock); }
}
static void unlock_two(struct sproc *a, struct sproc *b) {
  if (a != NULL) unlock(&a->lock);
  if (b != NULL && b != a) unlock(&b->lock);
}

API int rump_pub_lwproc_newlwp(pid_t pid) {
  need_init();
  struct hostctx *h = host_self();
  struct klwp *old = my_cur();
  struct sproc *oldp = old != NULL ? atomic_load(&old->proc) : NULL;
  rdlock();
  struct sproc *t = pid >= 0 && pid <= pid_max ? ptab[pid] : NULL;
  if (t == NULL) {
    tunlock();
    return ESRCH;
  }
  if (t->kind == KIND_KTHREAD) { /* kind is fixed while the table read lock keeps t in it */
    tunlock();
    return EBUSY;
  }
  lock_two(t, oldp);
  struct klwp *l = lwp_new(t, h->index);
  if (old != NULL) old->bound = BOUND_NONE;
  atomic_store(&h->cur, l);
  unlock_two(t, oldp);
  tunlock();
  return 0;
}

API void rump_pub_lwproc_switch(struct lwp *handle) {
  need_init();
  struct hostctx *h = host_self();
  struct klwp *old = my_cur();
  if (handle == NULL) {
    if (old == NULL) fatal("L3-null-implicit", "switch(NULL) from the implicit context");
    struct sproc *p = atomic_load(&old->proc);
    lock(&p->lock);
    old->bound = BOUND_NONE;
    atomic_store(&h->cur, NULL);
    unlock(&p->lock);
    return;
  }
  uint32_t gen = 0;
  struct klwp *k = lwp_decode(handle, &gen);
  if (k == NULL) fatal("L3-stale", "switching to an lwp that was never issued");
  struct sproc *oldp = old != NULL ? atomic_load(&old->proc) : NULL;
  rdlock(); /* process records keep their identity while it is held */
  for (;;) {
    struct sproc *p = atomic_load_explicit(&k->proc, memory_order_acquire);
    if (p == NULL) fatal("L3-stale", "switching to a released lwp");
    lock_two(p, oldp);
    if (atomic_load(&k->proc) != p) { /* recycled meanwhile: look again */
      unlock_two(p, oldp);
      continue;
    }
    if (atomic_load(&k->gen) != gen || k->released) fatal("L3-stale", "switching to a released lwp");
    if (k->bound != BOUND_NONE) fatal("L3-running", "switching to an already running lwp");
    if (old != NULL) old->bound = BOUND_NONE;
    k->bound = h->index;
    atomic_store(&h->cur, k);
    unlock_two(p, oldp);
    break;
  }
  tunlock();
}

API void rump_pub_lwproc_releaselwp(void) {
  need_init();
  struct hostctx *h = host_self();
  struct klwp *l = my_cur();
  if (l == NULL) fatal("L4-implicit", "releasing without a dedicated curlwp");
  struct sproc *p = atomic_load(&l->proc);
  rdlock();
  lock(&p->lock);
  if (p->kind == KIND_USER && p->live_lwps == 1) {
    /* The process goes with this lwp: that needs the table write lock. Nothing changed yet. */
    unlock(&p->lock);
    tunlock();
    wrlock();
    lock(&p->lock);
    lwp_release(p, l);
    atomic_store(&h->cur, NULL);
    if (p->live_lwps == 0) {
      proc_free_locked(p); /* unlocks p */
    } else {
      unlock(&p->lock); /* someone added an lwp meanwhile: the process stays */
    }
    tunlock();
    return;
  }
  lwp_release(p, l);
  atomic_store(&h->cur, NULL);
  unlock(&p->lock);
  tunlock();
}

API struct lwp *rump_pub_lwproc_curlwp(void) {
  need_init();
  struct klwp *l = my_cur();
  return l != NULL ? lwp_handle(l) : NULL;
}

/* ------------------------------------------------------------------------------------------------ */
/* P6-P8 system calls */

API pid_t rump_sys_getpid(void) {
  need_init();
  return current_proc()->pid; /* fixed while the caller is in it */
}

API pid_t rump_sys_getppid(void) {
  need_init();
  struct sproc *p = current_proc();
  lock(&p->lock);
  pid_t r = p->ppid;
  unlock(&p->lock);
  return r;
}

API uid_t rump_sys_getuid(void) {
  need_init();
  struct sproc *p = current_proc();
  lock(&p->lock);
  uid_t r = p->uid;
  unlock(&p->lock);
  return r;
}

API int rump_sys_setuid(uid_t uid) {
  need_init();
  struct sproc *p = current_proc();
  int r = 0;
  lock(&p->lock);
  if (p->uid == 0 || p->uid == uid) p->uid = uid;
  else r = EPERM;
  unlock(&p->lock);
  if (r != 0) {
    errno = r;
    return -1;
  }
  return 0;
}

API int rump_sys_open(const char *path, int flags, ...) {
  need_init();
  struct fdtab *t = current_proc()->fdt;
  if (path == NULL) {
    errno = EFAULT;
    return -1;
  }
  lock(&t->lock);
  lock(&files_lock);
  struct file *f = file_find_locked(path);
  if (f == NULL) {
    if ((flags & RUMP_O_CREAT) == 0) {
      unlock(&files_lock);
      unlock(&t->lock);
      errno = ENOENT;
      return -1;
    }
    f = file_create_locked(path);
  }
  struct desc *d = xcalloc(1, sizeof *d);
  d->f = f;
  d->refs = 1;
  d->key = desc_keys++;
  unlock(&files_lock);
  int fd = fdt_lowest_locked(t);
  t->fd[fd] = d;
  unlock(&t->lock);
  return fd;
}

API ssize_t rump_sys_write(int fd, const void *buf, size_t n) {
  (void)buf;
  need_init();
  struct fdtab *t = current_proc()->fdt;
  lock(&t->lock);
  struct desc *d = fdt_get_locked(t, fd);
  int err = 0;
  if (d == NULL) {
    err = EBADF;
  } else if (n > (size_t)SSIZE_MAX) {
    err = EINVAL;
  } else {
    lock(&files_lock);
    if (d->f->size > INT64_MAX - (int64_t)n) err = EFBIG;
    else d->f->size += (int64_t)n;
    unlock(&files_lock);
  }
  unlock(&t->lock);
  if (err != 0) {
    errno = err;
    return -1;
  }
  return (ssize_t)n;
}

API int rump_sys_fstat(int fd, struct stat *sb) {
  need_init();
  struct fdtab *t = current_proc()->fdt;
  struct desc *d = fdt_lock_get(t, fd);
  if (d == NULL) return -1;
  lock(&files_lock);
  int64_t size = d->f->size;
  unlock(&files_lock);
  unlock(&t->lock);
  if (sb != NULL) {
    memset(sb, 0, sizeof *sb);
    sb->st_size = (off_t)size;
  }
  return 0;
}

API int rump_sys_close(int fd) {
  need_init();
  struct fdtab *t = current_proc()->fdt;
  struct desc *d = fdt_lock_get(t, fd);
  if (d == NULL) return -1;
  t->fd[fd] = NULL;
  lock(&files_lock);
  desc_drop_locked(d);
  unlock(&files_lock);
  unlock(&t->lock);
  return 0;
}

API int rump_sys_dup(int fd) {
  need_init();
  struct fdtab *t = current_proc()->fdt;
  struct desc *d = fdt_lock_get(t, fd);
  if (d == NULL) return -1;
  int nfd = fdt_lowest_locked(t);
  t->fd[nfd] = d;
  lock(&files_lock);
  d->refs++;
  unlock(&files_lock);
  unlock(&t->lock);
  return nfd;
}

/* ------------------------------------------------------------------------------------------------ */
/* §4 kernel threads */

struct kstart {
  struct sproc *p;
  uint64_t gen;
  void (*func)(void *);
  void (*func0)(void);
  void *arg;
};

static _Noreturn void kthread_do_exit(int ecode);

static void *kthread_main(void *a) {
  struct kstart s = *(struct kstart *)a;
  free(a);
  kself = s.p;
  kself_gen = s.gen;
  if (s.func0 != NULL) s.func0();
  else s.func(s.arg);
  /* FreeBSD 5 fork_exit(): a body that returns exited prematurely, with code 0. */
  char line[128];
  struct sproc *p = kself;
  lock(&p->lock);
  snprintf(line, sizeof line, "Kernel thread \"%s\" (pid %d) exited prematurely.", p->comm, (int)p->pid);
  lock(&console_lock);
  console_put_locked(line);
  unlock(&console_lock);
  unlock(&p->lock);
  kthread_do_exit(0);
}

static int create_kthread(void (*func)(void *), void (*func0)(void), void *arg, struct proc **newpp, int flags,
                          const char *name) {
  need_init();
  if ((flags & RFCFDG) != 0 || (flags & ~RFFDG) != 0) return EINVAL;
  wrlock();
  if (nprocs >= maxproc) {
    tunlock();
    return EAGAIN;
  }
  pid_t pid = pid_alloc();
  if (pid < 0) {
    tunlock();
    return EAGAIN;
  }
  struct sproc *np = proc_alloc();
  lock(&proc0->lock);
  lock(&np->lock);
  np->pid = pid;
  np->ppid = 0;
  np->kind = KIND_KTHREAD;
  snprintf(np->comm, sizeof np->comm, "%s", name);
  np->uid = proc0->uid; /* forked from process 0: its credentials and a copy of its fd table */
  np->fdt = fdt_copy(proc0->fdt);
  lwp_new(np, BOUND_KTHREAD);
  np->kstate = KS_RUNNING;
  struct ticket *t = ticket_of(np);
  struct kstart *s = xcalloc(1, sizeof *s);
  *s = (struct kstart){.p = np, .gen = np->gen, .func = func, .func0 = func0, .arg = arg};
  ptab[pid] = np;
  nprocs++;
  if (newpp != NULL) *newpp = (struct proc *)t; /* before the new thread exists (K1) */
  unlock(&np->lock);
  unlock(&proc0->lock);
  tunlock();
  /* Started with no lock held: the new thread may run first and take any lock. */
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t th;
  if (pthread_create(&th, &attr, kthread_main, s) != 0) abort();
  pthread_attr_destroy(&attr);
  return 0;
}

API int kthread_create(void (*func)(void *), void *arg, struct proc **newpp, int flags, int pages, const char *fmt, ...) {
  (void)pages;
  char name[MAXCOMLEN + 1];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(name, sizeof name, fmt != NULL ? fmt : "", ap);
  va_end(ap);
  return create_kthread(func, NULL, arg, newpp, flags, name);
}

API void kproc_start(const void *udata) {
  const struct kproc_desc *d = udata;
  if (create_kthread(NULL, d->func, NULL, d->global_procpp, 0, d->arg0 != NULL ? d->arg0 : "") != 0)
    fatal("K6-panic", "kproc_start: cannot create the kernel thread");
}

static _Noreturn void kthread_do_exit(int ecode) {
  struct sproc *p = kself;
  if (p == NULL) fatal("K2-other", "kthread_exit called outside a kernel thread");
  lock(&p->lock);
  p->ppid = 1;
  p->kstate = KS_ZOMBIE;
  p->exit_code = ecode;
  for (struct klwp *l = p->lwps; l != NULL; l = l->next_in_proc)
    if (!l->released) lwp_release(p, l);
  wake_waiters(p, W_EXIT, 0); /* K8: every waiter returns 0; suspenders keep waiting (K3) */
  unlock(&p->lock);
  kself = NULL;
  pthread_exit(NULL);
}

API void kthread_exit(int ecode) {
  need_init();
  kthread_do_exit(ecode);
}

/* Resolves a struct proc * to its live record, locked. Returns 0, or the errno of SPEC §4's common
 * checks (kind first: EINVAL; then timo < 0: EINVAL; then REAPED: ESRCH). */
static int kthread_handle(struct proc *h, int timo, struct sproc **out) {
  const struct ticket *t = (const struct ticket *)h;
  if (t == NULL || t->kind != KIND_KTHREAD) return EINVAL;
  if (timo < 0) return EINVAL;
  struct sproc *p = t->p;
  lock(&p->lock);
  if (p->gen != t->gen) {
    unlock(&p->lock);
    return ESRCH;
  }
  *out = p;
  return 0;
}

API int kthread_suspend(struct proc *h, int timo) {
  need_init();
  if (getenv("FGSUT_DEBUG")) dbg("enter kthread_suspend host %d timo %d now %lld\n", me ? me->index : -9, timo, (long long)now_ticks());
  struct sproc *p;
  int err = kthread_handle(h, timo, &p);
  if (err != 0) return err;
  p->suspend_requested = true;
  int r = 0;
  if (p->kstate != KS_PARKED) r = wait_on(p, W_SUSPEND, timo, false);
  unlock(&p->lock);
  return r;
}

API int kthread_resume(struct proc *h) {
  need_init();
  struct sproc *p;
  int err = kthread_handle(h, 0, &p);
  if (err != 0) return err;
  p->suspend_requested = false;
  if (p->kstate == KS_PARKED) {
    p->kstate = KS_RUNNING; /* S3: it leaves PARKED in this step */
    pthread_cond_broadcast(&p->park_cv);
  }
  unlock(&p->lock);
  return 0;
}

API void kthread_suspend_check(struct proc *h) {
  need_init();
  if (getenv("FGSUT_DEBUG")) dbg("enter kthread_suspend_check now %lld\n", (long long)now_ticks());
  const struct ticket *t = (const struct ticket *)h;
  struct sproc *p = kself;
  if (p == NULL || t == NULL || t->p != p || t->gen != kself_gen) fatal("K5-other", "kthread_suspend_check on another process");
  lock(&p->lock);
  if (p->suspend_requested) {
    wake_waiters(p, W_SUSPEND, 0); /* the acknowledgement */
    p->kstate = KS_PARKED;
    while (p->kstate == KS_PARKED) pthread_cond_wait(&p->park_cv, &p->lock);
  }
  unlock(&p->lock);
}

API void kproc_shutdown(void *arg, int howto) {
  (void)howto;
  need_init();
  const struct ticket *t = arg;
  char banner[128];
  snprintf(banner, sizeof banner, "Waiting (max 60 seconds) for system process `%s' to stop...", t != NULL ? t->comm : "");
  struct sproc *p;
  int err = kthread_handle(arg, 0, &p);
  if (err != 0) { /* EINVAL / ESRCH: FreeBSD 2004 says "stopped" */
    lock(&console_lock);
    console_put_locked(banner);
    console_put_locked("stopped");
    unlock(&console_lock);
    return;
  }
  lock(&console_lock);
  console_put_locked(banner);
  if (p->kstate == KS_PARKED) console_put_locked("stopped");
  unlock(&console_lock);
  p->suspend_requested = true;
  if (p->kstate != KS_PARKED) (void)wait_on(p, W_SUSPEND, 60 * 100, true); /* its ender writes the result */
  unlock(&p->lock);
}

API int kthread_wait_exit(struct proc *h, int timo) {
  need_init();
  struct sproc *p;
  int err = kthread_handle(h, timo, &p);
  if (err != 0) return err;
  int r = 0;
  if (p->kstate != KS_ZOMBIE) r = wait_on(p, W_EXIT, timo, false);
  unlock(&p->lock);
  return r;
}

API int kthread_reap(struct proc *h) {
  need_init();
  const struct ticket *t = (const struct ticket *)h;
  if (t == NULL || t->kind != KIND_KTHREAD) return EINVAL;
  wrlock();
  struct sproc *p = t->p;
  lock(&p->lock);
  if (p->gen != t->gen) {
    unlock(&p->lock);
    tunlock();
    return ESRCH;
  }
  if (p->kstate != KS_ZOMBIE) {
    unlock(&p->lock);
    tunlock();
    return EBUSY;
  }
  proc_free_locked(p); /* K9: leaves the table; unlocks p */
  tunlock();
  return 0;
}

API struct proc *lockstep_curproc(void) {
  need_init();
  struct sproc *p = kself;
  if (p == NULL) return NULL;
  lock(&p->lock);
  struct proc *r = (struct proc *)ticket_of(p);
  unlock(&p->lock);
  return r;
}

API struct proc *lockstep_pfind(pid_t pid) {
  need_init();
  rdlock();
  struct sproc *p = pid >= 0 && pid <= pid_max ? ptab[pid] : NULL;
  struct proc *r = NULL;
  if (p != NULL) {
    lock(&p->lock);
    r = (struct proc *)ticket_of(p);
    unlock(&p->lock);
  }
  tunlock();
  return r;
}

API pid_t lockstep_proc_pid(struct proc *h) {
  need_init();
  const struct ticket *t = (const struct ticket *)h;
  if (t == NULL) return -1;
  struct sproc *p = t->p;
  lock(&p->lock);
  pid_t r = p->gen == t->gen && p->live ? p->pid : -1;
  unlock(&p->lock);
  return r;
}

API void lockstep_kthread_progress(void) {
  need_init();
  struct sproc *p = kself;
  if (p == NULL) return;
  lock(&p->lock);
  p->progress++;
  unlock(&p->lock);
}

/* ------------------------------------------------------------------------------------------------ */
/* Introspection */

API long long lockstep_sut_tick_ns(void) { return tick_ns(); }
API int lockstep_sut_env_limits(void) { return 1; }

API void lockstep_sut_name_host(int index) {
  struct hostctx *h = host_self();
  lock(&host_lock);
  h->index = index;
  unlock(&host_lock);
}

struct sbuf {
  char *s;
  size_t n, cap;
};
static void sb_put(struct sbuf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    while (b->n + n + 1 > b->cap) b->cap = b->cap ? b->cap * 2 : 4096;
    b->s = realloc(b->s, b->cap);
    if (b->s == NULL) abort();
  }
  memcpy(b->s + b->n, s, n);
  b->n += n;
  b->s[b->n] = '\0';
}
static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    sb_put(b, tmp, (size_t)n);
    return;
  }
  char *big = xcalloc((size_t)n + 1, 1);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sb_put(b, big, (size_t)n);
  free(big);
}
static void sb_str(struct sbuf *b, const char *s) {
  sb_put(b, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') {
      char e[2] = {'\\', (char)*c};
      sb_put(b, e, 2);
    } else if (*c < 0x20) {
      sb_printf(b, "\\u%04x", *c);
    } else {
      sb_put(b, (const char *)c, 1);
    }
  }
  sb_put(b, "\"", 1);
}

static const char *kind_name(int k) {
  return k == KIND_KERNEL ? "kernel" : k == KIND_INIT ? "init" : k == KIND_USER ? "user" : "kthread";
}
static const char *kstate_name(int s) { return s == KS_RUNNING ? "RUNNING" : s == KS_PARKED ? "PARKED" : "ZOMBIE"; }

API long lockstep_sut_state(char *buf, unsigned long len) {
  pthread_once(&table_lock_once, table_lock_init);
  struct sbuf b = {0};
  ilock();
  if (!atomic_load(&initialized)) {
    sb_printf(&b, "{\"nprocs\":0,\"procs\":[],\"hosts\":[],\"blocked\":[],\"files\":{},\"console\":[]}");
  } else {
    /* everything, in the documented order: a snapshot no call is halfway through */
    wrlock();
    for (int pid = 0; pid <= pid_max; pid++)
      if (ptab[pid] != NULL) lock(&ptab[pid]->lock);
    size_t nt = 0;
    struct fdtab **ts = xcalloc((size_t)nprocs + 1, sizeof *ts);
    for (int pid = 0; pid <= pid_max; pid++)
      if (ptab[pid] != NULL) ts[nt++] = ptab[pid]->fdt;
    qsort(ts, nt, sizeof *ts, cmp_ptr);
    size_t k = 0;
    for (size_t i = 0; i < nt; i++)
      if (k == 0 || ts[k - 1] != ts[i]) ts[k++] = ts[i];
    for (size_t i = 0; i < k; i++) lock(&ts[i]->lock);
    lock(&files_lock);
    lock(&wait_lock);
    lock(&console_lock);
    lock(&host_lock);

    sb_printf(&b, "{\"nprocs\":%d,\"procs\":[", nprocs);
    bool first = true;
    for (int pid = 0; pid <= pid_max; pid++) {
      struct sproc *p = ptab[pid];
      if (p == NULL) continue;
      sb_printf(&b, "%s{\"pid\":%d,\"ppid\":%d,\"comm\":", first ? "" : ",", (int)p->pid, (int)p->ppid);
      first = false;
      sb_str(&b, p->comm);
      sb_printf(&b, ",\"kind\":\"%s\",\"uid\":%u,\"lwps\":[", kind_name(p->kind), (unsigned)p->uid);
      for (struct klwp *l = p->lwps; l != NULL; l = l->next_in_proc)
        sb_printf(&b, "%s[%d,%d,%s]", l == p->lwps ? "" : ",", l->lid, l->released ? BOUND_NONE : l->bound,
                  l->released ? "true" : "false");
      sb_printf(&b, "],\"fdtable\":%d,\"fds\":[", p->fdt->key);
      bool f1 = true;
      for (int fd = 0; fd < p->fdt->cap; fd++)
        if (p->fdt->fd[fd] != NULL) {
          sb_printf(&b, "%s[%d,%d]", f1 ? "" : ",", fd, p->fdt->fd[fd]->key);
          f1 = false;
        }
      sb_printf(&b, "]");
      if (p->kind == KIND_KTHREAD)
        sb_printf(&b, ",\"kstate\":\"%s\",\"suspend_requested\":%s,\"progress\":%lld,\"exit_code\":%d", kstate_name(p->kstate),
                  p->suspend_requested ? "true" : "false", (long long)p->progress, p->exit_code);
      sb_printf(&b, "}");
    }
    sb_printf(&b, "],\"hosts\":[");
    int maxh = -1;
    for (struct hostctx *h = hosts; h != NULL; h = h->next)
      if (h->index > maxh) maxh = h->index;
    for (int i = 0; i <= maxh; i++) {
      struct klwp *cur = NULL;
      for (struct hostctx *h = hosts; h != NULL; h = h->next)
        if (h->index == i) cur = atomic_load(&h->cur);
      struct sproc *cp = cur != NULL ? atomic_load(&cur->proc) : NULL;
      if (cp != NULL) sb_printf(&b, "%s{\"curlwp\":[%d,%d],\"pid\":%d}", i ? "," : "", (int)cp->pid, cur->lid, (int)cp->pid);
      else sb_printf(&b, "%s{\"curlwp\":null,\"pid\":1}", i ? "," : "");
    }
    sb_printf(&b, "],\"blocked\":[");
    for (struct waiter *w = wait_head; w != NULL; w = w->next) {
      sb_printf(&b, "%s{\"host\":%d,\"what\":\"%s\",\"target\":%d", w == wait_head ? "" : ",", w->host,
                w->what == W_EXIT ? "kthread_wait_exit" : "kthread_suspend", (int)w->target);
      if (w->timo > 0) sb_printf(&b, ",\"timo\":%d", w->timo);
      sb_printf(&b, "}");
    }
    sb_printf(&b, "],\"files\":{");
    for (struct file *f = files; f != NULL; f = f->next) {
      if (f != files) sb_put(&b, ",", 1);
      sb_str(&b, f->path);
      sb_printf(&b, ":%lld", (long long)f->size);
    }
    sb_printf(&b, "},\"console\":[");
    for (size_t i = 0; i < console_n; i++) {
      if (i) sb_put(&b, ",", 1);
      sb_str(&b, console[i]);
    }
    sb_printf(&b, "]}");

    unlock(&host_lock);
    unlock(&console_lock);
    unlock(&wait_lock);
    unlock(&files_lock);
    for (size_t i = k; i-- > 0;) unlock(&ts[i]->lock);
    free(ts);
    for (int pid = pid_max; pid >= 0; pid--)
      if (ptab[pid] != NULL) unlock(&ptab[pid]->lock);
    tunlock();
  }
  iunlock();
  long n = (long)b.n;
  if (buf != NULL && len > 0) {
    if ((unsigned long)n < len) memcpy(buf, b.s, (size_t)n + 1);
    else buf[0] = '\0';
  }
  free(b.s);
  return n;
}
