// reorder_trace: one linearization of a trace as a well-formed trace of its own, with steps and
// symbols renumbered in the new order, checked by the reader (write, read back) and by the model.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <stdexcept>

#include "checker/observation.hpp"
#include "checker/trace_check.hpp"
#include "checker/trace_io.hpp"
#include "checker/trace_reorder.hpp"

using namespace lockstep::checker;
using namespace lockstep::model;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("lockstep_reorder_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

const Actor H0 = Actor::host(0), H1 = Actor::host(1);

Binding proc_bind(std::uint32_t id, Pid pid) { return Binding{Binding::Kind::Proc, id, pid}; }
Binding lwp_bind(std::uint32_t id, Pid pid) { return Binding{Binding::Kind::Lwp, id, pid}; }

// A history of the model in which H0 and H1 each rfork (independent: different hosts, nothing
// shared), H1 asks curlwp, H0 creates kthread proc#4 whose body works, H1 suspends it, it
// acknowledges, H0 resumes it, and H1 switches to a handle that was never issued (FATAL).
Trace scenario() {
  Trace t;
  t.header.tool = "test";
  t.header.seed = 7;
  t.header.config = TraceConfig{2, 1, 12, 12};
  t.header.rules = {"P1", "K1"};
  t.header.program = "recorded-order-program";
  t.header.partial_order = true;
  t.header.expect.verdict = Verdict::Diverge;
  t.header.expect.step = 9;
  t.header.expect.what = "made up";
  Model m(Config{12, true, 12});
  auto step = [&](Actor a, OpBody b) {
    TraceEvent e = model_step(m, Op{a, std::move(b)}, Choice{}, 2);
    e.step = t.events.size();
    t.events.push_back(std::move(e));
  };
  step(H0, op::Rfork{0});                   // 0: proc#2 lwp#1, pid 2
  step(H1, op::Rfork{0});                   // 1: proc#3 lwp#2, pid 3
  step(H1, op::Curlwp{});                   // 2: lwp#2
  step(H0, op::KthreadCreate{kRffdg, "kt"});  // 3: proc#4 lwp#3, pid 4
  step(Actor::kthread(4), op::Work{});      // 4
  step(H1, op::Suspend{4, 0});              // 5: blocked (suspend, proc#4)
  step(Actor::kthread(4), op::SuspendCheck{4});  // 6: parks (resume, proc#4), wakes H1
  step(H0, op::Resume{4});                  // 7: wakes K4
  step(H1, op::Switch{7});                  // 8: lwp#7 was never issued: FATAL(L3-stale)
  t.events[5].after = {0};
  t.events[7].after = {6, 2};
  return t;
}

std::vector<std::size_t> iota(std::size_t n) {
  std::vector<std::size_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

Trace round_trip(const TempDir& d, const Trace& t) {
  const std::string path = d.file("t.jsonl");
  EXPECT_EQ(write_trace(path, t.header, t.events), "");
  return read_trace(path);
}

std::string error_of(const Trace& t, const std::vector<std::size_t>& order) {
  try {
    (void)reorder_trace(t, order);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// The scenario is what its comments say, and the model accepts it.
TEST(TraceReorder, ScenarioIsAValidModelHistory) {
  const Trace t = scenario();
  ASSERT_EQ(t.events.size(), 9u);
  EXPECT_EQ(t.events[0].bound, (std::vector<Binding>{proc_bind(2, 2), lwp_bind(1, 2)}));
  EXPECT_EQ(t.events[1].bound, (std::vector<Binding>{proc_bind(3, 3), lwp_bind(2, 3)}));
  EXPECT_EQ(t.events[2].outcome.lwp, 2u);
  EXPECT_EQ(t.events[3].bound, (std::vector<Binding>{proc_bind(4, 4), lwp_bind(3, 4)}));
  EXPECT_EQ(t.events[3].outcome.proc, 4u);
  EXPECT_EQ(t.events[5].outcome.kind, OutcomeKind::Blocked);
  ASSERT_EQ(t.events[6].woke.size(), 1u);
  ASSERT_EQ(t.events[7].woke.size(), 1u);
  EXPECT_EQ(t.events[8].outcome.fatal, Fatal::L3Stale);
  const CheckReport chk = check_trace(t);
  EXPECT_TRUE(chk.valid()) << chk.mismatch->what;
}

TEST(TraceReorder, IdentityOrderKeepsEverythingButDigestsAndTheRecordedVerdict) {
  const Trace t = scenario();
  const Trace r = reorder_trace(t, iota(t.events.size()));
  EXPECT_FALSE(r.header.partial_order);
  EXPECT_EQ(r.header.expect, TraceExpect{});
  EXPECT_EQ(r.header.program, "");
  EXPECT_EQ(r.header.config, t.header.config);
  EXPECT_EQ(r.header.rules, t.header.rules);
  EXPECT_EQ(r.header.seed, 7u);
  ASSERT_EQ(r.events.size(), t.events.size());
  for (std::size_t i = 0; i < t.events.size(); ++i) {
    TraceEvent want = t.events[i];
    EXPECT_TRUE(want.digest || i == 8) << i;  // the scenario had digests to drop
    want.digest.reset();
    EXPECT_EQ(r.events[i], want) << "event " << i << ": " << event_line(r.events[i]);
  }
  EXPECT_EQ(r.events[7].after, (std::vector<std::size_t>{6, 2}));  // as recorded
}

// The two rforks are independent: either may come first. Whichever does binds proc#2 and lwp#1.
TEST(TraceReorder, SwappingTwoRforksRenamesTheirSymbols) {
  TempDir d;
  const Trace t = scenario();
  const Trace r = reorder_trace(t, {1, 0, 2, 3, 4, 5, 6, 7, 8});
  ASSERT_EQ(r.events.size(), 9u);
  for (std::size_t i = 0; i < r.events.size(); ++i) {
    EXPECT_EQ(r.events[i].step, i);
    EXPECT_FALSE(r.events[i].digest) << i;
  }
  EXPECT_EQ(r.events[0].op.actor, H1);
  EXPECT_EQ(r.events[0].bound, (std::vector<Binding>{proc_bind(2, 3), lwp_bind(1, 3)}));  // H1's process keeps pid 3
  EXPECT_EQ(r.events[1].op.actor, H0);
  EXPECT_EQ(r.events[1].bound, (std::vector<Binding>{proc_bind(3, 2), lwp_bind(2, 2)}));
  EXPECT_EQ(r.events[2].op.actor, H1);
  EXPECT_EQ(r.events[2].outcome.lwp, 1u);  // H1's lwp is lwp#1 now
  EXPECT_EQ(r.events[3].bound, (std::vector<Binding>{proc_bind(4, 4), lwp_bind(3, 4)}));  // unchanged
  EXPECT_EQ(r.events[5].after, std::vector<std::size_t>{1});  // after H0's rfork, now step 1
  EXPECT_EQ(std::get<op::Switch>(r.events[8].op.body).lwp, 7u);  // still never issued, still beyond

  const Trace back = round_trip(d, r);
  EXPECT_EQ(back.header, r.header);
  ASSERT_EQ(back.events.size(), r.events.size());
  for (std::size_t i = 0; i < r.events.size(); ++i) EXPECT_EQ(back.events[i], r.events[i]) << i;
  const CheckReport chk = check_trace(back);  // the model accepts it, pids as recorded
  EXPECT_TRUE(chk.valid()) << chk.mismatch->what;
}

// The kthread first: every name of it (actor K<p>, args, wait targets, woke[] actors) follows it.
TEST(TraceReorder, KthreadFirstRenamesActorsArgsAndWaitTargets) {
  TempDir d;
  const Trace t = scenario();
  const Trace r = reorder_trace(t, {3, 4, 0, 1, 2, 5, 6, 7, 8});
  EXPECT_EQ(r.events[0].bound, (std::vector<Binding>{proc_bind(2, 4), lwp_bind(1, 4)}));
  EXPECT_EQ(r.events[0].outcome.proc, 2u);
  EXPECT_EQ(r.events[1].op.actor, Actor::kthread(2));
  EXPECT_EQ(r.events[2].bound, (std::vector<Binding>{proc_bind(3, 2), lwp_bind(2, 2)}));
  EXPECT_EQ(r.events[3].bound, (std::vector<Binding>{proc_bind(4, 3), lwp_bind(3, 3)}));
  EXPECT_EQ(r.events[4].outcome.lwp, 3u);
  EXPECT_EQ(std::get<op::Suspend>(r.events[5].op.body).proc, 2u);
  EXPECT_EQ(r.events[5].outcome.wait_target, 2u);
  EXPECT_EQ(r.events[5].after, std::vector<std::size_t>{2});
  EXPECT_EQ(r.events[6].op.actor, Actor::kthread(2));
  EXPECT_EQ(std::get<op::SuspendCheck>(r.events[6].op.body).proc, 2u);
  EXPECT_EQ(r.events[6].outcome.wait_target, 2u);
  ASSERT_EQ(r.events[6].woke.size(), 1u);
  EXPECT_EQ(r.events[6].woke[0].actor, H1);
  EXPECT_EQ(r.events[6].woke[0].outcome.wait_target, 2u);
  EXPECT_EQ(std::get<op::Resume>(r.events[7].op.body).proc, 2u);
  ASSERT_EQ(r.events[7].woke.size(), 1u);
  EXPECT_EQ(r.events[7].woke[0].actor, Actor::kthread(2));
  EXPECT_EQ(r.events[7].after, (std::vector<std::size_t>{6, 4}));

  const Trace back = round_trip(d, r);
  for (std::size_t i = 0; i < r.events.size(); ++i) EXPECT_EQ(back.events[i], r.events[i]) << i;
  const CheckReport chk = check_trace(back);
  EXPECT_TRUE(chk.valid()) << chk.mismatch->what;
}

// What the impl observed at a divergent step is renamed like the outcome (and, like the outcome,
// may name what its own event bound).
TEST(TraceReorder, ObservedOutcomesAreRenamed) {
  Trace t = scenario();
  t.events[2].observed = t.events[2].outcome;  // H1's curlwp: lwp#2
  t.events[3].observed = t.events[3].outcome;  // kthread_create: proc#4, bound by the same event
  t.events[7].observed_woke = t.events[7].woke;  // K4 returns from suspend_check (resume, proc#4)
  const Trace r = reorder_trace(t, {1, 0, 2, 3, 4, 5, 6, 7, 8});
  ASSERT_TRUE(r.events[2].observed);
  EXPECT_EQ(r.events[2].observed->lwp, 1u);
  const Trace k = reorder_trace(t, {3, 4, 0, 1, 2, 5, 6, 7, 8});
  ASSERT_TRUE(k.events[0].observed);
  EXPECT_EQ(k.events[0].observed->proc, 2u);
  ASSERT_TRUE(k.events[4].observed);
  EXPECT_EQ(k.events[4].observed->lwp, 3u);
  ASSERT_TRUE(k.events[7].observed_woke);
  ASSERT_EQ(k.events[7].observed_woke->size(), 1u);
  EXPECT_EQ((*k.events[7].observed_woke)[0].actor, Actor::kthread(2));
  EXPECT_EQ((*k.events[7].observed_woke)[0].outcome.wait_target, 2u);

  // Not a well-formed input: event 2 names K4 before any event of the recorded order created it.
  t.events[2].observed_woke = std::vector<TraceCompletion>{TraceCompletion{Actor::kthread(4), t.events[7].woke[0].outcome}};
  const std::string err = error_of(t, iota(9));
  EXPECT_NE(err.find("step 2 names proc#4 in observed_woke[0].actor, which no earlier event of the trace binds"), std::string::npos) << err;
}

// An `after` edge that would point forward in the new order is dropped.
TEST(TraceReorder, AfterEdgesThatNoLongerPointBackAreDropped) {
  TempDir d;
  const Trace t = scenario();
  const Trace r = reorder_trace(t, {1, 2, 3, 4, 5, 0, 6, 7, 8});  // H0's rfork after H1's suspend
  EXPECT_TRUE(r.events[4].after.empty());                        // old 5 was after old 0
  EXPECT_EQ(r.events[5].bound, (std::vector<Binding>{proc_bind(4, 2), lwp_bind(3, 2)}));
  EXPECT_EQ(r.events[2].bound, (std::vector<Binding>{proc_bind(3, 4), lwp_bind(2, 4)}));
  EXPECT_EQ(std::get<op::Suspend>(r.events[4].op.body).proc, 3u);
  const Trace back = round_trip(d, r);
  EXPECT_EQ(back.events.size(), 9u);
}

TEST(TraceReorder, NotAPermutationThrows) {
  const Trace t = scenario();
  EXPECT_NE(error_of(t, {0, 1, 2}).find("not a permutation"), std::string::npos);
  EXPECT_NE(error_of(t, {0, 1, 2, 3, 4, 5, 6, 7, 9}).find("order[8] = 9 is not an event index (0..8)"), std::string::npos)
      << error_of(t, {0, 1, 2, 3, 4, 5, 6, 7, 9});
  EXPECT_NE(error_of(t, {0, 1, 2, 3, 4, 5, 6, 7, 0}).find("order[8] = 0 repeats order[0]"), std::string::npos)
      << error_of(t, {0, 1, 2, 3, 4, 5, 6, 7, 0});
  EXPECT_THROW((void)reorder_trace(t, {}), std::invalid_argument);
}

TEST(TraceReorder, UseBeforeBindThrows) {
  const Trace t = scenario();
  // H1's curlwp names H1's lwp before the rfork that creates it.
  const std::string curlwp = error_of(t, {2, 0, 1, 3, 4, 5, 6, 7, 8});
  EXPECT_NE(curlwp.find("not a linearization: step 2 (0 of the new order) names lwp#2 in outcome, which step 1 binds, 2 of the new order"),
            std::string::npos)
      << curlwp;
  // The kthread's body acts before kthread_create.
  const std::string actor = error_of(t, {0, 1, 2, 4, 3, 5, 6, 7, 8});
  EXPECT_NE(actor.find("step 4 (3 of the new order) names proc#4 in its actor"), std::string::npos) << actor;
  // Suspending the kthread before it exists.
  const std::string args = error_of(t, {0, 1, 2, 5, 3, 4, 6, 7, 8});
  EXPECT_NE(args.find("names proc#4 in args.proc"), std::string::npos) << args;
}

// A handle never issued where the recorded order names it stays never issued, even when a later
// event of the recorded order binds the same number.
TEST(TraceReorder, NeverIssuedHandleStaysBeyondEverySymbol) {
  TempDir d;
  Trace t;
  t.header.config = TraceConfig{2, 1, 12, 12};
  TraceEvent sw;
  sw.step = 0;
  sw.op = Op{H0, op::Switch{1}};  // lwp#1: nothing bound it yet
  sw.outcome.kind = OutcomeKind::Fatal;
  sw.outcome.fatal = Fatal::L3Stale;
  TraceEvent fork;
  fork.step = 1;
  fork.op = Op{H1, op::Rfork{0}};
  fork.bound = {proc_bind(2, 2), lwp_bind(1, 2)};
  t.events = {sw, fork};
  const Trace same = round_trip(d, t);  // the writer marks it never_issued; the reader accepts it
  EXPECT_EQ(std::get<op::Switch>(same.events[0].op.body).lwp, 1u);

  const Trace r = reorder_trace(t, {1, 0});
  EXPECT_EQ(r.events[0].bound, (std::vector<Binding>{proc_bind(2, 2), lwp_bind(1, 2)}));
  EXPECT_EQ(std::get<op::Switch>(r.events[1].op.body).lwp, 2u);  // not H1's lwp#1
  const Trace back = round_trip(d, r);
  ASSERT_EQ(back.events.size(), 2u);
  EXPECT_EQ(back.events[1], r.events[1]);
  std::ifstream in(d.file("t.jsonl"));
  std::string line;
  for (int i = 0; i < 3; ++i) std::getline(in, line);
  EXPECT_NE(line.find(R"("args":{"lwp":"lwp#2","never_issued":true})"), std::string::npos) << line;
}

// An observed state names lwps by (pid, lid), and lids follow creation order within a process:
// when two newlwps into one process swap, the lids the observation names swap with them, so that
// each still names the lwp it meant (the reorder is then the same state, seen in the new order).
TEST(TraceReorder, ObservedLidsFollowTheirLwps) {
  Trace t;
  t.header.config = TraceConfig{2, 1, 12, 12};
  Model m(Config{12, true, 12});
  auto step = [&](Actor a, OpBody b) {
    TraceEvent e = model_step(m, Op{a, std::move(b)}, Choice{}, 0);
    e.step = t.events.size();
    t.events.push_back(std::move(e));
  };
  step(H0, op::Newlwp{1});  // 0: lwp#1, pid 1 lid 1, bound to H0
  step(H1, op::Newlwp{1});  // 1: lwp#2, pid 1 lid 2, bound to H1
  step(H0, op::Release{});  // 2: lid 1 released
  t.events[2].observed_state = observe(m.state(), 2);
  const auto lwps_of_init = [](const Observation& o) {
    for (const ObsProc& p : o.procs)
      if (p.pid == 1) return p.lwps;
    return std::vector<ObsLwp>{};
  };
  const std::vector<ObsLwp> before = lwps_of_init(*t.events[2].observed_state);
  ASSERT_EQ(before.size(), 2u);
  EXPECT_TRUE(before[0].released);
  EXPECT_EQ(before[1].bound, 1);

  const Trace r = reorder_trace(t, {1, 0, 2});
  const Observation& o = *r.events[2].observed_state;
  const std::vector<ObsLwp> after = lwps_of_init(o);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].lid, 1);
  EXPECT_EQ(after[0].bound, 1) << "H1's lwp is created first now: lid 1";
  EXPECT_FALSE(after[0].released);
  EXPECT_EQ(after[1].lid, 2);
  EXPECT_TRUE(after[1].released) << "H0's released lwp is lid 2 now";
  ASSERT_TRUE(o.hosts[1].curlwp);
  EXPECT_EQ(o.hosts[1].curlwp->second, 1);
  // The model, run in the new order, observes exactly that state.
  Model n(Config{12, true, 12});
  for (const TraceEvent& e : r.events) n.apply(e.op);
  EXPECT_EQ(observe(n.state(), 2), o);
}
