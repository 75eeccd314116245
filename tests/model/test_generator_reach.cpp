// Measures what the random-program generator reaches: a fixed number of programs from a
// fixed PRNG seed must execute every op kind, hit every FATAL id, every errno of every
// rule, and each interesting situation at least once. Without this, a property that
// "holds on random programs" could hold only because the programs never get anywhere.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "helpers.hpp"
#include "program_gen.hpp"
#include "situations.hpp"

namespace lockstep::model::testing {
namespace {

constexpr int kPrograms = 1000;
constexpr int kSteps = 80;

ProgramSeed random_program(std::mt19937_64& g) {
  static const std::vector<int> maxprocs = {3, 4, 5, 6, 8, kDefaultMaxproc};
  ProgramSeed p;
  p.maxproc = maxprocs[g() % maxprocs.size()];
  p.initialized = g() % 20 != 0;
  p.chaos = g() % 5 == 0;
  for (int i = 0; i < kSteps; ++i) p.steps.push_back(g());
  return p;
}

struct Reach {
  std::array<int, kOpKindCount> kinds_run{};            // steps that reached the kernel, per op kind
  std::map<Fatal, int> fatals;                          // programs that died of each FATAL
  std::map<std::string, int> labels;                    // rule:label over outcomes and completions
  std::array<int, static_cast<std::size_t>(Situation::Count)> situations{};  // programs reaching each
  int violations = 0;
  int steps = 0;
  int dead_steps = 0;
};

Reach measure() {
  std::mt19937_64 g(20240607);
  Reach reach;
  for (int i = 0; i < kPrograms; ++i) {
    const ProgramSeed p = random_program(g);
    SituationTracker tracker;
    std::set<Situation> seen;
    run_program(p, [&](const State& before, const Op& op, const Choice&, const StepResult& res, const State& after) {
      ++reach.steps;
      const Outcome& o = res.outcome;
      if (o.kind == OutcomeKind::Dead) ++reach.dead_steps;
      if (o.kind == OutcomeKind::Returned || o.kind == OutcomeKind::Blocked || o.kind == OutcomeKind::Fatal)
        ++reach.kinds_run[op.body.index()];
      if (o.kind == OutcomeKind::Fatal) ++reach.fatals[o.fatal];
      if (o.kind != OutcomeKind::NotRunnable && o.kind != OutcomeKind::Dead) ++reach.labels[rule_label(o)];
      for (const Completion& c : res.completions) ++reach.labels[rule_label(c.outcome)];
      for (Situation s : tracker.observe(before, op, res, after)) seen.insert(s);
      if (!p.chaos) reach.violations += static_cast<int>(check_state(after).size() + check_step(before, op, res, after).size());
    });
    for (Situation s : seen) ++reach.situations[static_cast<std::size_t>(s)];
  }
  return reach;
}

const Reach& reach() {
  static const Reach r = measure();
  return r;
}

TEST(GeneratorReach, EveryOpKindIsExecuted) {
  for (std::size_t k = 0; k < kOpKindCount; ++k)
    EXPECT_GT(reach().kinds_run[k], 0) << op_name(k) << " never reached the kernel";
}

TEST(GeneratorReach, EveryFatalIsHit) {
  for (std::size_t f = 1; f < static_cast<std::size_t>(Fatal::Count); ++f)
    EXPECT_GT(reach().fatals.count(static_cast<Fatal>(f)), 0u) << fatal_name(static_cast<Fatal>(f)) << " never hit";
  // Misuse must not end every program early: most steps still reach a live kernel.
  EXPECT_LT(reach().dead_steps * 3, reach().steps) << "too many steps after FATAL";
}

TEST(GeneratorReach, EveryErrnoOfEveryRuleIsReturned) {
  const std::vector<std::string> required = {
      "P1:EINVAL", "P2:ESRCH",  "P2:EBUSY",        "P7:ENOENT",        "P7:EBADF",         "P7:EINVAL",
      "P8:EPERM",  "K1:EINVAL", "K1:EAGAIN",       "K3:EINVAL",        "K3:ESRCH",         "K3:EWOULDBLOCK",
      "K3:EINVAL(timo<0)", "K4:EINVAL", "K4:ESRCH", "K8:EINVAL",       "K8:ESRCH",         "K8:EWOULDBLOCK",
      "K9:EINVAL", "K9:ESRCH",  "K9:EBUSY",        "K7:stopped",       "K7:timed out",     "K7:stopped(EINVAL)",
      "K7:stopped(ESRCH)", "K3:ok(acknowledged)", "K3:ok(already parked)", "K4:ok(not parked)",
      "K5:ok(no request)", "L4:ok(last lwp)", "L5:NULL", "K8:ok(zombie)", "P0:ok(init)"};
  for (const std::string& l : required) EXPECT_GT(reach().labels.count(l), 0u) << l << " never returned";
}

TEST(GeneratorReach, EveryInterestingSituationIsReached) {
  for (std::size_t s = 0; s < kSituationNames.size(); ++s)
    EXPECT_GT(reach().situations[s], 0) << kSituationNames[s] << " never reached";
}

// The generated programs are correct-model runs: the invariants hold on all of them
// (chaos programs, with clock/size overflow, are left to the no-crash property).
TEST(GeneratorReach, InvariantsHoldOnEveryGeneratedStep) { EXPECT_EQ(reach().violations, 0); }

// Not an assertion: prints the per-100-programs figures so a tuning change is visible.
TEST(GeneratorReach, Report) {
  const Reach& r = reach();
  std::printf("generator reach over %d programs of %d steps (per 100 programs):\n", kPrograms, kSteps);
  for (std::size_t s = 0; s < kSituationNames.size(); ++s)
    std::printf("  %-40s %6.1f\n", std::string(kSituationNames[s]).c_str(), 100.0 * r.situations[s] / kPrograms);
  for (const auto& [f, n] : r.fatals)
    std::printf("  FATAL(%s)%*s %6.1f\n", std::string(fatal_name(f)).c_str(),
                static_cast<int>(33 - fatal_name(f).size()), "", 100.0 * n / kPrograms);
  std::printf("  steps after FATAL: %.1f%%\n", 100.0 * r.dead_steps / r.steps);
  for (std::size_t k = 0; k < kOpKindCount; ++k)
    std::printf("  %-28s %7d steps run\n", std::string(op_name(k)).c_str(), r.kinds_run[k]);
  for (const auto& [l, n] : r.labels) std::printf("  %-30s %7d\n", l.c_str(), n);
  SUCCEED();
}

}  // namespace
}  // namespace lockstep::model::testing
