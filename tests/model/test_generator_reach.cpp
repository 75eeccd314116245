// Measures what the random-program generator (the checker's op chooser, as programs.hpp configures
// it for the model's tests) reaches: a fixed number of programs from a fixed seed must execute every
// op kind, hit every FATAL id, every errno of every rule, each interesting situation and each shape
// of misuse at least once. Without this, a property that "holds on random programs" could hold only
// because the programs never get anywhere.
//
// kReachedBefore is what the model's own generator (tests/model/program_gen.hpp, removed when the
// tests moved to the checker's chooser) reached over the same number of programs: 26 op kinds,
// 7 FATAL ids, 64 rule:label pairs, 9 situations, 17 shapes. The chooser must reach all of it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "programs.hpp"
#include "reach.hpp"

namespace lockstep::model::testing {
namespace {

constexpr int kPrograms = 1000;
constexpr int kSteps = 80;

const std::vector<std::string> kReachedBefore = {
    "op rump_init",
    "op rump_pub_lwproc_rfork",
    "op rump_pub_lwproc_newlwp",
    "op rump_pub_lwproc_switch",
    "op rump_pub_lwproc_releaselwp",
    "op rump_pub_lwproc_curlwp",
    "op rump_sys_getpid",
    "op rump_sys_getppid",
    "op rump_sys_open",
    "op rump_sys_write",
    "op rump_sys_fstat",
    "op rump_sys_close",
    "op rump_sys_dup",
    "op rump_sys_getuid",
    "op rump_sys_setuid",
    "op kthread_create",
    "op kthread_exit",
    "op kthread_suspend",
    "op kthread_resume",
    "op kthread_suspend_check",
    "op work",
    "op kproc_start",
    "op kproc_shutdown",
    "op kthread_wait_exit",
    "op reap",
    "op tick",
    "fatal P0-uninit",
    "fatal L3-null-implicit",
    "fatal L3-stale",
    "fatal L3-running",
    "fatal L4-implicit",
    "fatal K5-other",
    "fatal K6-panic",
    "label K1:EAGAIN",
    "label K1:EINVAL",
    "label K1:ok",
    "label K2:ok",
    "label K3:BLOCKED",
    "label K3:EINVAL",
    "label K3:EINVAL(timo<0)",
    "label K3:ESRCH",
    "label K3:EWOULDBLOCK",
    "label K3:ok(acknowledged)",
    "label K3:ok(already parked)",
    "label K4:EINVAL",
    "label K4:ESRCH",
    "label K4:ok",
    "label K4:ok(not parked)",
    "label K5:BLOCKED",
    "label K5:FATAL(K5-other)",
    "label K5:ok",
    "label K5:ok(no request)",
    "label K6:FATAL(K6-panic)",
    "label K6:ok",
    "label K7:BLOCKED",
    "label K7:stopped",
    "label K7:stopped(EINVAL)",
    "label K7:stopped(ESRCH)",
    "label K7:timed out",
    "label K8:BLOCKED",
    "label K8:EINVAL",
    "label K8:EINVAL(timo<0)",
    "label K8:ESRCH",
    "label K8:EWOULDBLOCK",
    "label K8:ok(exited)",
    "label K8:ok(zombie)",
    "label K9:EBUSY",
    "label K9:EINVAL",
    "label K9:ESRCH",
    "label K9:ok",
    "label L3:FATAL(L3-null-implicit)",
    "label L3:FATAL(L3-running)",
    "label L3:FATAL(L3-stale)",
    "label L3:ok",
    "label L3:ok(NULL)",
    "label L4:FATAL(L4-implicit)",
    "label L4:ok",
    "label L4:ok(last lwp)",
    "label L5:NULL",
    "label L5:ok",
    "label P0:FATAL(P0-uninit)",
    "label P0:ok",
    "label P0:ok(init)",
    "label P1:EINVAL",
    "label P1:ok",
    "label P2:EBUSY",
    "label P2:ESRCH",
    "label P2:ok",
    "label P6:ok",
    "label P7:EBADF",
    "label P7:EINVAL",
    "label P7:ENOENT",
    "label P7:ok",
    "label P8:EPERM",
    "label P8:ok",
    "label body:ok",
    "label tick:ok",
    "situation process with >=3 lwps",
    "situation last-lwp release",
    "situation lwp handed between hosts",
    "situation shared fd table changed by a sharer",
    "situation suspend acknowledged",
    "situation suspend timed out",
    "situation resume while a suspender waits",
    "situation exit with waiters",
    "situation maxproc reached",
    "shape actor not runnable",
    "shape actor of the wrong kind",
    "shape empty string argument",
    "shape host index out of range",
    "shape huge fd",
    "shape huge lwp",
    "shape huge n",
    "shape huge timo",
    "shape huge uid",
    "shape long string argument",
    "shape negative fd",
    "shape negative flags",
    "shape negative n",
    "shape negative pid",
    "shape negative timo",
    "shape pid choice bound",
    "shape pid choice refused or actor not runnable"};

Reach measure() {
  checker::SplitMix g(20240607);
  static const std::vector<int> maxprocs = {3, 4, 5, 6, 8, kDefaultMaxproc};
  Reach reach;
  for (int i = 0; i < kPrograms; ++i) {
    ModelProgram p;
    p.maxproc = maxprocs[g.below(static_cast<std::uint32_t>(maxprocs.size()))];
    p.initialized = g.below(20) != 0;
    p.chaos = g.below(5) == 0;
    p.program = random_choices(g, kSteps);
    Reach::Program prog(reach);
    // Chaos programs (clock and size overflow) are left to the no-crash property: no invariants.
    run_program(p, [&](const State& before, const Op& op, const Choice& c, const StepResult& res, const State& after) {
      prog.step(before, op, res, after, !p.chaos, c);
    });
  }
  return reach;
}

const Reach& reach() {
  static const Reach r = measure();
  return r;
}

std::set<std::string> reached() {
  std::set<std::string> out;
  const std::string sets = reach().sets();
  std::size_t at = 0;
  while (at < sets.size()) {
    const std::size_t nl = sets.find('\n', at);
    out.insert(sets.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
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
  const std::vector<std::string> labels = reach().coverage.reached_labels();
  for (const std::string& l : required)
    EXPECT_TRUE(std::find(labels.begin(), labels.end(), l) != labels.end()) << l << " never returned";
}

TEST(GeneratorReach, EveryInterestingSituationIsReached) {
  for (std::size_t s = 0; s < kSituationNames.size(); ++s)
    EXPECT_GT(reach().situations[s], 0) << kSituationNames[s] << " never reached";
}

// The chooser reaches everything the model's former generator reached (op kinds, FATALs, labels,
// situations and shapes of misuse: wrong actors, bound pid choices, extreme arguments).
TEST(GeneratorReach, ReachesAllTheFormerGeneratorReached) {
  const std::set<std::string> now = reached();
  for (const std::string& item : kReachedBefore) EXPECT_TRUE(now.contains(item)) << item << " is no longer reached";
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
  std::printf("  steps after FATAL: %.1f%%, not runnable: %.1f%%\n", 100.0 * r.dead_steps / r.steps,
              100.0 * r.not_runnable_steps / r.steps);
  for (std::size_t k = 0; k < kOpKindCount; ++k)
    std::printf("  %-28s %7d steps run\n", std::string(op_name(k)).c_str(), r.kinds_run[k]);
  for (const auto& [what, n] : r.shapes) std::printf("  %-44s %7d\n", what.c_str(), n);
  std::printf("%s", r.coverage.table().c_str());
  SUCCEED();
}

}  // namespace
}  // namespace lockstep::model::testing
