// Each injected fault that breaks a SPEC §6 invariant (not only an outcome) is reported by the
// Z3 verifier as violating that invariant, on the shrunk counterexample of a campaign against it,
// with an unsat core naming events; the correct impl's runs verify clean. The judge reads what a
// trace file holds: the run's header and events (the one path, run -> trace -> judge).
#include <gtest/gtest.h>

#include "checker/campaign.hpp"
#include "checker/run_trace.hpp"
#include "checker/verify.hpp"

using namespace lockstep;
using namespace lockstep::checker;

namespace lockstep::impl {
// gtest prints test parameters; found by argument-dependent lookup, so it lives beside Fault.
[[maybe_unused]] static void PrintTo(Fault f, std::ostream* os) { *os << fault_info(f).name; }
}  // namespace lockstep::impl

namespace {

struct Expect {
  impl::Fault fault;
  model::Rule rule;
  // pid_reuse_zombie shows only once pids wrap: with PID_MAX 4 a 5-step program does it, where the
  // default 12 needs 13 steps and a 95 s shrink under ASan.
  model::Pid pid_max = ProgramConfig{}.pid_max;
};

// gtest names the parameter in its output; without this it prints the struct's bytes, padding included.
[[maybe_unused]] void PrintTo(const Expect& e, std::ostream* os) {
  *os << impl::fault_info(e.fault).name << " breaks " << model::rule_name(e.rule);
}

CampaignConfig budget(impl::Fault f, model::Pid pid_max = ProgramConfig{}.pid_max) {
  CampaignConfig c;
  c.lockstep.program.pid_max = pid_max;
  c.lockstep.program.maxproc = static_cast<int>(pid_max);
  c.seed = 1;
  c.programs = 3000;
  c.steps = 100;
  c.lockstep.faults = impl::FaultSet{f};
  // Wall-clock budgets would make the shrunk program depend on the machine's speed (under ASan a
  // 5 s shrink budget stopped half way, at a divergence that shows an outcome but no S2 breach):
  // the program count bounds the search, and shrinking always runs to its end.
  c.time_budget = std::chrono::hours(1);
  c.shrink = true;
  c.shrink_budget = std::chrono::hours(1);
  return c;
}

// The judge's input, from the trace of a run (what `lockstep run` writes and `lockstep verify` reads).
VTrace judged(const LockstepResult& r, const LockstepConfig& c) { return to_vtrace(trace_header(r, c, 0, ""), r.events); }

}  // namespace

class FaultVerdict : public ::testing::TestWithParam<Expect> {};

TEST_P(FaultVerdict, ShrunkCounterexampleViolatesTheRuleTheFaultBreaks) {
  const Expect& e = GetParam();
  const CampaignConfig config = budget(e.fault, e.pid_max);
  const CampaignReport r = run_campaign(config);
  ASSERT_TRUE(r.failure) << impl::fault_info(e.fault).name << " was not found";
  ASSERT_FALSE(r.failure->shrink_budget_exhausted);
  const LockstepResult& res = r.failure->shrunk_result;
  const VerifyReport v = verify(judged(res, config.lockstep));
  const InvariantVerdict& got = v.of(e.rule);
  EXPECT_FALSE(got.holds) << listing(res) << render(v);
  EXPECT_FALSE(got.core.empty()) << render(v);  // the explanation names the events that force it
  EXPECT_LE(got.step, res.events.back().step);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, FaultVerdict,
    ::testing::Values(Expect{impl::Fault::release_keeps_proc, model::Rule::R1}, Expect{impl::Fault::freed_lwp_reachable, model::Rule::R2},
                      Expect{impl::Fault::pid_reuse_zombie, model::Rule::R5, 4},
                      Expect{impl::Fault::nprocs_not_decremented, model::Rule::R6}, Expect{impl::Fault::orphans_keep_ppid, model::Rule::R6},
                      Expect{impl::Fault::shared_wakeup_channel, model::Rule::S2}, Expect{impl::Fault::resume_no_wakeup, model::Rule::S3},
                      Expect{impl::Fault::exit_no_wakeup, model::Rule::S5}),
    [](const ::testing::TestParamInfo<Expect>& i) { return std::string(impl::fault_info(i.param.fault).name); });

// Faults that break an outcome (P1/P7, P8, K3) but no invariant: their counterexamples verify clean.
class OutcomeOnlyFault : public ::testing::TestWithParam<impl::Fault> {};

TEST_P(OutcomeOnlyFault, BreaksNoInvariant) {
  const CampaignConfig config = budget(GetParam());
  const CampaignReport r = run_campaign(config);
  ASSERT_TRUE(r.failure);
  const VerifyReport v = verify(judged(r.failure->shrunk_result, config.lockstep));
  EXPECT_TRUE(v.all_hold()) << listing(r.failure->shrunk_result) << render(v);
}

INSTANTIATE_TEST_SUITE_P(Faults, OutcomeOnlyFault,
                         ::testing::Values(impl::Fault::rfcfdg_shares, impl::Fault::rffdg_shares, impl::Fault::setuid_no_check,
                                           impl::Fault::suspend_timeout_clears),
                         [](const ::testing::TestParamInfo<impl::Fault>& i) { return std::string(impl::fault_info(i.param).name); });

// switch_ignores_running's shrunk counterexample switches H0 to its own curlwp: an L3 outcome, no
// second host. Switching to another host's curlwp breaks R4; the correct impl answers FATAL there.
TEST(FaultVerdict, SwitchToAnotherHostsLwpBreaksR4) {
  using namespace model;
  const std::vector<Op> ops = {Op{Actor::host(0), op::Rfork{0}}, Op{Actor::host(1), op::Switch{1}}};
  LockstepConfig c;
  c.faults = impl::FaultSet{impl::Fault::switch_ignores_running};
  const VerifyReport bad = verify(judged(run_lockstep(ops, c), c));
  EXPECT_FALSE(bad.of(Rule::R4).holds) << render(bad);
  EXPECT_FALSE(bad.of(Rule::R4).core.empty()) << render(bad);
  const VerifyReport good = verify(judged(run_lockstep(ops, LockstepConfig{}), LockstepConfig{}));
  EXPECT_TRUE(good.all_hold()) << render(good);
}

TEST(FaultVerdict, TheCorrectImplsRunsVerifyClean) {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    SplitMix src(seed);
    LockstepConfig c;
    const LockstepResult res = run_lockstep(random_program(src, 60), c);
    ASSERT_EQ(res.verdict, Verdict::Agree) << res.summary();
    const VerifyReport v = verify(judged(res, c));
    EXPECT_TRUE(v.all_hold()) << "seed " << seed << "\n" << listing(res) << render(v);
  }
}

TEST(FaultVerdict, AnOpOnANeverBoundSymbolIsBadInputNotAVerdict) {
  VTrace t;
  VEvent e;
  e.op = model::Op{model::Actor::host(0), model::op::Switch{42}};
  e.outcome.kind = VOutcome::Kind::Returned;
  t.events.push_back(e);
  EXPECT_THROW(verify(t), std::invalid_argument);
}
