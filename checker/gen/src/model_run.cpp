#include "checker/model_run.hpp"

#include "model/model.hpp"

namespace lockstep::checker {

using namespace lockstep::model;

std::uint64_t program_seed(std::uint64_t run_seed, std::uint64_t index) {
  SplitMix mix(run_seed ^ (0x632be59bd9b4e019ULL * (index + 1)));
  return mix.next();
}

std::uint64_t run_one_program(const ModelRunConfig& c, std::uint64_t index, Coverage& cov,
                              std::optional<InvariantFailure>& failure) {
  SplitMix src(program_seed(c.seed, index));
  Model m(Config{c.maxproc, !src.percent(c.uninit_percent)});
  std::vector<Op> program;
  std::uint64_t applied = 0;
  for (std::uint32_t i = 0; i < c.steps; ++i) {
    Op op = choose_op(m.state(), c.chooser, src);
    std::optional<State> before;
    if (c.invariants) before = m.state();
    StepResult r = m.apply(op);
    ++applied;
    cov.count(r.outcome);
    for (const Completion& done : r.completions) cov.count(done.outcome);
    if (c.invariants) program.push_back(op);
    if (c.invariants) {
      std::vector<Violation> v = check_step(*before, op, r, m.state());
      std::vector<Violation> vs = check_state(m.state());
      v.insert(v.end(), vs.begin(), vs.end());
      for (const Violation& x : v) cov.count_violation(x.rule);
      if (!v.empty()) {
        failure = InvariantFailure{index, program, v.front()};
        return applied;
      }
    }
    if (r.outcome.is_fatal()) break;  // SPEC §2: the instance is dead, the program ends
  }
  return applied;
}

ModelRunReport run_model_programs(const ModelRunConfig& c, const std::function<void(std::uint64_t)>& on_program) {
  ModelRunReport rep;
  for (std::uint64_t i = 0; i < c.programs && !rep.failure; ++i) {
    rep.steps += run_one_program(c, i, rep.coverage, rep.failure);
    rep.programs = i + 1;
    if (on_program) on_program(rep.programs);
  }
  return rep;
}

}  // namespace lockstep::checker
