// Campaigns: the correct impl agrees over a fixed seed set; a failing run's report
// says what a user needs (verdict, rule, shrunk listing, a replay command that works).
#include <gtest/gtest.h>

#include "checker/atomic_file.hpp"
#include "checker/campaign.hpp"
#include "checker/junit.hpp"
#include "checker/report.hpp"
#include "checker/strategy.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

using namespace lockstep;
using namespace lockstep::checker;

namespace {
CampaignConfig quick(std::uint64_t seed, std::uint64_t programs) {
  CampaignConfig c;
  c.seed = seed;
  c.programs = programs;
  c.steps = 60;
  c.time_budget = std::chrono::hours(1);  // budgets are wall-clock: keep the tests deterministic
  c.shrink_budget = std::chrono::hours(1);
  return c;
}
}  // namespace

TEST(Campaign, CorrectImplAgreesOverAFixedSeedSet) {
  for (std::uint64_t seed : {1, 2, 3}) {
    const CampaignReport r = run_campaign(quick(seed, 150));
    EXPECT_TRUE(r.agreed()) << "seed " << seed << ": " << campaign_summary(r, quick(seed, 150));
    EXPECT_EQ(r.programs, 150u);
    EXPECT_GT(r.steps, 150u * 10);
    EXPECT_EQ(r.coverage.unreached_rules(), "") << "seed " << seed;
  }
}

TEST(Campaign, TheSameSeedGivesTheSameRun) {
  const CampaignReport a = run_campaign(quick(9, 40));
  const CampaignReport b = run_campaign(quick(9, 40));
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.coverage.table(), b.coverage.table());
}

// Workers side by side (CampaignConfig::jobs) change how long a campaign takes, never what it
// reports: the same programs in index order, the same figures, the same first failure.
namespace {
void expect_same_report(const CampaignReport& a, const CampaignReport& b) {
  EXPECT_EQ(a.programs, b.programs);
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.coverage.table(), b.coverage.table());
  ASSERT_EQ(a.records.size(), b.records.size());
  for (std::size_t i = 0; i < a.records.size(); ++i) {
    EXPECT_EQ(a.records[i].index, b.records[i].index) << i;
    EXPECT_EQ(a.records[i].steps, b.records[i].steps) << i;
    EXPECT_EQ(a.records[i].summary, b.records[i].summary) << i;
  }
  ASSERT_EQ(a.failure.has_value(), b.failure.has_value());
  if (!a.failure) return;
  EXPECT_EQ(a.failure->program_index, b.failure->program_index);
  EXPECT_EQ(a.failure->original_result.events, b.failure->original_result.events);
  EXPECT_EQ(encode(a.failure->shrunk), encode(b.failure->shrunk));
}
}  // namespace

TEST(Campaign, WorkersSideBySideGiveTheSameReport) {
  CampaignConfig c = quick(4, 120);
  c.lockstep.schedule.strategy = *parse_strategy("portfolio");
  const CampaignReport one = run_campaign(c);
  c.jobs = 3;
  expect_same_report(one, run_campaign(c));

  // A fault: the failure is the lowest-indexed failing program (program 20 of seed 1), whichever
  // worker ran it and whatever the workers running the programs after it found, and nothing after it
  // counts.
  CampaignConfig f = quick(1, 400);
  f.lockstep.faults = impl::FaultSet{impl::Fault::orphans_keep_ppid};
  f.shrink = false;
  const CampaignReport seq = run_campaign(f);
  ASSERT_TRUE(seq.failure);
  for (unsigned jobs : {2u, 4u}) {
    f.jobs = jobs;
    expect_same_report(seq, run_campaign(f));
  }
  EXPECT_EQ(seq.failure->program_index, 20u);
  EXPECT_EQ(seq.programs, seq.failure->program_index + 1);
}

TEST(Campaign, AFailureReportShowsTheShrunkProgramAndAReplayThatReproducesIt) {
  CampaignConfig c = quick(1, 500);
  c.lockstep.faults = impl::FaultSet{impl::Fault::rffdg_shares};
  const CampaignReport r = run_campaign(c);
  ASSERT_TRUE(r.failure);
  const Counterexample& f = *r.failure;
  EXPECT_FALSE(f.nondeterminism);
  EXPECT_LE(f.shrunk_result.events.size(), f.original_result.events.size());
  EXPECT_EQ(f.shrunk_result.events.size(), 1u) << listing(f.shrunk_result);  // one rfork(RUMP_RFFDG) shows it
  const std::string text = campaign_summary(r, c);
  EXPECT_NE(text.find("VERDICT: DIVERGE at step 0 [P7]"), std::string::npos) << text;
  EXPECT_NE(text.find("H0 rump_pub_lwproc_rfork(RUMP_RFFDG)"), std::string::npos) << text;
  EXPECT_NE(text.find("shrunk counterexample:"), std::string::npos) << text;
  const std::string cmd = reproduce_command(f.shrunk, c);
  EXPECT_NE(cmd.find("--fault rffdg_shares"), std::string::npos) << cmd;

  // The --replay text runs the same program again with the same verdict.
  const std::string marker = "--replay '";
  const auto at = cmd.find(marker);
  ASSERT_NE(at, std::string::npos);
  const std::string choices = cmd.substr(at + marker.size(), cmd.size() - at - marker.size() - 1);
  Program p;
  std::string error;
  ASSERT_TRUE(decode(choices, p, error)) << error;
  const CampaignReport again = replay_program(p, c);
  ASSERT_TRUE(again.failure);
  EXPECT_EQ(again.failure->shrunk_result.summary(), f.shrunk_result.summary());
}

TEST(Campaign, HooksSeeTheOriginalBeforeTheShrunk) {
  CampaignConfig c = quick(1, 500);
  c.lockstep.faults = impl::FaultSet{impl::Fault::release_keeps_proc};
  std::vector<std::size_t> seen;
  c.on_failure_found = [&](const Program&, const LockstepResult& r) { seen.push_back(r.events.size()); };
  c.on_failure_shrunk = [&](const Program&, const LockstepResult& r) { seen.push_back(r.events.size()); };
  const CampaignReport r = run_campaign(c);
  ASSERT_TRUE(r.failure);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], r.failure->original_result.events.size());
  EXPECT_EQ(seen[1], r.failure->shrunk_result.events.size());
  EXPECT_LT(seen[1], seen[0]);
}

TEST(JUnit, FailureIsEscapedAndWrittenAtomically) {
  CampaignConfig c = quick(1, 500);
  c.lockstep.faults = impl::FaultSet{impl::Fault::switch_ignores_running};
  const CampaignReport r = run_campaign(c);
  ASSERT_TRUE(r.failure);
  const std::string xml = junit_xml(r, c);
  EXPECT_NE(xml.find("failures=\"1\""), std::string::npos);
  EXPECT_NE(xml.find("<failure message=\"DIVERGE at step"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("<failure message=\"DIVERGE at step 1 [L3]: rump_pub_lwproc_switch outcome: expected FATAL(L3-running), observed returned\" type=\"DIVERGE\">DIVERGE <"),
            std::string::npos);  // the listing's '<' and '>' would break XML unescaped
  const std::string path = ::testing::TempDir() + "/lockstep-junit.xml";
  ASSERT_EQ(write_file_atomically(path, xml), "");
  std::ifstream in(path);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), xml);
  EXPECT_NE(write_file_atomically("/nonexistent-dir/x.xml", xml).find("/nonexistent-dir/x.xml"), std::string::npos);
}
