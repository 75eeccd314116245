// Sharding: shards split a campaign by stride, their union is the unsharded run program for
// program, the test runners' environment is honoured, and `--program I` reproduces program I of
// any sharded run. JUnit has one test case per program.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "checker/campaign.hpp"
#include "checker/junit.hpp"
#include "checker/mutants.hpp"
#include "checker/shard.hpp"

using namespace lockstep;
using namespace lockstep::checker;

namespace {

CampaignConfig quick(std::uint64_t programs) {
  CampaignConfig c;
  c.seed = 7;
  c.programs = programs;
  c.steps = 40;
  c.time_budget = std::chrono::hours(1);
  c.shrink_budget = std::chrono::hours(1);
  return c;
}

std::map<std::string, std::string>* fake_env = nullptr;
const char* fake_getenv(const char* name) {
  auto it = fake_env->find(name);
  return it == fake_env->end() ? nullptr : it->second.c_str();
}

std::optional<Shard> from(std::map<std::string, std::string> env, std::string* error) {
  fake_env = &env;
  return shard_from_environment(error, &fake_getenv);
}

}  // namespace

TEST(Shard, ParsesIOverNAndRefusesTheRest) {
  std::string e;
  EXPECT_EQ(parse_shard("0/1", &e), (Shard{0, 1}));
  EXPECT_EQ(parse_shard("3/4", &e), (Shard{3, 4}));
  for (const char* bad : {"4/4", "1/0", "x/2", "1", "/2", "1/", "-1/2", "1/2/3", " 1/2", "1/2 ", ""}) {
    e.clear();
    EXPECT_FALSE(parse_shard(bad, &e)) << bad;
    EXPECT_FALSE(e.empty()) << bad;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
  parse_shard("4/4", &e);
  EXPECT_NE(e.find("not below the shard count"), std::string::npos) << e;
}

TEST(Shard, TheTestRunnersEnvironmentIsHonoured) {
  std::string e;
  EXPECT_EQ(from({}, &e), (Shard{0, 1}));
  EXPECT_EQ(from({{"GTEST_TOTAL_SHARDS", "4"}, {"GTEST_SHARD_INDEX", "2"}}, &e), (Shard{2, 4}));
  EXPECT_EQ(from({{"TEST_TOTAL_SHARDS", "3"}, {"TEST_SHARD_INDEX", "0"}}, &e), (Shard{0, 3}));
  // GoogleTest's variables come first when both are set.
  EXPECT_EQ(from({{"GTEST_TOTAL_SHARDS", "2"}, {"GTEST_SHARD_INDEX", "1"}, {"TEST_TOTAL_SHARDS", "5"}, {"TEST_SHARD_INDEX", "4"}}, &e),
            (Shard{1, 2}));
  EXPECT_FALSE(from({{"GTEST_TOTAL_SHARDS", "4"}}, &e));
  EXPECT_NE(e.find("GTEST_SHARD_INDEX is not"), std::string::npos) << e;
  EXPECT_FALSE(from({{"TEST_SHARD_INDEX", "1"}}, &e));
  EXPECT_FALSE(from({{"GTEST_TOTAL_SHARDS", "2"}, {"GTEST_SHARD_INDEX", "2"}}, &e));
  EXPECT_FALSE(from({{"GTEST_TOTAL_SHARDS", "two"}, {"GTEST_SHARD_INDEX", "0"}}, &e));
  EXPECT_FALSE(from({{"GTEST_TOTAL_SHARDS", "0"}, {"GTEST_SHARD_INDEX", "0"}}, &e));

  // The status file says that this program shards (GoogleTest's protocol).
  const std::string status = ::testing::TempDir() + "/lockstep-shard-status";
  std::filesystem::remove(status);
  EXPECT_EQ(from({{"GTEST_TOTAL_SHARDS", "2"}, {"GTEST_SHARD_INDEX", "0"}, {"GTEST_SHARD_STATUS_FILE", status}}, &e), (Shard{0, 2}));
  EXPECT_TRUE(std::filesystem::exists(status));
  EXPECT_FALSE(from({{"GTEST_TOTAL_SHARDS", "2"}, {"GTEST_SHARD_INDEX", "0"}, {"GTEST_SHARD_STATUS_FILE", "/no/such/dir/status"}}, &e));
}

TEST(Shard, FourShardsUnionIsTheUnshardedRunProgramForProgram) {
  const CampaignReport whole = run_campaign(quick(80));
  ASSERT_TRUE(whole.agreed());
  ASSERT_EQ(whole.records.size(), 80u);
  std::map<std::uint64_t, ProgramRecord> merged;
  std::uint64_t steps = 0;
  for (std::uint64_t i = 0; i < 4; ++i) {
    CampaignConfig c = quick(80);
    c.shard = Shard{i, 4};
    const CampaignReport part = run_campaign(c);
    ASSERT_TRUE(part.agreed());
    EXPECT_EQ(part.records.size(), 20u);
    steps += part.steps;
    for (const ProgramRecord& r : part.records) {
      EXPECT_EQ(r.index % 4, i);
      EXPECT_TRUE(merged.emplace(r.index, r).second) << "program " << r.index << " ran in two shards";
    }
  }
  ASSERT_EQ(merged.size(), whole.records.size());
  EXPECT_EQ(steps, whole.steps);
  for (const ProgramRecord& w : whole.records) {
    const ProgramRecord& s = merged.at(w.index);
    EXPECT_EQ(s.seed, w.seed) << w.index;
    EXPECT_EQ(s.steps, w.steps) << w.index;
    EXPECT_EQ(s.verdict, w.verdict) << w.index;
    EXPECT_EQ(s.summary, w.summary) << w.index;
  }
}

TEST(Shard, AFailureInAShardIsReproducedByItsProgramIndexAlone) {
  CampaignConfig c = quick(2000);
  c.lockstep.faults = impl::FaultSet{impl::Fault::resume_no_wakeup};
  c.shard = Shard{3, 5};
  const CampaignReport sharded = run_campaign(c);
  ASSERT_TRUE(sharded.failure);
  const Counterexample& f = *sharded.failure;
  EXPECT_EQ(f.program_index % 5, 3u);
  const std::string cmd = program_command(f.program_index, c);
  EXPECT_NE(cmd.find(fmt::format("--seed 7 --program {}", f.program_index)), std::string::npos) << cmd;

  CampaignConfig one = quick(1);  // `--program I` ignores --programs and the shard
  one.lockstep.faults = c.lockstep.faults;
  one.program = f.program_index;
  one.shard = Shard{0, 2};
  const CampaignReport again = run_campaign(one);
  ASSERT_TRUE(again.failure);
  EXPECT_EQ(again.failure->program_index, f.program_index);
  EXPECT_EQ(again.failure->program_seed, f.program_seed);
  EXPECT_EQ(again.failure->original_result.summary(), f.original_result.summary());
  EXPECT_EQ(again.failure->shrunk_result.summary(), f.shrunk_result.summary());
}

TEST(JUnit, OneTestCasePerProgramAndTheFailureSaysHowToReproduceIt) {
  CampaignConfig c = quick(500);
  c.lockstep.faults = impl::FaultSet{impl::Fault::setuid_no_check};
  const CampaignReport r = run_campaign(c);
  ASSERT_TRUE(r.failure);
  const std::string xml = junit_xml(r, c);
  std::size_t cases = 0;
  for (auto at = xml.find("<testcase "); at != std::string::npos; at = xml.find("<testcase ", at + 1)) ++cases;
  EXPECT_EQ(cases, r.records.size());
  EXPECT_EQ(cases, r.failure->program_index + 1);  // every program up to the failing one
  EXPECT_NE(xml.find(fmt::format("tests=\"{}\" failures=\"1\"", cases)), std::string::npos);
  EXPECT_NE(xml.find(fmt::format("--seed 7 --program {}", r.failure->program_index)), std::string::npos) << xml;
  EXPECT_NE(xml.find("--replay &apos;"), std::string::npos);
  EXPECT_NE(xml.find(fmt::format("name=\"program {} seed=", r.failure->program_index)), std::string::npos);
}

TEST(JUnit, MutantsHaveOneTestCasePerFaultAndASurvivorFails) {
  MutantConfig m;
  m.campaign = quick(300);
  m.campaign.time_budget = std::chrono::seconds(20);
  m.control_programs = 20;
  m.faults = {impl::fault_info(impl::Fault::setuid_no_check), impl::fault_info(impl::Fault::suspend_check_lost_wakeup)};
  const MutantReport r = run_mutants(m);
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_TRUE(r.rows[0].killed);
  EXPECT_FALSE(r.rows[1].killed);  // a race: the op-at-a-time schedule cannot show it
  EXPECT_EQ(r.survived(), 1u);
  const std::string xml = junit_xml(r, m);
  EXPECT_NE(xml.find("tests=\"3\" failures=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"setuid_no_check\""), std::string::npos);
  EXPECT_NE(xml.find("fault suspend_check_lost_wakeup survived"), std::string::npos) << xml;
  EXPECT_NE(xml.find("control (correct impl, 20 programs)"), std::string::npos) << xml;

  // Shards split the faults by stride.
  m.campaign.shard = Shard{1, 2};
  const MutantReport second = run_mutants(m);
  ASSERT_EQ(second.rows.size(), 1u);
  EXPECT_EQ(second.rows[0].fault, "suspend_check_lost_wakeup");
}
