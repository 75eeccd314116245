/* The plug-in interface: what lockstep looks for in a system under test (SUT) loaded with
 * `lockstep run --sut LIB` (checker/sut/SUT.md).
 *
 * A SUT is a shared library exporting the C API of <rump/rump.h>, <rump/rump_syscalls.h> and
 * <sys/kthread.h> under those names, with the semantics of SPEC.md.
 *
 * Required: rump_init and the five rump_pub_lwproc_* calls. A library missing one is refused (exit 2,
 * with the missing names).
 *
 * Optional, each detected by name: every rump_sys_* call, every kthread_* / kproc_* call, the documented
 * extensions of <sys/kthread.h> (kthread_wait_exit, kthread_reap, lockstep_kthread_progress, and
 * lockstep_proc_pid, which tells lockstep a new kthread's pid: without it the SUT must hand out pids as
 * SPEC P1's reference allocator does), and the symbols below. lockstep generates only the operations a SUT
 * exports and says in its summary which ones those were.
 *
 * How lockstep calls a SUT: every program runs in a fresh child process that dlopen()s the library and
 * calls rump_init() once, from one of its host threads; each host thread of the program is an OS thread
 * of that child, so curlwp is per OS thread as in rump. A FATAL misuse (SPEC §2) must end the process:
 * lockstep expects the child to die (abort(), a signal, or exit with a non-zero status) and reads the
 * rule id from a line "panic: RULE: ..." on stderr when there is one. Console lines (SPEC K7) are read
 * from stderr, one per line. Handles: a value the SUT hands out as a struct lwp * or struct proc * is never
 * handed out again for another object (SPEC §3: a stale handle must be told from a live one even when
 * memory is reused). kthread_exit must end the calling thread (lockstep answers it when the thread
 * ends). Calling exit(0) or fork() makes a run untrusted. Time: timeouts count ticks of one clock (SPEC §5); lockstep only needs to
 * know how long a tick is. */
#ifndef LOCKSTEP_SUT_H
#define LOCKSTEP_SUT_H

#ifdef __cplusplus
extern "C" {
#endif

/* The length of one tick of the SUT's clock, in nanoseconds (hz 100 is 10000000). Without it lockstep
 * assumes --sut-tick-us (default 10000). */
long long lockstep_sut_tick_ns(void);

/* Introspection (optional; both names, or neither is used).
 *
 * lockstep_sut_name_host(i) is called once on each host thread of the child, before its first call
 * and possibly before rump_init: the calling OS thread is host H<i> from then on (the reaper is the
 * host after the last).
 *
 * lockstep_sut_state(buf, len) writes the SPEC §7 state as one JSON object, NUL-terminated, into buf
 * and returns its length without the NUL; when len is too small it writes nothing useful and returns
 * the length it needs (snprintf's contract); negative on failure. lockstep calls it from a thread
 * that is not a host, only while no call is running except those waiting (SPEC §5). The object is the
 * trace format's `observed_state` (traces/FORMAT.md), except that fd tables and open descriptions may
 * be named by any integers in [0, 2^31) (lockstep renames them by first appearance):
 *   {"nprocs": N,
 *    "procs": [{"pid", "ppid", "comm", "kind": "kernel"|"init"|"user"|"kthread", "uid",
 *               "lwps": [[lid, bound, released], ...]   bound: host index, -1 unbound, -2 its kthread's thread
 *               "fdtable": key, "fds": [[fd, description key], ...],
 *               kthreads also: "kstate": "RUNNING"|"PARKED"|"ZOMBIE"|"REAPED", "suspend_requested", "progress",
 *               "exit_code"}, ...]                     by pid, zombies included
 *    "hosts": [{"curlwp": [pid, lid] | null, "pid": current pid}, ...]   by host index, every named host
 *    "blocked": [{"host", "what": "kthread_suspend"|"kthread_wait_exit", "target": pid,
 *                 "timo": ticks}, ...]   timo (optional): a timed wait's timeout as armed, from its
 *                                        start to its deadline in the SUT's ticks
 *    "files": {"path": size, ...}, "console": ["line", ...]}
 * With it, lockstep compares the whole §7 state after every step of `run --sut`, and `stress --sut`
 * takes barriers (a quiescent point observed) that let its judge commit. */
void lockstep_sut_name_host(int index);
long lockstep_sut_state(char *buf, unsigned long len);

/* Reset (optional): returns the SUT to where it was before rump_init, so that one process runs many
 * programs (rump_init is called again next). lockstep calls it from a thread that is not a host, only
 * between programs, only when no call is in flight; kthreads created earlier may still exist (their
 * bodies' threads idle in lockstep's code, never again in the SUT's): the SUT must forget them. Handles
 * issued before must still never be issued again (SPEC §3), and every thread starts the next program in
 * the implicit context. Returns 0, or non-zero when it could not (lockstep then starts a fresh process).
 * A program that fails after a reset is run again in a fresh process: if it agrees there, the verdict
 * says the reset left state behind. */
int lockstep_sut_reset(void);

/* Limits (optional): exporting it says that rump_init takes maxproc from the environment variable
 * LOCKSTEP_MAXPROC and PID_MAX from LOCKSTEP_PID_MAX (SPEC §1), which lockstep always sets. lockstep then
 * runs with the limits of its built-in runs by default (maxproc 8, PID_MAX 12: programs reach maxproc and pids wrap)
 * instead of the SPEC's 64 and 30000, which programs of 100 steps never reach. Never called. */
int lockstep_sut_env_limits(void);

#ifdef __cplusplus
}
#endif

#endif
