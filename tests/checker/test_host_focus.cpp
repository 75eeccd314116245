// The stress hosts' focus (checker/stress/src/host_chooser.hpp, "The focus"): what a host's draws
// reach when they lean on the process the hosts share. A focus that never makes two hosts meet on
// one object is a generator that never generates the interesting case.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <variant>

#include "checker/random_source.hpp"
#include "host_chooser.hpp"

namespace {

using namespace lockstep::checker;
using namespace lockstep::checker::stress;
using namespace lockstep::model;

// A host of its own, answered as a kernel would answer when every call succeeds: new lwps and pids
// are fresh, an open or dup gets fd 3.
struct SimulatedHost {
  HostView view{nullptr, nullptr};
  std::uintptr_t next = 0x1000;
  Pid next_pid = 100;
  std::map<std::uint32_t, Pid> lwp_pid;  // symbol -> pid of its process
  std::optional<std::uint32_t> cur;      // curlwp's symbol

  void answer(const Op& op) {
    ImplResult r;
    const std::uint32_t sym = static_cast<std::uint32_t>(next);
    r.new_lwp = reinterpret_cast<::lwp*>(next++);
    if (std::holds_alternative<op::Open>(op.body) || std::holds_alternative<op::Dup>(op.body)) r.ret = 3;
    if (const auto* n = std::get_if<op::Newlwp>(&op.body)) lwp_pid[sym] = n->pid, cur = sym;
    if (std::holds_alternative<op::Rfork>(op.body)) r.new_pid = next_pid, lwp_pid[sym] = next_pid++, cur = sym;
    if (const auto* s = std::get_if<op::Switch>(&op.body)) cur = s->lwp == kNoLwp ? std::nullopt : std::optional(s->lwp);
    if (std::holds_alternative<op::Release>(op.body)) cur.reset();
    view.learn(HostView::Choice{op, {}}, r, sym, sym);
  }
  std::optional<Pid> cur_pid() const { return cur ? std::optional(lwp_pid.at(*cur)) : std::nullopt; }
};

TEST(HostFocus, DrawsMeetInTheSharedProcess) {
  Registry reg(10, 10, 8);
  constexpr Pid kFocus = 7;
  for (int i = 0; i < 32; ++i) reg.publish_pid(kFocus);  // every recent pid is the focus
  SimulatedHost h;
  SplitMix rng(42);
  HostLimits lim;
  lim.supported &= ~(1u << OpBody(op::KthreadCreate{}).index()) & ~(1u << OpBody(op::KprocStart{}).index());
  // The host starts in a process of its own, and forks the focus's parent's child: its lwp in the
  // focus's parent (pid 5) is what ending the parent needs.
  h.answer(Op{Actor::host(0), op::Newlwp{5}});
  std::size_t draws = 0, newlwp_focus = 0, creates = 0, low_fd_calls = 0, getppid_in_focus = 0, parent_releases = 0;
  std::set<std::string> paths;
  for (; draws < 4000; ++draws) {
    const HostView::Choice c = h.view.choose(Actor::host(0), reg, lim, rng);
    // Never a FATAL misuse on purpose: a switch goes to an lwp the host owns and that is not running.
    if (const auto* s = std::get_if<op::Switch>(&c.op.body); s && s->lwp != kNoLwp) {
      ASSERT_TRUE(h.lwp_pid.contains(s->lwp));
      ASSERT_NE(h.cur, std::optional(s->lwp)) << "a switch to the curlwp (L3-running)";
    }
    if (c.focused) {
      if (const auto* n = std::get_if<op::Newlwp>(&c.op.body); n && n->pid == kFocus) ++newlwp_focus;
      if (const auto* o = std::get_if<op::Open>(&c.op.body); o && o->create && o->path.starts_with("/f")) ++creates, paths.insert(o->path);
      std::visit([&](const auto& b) {
        if constexpr (requires { b.fd; }) low_fd_calls += b.fd >= 0 && b.fd < 4 ? 1 : 0;
      }, c.op.body);
      if (std::holds_alternative<op::Getppid>(c.op.body) && h.cur_pid() == kFocus) ++getppid_in_focus;
      if (std::holds_alternative<op::Release>(c.op.body) && h.cur_pid() == Pid{5}) ++parent_releases;
    }
    h.answer(c.op);
    // Once the host has left the parent for good, fork the focus from it again (as another host would).
    if (draws % 200 == 0 && h.cur_pid() != Pid{5}) {
      h.answer(Op{Actor::host(0), op::Newlwp{5}});
      Op fork{Actor::host(0), op::Rfork{0}};
      h.next_pid = kFocus;  // the child is the focus
      h.answer(fork);
      h.next_pid = 100 + static_cast<Pid>(draws);
    }
  }
  const double focused = static_cast<double>(reg.focused_draws.load()) / static_cast<double>(draws);
  // What the draws reached, in the test's output (the thresholds below are a fraction of it).
  std::printf("focused %.2f newlwp %zu creates %zu paths %zu lowfd %zu getppid %zu parent_releases %zu\n", focused, newlwp_focus, creates, paths.size(), low_fd_calls, getppid_in_focus, parent_releases);
  EXPECT_GT(focused, 0.3) << "half of the draws lean on the focus when it can be leaned on";
  EXPECT_LT(focused, 0.7);
  EXPECT_GT(newlwp_focus, 10u);
  EXPECT_GT(creates, 40u);
  EXPECT_GT(paths.size(), 40u) << "each stretch opens a path of its own";
  EXPECT_GT(low_fd_calls, 300u);
  EXPECT_GT(getppid_in_focus, 30u);
  EXPECT_GT(parent_releases, 3u);
}

// A recorder that cannot tell a new lwp's lid (a plug-in SUT) keeps it as the host's curlwp until
// the next observation shows it (HostView::keep_new_lwps_until_observed): no switch, newlwp or
// rfork away from it before; afterwards they are drawn again.
TEST(HostFocus, ANewLwpIsKeptUntilAnObservationShowsIt) {
  Registry reg(10, 10, 8);
  SplitMix rng(3);
  HostLimits lim;
  SimulatedHost h;
  h.view.keep_new_lwps_until_observed();
  h.answer(Op{Actor::host(0), op::Rfork{0}});
  h.answer(Op{Actor::host(0), op::Newlwp{100}});
  auto moves = [](const Op& op) {
    return std::holds_alternative<op::Switch>(op.body) || std::holds_alternative<op::Newlwp>(op.body) ||
           std::holds_alternative<op::Rfork>(op.body);
  };
  std::size_t kept = 0, released = 0;
  for (int i = 0; i < 300; ++i) {
    const HostView::Choice c = h.view.choose(Actor::host(0), reg, lim, rng);
    ASSERT_FALSE(moves(c.op)) << to_string(c.op) << " leaves a new lwp no observation has shown";
    if (std::holds_alternative<op::Release>(c.op.body)) {
      ++released;
      break;
    }
    ++kept;
  }
  EXPECT_GT(kept, 0u);
  // Once observed, the host moves again.
  if (released == 0) h.view.observed();
  else h.answer(Op{Actor::host(0), op::Newlwp{100}}), h.view.observed();
  std::size_t moved = 0;
  for (int i = 0; i < 300; ++i) moved += moves(h.view.choose(Actor::host(0), reg, lim, rng).op) ? 1 : 0;
  EXPECT_GT(moved, 10u);
}

// A wait that returned 0 is followed by the same caller asking what the wake-up promised
// (host_chooser.hpp, HostView::probe_): a wait_exit on the same kthread with a one-tick timeout
// (always), or the same suspend again (half the time). A probe is never followed by another.
TEST(HostFocus, AWakeUpIsFollowedByItsProbe) {
  Registry reg(10, 10, 8);
  SplitMix rng(7);
  HostLimits lim;
  ::proc* const kt = reinterpret_cast<::proc*>(std::uintptr_t{0x4000});
  HostView view{nullptr, nullptr};
  ImplResult ok;
  std::size_t probes = 0, trials = 400, exit_probes = 0;
  for (std::size_t i = 0; i < trials; ++i) {
    HostView::Choice waited{Op{Actor::host(0), i % 2 == 0 ? OpBody(op::WaitExit{9, 0}) : OpBody(op::Suspend{9, 7})}, {}};
    waited.args.proc = kt;
    view.learn(waited, ok, 0, 0);
    const HostView::Choice next = view.choose(Actor::host(0), reg, lim, rng);
    if (!next.probe) continue;
    ++probes;
    ASSERT_EQ(next.args.proc, kt);
    if (i % 2 == 0) {
      ++exit_probes;
      ASSERT_TRUE(std::holds_alternative<op::WaitExit>(next.op.body));
      EXPECT_EQ(std::get<op::WaitExit>(next.op.body).proc, 9u);
      EXPECT_EQ(std::get<op::WaitExit>(next.op.body).timo, 1);
    } else {
      ASSERT_TRUE(std::holds_alternative<op::Suspend>(next.op.body));
      EXPECT_EQ(std::get<op::Suspend>(next.op.body).timo, 1);
    }
    view.learn(next, ok, 0, 0);  // the probe returned 0 too: no probe of the probe
    EXPECT_FALSE(view.choose(Actor::host(0), reg, lim, rng).probe);
  }
  EXPECT_EQ(exit_probes, trials / 2) << "an exit's waiter always probes it";
  EXPECT_GT(probes - exit_probes, trials / 6) << "a suspend's caller half the time";
  EXPECT_LT(probes - exit_probes, trials / 3);
  // A wait that did not return 0 (a timeout) promises nothing.
  HostView::Choice timed_out{Op{Actor::host(0), op::WaitExit{9, 3}}, {}};
  timed_out.args.proc = kt;
  ImplResult ewouldblock;
  ewouldblock.ret = 11;
  for (int i = 0; i < 50; ++i) {
    view.learn(timed_out, ewouldblock, 0, 0);
    EXPECT_FALSE(view.choose(Actor::host(0), reg, lim, rng).probe);
  }
}

}  // namespace
