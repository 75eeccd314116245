// Every fault that a one-step-at-a-time schedule can expose is found within a fixed
// seed budget, and reported under the SPEC rule it breaks. The lost-wakeup fault
// needs preemption inside an operation: this checker must not claim to find it.
#include <gtest/gtest.h>

#include <map>

#include "checker/campaign.hpp"

using namespace lockstep;
using namespace lockstep::checker;

namespace {

struct Expect {
  impl::Fault fault;
  std::vector<std::string> rules;  // the divergence must name one of these
};

CampaignConfig budget(impl::Fault f) {
  CampaignConfig c;
  c.seed = 1;
  c.programs = 3000;  // the fixed budget
  c.steps = 100;
  c.lockstep.faults = impl::FaultSet{f};
  c.time_budget = std::chrono::hours(1);
  c.shrink = false;  // kill speed here; shrinking has its own tests
  return c;
}

}  // namespace

class MutantKill : public ::testing::TestWithParam<Expect> {};

TEST_P(MutantKill, FoundWithinTheSeedBudget) {
  const Expect& e = GetParam();
  const CampaignReport r = run_campaign(budget(e.fault));
  ASSERT_TRUE(r.failure) << impl::fault_info(e.fault).name << " survived " << r.programs << " programs";
  const LockstepResult& res = r.failure->original_result;
  ASSERT_EQ(res.verdict, Verdict::Diverge) << res.summary();
  const std::string rule(model::rule_name(res.divergence->rule));
  EXPECT_NE(std::find(e.rules.begin(), e.rules.end(), rule), e.rules.end()) << res.summary();
  EXPECT_FALSE(r.failure->nondeterminism) << *r.failure->nondeterminism;
}

INSTANTIATE_TEST_SUITE_P(
    Faults, MutantKill,
    ::testing::Values(Expect{impl::Fault::release_keeps_proc, {"R1"}}, Expect{impl::Fault::switch_ignores_running, {"L3", "R4"}},
                      Expect{impl::Fault::freed_lwp_reachable, {"L3", "R2"}}, Expect{impl::Fault::rfcfdg_shares, {"P7", "P1"}},
                      Expect{impl::Fault::rffdg_shares, {"P7", "P1"}}, Expect{impl::Fault::orphans_keep_ppid, {"R6"}},
                      Expect{impl::Fault::nprocs_not_decremented, {"R6"}}, Expect{impl::Fault::pid_reuse_zombie, {"R5"}},
                      Expect{impl::Fault::resume_no_wakeup, {"K5", "S3", "K4"}}, Expect{impl::Fault::suspend_timeout_clears, {"K3"}},
                      Expect{impl::Fault::exit_no_wakeup, {"K8", "S5", "K2"}}, Expect{impl::Fault::shared_wakeup_channel, {"S2", "K3"}},
                      Expect{impl::Fault::setuid_no_check, {"P8"}}),
    [](const ::testing::TestParamInfo<Expect>& i) { return std::string(impl::fault_info(i.param.fault).name); });

TEST(MutantKill, ShrinkingReachesTheShortestKnownPrograms) {
  // Lengths of the shortest exposing programs, known by hand (and by `lockstep mutants --shortest`).
  const std::map<impl::Fault, std::size_t> shortest = {{impl::Fault::release_keeps_proc, 2},
                                                       {impl::Fault::rfcfdg_shares, 1},
                                                       {impl::Fault::shared_wakeup_channel, 3},
                                                       {impl::Fault::setuid_no_check, 2}};
  for (const auto& [fault, n] : shortest) {
    CampaignConfig c = budget(fault);
    c.shrink = true;
    c.shrink_budget = std::chrono::hours(1);
    const CampaignReport r = run_campaign(c);
    ASSERT_TRUE(r.failure);
    EXPECT_LE(r.failure->shrunk_result.events.size(), n + n / 2) << listing(r.failure->shrunk_result);  // goal: <= 1.5x
  }
}

TEST(MutantKill, TheLostWakeupNeedsPreemptionAndSurvivesHere) {
  CampaignConfig c = budget(impl::Fault::suspend_check_lost_wakeup);
  c.programs = 300;
  EXPECT_TRUE(run_campaign(c).agreed());
}
