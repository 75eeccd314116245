// Random programs for the model's property and reach tests, from the checker's generator
// (checker/gen: a program is a list of steps of choices, each resolved by the op chooser against
// the model's state when it runs). The model's tests turn on the chooser's misuse options (wrong
// actors, bound pid choices, extreme arguments, calls before rump_init) that lockstep runs leave
// off, and vary maxproc and rump_init per program. RapidCheck generates and shrinks the choices
// (test_properties.cpp); the reach test draws them from a fixed seed.
#pragma once
#include <cstdint>
#include <limits>
#include <utility>

#include "checker/program.hpp"
#include "model/model.hpp"

namespace lockstep::model::testing {

struct ModelProgram {
  int maxproc = kDefaultMaxproc;
  bool initialized = true;
  bool chaos = false;  // more misuse and extreme values (huge ticks/sizes, odd hosts)
  checker::Program program;
};

// The chooser as the model's tests use it.
inline checker::ProgramConfig program_config(bool chaos) {
  checker::ProgramConfig c;
  c.chooser.hosts = 3;
  c.chooser.max_kthreads = 4;
  c.chooser.misuse_percent = 1;
  c.chooser.uninit_misuse_percent = 40;
  c.chooser.wrong_actor_percent = chaos ? 8 : 2;
  c.chooser.bind_pid_percent = 10;
  c.chooser.extreme_percent = chaos ? 10 : 2;
  return c;
}

// Ops that ignore the state entirely: any kind, any actor, any argument (and any pid choice).
inline checker::ProgramConfig arbitrary_config() {
  checker::ProgramConfig c = program_config(true);
  c.chooser.arbitrary_percent = 100;
  return c;
}

// The choices of one step: the chooser reads at most this many (past the end it reads 0).
inline std::size_t step_choices() { return checker::choices_per_step(program_config(false).chooser); }

// A program of `steps` steps with choices drawn from `src` over the whole 32-bit range.
inline checker::Program random_choices(checker::Source& src, std::size_t steps) {
  return checker::random_program(src, steps, step_choices(), std::numeric_limits<std::uint32_t>::max());
}

// Runs a program: resolves each step against the model and hands (before, op, choice, result,
// after) to `on_step`. Returns the final model.
template <class OnStep>
Model run_program(const ModelProgram& p, const checker::ProgramConfig& pc, OnStep&& on_step) {
  Model m(Config{.maxproc = p.maxproc, .initialized = p.initialized});
  for (const auto& step : p.program.steps) {
    const checker::ChosenStep st = checker::resolve_step(m.state(), pc, step);
    const State before = m.state();
    const StepResult res = m.apply(st.op, st.choice);
    on_step(before, st.op, st.choice, res, m.state());
  }
  return m;
}
template <class OnStep>
Model run_program(const ModelProgram& p, OnStep&& on_step) {
  return run_program(p, program_config(p.chaos), std::forward<OnStep>(on_step));
}

}  // namespace lockstep::model::testing
