// Real OS threads against one kernel: races on switch, many hosts creating and releasing processes,
// suspend/resume storms -- with invariants (SPEC §6) checked on concurrent snapshots.
#include <cerrno>
#include <random>
#include <set>

#include "helpers.hpp"

using namespace lockstep::impl;
using namespace lockstep::impl::testing;
using namespace std::chrono_literals;

namespace {

// R4, R5, R6 and "PARKED implies requested" on one snapshot; returns "" or what is wrong.
std::string violations(const Snapshot& s) {
  if (s.nprocs != static_cast<int>(s.procs.size())) return "R6: nprocs != table size";
  std::set<pid_t> pids;
  for (const auto& p : s.procs)
    if (!pids.insert(p.pid).second) return "R5: duplicate pid";
  for (const auto& p : s.procs) {
    if (p.pid > 1 && !pids.count(p.ppid)) return "R6: ppid not in table";
    if (p.kind == ProcKind::user) {
      bool live = false;
      for (const auto& l : p.lwps) live |= !l.released;
      if (!live) return "R1: user process without a live lwp";
    }
    if (p.kthread && p.kthread->state == KthreadState::parked && !p.kthread->suspend_requested)
      return "PARKED without a request";
  }
  std::set<std::uint64_t> cur;
  for (const auto& h : s.hosts)
    if (h.curlwp != 0 && !cur.insert(h.curlwp).second) return "R4: one lwp is curlwp of two hosts";
  for (const auto& p : s.procs)
    for (const auto& l : p.lwps)
      if (l.released && l.bound_to) return "R2: released lwp bound";
  return "";
}

// A spin barrier for two racers (test code may use std primitives; the kernel may not).
struct Start {
  std::atomic<int> ready{0};
  void arrive_and_wait(int n) {
    ++ready;
    while (ready.load() < n) std::this_thread::yield();
  }
};

TEST(Stress, TwoHostsRaceToSwitchToOneLwpExactlyOneWins) {
  int wins_a = 0, wins_b = 0;
  for (int round = 0; round < 200; ++round) {
    Kernel k{test_config()};
    HostContext setup{k};
    ASSERT_EQ(k.rfork(setup, 0), 0);
    ::lwp* l = k.curlwp(setup);
    k.switch_lwp(setup, nullptr);
    HostContext ha{k, "A"}, hb{k, "B"};
    std::string ra = "?", rb = "?";
    Start start;
    std::thread a([&] { start.arrive_and_wait(2); ra = fatal_rule([&] { k.switch_lwp(ha, l); }); });
    std::thread b([&] { start.arrive_and_wait(2); rb = fatal_rule([&] { k.switch_lwp(hb, l); }); });
    a.join();
    b.join();
    ASSERT_TRUE((ra.empty() && rb == "L3-running") || (rb.empty() && ra == "L3-running")) << ra << " / " << rb;
    (ra.empty() ? wins_a : wins_b)++;
    const Snapshot s = k.snapshot();
    EXPECT_EQ(s.proc(2)->lwps[0].bound_to, ra.empty() ? ha.id() : hb.id());
  }
  EXPECT_EQ(wins_a + wins_b, 200);
}

TEST(Stress, ManyHostsCreateAndReleaseProcesses) {
  Kernel k{test_config()};
  constexpr int kThreads = 4, kRounds = 600;
  std::atomic<bool> done{false};
  std::atomic<int> snapshots{0};
  std::string bad;
  std::thread watcher([&] {
    while (!done.load()) {
      const std::string v = violations(k.snapshot());
      if (!v.empty() && bad.empty()) bad = v;
      ++snapshots;
    }
  });
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      HostContext h{k, "H" + std::to_string(t)};
      for (int i = 0; i < kRounds; ++i) {
        if (k.rfork(h, i % 3) != 0) ++failures;
        const pid_t pid = k.getpid(h);
        ::lwp* first = k.curlwp(h);
        const int fd = k.open(h, "/f" + std::to_string(t), 0x200);
        if (fd < 0 || k.write(h, fd, 3) != 3 || k.close(h, fd) != 0) ++failures;
        if (k.newlwp(h, pid) != 0) ++failures;
        k.releaselwp(h);            // the second lwp
        k.switch_lwp(h, first);
        if (k.getpid(h) != pid) ++failures;
        k.releaselwp(h);            // the last: the process goes
        if (k.getpid(h) != 1) ++failures;
      }
    });
  }
  for (auto& th : ts) th.join();
  done = true;
  watcher.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(bad, "");
  EXPECT_GT(snapshots.load(), 0);
  const Snapshot s = k.snapshot();
  EXPECT_EQ(s.nprocs, 2);
  EXPECT_EQ(s.procs.size(), 2u);
  EXPECT_EQ(s.fdtables.size(), 2u);  // every table the children had is gone (R3)
  for (const auto& f : s.files)
    if (f.path != "/dev/console") {
      EXPECT_EQ(f.size, 3u * kRounds) << f.path;
    }
}

TEST(Stress, SuspendResumeStorm) {
  Kernel k{test_config(64, 200us)};
  HostContext h{k};
  auto c = std::make_shared<LoopCtl>();
  std::vector<::proc*> ps(2, nullptr);
  for (auto& p : ps) ASSERT_EQ(k.kthread_create(h, loop_body(c), &p, 0, 0, "storm"), 0);
  std::atomic<bool> done{false};
  std::string bad;
  std::thread watcher([&] {
    while (!done.load()) {
      const std::string v = violations(k.snapshot());
      if (!v.empty() && bad.empty()) bad = v;
      std::this_thread::sleep_for(200us);
    }
  });
  std::atomic<int> unexpected{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 3; ++t) {
    ts.emplace_back([&, t] {
      HostContext x{k};
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = 0; i < 300; ++i) {
        ::proc* p = ps[rng() % ps.size()];
        if (rng() % 2) {
          const int r = k.kthread_suspend(x, p, 1 + static_cast<int>(rng() % 5));
          if (r != 0 && r != EWOULDBLOCK) ++unexpected;
        } else if (k.kthread_resume(x, p) != 0) {
          ++unexpected;
        }
      }
    });
  }
  for (auto& th : ts) th.join();
  done = true;
  watcher.join();
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(bad, "");
  // No resume is lost: after a final resume every thread runs and can exit.
  c->exit = true;
  for (auto* p : ps) {
    EXPECT_EQ(k.kthread_resume(h, p), 0);
    EXPECT_EQ(k.kthread_wait_exit(h, p, 0), 0);
    EXPECT_EQ(k.kthread_reap(h, p), 0);
  }
  EXPECT_EQ(k.snapshot().nprocs, 2);
}

TEST(Stress, ManyWaitersAllSeeTheExit) {
  Kernel k{test_config()};
  HostContext h{k};
  auto c = std::make_shared<LoopCtl>();
  ::proc* p = nullptr;
  ASSERT_EQ(k.kthread_create(h, loop_body(c), &p, 0, 0, "w"), 0);
  std::atomic<int> zeros{0};
  std::vector<std::thread> ws;
  for (int i = 0; i < 8; ++i)
    ws.emplace_back([&] {
      HostContext x{k};
      if (k.kthread_wait_exit(x, p, 0) == 0) ++zeros;
    });
  ASSERT_TRUE(eventually([&] { return k.snapshot().blocked.size() == 8; }));
  c->exit = true;
  for (auto& w : ws) w.join();
  EXPECT_EQ(zeros.load(), 8);
}

}  // namespace
