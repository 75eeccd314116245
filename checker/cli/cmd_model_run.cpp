// `lockstep model-run`: random op programs on the reference model alone, with every
// invariant of SPEC §6 checked after every step; prints steps/s and the coverage table.
#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "checker/model_run.hpp"
#include "checker/progress.hpp"
#include "commands.hpp"

namespace lockstep::cli {

using namespace lockstep::checker;

void add_model_run(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("model-run", "Run random op programs on the model alone, invariants on");
  auto c = std::make_shared<ModelRunConfig>();
  auto no_invariants = std::make_shared<bool>(false);
  cmd->add_option("--seed", c->seed, "Run seed (program i uses a seed derived from it)")->capture_default_str();
  cmd->add_option("--programs", c->programs, "Number of programs")->capture_default_str()->check(CLI::Range(1ull, 1ull << 40));
  cmd->add_option("--steps", c->steps, "Steps per program")->capture_default_str()->check(CLI::Range(1u, 1u << 24));
  cmd->add_option("--threads", c->chooser.hosts, "Host threads")->capture_default_str()->check(CLI::Range(1, 64));
  cmd->add_option("--kthreads", c->chooser.max_kthreads, "Kthreads alive at most")->capture_default_str()->check(CLI::Range(0, 64));
  cmd->add_option("--maxproc", c->maxproc, "maxproc of the kernel instance")->capture_default_str()->check(CLI::Range(2, 30000));
  cmd->add_option("--misuse-percent", c->chooser.misuse_percent, "Percent of host steps that are FATAL misuse")->capture_default_str()->check(CLI::Range(0u, 100u));
  cmd->add_flag("--no-invariants", *no_invariants, "Skip the invariant checks (measures the bare model)");
  cmd->callback([c, no_invariants, &exit_code] {
    c->invariants = !*no_invariants;
    Progress progress("model-run", c->programs);
    const auto t0 = std::chrono::steady_clock::now();
    ModelRunReport rep = run_model_programs(*c, [&](std::uint64_t done) { progress.update(done); });
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    progress.finish();
    std::printf("%s", rep.coverage.table().c_str());
    const std::string unreached = rep.coverage.unreached_rules();
    std::printf("\nprograms %llu  steps %llu  %.2f s  %.0f steps/s  (seed %llu, invariants %s)\n",
                static_cast<unsigned long long>(rep.programs), static_cast<unsigned long long>(rep.steps), secs,
                secs > 0 ? static_cast<double>(rep.steps) / secs : 0.0, static_cast<unsigned long long>(c->seed),
                c->invariants ? "on" : "off");
    std::printf("SPEC rules not reached: %s\n", unreached.empty() ? "none" : unreached.c_str());
    if (rep.failure) {
      const InvariantFailure& f = *rep.failure;
      std::printf("\nVERDICT: INVARIANT VIOLATED in program %llu at step %zu: %s\n",
                  static_cast<unsigned long long>(f.program_index), f.program.size() - 1,
                  model::to_string(f.violation).c_str());
      for (std::size_t i = 0; i < f.program.size(); ++i) std::printf("  %3zu  %s\n", i, model::to_string(f.program[i]).c_str());
      exit_code = 1;
    } else {
      std::printf("VERDICT: ok (every invariant held after every step)\n");
      exit_code = 0;
    }
  });
}

}  // namespace lockstep::cli
