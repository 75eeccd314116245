/* rump system calls used by lockstep, NetBSD conventions: -1 and errno on failure (SPEC §3 P6-P8).
 * errno values are the host's <errno.h> values. */
#ifndef LOCKSTEP_RUMP_RUMP_SYSCALLS_H
#define LOCKSTEP_RUMP_RUMP_SYSCALLS_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* NetBSD's open(2) flag values. Only RUMP_O_CREAT has an effect: the access mode is not enforced and
 * opening an existing file with RUMP_O_CREAT just opens it. */
#define RUMP_O_RDONLY 0x0000
#define RUMP_O_WRONLY 0x0001
#define RUMP_O_RDWR 0x0002
#define RUMP_O_CREAT 0x0200

pid_t rump_sys_getpid(void);
pid_t rump_sys_getppid(void);
uid_t rump_sys_getuid(void);
int rump_sys_setuid(uid_t uid);
/* The optional third argument (mode_t mode) is accepted and ignored. */
int rump_sys_open(const char *path, int flags, ...);
/* Only the size is kept: the file grows by n bytes; returns n. */
ssize_t rump_sys_write(int fd, const void *buf, size_t n);
/* Fills sb->st_size (and zeroes the rest). */
int rump_sys_fstat(int fd, struct stat *sb);
int rump_sys_close(int fd);
int rump_sys_dup(int fd);

#ifdef __cplusplus
}
#endif

#endif
