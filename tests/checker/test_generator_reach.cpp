// The programs `lockstep run` generates must reach the situations the SPEC's rules are
// about, through the same path the campaign uses (choice programs resolved against the
// model). Each figure is a count over 400 programs from a fixed seed: a generator that
// silently stops reaching a case (e.g. an argument drawn past a step's choices) fails here.
#include <gtest/gtest.h>

#include "checker/coverage.hpp"
#include "checker/program.hpp"
#include "model/model.hpp"

using namespace lockstep;
using namespace lockstep::checker;
using namespace lockstep::model;

namespace {

Coverage reach(std::uint64_t programs) {
  Coverage cov;
  SplitMix src(2024);
  ProgramConfig pc;
  for (std::uint64_t i = 0; i < programs; ++i) {
    const Program p = random_program(src, 100);
    Model m(Config{pc.maxproc, true, pc.pid_max});
    for (const auto& step : p.steps) {
      const StepResult r = m.apply(resolve(m.state(), pc, step));
      cov.count(r.outcome);
      for (const Completion& c : r.completions) cov.count(c.outcome);
      if (r.outcome.is_fatal()) break;
    }
  }
  return cov;
}

}  // namespace

TEST(GeneratorReach, EveryRuleAndTheInterestingSituations) {
  const Coverage c = reach(400);
  EXPECT_EQ(c.unreached_rules(), "");
  struct Want {
    Rule rule;
    std::string_view label;
    std::uint64_t at_least;
  };
  const Want wants[] = {
      {Rule::L4, "ok(last lwp)", 200},           // last-lwp releases
      {Rule::L3, "ok", 200},                     // hand-offs: switch to an lwp nobody runs
      {Rule::P1, "EAGAIN", 1},                   // the scaled pid space fills up
      {Rule::K1, "EAGAIN", 5},                   // maxproc reached
      {Rule::K3, "ok(acknowledged)", 50},        // suspend acknowledged after it began
      {Rule::K3, "ok(already parked)", 20},
      {Rule::K3, "EWOULDBLOCK", 50},             // suspend timed out
      {Rule::K8, "ok(exited)", 20},              // exit with waiters
      {Rule::K8, "EWOULDBLOCK", 20},
      {Rule::K7, "stopped", 5},
      {Rule::K7, "timed out", 5},
      {Rule::K4, "ok", 30},                      // resume of a parked thread
      {Rule::K9, "ok", 20},                      // reaped zombies (pids freed for reuse)
      {Rule::P7, "EBADF", 20},
      {Rule::P8, "EPERM", 5},
  };
  for (const Want& w : wants)
    EXPECT_GE(c.hits(w.rule, w.label), w.at_least) << rule_name(w.rule) << " " << w.label << "\n" << c.table();
  for (std::string_view fatal : {"FATAL(L3-null-implicit)", "FATAL(L3-stale)", "FATAL(L3-running)"})
    EXPECT_GE(c.hits(Rule::L3, fatal), 1u) << fatal;
  EXPECT_GE(c.hits(Rule::L4, "FATAL(L4-implicit)"), 1u);
  EXPECT_GE(c.hits(Rule::K5, "FATAL(K5-other)"), 1u);
}
