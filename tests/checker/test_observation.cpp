// The §7 observation: canonical names do not depend on either side's ids, and the
// first difference names the SPEC rule it breaks.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "checker/observation.hpp"
#include "checker/observe_impl.hpp"
#include "checker/program.hpp"
#include "checker/strategy.hpp"
#include "model/model.hpp"
#include "breadth.hpp"

using namespace lockstep::checker;
using namespace lockstep::model;

TEST(Observation, SharedTablesGetOneNameWhateverTheKeys) {
  std::vector<ObsProc> a(3), b(3);
  canonicalize_fds(a, {10, 10, 20}, {{{0, 5}}, {{0, 5}}, {{0, 5}, {1, 6}}});
  canonicalize_fds(b, {77, 77, 3}, {{{0, 900}}, {{0, 900}}, {{0, 900}, {1, 1}}});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a[0].fdtable, a[1].fdtable);
  EXPECT_NE(a[0].fdtable, a[2].fdtable);
}

TEST(Observation, DifferencesNameTheirRule) {
  Model m;
  m.apply(Op{Actor::host(0), op::Rfork{kRumpRffdShare}});
  const Observation e = observe(m.state(), 2);
  Observation g = e;
  g.nprocs += 1;
  auto d = first_difference(e, g, Rule::P1);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule, Rule::R6);
  EXPECT_NE(d->text.find("nprocs: expected 3, observed 4"), std::string::npos) << d->text;

  g = e;
  g.procs.back().lwps[0].bound = 1;  // bound to another host
  d = first_difference(e, g, Rule::P1);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule, Rule::R4);

  g = e;
  g.procs.back().fdtable = 99;  // not shared with its parent any more
  d = first_difference(e, g, Rule::P1);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule, Rule::P7);

  // A blocked caller the impl lost or kept: the rule of its wait (K8 for an exit, S2 for a suspend),
  // whichever side lists it.
  g = e;
  g.blocked.push_back(ObsWait{1, "kthread_wait_exit", 2, false, std::nullopt});
  d = first_difference(e, g, Rule::P1);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule, Rule::K8) << d->text;
  d = first_difference(g, e, Rule::P1);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule, Rule::K8) << d->text;
  Observation suspended = e;
  suspended.blocked.push_back(ObsWait{0, "kthread_suspend", 2, false, std::nullopt});
  d = first_difference(suspended, g, Rule::P1);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule, Rule::S2) << d->text;

  EXPECT_FALSE(first_difference(e, e, Rule::P1));
}

// A blocked caller's deadline (traces 1.7) is compared where the observer says it, under the rule of
// its call's timeout, and left out of the digest (the corpus's digests predate it).
TEST(Observation, ADeadlineIsComparedWhereTheObserverSaysIt) {
  for (const bool exit_wait : {false, true}) {
    Model m;
    ASSERT_EQ(m.apply(Op{Actor::host(0), op::KthreadCreate{0, "kt"}}).outcome.ret, 0);
    const auto kt = static_cast<ProcId>(m.state().procs.size() - 1);
    m.apply(Op{Actor::clock(), op::Tick{3}});
    const StepResult r = exit_wait ? m.apply(Op{Actor::host(1), op::WaitExit{kt, 6}}) : m.apply(Op{Actor::host(1), op::Suspend{kt, 6}});
    ASSERT_EQ(r.outcome.kind, OutcomeKind::Blocked);
    const Observation own = observe(m.state(), 3);
    ASSERT_EQ(own.blocked.size(), 1u);
    EXPECT_TRUE(own.blocked[0].deadline_said);
    EXPECT_EQ(own.blocked[0].deadline, std::optional<Tick>(9));  // tick 3 + timo 6
    EXPECT_TRUE(observes_as(m.state(), 3, own));

    Observation late = own;
    late.blocked[0].deadline = 10;
    EXPECT_FALSE(observes_as(m.state(), 3, late));
    EXPECT_EQ(digest(late), digest(own));
    std::optional<Difference> d = first_difference(own, late, Rule::P0);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->rule, exit_wait ? Rule::K8 : Rule::K3) << d->text;
    EXPECT_NE(d->text.find("until tick 9], observed ["), std::string::npos) << d->text;
    EXPECT_NE(d->text.find("until tick 10]"), std::string::npos) << d->text;

    Observation untimed = own;
    untimed.blocked[0].deadline.reset();
    EXPECT_FALSE(observes_as(m.state(), 3, untimed));
    d = first_difference(own, untimed, Rule::P0);
    ASSERT_TRUE(d);
    EXPECT_NE(d->text.find("untimed"), std::string::npos) << d->text;

    Observation unsaid = own;  // a SUT's state, a real-time run
    unsaid.blocked[0].deadline_said = false;
    unsaid.blocked[0].deadline.reset();
    EXPECT_TRUE(observes_as(m.state(), 3, unsaid));
    EXPECT_FALSE(first_difference(own, unsaid, Rule::P0));
    unsaid.blocked[0].target += 1;  // the rest is still compared
    EXPECT_FALSE(observes_as(m.state(), 3, unsaid));
    EXPECT_TRUE(first_difference(own, unsaid, Rule::P0));
  }
}

// Overlapping kproc_shutdown calls write their lines themselves: the console may show them in any
// interleaving that keeps each caller's own lines in order, and only then.
TEST(Observation, ConsoleLinesInterleaveOnlyKeepingEachWritersOrder) {
  const std::string banner = "Waiting (max 60 seconds) for system process `kt' to stop...";
  const std::vector<std::vector<std::string>> writers{{banner, "stopped"}, {"timed out"}};
  EXPECT_TRUE(interleaves({banner, "stopped", "timed out"}, writers));
  EXPECT_TRUE(interleaves({banner, "timed out", "stopped"}, writers));
  EXPECT_TRUE(interleaves({"timed out", banner, "stopped"}, writers));
  EXPECT_FALSE(interleaves({"stopped", banner, "timed out"}, writers)) << "a caller's result before its banner";
  EXPECT_FALSE(interleaves({banner, "stopped"}, writers)) << "a line missing";
  EXPECT_FALSE(interleaves({banner, "stopped", "timed out", "stopped"}, writers)) << "a line too many";
  EXPECT_FALSE(interleaves({banner, "stopped", "stopped"}, writers)) << "a line changed";
  EXPECT_TRUE(interleaves({}, {}));
}

// A writer that must wait for another (its call began after the other's returned) writes nothing
// before all of the other's lines; identical lines of two writers are told apart by what follows.
TEST(Observation, ConsoleLinesKeepRealTimeOrderBetweenWriters) {
  const std::vector<std::vector<std::string>> writers{{"a", "stopped"}, {"b", "stopped"}};
  EXPECT_TRUE(interleaves({"b", "a", "stopped", "stopped"}, writers));
  EXPECT_FALSE(interleaves({"b", "a", "stopped", "stopped"}, writers, {{}, {0}})) << "b's call began after a's returned";
  EXPECT_TRUE(interleaves({"a", "stopped", "b", "stopped"}, writers, {{}, {0}}));
  // Greedy matching would give writer 0's "x" the first "x" and then find no "a" after it.
  EXPECT_TRUE(interleaves({"x", "a", "x", "b"}, {{"x", "b"}, {"x", "a"}}));
}


// The digest's value is part of the trace format (the corpus's traces carry digests their replay
// checks): its short cut for a number's high zero bytes must give FNV-1a byte by byte exactly, for
// every kind of number (small, wide, negative, extreme) from any state.
TEST(Observation, DigestNumbersAreFnv1aByteByByte) {
  auto bytewise = [](std::uint64_t h, std::int64_t v) {
    unsigned char b[8];
    std::memcpy(b, &v, sizeof b);  // little-endian hosts, as the digest assumes
    for (unsigned char c : b) h = (h ^ c) * 0x100000001b3ULL;
    return h;
  };
  std::vector<std::int64_t> values{0, 1, 255, 256, 65535, 65536, 1LL << 40, -1, -256, INT64_MIN, INT64_MAX, 0x0100000000000000LL};
  std::uint64_t seed = 42;
  auto next = [&] { return seed = seed * 6364136223846793005ULL + 1442695040888963407ULL; };
  for (int i = 0; i < 2000; ++i) {
    const std::uint64_t shift = next() % 64, bits = next() >> shift;
    values.push_back(static_cast<std::int64_t>(i % 3 == 0 ? ~bits : bits));  // a third negative
  }
  for (std::int64_t v : values) {
    const std::uint64_t h = next();
    ASSERT_EQ(fnv1a_number(h, v), bytewise(h, v)) << "value " << v;
  }
}

// observes_as(s, hosts, o) is observe(s, hosts) == o, with and without the console: against the
// state's own observation, the previous state's, and the own one with one field changed.
void check_observes_as(const State& s, int hosts, const Observation& previous) {
  const Observation own = observe(s, hosts);
  auto same = [&](const Observation& o) {
    ASSERT_EQ(observes_as(s, hosts, o), own == o);
    Observation no_console = o;
    no_console.console = own.console;
    ASSERT_EQ(observes_as(s, hosts, o, false), own == no_console);
  };
  same(own);
  same(previous);
  std::vector<Observation> changed(12, own);
  changed[0].nprocs++;
  changed[1].console.emplace_back("line");
  changed[2].files["/x"] = 1;
  changed[3].blocked.push_back(ObsWait{0, "kthread_suspend", 2, true, 5});
  changed[4].hosts.back().pid++;
  if (!own.procs.empty()) {
    changed[5].procs.back().ppid++;
    changed[6].procs.front().fdtable++;
    changed[7].procs.back().fds.emplace_back(99, 0);
    changed[8].procs.back().lwps.push_back(ObsLwp{});
    changed[9].procs.back().comm += "x";
    changed[10].procs.back().progress++;
  }
  if (!own.files.empty()) changed[11].files.begin()->second++;
  for (const Observation& o : changed) same(o);
}

// The digest a run records after every step, taken from the state directly, is the digest of its
// observation: on the states of 300 random programs (misuse included), at 1 to 4 hosts.
TEST(Observation, StateDigestIsTheDigestOfTheObservation) {
  SplitMix src(11);
  ProgramConfig c;
  std::size_t states = 0, with_files = 0, with_waits = 0, shared_tables = 0;
  for (std::size_t p = 0; p < 300; p += lockstep::test::kSeedStride) {
    const Program prog = random_program(src, 80);
    Model m(Config{c.maxproc, true, c.pid_max});
    Observation previous = observe(m.state(), 3);
    for (const auto& step : prog.steps) {
      const StepResult r = m.apply(resolve(m.state(), c, step));
      if (r.outcome.is_fatal()) break;
      const State& s = m.state();
      for (int hosts = 1; hosts <= 4; ++hosts) {
        ASSERT_EQ(state_digest(s, hosts), digest(observe(s, hosts))) << "program " << p;
        check_observes_as(s, hosts, previous);
      }
      previous = observe(s, 3);
      ++states;
      with_files += s.files.size() >= 2;
      with_waits += !s.waits.empty();
      std::set<std::uint32_t> tables;
      for (const auto& [pid, id] : s.table) tables.insert(s.procs[id].fdtable);
      shared_tables += tables.size() < s.table.size();
    }
  }
  std::printf("states: %zu, with files: %zu, with waits: %zu, with a shared fd table: %zu\n", states, with_files, with_waits, shared_tables);
  // The cases the canonical form is about were among them.
  EXPECT_GT(states, 5000u);
  EXPECT_GT(with_files, 100u);
  EXPECT_GT(with_waits, 100u);
  EXPECT_GT(shared_tables, 100u);
}

// One path is one file (P7). An impl that keeps two files of one path (two creators raced) shows a
// file the model lacks, where a map by path would have shown one of them and hidden the other.
TEST(Observation, ASecondFileOfOnePathIsAFileTheModelLacks) {
  Model m;
  m.apply(Op{Actor::host(0), op::Open{"/a", true}});
  const Observation e = observe(m.state(), 1);
  ASSERT_TRUE(e.files.contains("/a"));
  lockstep::impl::Snapshot snap;
  for (const auto& [path, size] : e.files) snap.files.push_back({path, static_cast<std::uint64_t>(size)});
  snap.files.push_back({"/a", 0});
  const Observation g = observe_snapshot(snap, {}, {});
  ASSERT_EQ(g.files.size(), e.files.size() + 1);
  Observation same = e;
  same.files = g.files;
  const auto d = first_difference(e, same, Rule::P1);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule, Rule::P7);
  EXPECT_NE(d->text.find("file /a (file #2 of this path): expected none, observed size 0"), std::string::npos) << d->text;
}

// An observation refilled into the storage of an earlier one (the lockstep runner's, every step)
// is the one taken afresh: through states that grow (processes, lwps, fds, files, a kthread, a
// waiter) and shrink again, each snapshot and observation refilled from the state before.
TEST(Observation, RefilledIntoOldStorageItIsTheFreshOne) {
  using namespace lockstep::impl;
  KernelConfig kc;
  kc.tick = std::chrono::milliseconds(1);
  kc.panic_hook = [](const PanicInfo&) {};
  Kernel k{kc};
  HostContext h0{k, "H0"}, h1{k, "H1"};
  const std::vector<lockstep::impl::HostId> ids{h0.id(), h1.id()};
  const std::map<lockstep::impl::HostId, int> index{{h0.id(), 0}, {h1.id(), 1}};
  Snapshot snap;
  Observation reused;
  std::size_t compared = 0;
  auto same = [&](const char* after) {
    k.snapshot_into(snap);
    observe_snapshot_into(snap, ids, index, reused);
    EXPECT_EQ(reused, observe_snapshot(k.snapshot(), ids, index)) << "after " << after;
    EXPECT_EQ(digest(reused), digest(observe_kernel(k, ids, index))) << "after " << after;
    ++compared;
  };
  same("nothing");
  ASSERT_EQ(k.rfork(h0, 0), 0);
  same("rfork");
  const pid_t child = k.getpid(h0);
  constexpr int kOCreat = 0x0200;  // rump's O_CREAT (NetBSD's value), which Kernel::open takes
  ASSERT_GE(k.open(h0, "/a", kOCreat), 0);
  ASSERT_GE(k.open(h0, "/b", kOCreat), 0);
  ASSERT_EQ(k.write(h0, 3, 5), 5);
  same("opens");
  ASSERT_EQ(k.newlwp(h1, child), 0);
  same("newlwp");
  ::proc* kt = nullptr;
  std::atomic<bool> stop{false};
  ASSERT_EQ(k.kthread_create(h1, [&stop] {
    const KthreadSelf* s = this_kthread();
    while (!stop.load()) {
      s->kernel.kthread_suspend_check(s->host, s->proc);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    s->kernel.kthread_exit(s->host, 7);
  }, &kt, 0, 0, "worker"), 0);
  std::thread waiter([&] { (void)k.kthread_wait_exit(h1, kt, 0); });
  for (int i = 0; i < 10000 && k.snapshot().blocked.empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_FALSE(k.snapshot().blocked.empty());
  same("kthread_create and a waiter");
  stop = true;
  waiter.join();
  same("the kthread's exit");
  ASSERT_EQ(k.kthread_reap(h0, kt), 0);
  k.releaselwp(h1);
  ASSERT_EQ(k.rfork(h1, 0), 0);  // a process in the slot the kthread had, in the same refill
  same("a reap, a release and an rfork");
  ASSERT_EQ(k.close(h0, 3), 0);
  k.releaselwp(h0);
  same("close and the last release");
  EXPECT_EQ(compared, 8u);
}
