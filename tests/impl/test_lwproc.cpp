// SPEC §1 and §3 through the C++ API: the behavioural scenarios, and each rule's success path and
// every failure it names (P1 P2 L3 L4 L5 P6 P7 P8).
#include <cerrno>
#include <vector>

#include "helpers.hpp"

using namespace lockstep::impl;
using namespace lockstep::impl::testing;

namespace {

constexpr int kRFFDG = 0x01, kRFCFDG = 0x02, kOCreat = 0x200;

class Lwproc : public ::testing::Test {
 protected:
  Kernel k{test_config()};
  HostContext h{k, "H1"};
};

TEST_F(Lwproc, InitialStateIsSpecSection1) {
  const Snapshot s = k.snapshot();
  ASSERT_EQ(s.procs.size(), 2u);
  EXPECT_EQ(s.nprocs, 2);
  EXPECT_EQ(s.maxproc, 64);
  const ProcSnapshot& p0 = s.procs[0];
  EXPECT_EQ(p0.pid, 0);
  EXPECT_EQ(p0.ppid, 0);
  EXPECT_EQ(p0.comm, "swapper");
  EXPECT_EQ(p0.kind, ProcKind::kernel);
  ASSERT_EQ(p0.lwps.size(), 1u);
  EXPECT_EQ(p0.lwps[0].lid, 1);
  EXPECT_FALSE(p0.lwps[0].bound_to);
  EXPECT_TRUE(s.fdtable(p0.fdtable)->fds.empty());
  const ProcSnapshot& p1 = s.procs[1];
  EXPECT_EQ(p1.pid, 1);
  EXPECT_EQ(p1.ppid, 0);
  EXPECT_EQ(p1.comm, "");
  EXPECT_EQ(p1.kind, ProcKind::init);
  EXPECT_TRUE(p1.lwps.empty());
  const auto* t1 = s.fdtable(p1.fdtable);
  ASSERT_EQ(t1->fds.size(), 3u);
  EXPECT_EQ(t1->fds[0].description, t1->fds[1].description);
  EXPECT_EQ(t1->fds[1].description, t1->fds[2].description);
  EXPECT_EQ(t1->fds[0].path, "/dev/console");
  ASSERT_EQ(s.files.size(), 1u);
  EXPECT_EQ(s.files[0].size, 0u);
  ASSERT_EQ(s.hosts.size(), 1u);
  EXPECT_EQ(s.hosts[0].curlwp, 0u);
  EXPECT_EQ(s.hosts[0].current_pid, 1);
  EXPECT_EQ(s.now, 0u + s.now);  // real clock: any value
  EXPECT_TRUE(s.blocked.empty());
  EXPECT_TRUE(s.console.empty());
  // The first open in pid 1 returns 3.
  EXPECT_EQ(k.open(h, "/f", kOCreat), 3);
}

// L5, P6: the implicit context is associated with pid 1.
TEST_F(Lwproc, ImplicitContextIsPid1WithNullCurlwp) {
  EXPECT_EQ(k.curlwp(h), nullptr);
  EXPECT_EQ(k.getpid(h), 1);
  EXPECT_EQ(k.getppid(h), 0);
  EXPECT_EQ(k.getuid(h), 0u);
}

// P1 success.
TEST_F(Lwproc, RforkCreatesChildOfCurrentProcessAndSwitchesToIt) {
  ASSERT_EQ(k.rfork(h, 0), 0);
  EXPECT_EQ(k.getpid(h), 2);
  EXPECT_EQ(k.getppid(h), 1);
  ASSERT_NE(k.curlwp(h), nullptr);
  const Snapshot s = k.snapshot();
  EXPECT_EQ(s.nprocs, 3);
  const ProcSnapshot* p = s.proc(2);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->comm, "rumproc");
  EXPECT_EQ(p->kind, ProcKind::user);
  ASSERT_EQ(p->lwps.size(), 1u);
  EXPECT_EQ(p->lwps[0].lid, 1);
  EXPECT_EQ(p->lwps[0].bound_to, h.id());
  EXPECT_EQ(s.host(h.id())->current_pid, 2);
  // A grandchild inherits the parent's comm (non-empty now).
  ASSERT_EQ(k.rfork(h, 0), 0);
  EXPECT_EQ(k.getppid(h), 2);
  EXPECT_EQ(k.snapshot().proc(3)->comm, "rumproc");
  // H's previous lwp (in pid 2) is unbound, not released.
  const Snapshot after = k.snapshot();
  const LwpSnapshot& l2 = after.proc(2)->lwps[0];
  EXPECT_FALSE(l2.bound_to);
  EXPECT_FALSE(l2.released);
}

// P1 failure: only 0, 1, 2 are valid flags; EINVAL with no change.
TEST_F(Lwproc, RforkRejectsInvalidFlags) {
  for (int f : {3, 4, -1, 0x100, 1 << 2, 1 << 12}) EXPECT_EQ(k.rfork(h, f), EINVAL) << f;
  const Snapshot s = k.snapshot();
  EXPECT_EQ(s.nprocs, 2);
  EXPECT_EQ(k.curlwp(h), nullptr);
  // ... and the pid allocator did not move.
  ASSERT_EQ(k.rfork(h, 0), 0);
  EXPECT_EQ(k.getpid(h), 2);
}

// P1: the reference allocator hands out increasing pids and does not reuse at once.
TEST_F(Lwproc, PidsIncreaseAndAreNotReusedImmediately) {
  for (pid_t want = 2; want < 6; ++want) {
    ASSERT_EQ(k.rfork(h, 0), 0);
    EXPECT_EQ(k.getpid(h), want);
    k.releaselwp(h);
    EXPECT_EQ(k.getpid(h), 1);
  }
}

// P2 success: lwps attached to processes, process 0 and 1 included.
TEST_F(Lwproc, NewlwpAttachesToAnyProcessIncludingZero) {
  ASSERT_EQ(k.newlwp(h, 0), 0);
  EXPECT_EQ(k.getpid(h), 0);
  EXPECT_EQ(k.getppid(h), 0);
  Snapshot s = k.snapshot();
  ASSERT_EQ(s.proc(0)->lwps.size(), 2u);
  EXPECT_EQ(s.proc(0)->lwps[1].lid, 2);
  EXPECT_EQ(s.proc(0)->lwps[1].bound_to, h.id());
  ASSERT_EQ(k.newlwp(h, 1), 0);
  EXPECT_EQ(k.getpid(h), 1);
  s = k.snapshot();
  EXPECT_FALSE(s.proc(0)->lwps[1].bound_to);  // switched away from
  ASSERT_EQ(s.proc(1)->lwps.size(), 1u);
  EXPECT_EQ(s.proc(1)->lwps[0].bound_to, h.id());
  // lids are per process and never reused: release, then a new lwp gets the next lid.
  k.releaselwp(h);
  ASSERT_EQ(k.newlwp(h, 1), 0);
  s = k.snapshot();
  ASSERT_EQ(s.proc(1)->lwps.size(), 2u);
  EXPECT_TRUE(s.proc(1)->lwps[0].released);
  EXPECT_EQ(s.proc(1)->lwps[1].lid, 2);
  // Processes 0 and 1 are never freed, even without a live lwp.
  k.releaselwp(h);
  EXPECT_EQ(k.snapshot().nprocs, 2);
}

// P2 failure: ESRCH for an unknown pid (no change).
TEST_F(Lwproc, NewlwpUnknownPidIsEsrch) {
  EXPECT_EQ(k.newlwp(h, 2), ESRCH);
  EXPECT_EQ(k.newlwp(h, 29999), ESRCH);
  EXPECT_EQ(k.newlwp(h, -1), ESRCH);
  EXPECT_EQ(k.curlwp(h), nullptr);
  // A freed process is unknown too.
  ASSERT_EQ(k.rfork(h, 0), 0);
  k.releaselwp(h);
  EXPECT_EQ(k.newlwp(h, 2), ESRCH);
}

// P2 failure: a kthread accepts no new lwps.
TEST_F(Lwproc, NewlwpOnKthreadIsEbusy) {
  auto c = std::make_shared<LoopCtl>();
  ::proc* p = nullptr;
  ASSERT_EQ(k.kthread_create(h, loop_body(c), &p, 0, 0, "kt"), 0);
  const pid_t pid = k.proc_pid(p);
  EXPECT_EQ(k.newlwp(h, pid), EBUSY);
  c->exit = true;
  EXPECT_EQ(k.kthread_wait_exit(h, p, 0), 0);
  EXPECT_EQ(k.newlwp(h, pid), EBUSY);  // a zombie is still a kthread
  EXPECT_EQ(k.kthread_reap(h, p), 0);
  EXPECT_EQ(k.newlwp(h, pid), ESRCH);
}

// P8: credentials inherited by a new process, independent afterwards.
TEST_F(Lwproc, CredentialsAreInheritedAndIndependent) {
  ASSERT_EQ(k.rfork(h, 0), 0);  // A = 2
  ::lwp* a = k.curlwp(h);
  EXPECT_EQ(k.setuid(h, 100), 0);
  EXPECT_EQ(k.getuid(h), 100u);
  ASSERT_EQ(k.rfork(h, 0), 0);  // A's child = 3 inherits 100
  EXPECT_EQ(k.getuid(h), 100u);
  EXPECT_EQ(k.setuid(h, 100), 0);       // same uid: allowed
  EXPECT_EQ(k.setuid(h, 0), -EPERM);    // not root: EPERM
  EXPECT_EQ(k.getuid(h), 100u);
  k.switch_lwp(h, nullptr);
  EXPECT_EQ(k.getuid(h), 0u);           // process 1 unaffected
  k.switch_lwp(h, a);
  // lwps of one process share its uid.
  ASSERT_EQ(k.newlwp(h, 2), 0);
  EXPECT_EQ(k.getuid(h), 100u);
}

// R1: a process holding 128 lwps is freed exactly when the last is released.
TEST_F(Lwproc, ProcessWith128LwpsIsFreedWithItsLastLwp) {
  ASSERT_EQ(k.rfork(h, 0), 0);
  const pid_t pid = k.getpid(h);
  std::vector<::lwp*> lwps{k.curlwp(h)};
  for (int i = 1; i < 128; ++i) {
    ASSERT_EQ(k.newlwp(h, pid), 0);
    lwps.push_back(k.curlwp(h));
  }
  Snapshot s = k.snapshot();
  ASSERT_EQ(s.proc(pid)->lwps.size(), 128u);
  EXPECT_EQ(s.proc(pid)->lwps.back().lid, 128);
  for (std::size_t i = 0; i < lwps.size(); ++i) {
    if (k.curlwp(h) != lwps[i]) k.switch_lwp(h, lwps[i]);
    EXPECT_EQ(k.getpid(h), pid);
    k.releaselwp(h);
    EXPECT_EQ(k.curlwp(h), nullptr);
    EXPECT_EQ(k.getpid(h), 1);
    s = k.snapshot();
    if (i + 1 < lwps.size()) {
      ASSERT_NE(s.proc(pid), nullptr) << "freed early, after " << i + 1;
      EXPECT_EQ(s.nprocs, 3);
    } else {
      EXPECT_EQ(s.proc(pid), nullptr);
      EXPECT_EQ(s.nprocs, 2);
    }
  }
}

// L4 failure.
TEST_F(Lwproc, ReleaseInImplicitContextIsFatal) {
  EXPECT_EQ(fatal_rule([&] { k.releaselwp(h); }), "L4-implicit");
  ASSERT_TRUE(k.panicked());
  EXPECT_EQ(k.panicked()->rule, "L4-implicit");
  EXPECT_EQ(k.snapshot().panic, "L4-implicit");
}

// L3: switch(NULL) then switching back works.
TEST_F(Lwproc, SwitchNullThenBack) {
  ASSERT_EQ(k.rfork(h, 0), 0);
  ::lwp* l = k.curlwp(h);
  k.switch_lwp(h, nullptr);
  EXPECT_EQ(k.curlwp(h), nullptr);
  EXPECT_EQ(k.getpid(h), 1);
  EXPECT_FALSE(k.snapshot().proc(2)->lwps[0].bound_to);
  k.switch_lwp(h, l);
  EXPECT_EQ(k.curlwp(h), l);
  EXPECT_EQ(k.getpid(h), 2);
  EXPECT_EQ(k.snapshot().proc(2)->lwps[0].bound_to, h.id());
}

TEST_F(Lwproc, SwitchBetweenProcesses) {
  ASSERT_EQ(k.rfork(h, 0), 0);
  ::lwp* a = k.curlwp(h);
  k.switch_lwp(h, nullptr);
  ASSERT_EQ(k.rfork(h, 0), 0);
  ::lwp* b = k.curlwp(h);
  k.switch_lwp(h, a);
  EXPECT_EQ(k.getpid(h), 2);
  const Snapshot s = k.snapshot();
  EXPECT_EQ(s.proc(2)->lwps[0].bound_to, h.id());
  EXPECT_FALSE(s.proc(3)->lwps[0].bound_to);
  k.switch_lwp(h, b);
  EXPECT_EQ(k.getpid(h), 3);
}

// L3 failures.
TEST_F(Lwproc, SwitchNullFromImplicitIsFatal) {
  EXPECT_EQ(fatal_rule([&] { k.switch_lwp(h, nullptr); }), "L3-null-implicit");
}

TEST_F(Lwproc, SwitchToReleasedLwpIsStale) {
  ASSERT_EQ(k.rfork(h, 0), 0);
  ASSERT_EQ(k.newlwp(h, 2), 0);
  ::lwp* l = k.curlwp(h);
  k.releaselwp(h);  // pid 2 still has lid 1
  EXPECT_EQ(fatal_rule([&] { k.switch_lwp(h, l); }), "L3-stale");
}

TEST_F(Lwproc, SwitchToLwpOfFreedProcessIsStale) {
  ASSERT_EQ(k.rfork(h, 0), 0);
  ::lwp* l = k.curlwp(h);
  k.releaselwp(h);
  // Memory reuse does not make the old handle valid again.
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(k.rfork(h, 0), 0);
    ASSERT_NE(k.curlwp(h), l);
    k.releaselwp(h);
  }
  EXPECT_EQ(fatal_rule([&] { k.switch_lwp(h, l); }), "L3-stale");
}

TEST_F(Lwproc, SwitchToNeverIssuedLwpIsStale) {
  EXPECT_EQ(fatal_rule([&] { k.switch_lwp(h, k.never_issued_lwp()); }), "L3-stale");
}

TEST(LwprocHandles, HandleOfAnotherKernelIsStale) {
  Kernel a{test_config()}, b{test_config()};
  HostContext ha{a}, hb{b};
  ASSERT_EQ(a.rfork(ha, 0), 0);
  ::lwp* l = a.curlwp(ha);
  EXPECT_EQ(fatal_rule([&] { b.switch_lwp(hb, l); }), "L3-stale");
}

TEST_F(Lwproc, SwitchToLwpRunningOnAnotherHostIsFatal) {
  HostContext h2{k, "H2"};
  ASSERT_EQ(k.rfork(h, 0), 0);
  ::lwp* l = k.curlwp(h);
  EXPECT_EQ(fatal_rule([&] { k.switch_lwp(h2, l); }), "L3-running");
  EXPECT_EQ(k.curlwp(h2), nullptr);
  EXPECT_EQ(k.curlwp(h), l);
}

TEST_F(Lwproc, SwitchToOwnCurlwpIsFatal) {
  ASSERT_EQ(k.rfork(h, 0), 0);
  ::lwp* l = k.curlwp(h);
  EXPECT_EQ(fatal_rule([&] { k.switch_lwp(h, l); }), "L3-running");
}

TEST_F(Lwproc, SwitchToKthreadLwpIsRunning) {
  auto c = std::make_shared<LoopCtl>();
  ::proc* p = nullptr;
  ASSERT_EQ(k.kthread_create(h, loop_body(c), &p, 0, 0, "kt"), 0);
  const Snapshot s = k.snapshot();
  const ProcSnapshot* kp = s.proc(k.proc_pid(p));
  ASSERT_EQ(kp->lwps.size(), 1u);
  ASSERT_TRUE(kp->lwps[0].bound_to);
  EXPECT_TRUE(s.host(*kp->lwps[0].bound_to)->kernel_thread);
  auto* l = reinterpret_cast<::lwp*>(static_cast<std::uintptr_t>(kp->lwps[0].handle));
  EXPECT_EQ(fatal_rule([&] { k.switch_lwp(h, l); }), "L3-running");
  c->exit = true;
  EXPECT_EQ(k.kthread_wait_exit(h, p, 0), 0);
}

// Orphans are reparented to 1 (R6).
TEST_F(Lwproc, ChildrenOfAFreedProcessAreReparentedToInit) {
  ASSERT_EQ(k.rfork(h, 0), 0);  // 2
  ::lwp* parent = k.curlwp(h);
  ASSERT_EQ(k.rfork(h, 0), 0);  // 3, child of 2
  EXPECT_EQ(k.getppid(h), 2);
  ::lwp* child = k.curlwp(h);
  k.switch_lwp(h, parent);
  k.releaselwp(h);  // frees 2
  k.switch_lwp(h, child);
  EXPECT_EQ(k.getppid(h), 1);
  EXPECT_EQ(k.snapshot().proc(3)->ppid, 1);
}

// A host context that goes away leaves its lwp unbound (not released).
TEST_F(Lwproc, DestroyedHostUnbindsItsLwp) {
  ::lwp* l;
  {
    HostContext h2{k, "H2"};
    ASSERT_EQ(k.rfork(h2, 0), 0);
    l = k.curlwp(h2);
  }
  EXPECT_FALSE(k.snapshot().proc(2)->lwps[0].bound_to);
  k.switch_lwp(h, l);
  EXPECT_EQ(k.getpid(h), 2);
}

// ---- P7: files and fds ------------------------------------------------------------------------------

TEST_F(Lwproc, OpenWriteFstatCloseDup) {
  EXPECT_EQ(k.open(h, "/nope", 0), -ENOENT);
  const int fd = k.open(h, "/a", kOCreat);
  EXPECT_EQ(fd, 3);
  EXPECT_EQ(k.write(h, fd, 10), 10);
  EXPECT_EQ(k.write(h, fd, 0), 0);
  std::uint64_t size = 99;
  EXPECT_EQ(k.fstat(h, fd, &size), 0);
  EXPECT_EQ(size, 10u);
  // O_CREAT on an existing file just opens it (a new description, same file).
  const int fd2 = k.open(h, "/a", kOCreat | 0x2);
  EXPECT_EQ(fd2, 4);
  EXPECT_EQ(k.fstat(h, fd2, &size), 0);
  EXPECT_EQ(size, 10u);
  // Without O_CREAT an existing file opens too; the access mode is not enforced.
  EXPECT_EQ(k.open(h, "/a", 0), 5);
  EXPECT_EQ(k.write(h, 5, 1), 1);
  EXPECT_EQ(k.close(h, 4), 0);
  EXPECT_EQ(k.dup(h, fd), 4);  // lowest free fd
  Snapshot s = k.snapshot();
  const auto* t = s.fdtable(s.proc(1)->fdtable);
  EXPECT_EQ(t->fds[3].description, t->fds[4].description);  // dup names the same description
  EXPECT_NE(t->fds[3].description, t->fds[5].description);
  EXPECT_EQ(k.close(h, fd), 0);
  EXPECT_EQ(k.fstat(h, 4, &size), 0);  // the dup still works
  EXPECT_EQ(size, 11u);
  // EBADF for fds that are not open, negative included.
  for (int bad : {3, -1, 100}) {
    EXPECT_EQ(k.write(h, bad, 1), -EBADF) << bad;
    EXPECT_EQ(k.fstat(h, bad, &size), -EBADF) << bad;
    EXPECT_EQ(k.close(h, bad), -EBADF) << bad;
    EXPECT_EQ(k.dup(h, bad), -EBADF) << bad;
  }
  // Writes to the console grow /dev/console.
  EXPECT_EQ(k.write(h, 1, 7), 7);
  s = k.snapshot();
  for (const auto& f : s.files)
    if (f.path == "/dev/console") {
      EXPECT_EQ(f.size, 7u);
    }
}

TEST_F(Lwproc, RforkSharedTableSeesOpensAndCloses) {
  ASSERT_EQ(k.rfork(h, 0), 0);
  ::lwp* child = k.curlwp(h);
  EXPECT_EQ(k.open(h, "/s", kOCreat), 3);  // in the shared table
  k.switch_lwp(h, nullptr);
  EXPECT_EQ(k.fstat(h, 3, nullptr), 0);    // process 1 sees it
  EXPECT_EQ(k.close(h, 3), 0);
  k.switch_lwp(h, child);
  EXPECT_EQ(k.fstat(h, 3, nullptr), -EBADF);
  const Snapshot s = k.snapshot();
  EXPECT_EQ(s.proc(1)->fdtable, s.proc(2)->fdtable);
  EXPECT_EQ(s.fdtable(s.proc(1)->fdtable)->refs, 2);
}

TEST_F(Lwproc, RforkCopiedTableStartsEqualThenDiverges) {
  const int fd = k.open(h, "/c", kOCreat);
  ASSERT_EQ(fd, 3);
  ASSERT_EQ(k.rfork(h, kRFFDG), 0);
  Snapshot s = k.snapshot();
  ASSERT_NE(s.proc(1)->fdtable, s.proc(2)->fdtable);
  const auto* t1 = s.fdtable(s.proc(1)->fdtable);
  const auto* t2 = s.fdtable(s.proc(2)->fdtable);
  ASSERT_EQ(t2->fds.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(t1->fds[i].description, t2->fds[i].description);
  EXPECT_EQ(k.write(h, 3, 5), 5);  // same description, same file
  EXPECT_EQ(k.close(h, 3), 0);
  EXPECT_EQ(k.open(h, "/d", kOCreat), 3);
  k.switch_lwp(h, nullptr);
  std::uint64_t size = 0;
  EXPECT_EQ(k.fstat(h, 3, &size), 0);  // still /c in process 1
  EXPECT_EQ(size, 5u);
  EXPECT_EQ(k.open(h, "/e", kOCreat), 4);
  s = k.snapshot();
  EXPECT_EQ(s.fdtable(s.proc(2)->fdtable)->fds.size(), 4u);  // /e not in the copy
  EXPECT_EQ(s.fdtable(s.proc(2)->fdtable)->fds[3].path, "/d");
}

TEST_F(Lwproc, RforkFreshTableIsEmpty) {
  ASSERT_EQ(k.rfork(h, kRFCFDG), 0);
  EXPECT_EQ(k.fstat(h, 0, nullptr), -EBADF);
  EXPECT_EQ(k.write(h, 1, 1), -EBADF);
  EXPECT_EQ(k.open(h, "/dev/console", 0), 0);  // lowest free fd is 0 now
  const Snapshot s = k.snapshot();
  EXPECT_EQ(s.fdtable(s.proc(2)->fdtable)->refs, 1);
  EXPECT_EQ(s.fdtable(s.proc(1)->fdtable)->fds.size(), 3u);
}

// R3: a table is freed when its last sharer is.
TEST_F(Lwproc, SharedTableOutlivesOneSharer) {
  ASSERT_EQ(k.rfork(h, kRFCFDG), 0);  // 2 with a fresh table
  ::lwp* a = k.curlwp(h);
  EXPECT_EQ(k.open(h, "/x", kOCreat), 0);
  ASSERT_EQ(k.rfork(h, 0), 0);        // 3 shares 2's table
  ::lwp* b = k.curlwp(h);
  k.switch_lwp(h, a);
  k.releaselwp(h);                    // 2 freed
  k.switch_lwp(h, b);
  EXPECT_EQ(k.fstat(h, 0, nullptr), 0);
  Snapshot s = k.snapshot();
  EXPECT_EQ(s.fdtable(s.proc(3)->fdtable)->refs, 1);
  k.releaselwp(h);
  s = k.snapshot();
  EXPECT_EQ(s.nprocs, 2);
  EXPECT_EQ(s.fdtables.size(), 2u);  // only 0's and 1's remain referenced
}

}  // namespace
