/* A C (not C++) program against the installed headers: compiles with -std=c11 -pedantic -Werror and
 * links against lockstep_impl. It exercises each header once, a C kthread body included. */
#define _DEFAULT_SOURCE /* usleep */
#include <stdatomic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <lockstep/faults.h>
#include <rump/rump.h>
#include <rump/rump_syscalls.h>
#include <sys/kthread.h>

#define CHECK(c)                                                        \
  do {                                                                  \
    if (!(c)) {                                                         \
      fprintf(stderr, "c_api_smoke: CHECK failed: %s (line %d)\n", #c, __LINE__); \
      return 1;                                                         \
    }                                                                   \
  } while (0)

/* Written by main, read by the kthread: an atomic (volatile is no synchronisation; TSan sees the race). */
static atomic_int stop_now;

static void body(void *arg) {
  int *iterations = arg;
  for (;;) {
    kthread_suspend_check(curproc);
    lockstep_kthread_progress();
    ++*iterations;
    if (atomic_load(&stop_now)) kthread_exit(42);
    usleep(100);
  }
}

int main(void) {
  struct stat sb;
  struct lwp *l;
  struct proc *p = NULL;
  int iterations = 0;
  int fd;

  CHECK(lockstep_set_faults("") == 0);
  CHECK(rump_init() == 0);
  CHECK(rump_sys_getpid() == 1);
  CHECK(rump_pub_lwproc_curlwp() == NULL);
  CHECK(rump_pub_lwproc_rfork(RUMP_RFCFDG) == 0);
  CHECK(rump_sys_getpid() == 2 && rump_sys_getppid() == 1);
  l = rump_pub_lwproc_curlwp();
  CHECK(l != NULL);
  fd = rump_sys_open("/c", RUMP_O_WRONLY | RUMP_O_CREAT, 0600);
  CHECK(fd == 0);
  CHECK(rump_sys_write(fd, "abc", 3) == 3);
  CHECK(rump_sys_fstat(fd, &sb) == 0 && sb.st_size == 3);
  CHECK(rump_sys_dup(fd) == 1);
  CHECK(rump_sys_close(fd) == 0);
  CHECK(rump_sys_close(fd) == -1 && errno == EBADF);
  CHECK(rump_sys_setuid(10) == 0 && rump_sys_getuid() == 10);
  rump_pub_lwproc_switch(NULL);
  CHECK(rump_sys_getuid() == 0);
  rump_pub_lwproc_switch(l);
  rump_pub_lwproc_releaselwp();
  CHECK(rump_pub_lwproc_newlwp(2) == ESRCH);

  CHECK(kthread_create(body, &iterations, &p, RFFDG, 0, "c%s", "body") == 0);
  CHECK(kthread_suspend(p, 0) == 0);
  CHECK(kthread_resume(p) == 0);
  atomic_store(&stop_now, 1);
  CHECK(kthread_wait_exit(p, 0) == 0);
  CHECK(kthread_reap(p) == 0);
  CHECK(iterations >= 1);
  CHECK(lockstep_pfind(1) != NULL && kthread_suspend(lockstep_pfind(1), 1) == EINVAL);
  puts("c_api_smoke: ok");
  return 0;
}
