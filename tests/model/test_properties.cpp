// RapidCheck properties over random programs from the checker's generator (programs.hpp):
//  (a) SPEC §6 invariants hold after every step of every generated program;
//  (b) the model never throws or crashes on any op sequence, misuse included, and a step
//      that does not reach the kernel (NotRunnable, Dead) changes nothing;
//  (c) the model is a deterministic function of the program.
// RapidCheck draws each step's choices and shrinks a counterexample by dropping steps and moving
// choices toward 0, the chooser's plainest option; every shrunk program still resolves to ops that
// make sense in the states they meet.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <limits>
#include <ostream>

#include "helpers.hpp"
#include "programs.hpp"
#include "situations.hpp"

namespace lockstep::model::testing {

// Counterexamples print as the program they resolve to, one op per line.
inline void showValue(const ModelProgram& p, std::ostream& os) {
  os << "maxproc=" << p.maxproc << " initialized=" << p.initialized << " chaos=" << p.chaos
     << " choices=" << checker::encode(p.program) << "\n";
  run_program(p, [&](const State&, const Op& op, const Choice& c, const StepResult& r, const State&) {
    os << "  " << to_string(op);
    if (c.pid) os << " [pid " << *c.pid << "]";
    os << " -> " << r.outcome.label << " " << r.outcome.ret << "\n";
  });
}

namespace {

rc::Gen<checker::Program> choices() {
  auto step = rc::gen::container<std::vector<std::uint32_t>>(
      step_choices(), rc::gen::inRange<std::uint32_t>(0, std::numeric_limits<std::uint32_t>::max()));
  return rc::gen::map(rc::gen::scale(2.0, rc::gen::container<std::vector<std::vector<std::uint32_t>>>(std::move(step))),
                      [](std::vector<std::vector<std::uint32_t>> steps) { return checker::Program{std::move(steps), {}}; });
}

rc::Gen<ModelProgram> programs(bool allow_chaos) {
  return rc::gen::build<ModelProgram>(
      rc::gen::set(&ModelProgram::maxproc, rc::gen::element(3, 4, 5, 8, kDefaultMaxproc)),
      rc::gen::set(&ModelProgram::initialized, rc::gen::weightedElement<bool>({{19, true}, {1, false}})),
      rc::gen::set(&ModelProgram::chaos, allow_chaos ? rc::gen::element(false, true) : rc::gen::just(false)),
      rc::gen::set(&ModelProgram::program, choices()));
}

// (a)
RC_GTEST_PROP(Properties, InvariantsHoldOnRandomPrograms, ()) {
  const ModelProgram p = *programs(false);
  SituationTracker tracker;
  std::set<Situation> seen;
  Fatal died = Fatal::None;
  run_program(p, [&](const State& before, const Op& op, const Choice&, const StepResult& res, const State& after) {
    const auto vs = check_state(after);
    if (!vs.empty()) RC_FAIL("check_state after " + to_string(op) + ":\n" + describe(vs));
    const auto ss = check_step(before, op, res, after);
    if (!ss.empty()) RC_FAIL("check_step of " + to_string(op) + ":\n" + describe(ss));
    for (Situation s : tracker.observe(before, op, res, after)) seen.insert(s);
    if (res.outcome.is_fatal()) died = res.outcome.fatal;
  });
  for (std::size_t s = 0; s < kSituationNames.size(); ++s)
    RC_CLASSIFY(seen.count(static_cast<Situation>(s)) > 0, std::string(kSituationNames[s]));
  RC_TAG(died == Fatal::None ? std::string("survived") : "FATAL(" + std::string(fatal_name(died)) + ")");
}

// Applies `op` and checks the contracts every step has, whatever the op: no exception,
// no state change when the kernel was not reached, Dead forever after a FATAL.
void apply_checked(Model& m, const Op& op, const Choice& c) {
  const State before = m.state();
  StepResult res;
  try {
    res = m.apply(op, c);
  } catch (const std::exception& e) {
    RC_FAIL("apply threw on " + to_string(op) + ": " + e.what());
  } catch (...) {
    RC_FAIL("apply threw on " + to_string(op));
  }
  const Outcome& o = res.outcome;
  if (before.fatal != Fatal::None) RC_ASSERT(o.kind == OutcomeKind::Dead);
  if (o.kind == OutcomeKind::NotRunnable || o.kind == OutcomeKind::Dead) {
    RC_ASSERT(m.state() == before);
    RC_ASSERT(res.completions.empty());
  }
  if (o.kind == OutcomeKind::Fatal) {
    RC_ASSERT(o.fatal != Fatal::None);
    RC_ASSERT(m.state().fatal == o.fatal);
  } else {
    RC_ASSERT(m.state().fatal == before.fatal);
  }
  if (o.kind == OutcomeKind::Blocked && op.actor.kind == Actor::Kind::Host)
    RC_ASSERT(m.state().wait_of(static_cast<HostId>(op.actor.index)) != nullptr);
}

// (b) with the stateful generator, chaos included (overflowing ticks and sizes, odd hosts).
RC_GTEST_PROP(Properties, NeverThrowsOnGeneratedPrograms, ()) {
  const ModelProgram p = *programs(true);
  Model m(Config{.maxproc = p.maxproc, .initialized = p.initialized});
  const checker::ProgramConfig pc = program_config(p.chaos);
  for (const auto& step : p.program.steps) {
    const checker::ChosenStep st = checker::resolve_step(m.state(), pc, step);
    apply_checked(m, st.op, st.choice);
  }
  RC_TAG(m.state().fatal == Fatal::None ? std::string("alive") : "FATAL(" + std::string(fatal_name(m.state().fatal)) + ")");
}

// (b) with ops that ignore the state entirely (the chooser's arbitrary_percent = 100), and odd
// maxproc values.
RC_GTEST_PROP(Properties, NeverThrowsOnArbitraryOps, ()) {
  const checker::Program program = *choices();
  const bool initialized = *rc::gen::weightedElement<bool>({{9, true}, {1, false}});
  const int maxproc = *rc::gen::element(0, 2, 3, 64, -1);
  Model m(Config{.maxproc = maxproc, .initialized = initialized});
  const checker::ProgramConfig pc = arbitrary_config();
  for (const auto& step : program.steps) {
    const checker::ChosenStep st = checker::resolve_step(m.state(), pc, step);
    apply_checked(m, st.op, st.choice);
  }
  RC_TAG(m.state().fatal == Fatal::None ? std::string("alive") : "FATAL(" + std::string(fatal_name(m.state().fatal)) + ")");
}

// (c) the model is pure: replaying a program gives the same outcomes and state.
RC_GTEST_PROP(Properties, ReplayIsDeterministic, ()) {
  const ModelProgram p = *programs(false);
  std::vector<std::string> first, second;
  const auto record = [](std::vector<std::string>& into) {
    return [&into](const State&, const Op& op, const Choice&, const StepResult& r, const State&) {
      into.push_back(to_string(op) + " -> " + std::string(r.outcome.label) + " " + std::to_string(r.outcome.ret) + " " +
                     std::to_string(r.completions.size()));
    };
  };
  const Model a = run_program(p, record(first));
  const Model b = run_program(p, record(second));
  RC_ASSERT(first == second);
  RC_ASSERT(a.state() == b.state());
}

}  // namespace
}  // namespace lockstep::model::testing
