/* rump_lwproc(3) under the NetBSD names, backed by lockstep's concurrent kernel (impl/).
 *
 * The C API uses one process-wide default kernel created by rump_init() (idempotent). Any call before it
 * is FATAL(P0-uninit): "panic: P0-uninit: ..." on stderr and abort(). Host threads are the calling OS
 * threads: each OS thread has its own curlwp, starting IMPLICIT (SPEC §1, §3).
 *
 * Environment read by rump_init(): LOCKSTEP_FAULT=name[,name] (injected faults, see `lockstep faults`),
 * LOCKSTEP_MAXPROC=n (default 64), LOCKSTEP_PID_MAX=n (default 30000, the SPEC's PID_MAX; smaller makes pids
 * wrap sooner), LOCKSTEP_TICK_US=n (length of a tick, default 10000 = hz 100). */
#ifndef LOCKSTEP_RUMP_RUMP_H
#define LOCKSTEP_RUMP_RUMP_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque. Values are generation-free serials that are never reused, so a stale handle is detected
 * (FATAL L3-stale) rather than undefined. */
struct lwp;

/* rump's own rfork flags (not the kernel's rfork(2) values). */
#define RUMP_RFFD_SHARE 0x00 /* share the parent's fd table */
#define RUMP_RFFDG 0x01      /* copy the parent's fd table */
#define RUMP_RFCFDG 0x02     /* fresh, empty fd table */

int rump_init(void);

/* These return 0 or an errno value (not -1/errno). */
int rump_pub_lwproc_rfork(int flags);
int rump_pub_lwproc_newlwp(pid_t pid);
void rump_pub_lwproc_switch(struct lwp *l);
void rump_pub_lwproc_releaselwp(void);
struct lwp *rump_pub_lwproc_curlwp(void);

#ifdef __cplusplus
}
#endif

#endif
