/* The C API of an installed lockstep, from C11: rump_lwproc(3), rump system calls, kthread(9). */
#define _DEFAULT_SOURCE /* usleep */
#include <stdatomic.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <lockstep/faults.h>
#include <rump/rump.h>
#include <rump/rump_syscalls.h>
#include <sys/kthread.h>

#define CHECK(c)                                                                \
  do {                                                                          \
    if (!(c)) {                                                                 \
      fprintf(stderr, "c_consumer: CHECK failed: %s (line %d)\n", #c, __LINE__); \
      return 1;                                                                 \
    }                                                                           \
  } while (0)

static atomic_int stop_now;  /* main writes, the kthread reads: an atomic, not volatile */

static void body(void *arg) {
  int *iterations = arg;
  for (;;) {
    kthread_suspend_check(curproc);
    lockstep_kthread_progress();
    ++*iterations;
    if (atomic_load(&stop_now)) kthread_exit(0);
    usleep(100);
  }
}

int main(void) {
  struct stat sb;
  struct lwp *child;
  struct proc *p = NULL;
  int iterations = 0;
  pid_t pid, ppid;
  int fd;

  CHECK(lockstep_set_faults("") == 0);
  CHECK(rump_init() == 0);
  CHECK(rump_sys_getpid() == 1);
  CHECK(rump_pub_lwproc_rfork(RUMP_RFCFDG) == 0);
  pid = rump_sys_getpid();
  ppid = rump_sys_getppid();
  CHECK(pid == 2 && ppid == 1);
  child = rump_pub_lwproc_curlwp();
  CHECK(child != NULL);
  fd = rump_sys_open("/installed", RUMP_O_RDWR | RUMP_O_CREAT, 0600);
  CHECK(fd >= 0);
  CHECK(rump_sys_write(fd, "lockstep", 8) == 8);
  CHECK(rump_sys_fstat(fd, &sb) == 0 && sb.st_size == 8);
  CHECK(rump_pub_lwproc_newlwp(pid) == 0); /* a second lwp in process 2, now curlwp */
  CHECK(rump_sys_getpid() == pid && rump_pub_lwproc_curlwp() != child);
  rump_pub_lwproc_releaselwp();
  rump_pub_lwproc_switch(child);
  rump_pub_lwproc_releaselwp();
  CHECK(rump_pub_lwproc_newlwp(pid) == ESRCH); /* the process went with its last lwp */

  CHECK(kthread_create(body, &iterations, &p, RFFDG, 0, "consumer%d", 1) == 0);
  CHECK(kthread_suspend(p, 0) == 0);
  CHECK(kthread_resume(p) == 0);
  atomic_store(&stop_now, 1);
  CHECK(kthread_wait_exit(p, 0) == 0);
  CHECK(kthread_reap(p) == 0);
  CHECK(iterations >= 1);
  printf("c_consumer: ok (rfork pid %d ppid %d, file size %lld, kthread ran %s)\n", (int)pid, (int)ppid,
         (long long)sb.st_size, iterations >= 1 ? "yes" : "no");
  return 0;
}
