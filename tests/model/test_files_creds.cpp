// SPEC §3 P7 (files and fds of the current process) and P8 (credentials),
// including fd-table sharing / copying / fresh tables observed only through
// open/write/fstat/close, the way a rump client would see them.
#include <limits>

#include "helpers.hpp"

namespace lockstep::model::testing {
namespace {

Outcome open_(Checked& m, HostId h, const std::string& path, bool create = false) {
  return m(host(h, op::Open{path, create}));
}
// fstat's st_size, or -1 - errno on failure so a wrong fd can never look like a size.
std::int64_t size_of(Checked& m, HostId h, int fd) {
  const Outcome o = m(host(h, op::Fstat{fd}));
  return o.ret == 0 ? o.st_size : -1 - o.err;
}

// ---- P7 -----------------------------------------------------------------------------

TEST(P7, FirstOpenInPidOneReturnsThree) {
  Checked m;
  const Outcome o = open_(m, 0, "/dev/console");
  EXPECT_EQ(o.ret, 3);
  EXPECT_EQ(o.rule, Rule::P7);
}

TEST(P7, OpenOfAMissingFileWithoutCreateIsEnoent) {
  Checked m;
  const State before = m.state();
  const Outcome o = open_(m, 0, "/nope");
  EXPECT_EQ(o.ret, -1);
  EXPECT_EQ(o.err, ENOENT);
  EXPECT_EQ(m.state(), before);  // nothing created, no fd taken
}

TEST(P7, CreateMakesAnEmptyFileThatLaterOpensFind) {
  Checked m;
  ASSERT_EQ(open_(m, 0, "/f", true).ret, 3);
  EXPECT_EQ(size_of(m, 0, 3), 0);
  EXPECT_EQ(open_(m, 0, "/f").ret, 4);  // exists now: no ENOENT
  EXPECT_EQ(m.state().paths.count("/f"), 1u);
}

TEST(P7, WriteGrowsTheFileByN) {
  Checked m;
  ASSERT_EQ(open_(m, 0, "/f", true).ret, 3);
  const Outcome w = m(host(0, op::Write{3, 10}));
  EXPECT_EQ(w.ret, 10);
  EXPECT_EQ(m(host(0, op::Write{3, 5})).ret, 5);
  EXPECT_EQ(size_of(m, 0, 3), 15);
  // A second description of the same file sees the same size: one flat namespace.
  ASSERT_EQ(open_(m, 0, "/f").ret, 4);
  EXPECT_EQ(size_of(m, 0, 4), 15);
}

// "the file grows by n bytes": a file never shrinks by a write, so st_size stays >= what it
// was even when the sizes add up past int64 (the model keeps sizes in int64).
TEST(P7, HugeWritesNeverShrinkTheFile) {
  Checked m;
  ASSERT_EQ(open_(m, 0, "/f", true).ret, 3);
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max() / 2 + 1;
  ASSERT_EQ(m(host(0, op::Write{3, huge})).ret, huge);
  const Outcome w = m(host(0, op::Write{3, huge}));
  const std::int64_t size = size_of(m, 0, 3);
  if (w.ret == huge) {
    EXPECT_GE(size, huge) << "the file shrank: its size wrapped around";
  } else {
    EXPECT_EQ(size, huge) << "a refused write must not change the size";
  }
}

TEST(P7, CloseFreesTheFdAndOpenTakesTheLowest) {
  Checked m;
  ASSERT_EQ(open_(m, 0, "/a", true).ret, 3);
  ASSERT_EQ(open_(m, 0, "/b", true).ret, 4);
  EXPECT_EQ(m(host(0, op::Close{3})).ret, 0);
  EXPECT_EQ(size_of(m, 0, 3), -1 - EBADF);
  EXPECT_EQ(open_(m, 0, "/a").ret, 3);
  EXPECT_EQ(m(host(0, op::Close{0})).ret, 0);
  EXPECT_EQ(open_(m, 0, "/b").ret, 0);  // from 0 upward
  EXPECT_EQ(open_(m, 0, "/b").ret, 5);
}

TEST(P7, DupNamesTheSameDescriptionAtTheLowestFreeFd) {
  Checked m;
  ASSERT_EQ(open_(m, 0, "/f", true).ret, 3);
  ASSERT_EQ(m(host(0, op::Close{1})).ret, 0);
  const Outcome d = m(host(0, op::Dup{3}));
  EXPECT_EQ(d.ret, 1);
  const auto& fds = m.state().fdtables[m.pid(1).fdtable].fds;
  EXPECT_EQ(fds[1], fds[3]);
  ASSERT_EQ(m(host(0, op::Write{1, 7})).ret, 7);
  EXPECT_EQ(size_of(m, 0, 3), 7);
  EXPECT_EQ(m(host(0, op::Close{3})).ret, 0);
  EXPECT_EQ(size_of(m, 0, 1), 7);  // the dup survives the original's close
}

TEST(P7, EbadfOnEveryFdOpForFdsThatAreNotOpen) {
  for (int fd : {-1, -100, 3, 99, 1 << 30}) {
    for (const OpBody& b : {OpBody{op::Write{fd, 1}}, OpBody{op::Fstat{fd}}, OpBody{op::Close{fd}}, OpBody{op::Dup{fd}}}) {
      Checked m;
      const State before = m.state();
      const Op o = host(0, b);
      SCOPED_TRACE(to_string(o));
      const Outcome r = m(o);
      EXPECT_EQ(r.ret, -1);
      EXPECT_EQ(r.err, EBADF);
      EXPECT_EQ(r.label, "EBADF");
      EXPECT_EQ(m.state(), before);
    }
  }
}

TEST(P7, EbadfOnAClosedFd) {
  Checked m;
  ASSERT_EQ(m(host(0, op::Close{2})).ret, 0);
  EXPECT_EQ(m(host(0, op::Write{2, 1})).err, EBADF);
  EXPECT_EQ(m(host(0, op::Fstat{2})).err, EBADF);
  EXPECT_EQ(m(host(0, op::Close{2})).err, EBADF);
  EXPECT_EQ(m(host(0, op::Dup{2})).err, EBADF);
}

TEST(P7, ConsoleFdsNameOneDescription) {
  Checked m;
  ASSERT_EQ(m(host(0, op::Write{1, 4})).ret, 4);
  EXPECT_EQ(size_of(m, 0, 0), 4);
  EXPECT_EQ(size_of(m, 0, 2), 4);
}

// flags 0: both processes see each other's opens and closes.
TEST(P7, SharedTableSeesTheSharersOpensAndCloses) {
  Checked m;
  m.rfork(0, kRumpRffdShare);  // H0 in pid 2, sharing pid 1's table; H1 stays in pid 1
  ASSERT_EQ(open_(m, 0, "/s", true).ret, 3);
  ASSERT_EQ(m(host(0, op::Write{3, 9})).ret, 9);
  EXPECT_EQ(size_of(m, 1, 3), 9);  // pid 1 sees fd 3
  EXPECT_EQ(m(host(1, op::Close{3})).ret, 0);
  EXPECT_EQ(size_of(m, 0, 3), -1 - EBADF);  // and pid 2 sees it closed
  EXPECT_EQ(open_(m, 1, "/s").ret, 3);
  EXPECT_EQ(size_of(m, 0, 3), 9);
}

// RUMP_RFFDG: the same fds naming the same descriptions, then independent.
TEST(P7, CopiedTableStartsEqualThenChangesIndependently) {
  Checked m;
  ASSERT_EQ(open_(m, 1, "/c", true).ret, 3);
  m.rfork(0, kRumpRffdg);
  ASSERT_EQ(m(host(0, op::Write{3, 5})).ret, 5);  // fd 3 was copied
  EXPECT_EQ(size_of(m, 1, 3), 5);                 // ... and names the same file
  EXPECT_EQ(m(host(0, op::Close{3})).ret, 0);
  EXPECT_EQ(size_of(m, 1, 3), 5);  // the parent keeps its fd 3
  ASSERT_EQ(open_(m, 1, "/c").ret, 4);
  EXPECT_EQ(size_of(m, 0, 4), -1 - EBADF);  // the child does not see the parent's open
  EXPECT_EQ(open_(m, 0, "/c").ret, 3);
}

// RUMP_RFCFDG: an empty table.
TEST(P7, FreshTableIsEmpty) {
  Checked m;
  m.rfork(0, kRumpRfcfdg);
  for (int fd : {0, 1, 2}) EXPECT_EQ(size_of(m, 0, fd), -1 - EBADF) << fd;
  EXPECT_EQ(open_(m, 0, "/dev/console").ret, 0);
  EXPECT_EQ(size_of(m, 1, 3), -1 - EBADF);  // pid 1 does not see it
}

TEST(P7, NewlwpOnPidZeroUsesItsEmptyTable) {
  Checked m;
  ASSERT_EQ(m(host(0, op::Newlwp{0})).ret, 0);
  EXPECT_EQ(size_of(m, 0, 0), -1 - EBADF);
  EXPECT_EQ(open_(m, 0, "/dev/console").ret, 0);
}

// ---- P8 -----------------------------------------------------------------------------

TEST(P8, RootMaySetAnyUidThenOnlyItsOwn) {
  Checked m;
  m.rfork(0);
  EXPECT_EQ(m(host(0, op::Getuid{})).ret, 0);
  EXPECT_EQ(m(host(0, op::Setuid{5})).ret, 0);
  EXPECT_EQ(m(host(0, op::Getuid{})).ret, 5);
  EXPECT_EQ(m(host(0, op::Setuid{5})).ret, 0);  // equal to the current uid: allowed
  const State before = m.state();
  const Outcome e = m(host(0, op::Setuid{6}));
  EXPECT_EQ(e.ret, -1);
  EXPECT_EQ(e.err, EPERM);
  EXPECT_EQ(e.rule, Rule::P8);
  EXPECT_EQ(m.state(), before);
  EXPECT_EQ(m(host(0, op::Setuid{0})).err, EPERM);  // no way back to root
  EXPECT_EQ(m(host(0, op::Getuid{})).ret, 5);
}

TEST(P8, NewProcessInheritsTheParentsUid) {
  Checked m;
  const Pid p = m.rfork(0);
  ASSERT_EQ(m(host(0, op::Setuid{7})).ret, 0);
  const Pid c = m.rfork(0);
  EXPECT_EQ(m(host(0, op::Getuid{})).ret, 7);
  EXPECT_EQ(m.pid(c).uid, 7u);
  EXPECT_EQ(m.pid(p).uid, 7u);
  EXPECT_EQ(m(host(1, op::Getuid{})).ret, 0);  // pid 1 unaffected
}

TEST(P8, CredentialsAreIndependentAfterFork) {
  Checked m;
  m.rfork(0);
  const LwpId parent_lwp = m.state().curlwp(0);
  m.rfork(0);  // child, uid 0
  ASSERT_EQ(m(host(0, op::Setuid{9})).ret, 0);
  ASSERT_TRUE(m(host(0, op::Switch{parent_lwp})).returned());
  EXPECT_EQ(m(host(0, op::Getuid{})).ret, 0);  // the parent kept 0
  ASSERT_EQ(m(host(0, op::Setuid{4})).ret, 0);
  EXPECT_EQ(m.pid(3).uid, 9u);  // and the child kept 9
}

TEST(P8, LwpsOfOneProcessShareItsUid) {
  Checked m;
  const Pid p = m.rfork(0);
  ASSERT_EQ(m(host(0, op::Setuid{3})).ret, 0);
  ASSERT_EQ(m(host(1, op::Newlwp{p})).ret, 0);
  EXPECT_EQ(m(host(1, op::Getuid{})).ret, 3);
  EXPECT_EQ(m(host(1, op::Setuid{8})).err, EPERM);
}

TEST(P8, ProcessesZeroAndOneStartAsRoot) {
  Checked m;
  EXPECT_EQ(m(host(0, op::Getuid{})).ret, 0);  // implicit: pid 1
  ASSERT_EQ(m(host(1, op::Newlwp{0})).ret, 0);
  EXPECT_EQ(m(host(1, op::Getuid{})).ret, 0);
}

}  // namespace
}  // namespace lockstep::model::testing
