/* A SUT that misbehaves on purpose, for tests/checker/test_sut.cpp: the example SUT
 * (checker/sut/example/minimal_sut.c) with a rump_sys_getpid that, from its 5th call on, does what
 * LOCKSTEP_TEST_MISBEHAVE says: "noise" writes junk to stdout and stderr on every call (then answers
 * right), "fork" forks, "exit" calls exit(0), "exit3" exit(3), "hang" never returns, "crash" raises SIGSEGV,
 * "sanitizer" writes a ThreadSanitizer-like report and ends with its status 66, "spinlock" takes a
 * spin lock of its own around a pthread mutex's lock and unlock (a wait lockstep-sut-host's serial
 * schedule cannot see: a caller spinning on it while the owner waits for the baton), "split" answers
 * from two critical sections and leaves a wrong value visible between them (a race only a call
 * inside that gap shows), "wrong"
 * answers a pid that does not exist; "badreset" exports a reset that forgets nothing. lockstep must end
 * each run with a verdict and leave nothing behind. */
#define rump_sys_getpid example_getpid
#include "minimal_sut.c"
#undef rump_sys_getpid

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

static atomic_int calls;
static atomic_flag spin = ATOMIC_FLAG_INIT;
static pthread_mutex_t inner = PTHREAD_MUTEX_INITIALIZER;
static int split_bias; /* under inner: 1000 between a "split" getpid's two critical sections */

SUT_API pid_t rump_sys_getpid(void) {
  const char *mode = getenv("LOCKSTEP_TEST_MISBEHAVE");
  const int n = atomic_fetch_add(&calls, 1) + 1;
  if (mode == NULL) return example_getpid();
  if (strcmp(mode, "noise") == 0) {
    static const char junk[] = "\x01\x02garbage that looks like nothing\n\0\0\0\xff";
    if (write(1, junk, sizeof junk) < 0 || write(2, junk, sizeof junk) < 0) abort();
    printf("stopped\n"); /* not a console line lockstep may take for the kernel's: it goes to stdout */
    fflush(stdout);
    return example_getpid();
  }
  if (strcmp(mode, "spinlock") == 0) {
    while (atomic_flag_test_and_set_explicit(&spin, memory_order_acquire)) {
    }
    pthread_mutex_lock(&inner);
    pthread_mutex_unlock(&inner);
    atomic_flag_clear_explicit(&spin, memory_order_release);
    return example_getpid();
  }
  if (strcmp(mode, "split") == 0) {
    pthread_mutex_lock(&inner);
    const int bias = split_bias;
    split_bias = 1000;
    pthread_mutex_unlock(&inner);
    pthread_mutex_lock(&inner);
    split_bias = 0;
    pthread_mutex_unlock(&inner);
    return example_getpid() + bias;
  }
  if (n < 5) return example_getpid();
  if (strcmp(mode, "fork") == 0) {
    if (fork() == 0) {
      for (;;) pause();
    }
  } else if (strcmp(mode, "exit") == 0) {
    exit(0);
  } else if (strcmp(mode, "exit3") == 0) {
    exit(3);
  } else if (strcmp(mode, "hang") == 0) {
    for (;;) pause();
  } else if (strcmp(mode, "crash") == 0) {
    raise(SIGSEGV);
  } else if (strcmp(mode, "sanitizer") == 0) {
    static const char report[] =
        "==================\nWARNING: ThreadSanitizer: data race (pid=1)\n  Write of size 8 by thread T1:\n"
        "SUMMARY: ThreadSanitizer: data race misbehaving_sut.c:42 in rump_sys_getpid\n==================\n";
    if (write(2, report, sizeof report - 1) < 0) abort();
    _exit(66);
  } else if (strcmp(mode, "wrong") == 0) {
    return 4242;
  }
  return example_getpid();
}

/* "badreset": a lockstep_sut_reset that forgets nothing (the next program sees the last one's
 * processes). In every other mode it refuses, so lockstep starts each program in a fresh process. */
SUT_API int lockstep_sut_reset(void) {
  const char *mode = getenv("LOCKSTEP_TEST_MISBEHAVE");
  return mode != NULL && strcmp(mode, "badreset") == 0 ? 0 : -1;
}
