// Whatever the impl does, every run ends with a verdict, within a bound, and its trace is written
// (issue #11). The test-only faults make the impl do more than, or other than, the model: an extra
// kthread, an extra process, an extra or a missing wake-up, a kthread body or a host call that never
// returns, a panic inside a kthread body, a thread that exits early. Each goes through a campaign
// (`lockstep run`), the replay of the trace it wrote (`lockstep replay`) and the mutant table
// (`lockstep mutants`); every one of them must end in time, with a verdict.
#include <gtest/gtest.h>

#include <chrono>

#include "checker/run_trace.hpp"
#include "checker/campaign.hpp"
#include "checker/mutants.hpp"
#include "checker/trace.hpp"
#include "checker/trace_check.hpp"
#include "checker/trace_io.hpp"

using namespace lockstep;
using namespace lockstep::checker;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Situation {
  impl::Fault fault;
  Verdict verdict;  // what the checker must conclude
  int maxproc = 12;  // small where the situation needs a full process table
};

void PrintTo(const Situation& s, std::ostream* os) { *os << impl::fault_info(s.fault).name; }

constexpr milliseconds kWatchdog{300};
constexpr double kSlack = 3.0;  // seconds: reports, the first program's start, a loaded sanitizer build

CampaignConfig campaign(impl::Fault f, double budget_s, double shrink_s) {
  CampaignConfig c;
  c.seed = 1;
  c.programs = 5000;
  c.steps = 40;
  c.lockstep.faults = impl::FaultSet{f};
  c.lockstep.watchdog = kWatchdog;
  c.time_budget = milliseconds(static_cast<long long>(budget_s * 1000));
  c.shrink_budget = milliseconds(static_cast<long long>(shrink_s * 1000));
  return c;
}

// The trace `lockstep run` writes for a failure (cmd_run.cpp does the same).
Trace trace_of(const Program& p, const LockstepResult& r, const CampaignConfig& c) {
  Trace t;
  t.events = r.events;
  if (r.verdict == Verdict::Deadlock && r.events.size() < p.steps.size())
    append_stuck_step(t.events, stuck_op(r, c.lockstep, p), c.lockstep, r.unfinished_turns);
  t.header = trace_header(r, c.lockstep, c.seed, encode(p));
  return t;
}

}  // namespace

class ImplDoesMoreThanTheModel : public ::testing::TestWithParam<Situation> {};

TEST_P(ImplDoesMoreThanTheModel, RunReplayAndMutantsEndWithAVerdictInTime) {
  const Situation& s = GetParam();
  const std::string name(impl::fault_info(s.fault).name);

  // run: the first failure, shrunk, within time budget + watchdog + shrink budget.
  const double budget = 10, shrink = 1.5;
  CampaignConfig c = campaign(s.fault, budget, shrink);
  c.lockstep.program.maxproc = s.maxproc;
  std::optional<Trace> written;
  c.on_failure_shrunk = [&](const Program& p, const LockstepResult& r) {
    written = trace_of(p, r, c);
    // Through the file, as a user replays it.
    const std::string path = ::testing::TempDir() + "/no-hang-" + name + ".trace.jsonl";
    ASSERT_EQ(write_trace(path, written->header, written->events), "");
    written = read_trace(path);
  };
  auto t0 = Clock::now();
  const CampaignReport rep = run_campaign(c);
  const double run_s = since(t0);
  ASSERT_TRUE(rep.failure) << name << " survived " << rep.programs << " programs";
  const LockstepResult& shrunk = rep.failure->shrunk_result;
  EXPECT_EQ(shrunk.verdict, s.verdict) << listing(shrunk);
  EXPECT_FALSE(rep.failure->nondeterminism) << *rep.failure->nondeterminism;
  EXPECT_LE(run_s, budget + kWatchdog.count() / 1000.0 + shrink + kSlack) << name;
  ASSERT_TRUE(written) << "no trace written";
  EXPECT_EQ(written->header.expect.verdict, s.verdict);

  // replay: the written trace reproduces under its fault, within a bound.
  t0 = Clock::now();
  const ReplayReport replay = replay_trace(*written, impl::FaultSet{s.fault}, kWatchdog);
  const double replay_s = since(t0);
  EXPECT_TRUE(replay.reproduced()) << replay.mismatch->what << "\n" << listing(replay.result);
  EXPECT_EQ(replay.result.verdict, s.verdict);
  // One program: its steps, at most one watchdog period and one teardown grace.
  EXPECT_LE(replay_s, kWatchdog.count() / 1000.0 + 2.0 + kSlack) << name;
  // On the correct impl the same trace agrees (its events are the model's).
  const ReplayReport correct = replay_trace(*written, impl::FaultSet{}, kWatchdog);
  EXPECT_EQ(correct.result.verdict, Verdict::Agree) << listing(correct.result);

  // mutants: the fault is killed, with its verdict, never counted as a hang.
  MutantConfig m;
  m.campaign = campaign(s.fault, 10, 0.5);
  m.campaign.lockstep.program.maxproc = s.maxproc;
  m.control_programs = 0;
  m.faults = {impl::fault_info(s.fault)};
  t0 = Clock::now();
  const MutantReport table = run_mutants(m);
  const double mutants_s = since(t0);
  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_TRUE(table.rows[0].killed) << mutant_table(table, m);
  EXPECT_EQ(table.rows[0].verdict.substr(0, to_string(s.verdict).size()), to_string(s.verdict)) << table.rows[0].verdict;
  EXPECT_LE(mutants_s, 10 + kWatchdog.count() / 1000.0 + 0.5 + kSlack) << name;
}

INSTANTIATE_TEST_SUITE_P(
    TestOnlyFaults, ImplDoesMoreThanTheModel,
    ::testing::Values(Situation{impl::Fault::test_extra_kthread, Verdict::Diverge, 4},
                      Situation{impl::Fault::test_extra_process, Verdict::Diverge},
                      Situation{impl::Fault::test_extra_wakeup, Verdict::Diverge},
                      Situation{impl::Fault::test_missing_wakeup, Verdict::Diverge},
                      Situation{impl::Fault::test_body_stuck, Verdict::Diverge},
                      Situation{impl::Fault::test_host_op_hangs, Verdict::Deadlock},
                      Situation{impl::Fault::test_kthread_panics, Verdict::Diverge},
                      Situation{impl::Fault::test_thread_exits_early, Verdict::Diverge}),
    [](const ::testing::TestParamInfo<Situation>& i) { return std::string(impl::fault_info(i.param.fault).name); });

// The kthread the impl created against the model's EAGAIN is torn down with the rest: the run's
// instance is destroyed, not abandoned (the hang of issue #11 was exactly this teardown).
TEST(NoHang, AnUnexpectedKthreadIsTornDownNotAbandoned) {
  LockstepConfig c;
  c.program.maxproc = 2;  // processes 0 and 1 fill the table: the model refuses any kthread (EAGAIN)
  c.faults = impl::FaultSet{impl::Fault::test_extra_kthread};
  c.watchdog = kWatchdog;
  const model::Op create{model::Actor::host(0), model::op::KthreadCreate{0, "kt"}};
  const auto t0 = Clock::now();
  const LockstepResult r = run_lockstep(std::vector<model::Op>{create}, c);
  EXPECT_LT(since(t0), 1.0);
  ASSERT_EQ(r.verdict, Verdict::Diverge) << listing(r);
  EXPECT_NE(r.summary().find("kthread_create outcome"), std::string::npos) << r.summary();
  EXPECT_EQ(r.abandoned, "");
}

// A run cut by its deadline has no verdict: it is neither agreement nor a DEADLOCK, however long
// the teardown grace is (the deadline caps it).
TEST(NoHang, TheDeadlineCutsAStuckStepWithoutAFalseDeadlock) {
  LockstepConfig c;
  c.faults = impl::FaultSet{impl::Fault::test_host_op_hangs};
  c.watchdog = milliseconds(5000);
  c.teardown_grace = milliseconds(20000);
  c.deadline = Clock::now() + milliseconds(400);
  const model::Op getppid{model::Actor::host(1), model::op::Getppid{}};
  const auto t0 = Clock::now();
  const LockstepResult r = run_lockstep(std::vector<model::Op>{getppid}, c);
  const double took = since(t0);
  EXPECT_TRUE(r.cut_short) << listing(r);
  EXPECT_EQ(r.verdict, Verdict::Agree);  // no verdict: the step was cut, not judged
  EXPECT_NE(r.summary().find("cut short"), std::string::npos) << r.summary();
  EXPECT_LT(took, 0.4 + 0.05 + 1.0);  // deadline + minimum grace + slack
  EXPECT_NE(r.abandoned.find("H1"), std::string::npos) << r.abandoned;
}

// `--time-budget` holds overall on a run where every failing program costs a watchdog period and
// a teardown grace: the whole campaign, shrinking included, ends within budget + watchdog + shrink
// budget, even with a teardown grace far longer than that.
TEST(NoHang, TheTimeBudgetHoldsOverallWhenEveryFailureHangs) {
  CampaignConfig c = campaign(impl::Fault::test_host_op_hangs, 2, 2);
  c.lockstep.teardown_grace = milliseconds(30000);
  const auto t0 = Clock::now();
  const CampaignReport rep = run_campaign(c);
  const double took = since(t0);
  ASSERT_TRUE(rep.failure);
  EXPECT_EQ(rep.failure->shrunk_result.verdict, Verdict::Deadlock);
  EXPECT_LE(took, 2 + kWatchdog.count() / 1000.0 + 2 + kSlack);
  // The shrunk program still shows the op that never returned.
  EXPECT_NE(listing(rep.failure->shrunk_result).find("getppid"), std::string::npos) << listing(rep.failure->shrunk_result);
}

// A program in which every step diverges-or-hangs still leaves the campaign's search phase within
// its budget: with a tiny budget and hanging programs, no program starts after it.
TEST(NoHang, NoProgramStartsAfterTheTimeBudget) {
  CampaignConfig c = campaign(impl::Fault::test_host_op_hangs, 0.2, 0.2);
  c.lockstep.teardown_grace = milliseconds(30000);
  const auto t0 = Clock::now();
  const CampaignReport rep = run_campaign(c);
  EXPECT_LE(since(t0), 0.2 + kWatchdog.count() / 1000.0 + 0.2 + kSlack);
  EXPECT_GE(rep.programs + (rep.failure ? 1 : 0), 1u);
}

// Workers side by side (CampaignConfig::jobs) when programs never return: a worker whose program's
// thread never yields goes on on another OS thread, and the campaign ends within the same bound
// with the same failure as one worker (it once waited forever to join the OS thread the runaway kept).
TEST(NoHang, WorkersSideBySideEndWhenProgramsHang) {
  CampaignConfig c = campaign(impl::Fault::test_host_op_hangs, 2, 0.5);
  c.shrink = false;
  const CampaignReport one = run_campaign(c);
  ASSERT_TRUE(one.failure);
  for (unsigned jobs : {2u, 4u}) {
    c.jobs = jobs;
    const auto t0 = Clock::now();
    const CampaignReport rep = run_campaign(c);
    EXPECT_LE(since(t0), 2 + kWatchdog.count() / 1000.0 + 0.5 + kSlack) << jobs << " jobs";
    ASSERT_TRUE(rep.failure) << jobs << " jobs";
    EXPECT_EQ(rep.failure->program_index, one.failure->program_index) << jobs << " jobs";
    EXPECT_EQ(rep.failure->original_result.summary(), one.failure->original_result.summary()) << jobs << " jobs";
  }
}
