// The controlled backend's two ways to run threads (fibers on the checker's thread, or OS threads)
// make the same runs: the same seed gives the same events, turns and verdicts, under every strategy,
// with the correct impl and with race faults that only an interleaving inside operations shows.
#include <gtest/gtest.h>

#include "checker/lockstep.hpp"
#include "checker/program.hpp"
#include "checker/strategy.hpp"
#include "impl/faults.hpp"

using namespace lockstep;
using namespace lockstep::checker;

namespace {

struct Case {
  std::string strategy;
  std::string fault;  // empty: the correct impl
};

[[maybe_unused]] void PrintTo(const Case& c, std::ostream* os) { *os << c.strategy << (c.fault.empty() ? "" : "/" + c.fault); }

class FibersAndOsThreads : public ::testing::TestWithParam<Case> {};

TEST_P(FibersAndOsThreads, TheSameSeedGivesTheSameRun) {
  SplitMix src(3);
  std::size_t diverged = 0, steps = 0, turns = 0;
  for (std::uint64_t i = 0; i < 25; ++i) {
    const Program p = random_program(src, 60);
    LockstepConfig c;
    c.schedule.strategy = *parse_strategy(GetParam().strategy);
    c.schedule.seed = i + 1;
    c.schedule.program_index = i;
    if (!GetParam().fault.empty()) c.faults = *impl::FaultSet::parse(GetParam().fault, nullptr);
    c.fibers = true;
    const LockstepResult fib = run_lockstep(p, c);
    c.fibers = false;
    const LockstepResult os = run_lockstep(p, c);
    ASSERT_EQ(fib.verdict, os.verdict) << "program " << i << ": fibers " << fib.summary() << "; OS threads " << os.summary();
    ASSERT_EQ(fib.events.size(), os.events.size()) << "program " << i;
    for (std::size_t k = 0; k < fib.events.size(); ++k)
      ASSERT_TRUE(fib.events[k] == os.events[k]) << "program " << i << ", event " << k << " differs";
    EXPECT_EQ(fib.summary(), os.summary()) << "program " << i;
    diverged += fib.verdict == Verdict::Diverge ? 1 : 0;
    steps += fib.events.size();
    for (const TraceEvent& e : fib.events) turns += e.turns.size();
  }
  EXPECT_GT(steps, 25u * 20);
  if (GetParam().strategy != "op") {
    EXPECT_GT(turns, steps) << "the runs interleaved nothing";
  }
  if (!GetParam().fault.empty()) {
    EXPECT_GT(diverged, 0u) << "the fault was never found: the comparison saw no divergence";
  }
}

INSTANTIATE_TEST_SUITE_P(Strategies, FibersAndOsThreads,
                         ::testing::Values(Case{"op", ""}, Case{"random", ""}, Case{"pct:3", ""}, Case{"portfolio", ""},
                                           Case{"portfolio", "fork_pid_gap"}, Case{"portfolio", "park_no_loop"}, Case{"pct:3", "wait_exit_no_loop"},
                                           Case{"op", "orphans_keep_ppid"}),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           std::string n = i.param.strategy + (i.param.fault.empty() ? "" : "_" + i.param.fault);
                           for (char& ch : n)
                             if (ch == ':') ch = '_';
                           return n;
                         });

}  // namespace
