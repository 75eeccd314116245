// The checker library of an installed lockstep, from C++20: random programs run in lockstep on the
// implementation and the model, then on the model alone with every SPEC §6 invariant checked.
#include <cstdint>
#include <cstdio>

#include <checker/lockstep.hpp>
#include <checker/model_run.hpp>
#include <checker/program.hpp>
#include <checker/random_source.hpp>

namespace ck = lockstep::checker;

int main() {
  ck::LockstepConfig config;  // 3 hosts, 2 kthreads, pid_max 12, no fault
  std::uint64_t steps = 0;
  for (std::uint64_t i = 0; i < 4; ++i) {
    ck::SplitMix rng(ck::program_seed(7, i));
    const ck::Program program = ck::random_program(rng, 40);
    const ck::LockstepResult r = ck::run_lockstep(program, config);
    if (r.verdict != ck::Verdict::Agree) {
      std::fprintf(stderr, "cxx_consumer: program %s: %s\n%s", ck::encode(program).c_str(),
                   r.summary().c_str(), ck::listing(r).c_str());
      return 1;
    }
    steps += r.steps_run();
  }
  std::printf("cxx_consumer: lockstep agree on 4 programs (%llu steps)\n", static_cast<unsigned long long>(steps));

  ck::ModelRunConfig model_config;
  model_config.seed = 7;
  model_config.programs = 50;
  model_config.steps = 60;
  const ck::ModelRunReport m = ck::run_model_programs(model_config);
  if (m.failure) {
    std::fprintf(stderr, "cxx_consumer: model-run: invariant violated in program %llu\n",
                 static_cast<unsigned long long>(m.failure->program_index));
    return 1;
  }
  std::printf("cxx_consumer: model-run %llu programs (%llu steps), invariants hold\n",
              static_cast<unsigned long long>(m.programs), static_cast<unsigned long long>(m.steps));
  return 0;
}
