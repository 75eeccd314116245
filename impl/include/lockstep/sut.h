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

#ifdef __cplusplus
}
#endif

#endif
