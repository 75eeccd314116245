// The C API (<rump/rump.h>, <rump/rump_syscalls.h>, <sys/kthread.h>, <lockstep/faults.h>) over the
// process-wide default kernel. Every scenario runs in a fresh child process (EXPECT_EXIT / EXPECT_DEATH,
// "threadsafe" style re-executes the binary), so each starts from rump_init() -- or from before it.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <unistd.h>
#include <vector>

#include "lockstep/faults.h"
#include "rump/rump.h"
#include "rump/rump_syscalls.h"
#include "sys/kthread.h"

namespace {


// Inside a child, a failed check prints and exits 1 (gtest assertions do not report from children).
#define CHECK_EQ(a, b)                                                                                  \
  do {                                                                                                  \
    const long long va_ = static_cast<long long>(a), vb_ = static_cast<long long>(b);                   \
    if (va_ != vb_) {                                                                                   \
      std::fprintf(stderr, "CHECK_EQ failed at line %d: %s = %lld, %s = %lld\n", __LINE__, #a, va_, #b, \
                   vb_);                                                                                \
      std::_Exit(1);                                                                                    \
    }                                                                                                   \
  } while (0)
#define CHECK(c) CHECK_EQ(!!(c), 1)
// A test whose body runs in a fresh child process and must exit 0.
#define CHILD_TEST(suite, name)                                                                       \
  void name##_child();                                                                                \
  TEST(suite, name) {                                                                                 \
    EXPECT_EXIT({ name##_child(); std::fflush(stderr); std::_Exit(0); }, ::testing::ExitedWithCode(0), ""); \
  }                                                                                                   \
  void name##_child()

void init(const char* maxproc = "64") {
  setenv("LOCKSTEP_TICK_US", "200", 1);
  setenv("LOCKSTEP_MAXPROC", maxproc, 1);
  CHECK_EQ(rump_init(), 0);
}

// ---- §1 / P0 ----------------------------------------------------------------------------------------

void SwitchRace_body() {
        init();
        CHECK_EQ(rump_pub_lwproc_rfork(0), 0);
        struct lwp* l = rump_pub_lwproc_curlwp();
        rump_pub_lwproc_switch(nullptr);
        std::atomic<int> ready{0}, won{0};
        auto racer = [&] {
          ++ready;
          while (ready.load() < 2) {
          }
          rump_pub_lwproc_switch(l);
          ++won;
          for (;;) pause();  // the winner keeps l; the loser's panic ends the process
        };
        std::thread a(racer), b(racer);
        a.join();
}

TEST(CApi, CallsBeforeRumpInitAreP0Uninit) {
  EXPECT_DEATH(rump_sys_getpid(), "panic: P0-uninit");
  EXPECT_DEATH(rump_pub_lwproc_rfork(0), "panic: P0-uninit");
  EXPECT_DEATH(rump_pub_lwproc_curlwp(), "panic: P0-uninit");
  EXPECT_DEATH(kthread_resume(nullptr), "panic: P0-uninit");
}

CHILD_TEST(CApi, RumpInitIsIdempotent) {
  init(); CHECK_EQ(rump_pub_lwproc_rfork(0), 0); CHECK_EQ(rump_init(), 0);
           CHECK_EQ(rump_sys_getpid(), 2); CHECK_EQ(rump_sys_getppid(), 1);
}

// ---- §3 scenarios -----------------------------------------------------------------------------------

CHILD_TEST(CApi, ImplicitContextIsPid1WithNullCurlwp) {
  init(); CHECK(rump_pub_lwproc_curlwp() == nullptr); CHECK_EQ(rump_sys_getpid(), 1);
           CHECK_EQ(rump_sys_getppid(), 0); CHECK_EQ(rump_sys_getuid(), 0);
}

CHILD_TEST(CApi, LwpsAttachToProcessesIncludingZero) {
  init(); CHECK_EQ(rump_pub_lwproc_newlwp(0), 0); CHECK_EQ(rump_sys_getpid(), 0);
           CHECK(rump_pub_lwproc_curlwp() != nullptr); CHECK_EQ(rump_pub_lwproc_newlwp(1), 0);
           CHECK_EQ(rump_sys_getpid(), 1); CHECK_EQ(rump_pub_lwproc_rfork(RUMP_RFFD_SHARE), 0);
           CHECK_EQ(rump_sys_getpid(), 2); CHECK_EQ(rump_pub_lwproc_newlwp(2), 0); CHECK_EQ(rump_sys_getpid(), 2);
}

CHILD_TEST(CApi, UnknownPidIsEsrch) {
  init(); CHECK_EQ(rump_pub_lwproc_newlwp(2), ESRCH); CHECK_EQ(rump_pub_lwproc_newlwp(12345), ESRCH);
           CHECK(rump_pub_lwproc_curlwp() == nullptr);
}

CHILD_TEST(CApi, CredentialsInheritedAndIndependent) {
  init(); CHECK_EQ(rump_pub_lwproc_rfork(0), 0); struct lwp* a = rump_pub_lwproc_curlwp();
           CHECK_EQ(rump_sys_setuid(1000), 0); CHECK_EQ(rump_sys_getuid(), 1000);
           CHECK_EQ(rump_pub_lwproc_rfork(0), 0); CHECK_EQ(rump_sys_getuid(), 1000);  // inherited
           errno = 0; CHECK_EQ(rump_sys_setuid(0), -1); CHECK_EQ(errno, EPERM);
           rump_pub_lwproc_switch(nullptr); CHECK_EQ(rump_sys_getuid(), 0);  // independent
           CHECK_EQ(rump_sys_setuid(7), 0); rump_pub_lwproc_switch(a); CHECK_EQ(rump_sys_getuid(), 1000);
}

CHILD_TEST(CApi, ProcessWith128LwpsIsFreedWithTheLast) {
  init(); CHECK_EQ(rump_pub_lwproc_rfork(0), 0); const pid_t pid = rump_sys_getpid();
           std::vector<struct lwp*> ls{rump_pub_lwproc_curlwp()};
           for (int i = 1; i < 128; ++i) {
             CHECK_EQ(rump_pub_lwproc_newlwp(pid), 0);
             ls.push_back(rump_pub_lwproc_curlwp());
           } for (std::size_t i = 0; i < ls.size(); ++i) {
             if (rump_pub_lwproc_curlwp() != ls[i]) rump_pub_lwproc_switch(ls[i]);
             CHECK_EQ(rump_sys_getpid(), pid);
             rump_pub_lwproc_releaselwp();
             CHECK_EQ(rump_sys_getpid(), 1);
             CHECK_EQ(rump_pub_lwproc_newlwp(pid), i + 1 < ls.size() ? 0 : ESRCH);
             if (i + 1 < ls.size()) rump_pub_lwproc_releaselwp();  // that extra lwp again
           };
}

TEST(CApi, ReleaseInImplicitContextIsFatal) {
  init();
  EXPECT_DEATH(rump_pub_lwproc_releaselwp(), "panic: L4-implicit: releasing without a dedicated curlwp");
}

CHILD_TEST(CApi, SwitchNullThenBack) {
  init(); CHECK_EQ(rump_pub_lwproc_rfork(0), 0); struct lwp* l = rump_pub_lwproc_curlwp();
           rump_pub_lwproc_switch(nullptr); CHECK(rump_pub_lwproc_curlwp() == nullptr); CHECK_EQ(rump_sys_getpid(), 1);
           rump_pub_lwproc_switch(l); CHECK(rump_pub_lwproc_curlwp() == l); CHECK_EQ(rump_sys_getpid(), 2);
}

TEST(CApi, SwitchNullFromImplicitIsFatal) {
  init();
  EXPECT_DEATH(rump_pub_lwproc_switch(nullptr), "panic: L3-null-implicit");
}

TEST(CApi, SwitchToReleasedLwpIsStale) {
  init();
  ASSERT_EQ(rump_pub_lwproc_rfork(0), 0);
  struct lwp* l = rump_pub_lwproc_curlwp();
  rump_pub_lwproc_releaselwp();
  EXPECT_DEATH(rump_pub_lwproc_switch(l), "panic: L3-stale");
}

// Two host threads race to switch to one lwp: exactly one wins, the other is FATAL (abort).
TEST(CApi, SwitchRaceOneWinsOtherPanics) {
  EXPECT_DEATH(SwitchRace_body(),
      "panic: L3-running: switching to an already running lwp");
}


CHILD_TEST(CApi, RforkFlagValidation) {
  init(); CHECK_EQ(rump_pub_lwproc_rfork(3), EINVAL); CHECK_EQ(rump_pub_lwproc_rfork(4), EINVAL);
           CHECK_EQ(rump_pub_lwproc_rfork(-1), EINVAL); CHECK(rump_pub_lwproc_curlwp() == nullptr);
           CHECK_EQ(rump_pub_lwproc_rfork(RUMP_RFFDG), 0); CHECK_EQ(rump_sys_getpid(), 2);
}

CHILD_TEST(CApi, FdTablesSharedCopiedFresh) {
  
      init(); struct stat sb;
      int fd = rump_sys_open("/data", RUMP_O_RDWR | RUMP_O_CREAT, 0644); CHECK_EQ(fd, 3);
      CHECK_EQ(rump_sys_write(fd, "hello", 5), 5);
      // shared
      CHECK_EQ(rump_pub_lwproc_rfork(RUMP_RFFD_SHARE), 0); struct lwp* shared = rump_pub_lwproc_curlwp();
      CHECK_EQ(rump_sys_fstat(3, &sb), 0); CHECK_EQ(sb.st_size, 5);
      CHECK_EQ(rump_sys_open("/data", RUMP_O_RDONLY), 4);
      rump_pub_lwproc_switch(nullptr); CHECK_EQ(rump_sys_close(4), 0);  // parent closes the shared fd
      rump_pub_lwproc_switch(shared); errno = 0; CHECK_EQ(rump_sys_fstat(4, &sb), -1); CHECK_EQ(errno, EBADF);
      rump_pub_lwproc_releaselwp();
      // copied
      CHECK_EQ(rump_pub_lwproc_rfork(RUMP_RFFDG), 0); CHECK_EQ(rump_sys_write(3, "ab", 2), 2);
      CHECK_EQ(rump_sys_close(3), 0); CHECK_EQ(rump_sys_dup(0), 3); rump_pub_lwproc_releaselwp();
      CHECK_EQ(rump_sys_fstat(3, &sb), 0); CHECK_EQ(sb.st_size, 7);  // parent's fd 3 is still /data
      // fresh
      CHECK_EQ(rump_pub_lwproc_rfork(RUMP_RFCFDG), 0); errno = 0; CHECK_EQ(rump_sys_write(1, "x", 1), -1);
      CHECK_EQ(errno, EBADF); CHECK_EQ(rump_sys_open("/data", RUMP_O_RDONLY), 0);
      CHECK_EQ(rump_sys_fstat(0, &sb), 0); CHECK_EQ(sb.st_size, 7);
      errno = 0; CHECK_EQ(rump_sys_open("/missing", RUMP_O_RDONLY), -1); CHECK_EQ(errno, ENOENT);
      errno = 0; CHECK_EQ(rump_sys_close(-1), -1); CHECK_EQ(errno, EBADF);
      errno = 0; CHECK_EQ(rump_sys_dup(99), -1); CHECK_EQ(errno, EBADF);
}

// ---- §4 scenarios -----------------------------------------------------------------------------------

std::atomic<bool> g_exit{false};
std::atomic<bool> g_check{true};
std::atomic<long> g_progress{0};

void loop_body(void* arg) {
  const int code = static_cast<int>(reinterpret_cast<std::intptr_t>(arg));
  for (;;) {
    if (g_check.load()) kthread_suspend_check(curproc);
    lockstep_kthread_progress();
    ++g_progress;
    if (g_exit.load()) kthread_exit(code);
    usleep(100);
  }
}

CHILD_TEST(CApi, KthreadCreateExitWaitReap) {
  init(); struct proc* p = nullptr;
           CHECK_EQ(kthread_create(loop_body, reinterpret_cast<void*>(9), &p, 0, 0, "worker%d", 1), 0);
           CHECK(p != nullptr); CHECK_EQ(lockstep_proc_pid(p), 2); CHECK_EQ(kthread_wait_exit(p, 5), EWOULDBLOCK);
           CHECK_EQ(kthread_reap(p), EBUSY); g_exit = true; CHECK_EQ(kthread_wait_exit(p, 0), 0);
           CHECK_EQ(lockstep_proc_pid(p), 2);  // zombie
           CHECK_EQ(kthread_reap(p), 0); CHECK_EQ(lockstep_proc_pid(p), -1); CHECK_EQ(kthread_reap(p), ESRCH);
           CHECK_EQ(kthread_suspend(p, 1), ESRCH); CHECK(curproc == nullptr);
}

CHILD_TEST(CApi, KthreadFlagsAndMaxproc) {
  init("4"); struct proc *a, *b, *c;
           CHECK_EQ(kthread_create(loop_body, nullptr, &a, RFCFDG, 0, "a"), EINVAL);
           CHECK_EQ(kthread_create(loop_body, nullptr, &a, 1, 0, "a"), EINVAL);
           CHECK_EQ(kthread_create(loop_body, nullptr, &a, RFFDG, 0, "a"), 0);
           CHECK_EQ(kthread_create(loop_body, nullptr, &b, 0, 0, "b"), 0);
           CHECK_EQ(kthread_create(loop_body, nullptr, &c, 0, 0, "c"), EAGAIN);
}

CHILD_TEST(CApi, SuspendAcknowledgedAndResume) {
  init(); struct proc* p = nullptr; CHECK_EQ(kthread_create(loop_body, nullptr, &p, 0, 0, "s"), 0);
           CHECK_EQ(kthread_suspend(p, 0), 0); const long frozen = g_progress.load(); usleep(20000);
           CHECK_EQ(g_progress.load(), frozen); CHECK_EQ(kthread_suspend(p, 0), 0);  // already parked
           CHECK_EQ(kthread_resume(p), 0); while (g_progress.load() == frozen) usleep(100);
           CHECK_EQ(kthread_resume(p), 0);  // not suspended: 0
           g_exit = true; CHECK_EQ(kthread_wait_exit(p, 0), 0);
}

CHILD_TEST(CApi, SuspendTimedOutKeepsTheFlag) {
  init(); g_check = false; struct proc* p = nullptr;
           CHECK_EQ(kthread_create(loop_body, nullptr, &p, 0, 0, "t"), 0);
           CHECK_EQ(kthread_suspend(p, 10), EWOULDBLOCK); const long before = g_progress.load();
           g_check = true;  // the next check parks: the request is still pending
           usleep(20000); const long parked = g_progress.load(); usleep(20000);
           CHECK_EQ(g_progress.load(), parked); CHECK(parked >= before);
           CHECK_EQ(kthread_suspend(p, 0), 0); CHECK_EQ(kthread_resume(p), 0); g_exit = true;
           CHECK_EQ(kthread_wait_exit(p, 0), 0);
}

CHILD_TEST(CApi, NonKthreadsAreEinval) {
  init(); CHECK_EQ(rump_pub_lwproc_rfork(0), 0); struct proc* user = lockstep_pfind(2);
           rump_pub_lwproc_switch(nullptr);
           struct proc* ps[] = {lockstep_pfind(0), lockstep_pfind(1), user};
           for (struct proc* p : ps) {
             CHECK(p != nullptr);
             CHECK_EQ(kthread_suspend(p, 1), EINVAL);
             CHECK_EQ(kthread_resume(p), EINVAL);
             CHECK_EQ(kthread_wait_exit(p, 1), EINVAL);
             CHECK_EQ(kthread_reap(p), EINVAL);
           } CHECK(lockstep_pfind(3) == nullptr);
}

TEST(CApi, SuspendCheckOnOtherProcessIsFatal) {
  init();
  EXPECT_DEATH(kthread_suspend_check(lockstep_pfind(1)), "panic: K5-other");
}

void premature(void*) {}
void kproc_body(void) {
  for (;;) {
    kthread_suspend_check(curproc);
    usleep(100);
  }
}

TEST(CApi, KprocStartFailureIsK6Panic) {
  init("2");
  static struct proc* p = nullptr;
  static const struct kproc_desc d = {"syncer", kproc_body, &p};
  EXPECT_DEATH(kproc_start(&d), "panic: K6-panic: kproc_start: syncer: error 35|panic: K6-panic: kproc_start: syncer: error 11");
}

void KprocShutdownStopped_body() {
        init();
        static struct proc* p = nullptr;
        static const struct kproc_desc d = {"bufdaemon", kproc_body, &p};
        kproc_start(&d);
        CHECK(p != nullptr);
        kproc_shutdown(p, 0);
        std::_Exit(0);
}

TEST(CApi, KprocShutdownStoppedOnTheConsole) {
  EXPECT_EXIT(KprocShutdownStopped_body(),
      ::testing::ExitedWithCode(0), "Waiting \\(max 60 seconds\\) for system process `bufdaemon' to stop\\.\\.\\.stopped\n");
}

void KprocShutdownTimedOutOnTheConsole_body() {
        init();  // 6000 ticks of 200 us: 1.2 s
        g_check = false;
        struct proc* p = nullptr;
        CHECK_EQ(kthread_create(loop_body, nullptr, &p, 0, 0, "stubborn"), 0);
        kproc_shutdown(p, 0);
        std::_Exit(0);
}

TEST(CApi, KprocShutdownTimedOutOnTheConsole) {
  EXPECT_EXIT(KprocShutdownTimedOutOnTheConsole_body(),
      ::testing::ExitedWithCode(0), "Waiting \\(max 60 seconds\\) for system process `stubborn' to stop\\.\\.\\.timed out\n");
}

void BodyReturningExitsPrematurely_body() {
        init();
        struct proc* p = nullptr;
        CHECK_EQ(kthread_create(premature, nullptr, &p, 0, 0, "quitter"), 0);
        CHECK_EQ(kthread_wait_exit(p, 0), 0);
        std::_Exit(0);
}

TEST(CApi, BodyReturningExitsPrematurely) {
  EXPECT_EXIT(BodyReturningExitsPrematurely_body(),
      ::testing::ExitedWithCode(0), "Kernel thread \"quitter\" \\(pid 2\\) exited prematurely\\.");
}

// ---- faults -----------------------------------------------------------------------------------------

void UnknownFault_body() { setenv("LOCKSTEP_FAULT", "bogus", 1); rump_init(); std::_Exit(0);
}

CHILD_TEST(CApi, FaultFromEnvironment) {
  setenv("LOCKSTEP_FAULT", "release_keeps_proc", 1); init(); CHECK_EQ(rump_pub_lwproc_rfork(0), 0);
           rump_pub_lwproc_releaselwp(); CHECK_EQ(rump_pub_lwproc_newlwp(2), 0);  // the process survived
}

CHILD_TEST(CApi, NoFaultWithoutEnvironment) {
  unsetenv("LOCKSTEP_FAULT"); init(); CHECK_EQ(rump_pub_lwproc_rfork(0), 0);
           rump_pub_lwproc_releaselwp(); CHECK_EQ(rump_pub_lwproc_newlwp(2), ESRCH);
}

CHILD_TEST(CApi, FaultFromApiCall) {
  CHECK_EQ(lockstep_set_faults("no_such_fault"), EINVAL); CHECK_EQ(lockstep_set_faults("setuid_no_check"), 0);
           init(); CHECK_EQ(rump_pub_lwproc_rfork(0), 0); CHECK_EQ(rump_sys_setuid(5), 0);
           CHECK_EQ(rump_sys_setuid(6), 0); CHECK_EQ(lockstep_set_faults(""), 0); errno = 0;
           CHECK_EQ(rump_sys_setuid(7), -1); CHECK_EQ(errno, EPERM);
}

TEST(CApi, UnknownFaultInEnvironmentIsAUsageError) {
  EXPECT_EXIT(UnknownFault_body(), ::testing::ExitedWithCode(2),
              "unknown fault 'bogus'");
}

}  // namespace

// Each death/exit test re-executes this binary ("threadsafe" style), so its child starts before
// rump_init() whatever the parent test process did.
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  return RUN_ALL_TESTS();
}
