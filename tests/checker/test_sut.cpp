// The plug-in path (checker/sut): a SUT loaded from a shared library into a child process and run in
// lockstep with the model. The example SUT and the built-in implementation built as a library agree;
// a fault injected through LOCKSTEP_FAULT is found and its trace replays in the model; a library that
// is not one, or lacks required names, is refused with the names; a SUT that forks, exits, hangs,
// crashes, lies or writes junk to stdout and stderr ends the run with a verdict and leaves no child.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include <gtest/gtest.h>

#include "checker/model_run.hpp"
#include "checker/sut_campaign.hpp"
#include "checker/sut_lockstep.hpp"

namespace lockstep::checker::sut {
namespace {

SutCampaignConfig config_for(const std::string& library, std::vector<std::pair<std::string, std::string>> env = {}) {
  SutCampaignConfig c;
  c.run.spawn.host = LOCKSTEP_SUT_HOST;
  c.run.spawn.library = library;
  c.run.spawn.env = std::move(env);
  std::string error;
  const std::optional<SutNames> names = probe_names(c.run.spawn, error);
  EXPECT_TRUE(names) << error;
  if (names) restrict_to(c.run.program, *names);
  c.run.program.maxproc = 64;
  c.run.watchdog = std::chrono::milliseconds(3000);
  c.seed = 11;
  c.steps = 60;
  c.shrink_budget = std::chrono::milliseconds(5000);
  return c;
}

// A campaign, unshrunk, on the built-in library with `fault` injected (1 ms ticks).
SutCampaignReport fault_campaign(const char* fault, std::uint64_t programs, bool introspect = true) {
  SutCampaignConfig c = config_for(LOCKSTEP_RUMP_SUT, {{"LOCKSTEP_TICK_US", "1000"}, {"LOCKSTEP_FAULT", fault}});
  c.programs = programs;
  c.shrink = false;
  c.run.introspect = introspect;
  return run_sut_campaign(c);
}

// No child of this test process is left: every SUT process was reaped (a zombie would be one).
void expect_no_children() {
  int status = 0;
  errno = 0;
  EXPECT_EQ(waitpid(-1, &status, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(SutPlugin, ExampleSutAgrees) {
  SutCampaignConfig c = config_for(LOCKSTEP_EXAMPLE_SUT);
  c.programs = 40;
  const SutCampaignReport r = run_sut_campaign(c);
  EXPECT_TRUE(r.agreed()) << (r.failure ? r.failure->shrunk_result.failure + "\n" + sut_listing(r.failure->shrunk_result) : "");
  EXPECT_EQ(r.programs, 40u);
  // The generator reached the FATALs and the last-lwp release through the plug-in path.
  EXPECT_GT(r.coverage.hits(model::Rule::L3, "FATAL(L3-stale)"), 0u);
  EXPECT_GT(r.coverage.hits(model::Rule::L4, "ok(last lwp)"), 0u);
  expect_no_children();
}

TEST(SutPlugin, BuiltInImplAgreesThroughThePluginPath) {
  SutCampaignConfig c = config_for(LOCKSTEP_RUMP_SUT, {{"LOCKSTEP_TICK_US", "1000"}, {"LOCKSTEP_MAXPROC", "64"}});
  c.programs = 25;
  const SutCampaignReport r = run_sut_campaign(c);
  EXPECT_TRUE(r.agreed()) << (r.failure ? r.failure->shrunk_result.failure + "\n" + sut_listing(r.failure->shrunk_result) : "");
  // Timeouts under real time, and kthreads, are reached and agree.
  EXPECT_GT(r.coverage.hits(model::Rule::K3, "EWOULDBLOCK") + r.coverage.hits(model::Rule::K8, "EWOULDBLOCK"), 0u);
  EXPECT_GT(r.coverage.hits(model::Rule::K1), 0u);
  expect_no_children();
}

// At maxproc, kproc_start is FATAL(K6-panic): the SUT's death while lockstep waits for the pid it
// chose is the FATAL the model expects, not a crash; kthread_create's EAGAIN and reaps of exited
// kthreads (answered once the body's thread ended) agree too.
TEST(SutPlugin, BuiltInImplAgreesAtMaxproc) {
  SutCampaignConfig c = config_for(LOCKSTEP_RUMP_SUT, {{"LOCKSTEP_TICK_US", "1000"}, {"LOCKSTEP_MAXPROC", "4"}});
  c.run.program.maxproc = 4;
  c.programs = 60;
  const SutCampaignReport r = run_sut_campaign(c);
  EXPECT_TRUE(r.agreed()) << (r.failure ? r.failure->shrunk_result.failure + "\n" + sut_listing(r.failure->shrunk_result) : "");
  EXPECT_GT(r.coverage.hits(model::Rule::K6, "FATAL(K6-panic)"), 0u);
  EXPECT_GT(r.coverage.hits(model::Rule::K1, "EAGAIN"), 0u);
  EXPECT_GT(r.coverage.hits(model::Rule::K9, "ok"), 0u);
  expect_no_children();
}

TEST(SutPlugin, InjectedFaultIsFoundAndItsTraceReplays) {
  SutCampaignConfig c = config_for(LOCKSTEP_RUMP_SUT, {{"LOCKSTEP_TICK_US", "1000"}, {"LOCKSTEP_FAULT", "orphans_keep_ppid"}});
  c.programs = 200;
  const SutCampaignReport r = run_sut_campaign(c);
  ASSERT_FALSE(r.agreed());
  const SutRunResult& f = r.failure->shrunk_result;
  EXPECT_EQ(f.verdict, SutVerdict::Divergence);
  EXPECT_LE(r.failure->shrunk.steps.size(), r.failure->original.steps.size());
  // The trace's events are the model's: replayed in a fresh model they give the same outcomes.
  model::Model m(model::Config{c.run.program.maxproc, true, c.run.program.pid_max});
  for (const TraceEvent& e : f.events) {
    const TraceEvent again = model_step(m, e.op, recorded_choice(e), 0);
    EXPECT_EQ(outcome_difference(e.outcome, again.outcome), "") << to_string(e.op);
  }
  expect_no_children();
}

// Introspection (lockstep_sut_state): the whole §7 state is compared after each step, so a fault no
// answer shows (nprocs not decremented: only a full table would tell) is found as a state difference.
TEST(SutPlugin, IntrospectionFindsWhatNoAnswerShows) {
  const SutCampaignReport r = fault_campaign("nprocs_not_decremented", 100);
  ASSERT_FALSE(r.agreed());
  const SutRunResult& f = r.failure->shrunk_result;
  EXPECT_EQ(f.rule, model::Rule::R6) << f.failure;
  EXPECT_NE(f.failure.find("lockstep_sut_state"), std::string::npos) << f.failure;
  EXPECT_GT(f.states_compared, 0u);
  // Without it the same programs agree: through the API alone the fault does not show in them.
  EXPECT_TRUE(fault_campaign("nprocs_not_decremented", r.programs, false).agreed());
  expect_no_children();
}

// While a timed wait pends the §7 state is not compared (its deadline may pass in between), but the
// timeout the SUT armed is (lockstep_sut_state's "timo"): a K8 deadline armed one tick late, which a
// real clock shows only as latency, is found; the correct impl's armed timeouts agree.
TEST(SutPlugin, ATimeoutArmedLateIsFoundWhileItsWaitPends) {
  const SutCampaignReport r = fault_campaign("test_late_deadline", 100);
  ASSERT_FALSE(r.agreed());
  const SutRunResult& f = r.failure->shrunk_result;
  EXPECT_EQ(f.rule, model::Rule::K8) << f.failure;
  EXPECT_NE(f.failure.find("armed a timeout of"), std::string::npos) << f.failure;
  SutCampaignConfig ok = config_for(LOCKSTEP_RUMP_SUT, {{"LOCKSTEP_TICK_US", "1000"}});
  ok.programs = r.programs;
  const SutCampaignReport fine = run_sut_campaign(ok);
  EXPECT_TRUE(fine.agreed()) << (fine.failure ? fine.failure->shrunk_result.failure : "");
  EXPECT_GT(fine.armed_compared, 0u) << "no state was read while a timed wait pended";
  expect_no_children();
}

// SPEC K1 through the plug-in path: a SUT that stores *newp after it started the new thread. The host
// lets a new kthread run before its creator goes on (checker/sut/host/first_run.hpp), so its body's
// first read finds *newp unset at the first creation, call by call, where before only a lucky
// stress --sut run could show it. The correct implementation is never flagged.
TEST(SutPlugin, AHandleStoredAfterTheThreadStartedIsK1) {
  const SutCampaignReport r = fault_campaign("kthread_handle_late", 50);
  ASSERT_FALSE(r.agreed());
  const SutRunResult& f = r.failure->shrunk_result;
  EXPECT_EQ(f.verdict, SutVerdict::Divergence) << f.failure;
  EXPECT_EQ(f.rule, model::Rule::K1) << f.failure;
  EXPECT_NE(f.failure.find("first instruction read *newp as"), std::string::npos) << f.failure;
  SutCampaignConfig ok = config_for(LOCKSTEP_RUMP_SUT, {{"LOCKSTEP_TICK_US", "1000"}});
  ok.programs = std::max<std::size_t>(r.programs, 20);
  const SutCampaignReport fine = run_sut_campaign(ok);
  EXPECT_TRUE(fine.agreed()) << (fine.failure ? fine.failure->shrunk_result.failure : "");
  expect_no_children();
}

// Reset (lockstep_sut_reset): programs that end quiescent run one after another in one child, and
// agree; a reset that forgets nothing is caught and named as such.
TEST(SutPlugin, ResetRunsProgramsInOneChild) {
  SutCampaignConfig c = config_for(LOCKSTEP_RUMP_SUT, {{"LOCKSTEP_TICK_US", "1000"}});
  c.run.program.chooser.max_kthreads = 0;  // no kthread left parked or waited for
  c.programs = 40;
  const SutCampaignReport r = run_sut_campaign(c);
  EXPECT_TRUE(r.agreed()) << (r.failure ? r.failure->shrunk_result.failure : "");
  // Which programs end quiescent (alive: no FATAL; nothing blocked) is the model's: deterministic.
  EXPECT_GE(r.reused, 4u);
  expect_no_children();
}

TEST(SutPlugin, ResetThatForgetsNothingIsCaught) {
  SutCampaignConfig c = config_for(LOCKSTEP_MISBEHAVING_SUT, {{"LOCKSTEP_TEST_MISBEHAVE", "badreset"}});
  c.programs = 20;
  c.shrink = false;
  const SutCampaignReport r = run_sut_campaign(c);
  ASSERT_FALSE(r.agreed());
  EXPECT_NE(r.failure->shrunk_result.failure.find("the reset leaves state behind"), std::string::npos) << r.failure->shrunk_result.failure;
  expect_no_children();
}

// A child that cannot be started in the middle of a campaign (here its host binary is removed after
// three programs) says nothing of the SUT: the campaign stops with an error naming the program, and
// reports no failure to shrink or replay.
TEST(SutPlugin, AChildThatCannotBeStartedMidRunIsAnErrorNotAFailure) {
  char dir_template[] = "/tmp/lockstep-host-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template, host = dir + "/lockstep-sut-host";
  ASSERT_EQ(std::system(("cp " + std::string(LOCKSTEP_SUT_HOST) + " " + host).c_str()), 0);
  SutCampaignConfig c = config_for(LOCKSTEP_EXAMPLE_SUT);
  c.run.spawn.host = host;
  c.programs = 10;
  const SutCampaignReport r = run_sut_campaign(c, [&](const SutProgress& p) {
    if (p.programs == 3) ::unlink(host.c_str());
  });
  ::rmdir(dir.c_str());
  EXPECT_FALSE(r.agreed());
  EXPECT_FALSE(r.failure);
  EXPECT_EQ(r.programs, 3u);
  EXPECT_NE(r.error.find("program 3 could not be run: the SUT could not be started"), std::string::npos) << r.error;
  expect_no_children();
}

TEST(SutPlugin, NotALibraryIsRefused) {
  SpawnOptions o;
  o.host = LOCKSTEP_SUT_HOST;
  o.library = "/etc/hostname";
  std::string error;
  EXPECT_FALSE(probe_names(o, error));
  EXPECT_NE(error.find("not a loadable library"), std::string::npos) << error;
  expect_no_children();
}

TEST(SutPlugin, MissingRequiredNamesAreListed) {
  SpawnOptions o;
  o.host = LOCKSTEP_SUT_HOST;
  o.library = LOCKSTEP_INCOMPLETE_SUT;
  std::string error;
  const std::optional<SutNames> n = probe_names(o, error);
  ASSERT_TRUE(n) << error;
  EXPECT_EQ(n->missing_required, (std::vector<std::string>{"rump_pub_lwproc_newlwp", "rump_pub_lwproc_switch",
                                                           "rump_pub_lwproc_releaselwp", "rump_pub_lwproc_curlwp"}));
  expect_no_children();
}

struct Misbehaviour {
  const char* mode;
  SutVerdict verdict;
  const char* says;  // in the failure text (under ASan a crash or exit(3) ends as ASan's exit status 1)
};

class MisbehavingSut : public ::testing::TestWithParam<Misbehaviour> {};

TEST_P(MisbehavingSut, EndsWithAVerdictAndLeavesNothing) {
  const Misbehaviour& m = GetParam();
  SutCampaignConfig c = config_for(LOCKSTEP_MISBEHAVING_SUT, {{"LOCKSTEP_TEST_MISBEHAVE", m.mode}});
  // Short where the SUT hangs (the watchdog is what ends the run); generous where it must agree.
  c.run.watchdog = std::chrono::milliseconds(std::string(m.mode) == "hang" ? 500 : 3000);
  c.programs = m.verdict == SutVerdict::Agree ? 10 : 50;
  c.shrink = false;
  const auto t0 = std::chrono::steady_clock::now();
  const SutCampaignReport r = run_sut_campaign(c);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
  if (m.verdict == SutVerdict::Agree) {
    EXPECT_TRUE(r.agreed()) << (r.failure ? r.failure->shrunk_result.failure : "");
  } else {
    ASSERT_FALSE(r.agreed());
    EXPECT_EQ(r.failure->shrunk_result.verdict, m.verdict) << r.failure->shrunk_result.failure;
    EXPECT_NE(r.failure->shrunk_result.failure.find(m.says), std::string::npos) << r.failure->shrunk_result.failure;
  }
  expect_no_children();
}

INSTANTIATE_TEST_SUITE_P(
    Modes, MisbehavingSut,
    ::testing::Values(Misbehaviour{"noise", SutVerdict::Agree, ""}, Misbehaviour{"fork", SutVerdict::Untrusted, "fork()"},
                      Misbehaviour{"exit", SutVerdict::Untrusted, "exit(0)"},
                      Misbehaviour{"exit3", SutVerdict::Divergence, "the SUT's process ended"},
                      Misbehaviour{"hang", SutVerdict::Deadlock, "did not return"},
                      Misbehaviour{"crash", SutVerdict::Divergence, "the SUT's process ended"},
                      Misbehaviour{"sanitizer", SutVerdict::Divergence, "after a report: ThreadSanitizer: data race misbehaving_sut.c:42"},
                      Misbehaviour{"wrong", SutVerdict::Divergence, "4242"}),
    [](const ::testing::TestParamInfo<Misbehaviour>& i) { return std::string(i.param.mode); });

}  // namespace
}  // namespace lockstep::checker::sut
