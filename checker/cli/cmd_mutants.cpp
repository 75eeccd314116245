// `lockstep mutants`: the conformance run against every injected fault, and the
// correct impl as control; prints the kill table.
#include <algorithm>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "checker/atomic_file.hpp"
#include "checker/junit.hpp"
#include "checker/mutants.hpp"
#include "checker/program.hpp"
#include "commands.hpp"
#include "sut_options.hpp"
#include "strategy_option.hpp"
#include "shard_option.hpp"

namespace lockstep::cli {

using namespace lockstep::checker;

void add_mutants(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("mutants", "Run the conformance campaign against every injected fault (and the correct impl)");
  auto c = std::make_shared<MutantConfig>();
  // Race faults show only when threads interleave inside operations: the scorecard does by default.
  c->campaign.lockstep.schedule.strategy = checker::Strategy{checker::Strategy::Kind::Portfolio};
  auto budget = std::make_shared<double>(10);
  auto fault_list = std::make_shared<std::string>();
  auto watchdog_ms = std::make_shared<int>(2000);
  auto shrink_s = std::make_shared<double>(30);
  auto shard = std::make_shared<std::string>();
  auto junit = std::make_shared<std::string>();
  auto sut = std::make_shared<SutOptions>();
  auto race_seconds = std::make_shared<double>(10);
  auto jobs = std::make_shared<unsigned>(0);
  c->campaign.programs = 100000;
  cmd->add_option("--seed", c->campaign.seed, "Run seed")->capture_default_str();
  add_sut_options(cmd, *sut);
  cmd->add_option("--race-seconds", *race_seconds, "With --sut: seconds of stress --sut per race fault (a race shows only with two "
                                                  "calls in flight; 0: list them unrun)")->capture_default_str()->check(CLI::Range(0.0, 3600.0));
  add_strategy_option(cmd, c, c->campaign.lockstep.schedule.strategy);
  cmd->add_option("--steps", c->campaign.steps, "Steps per program, at most")->capture_default_str()->check(CLI::Range(1u, 100000u));
  cmd->add_option("--threads", c->campaign.lockstep.program.chooser.hosts, "Host threads")->capture_default_str()->check(CLI::Range(1, 16));
  cmd->add_option("--maxproc", c->campaign.lockstep.program.maxproc, "maxproc of each kernel instance")->capture_default_str()->check(CLI::Range(2, 30000));
  cmd->add_option("--time-budget", *budget, "Seconds per fault before it counts as survived")->capture_default_str()->check(CLI::Range(0.1, 1e5));
  cmd->add_option("--control-programs", c->control_programs, "Programs run on the correct impl")->capture_default_str()->check(CLI::Range(0ull, 1ull << 40));
  cmd->add_option("--fault", *fault_list, "Only these faults, comma-separated (default: every project fault; test-only "
                                          "faults run only when named here)");
  cmd->add_option("--jobs", *jobs, "Programs of each fault's campaign run side by side (0: one per hardware thread); what each "
                                   "campaign finds does not depend on it, only how soon")
      ->capture_default_str()
      ->check(CLI::Range(0u, 256u));
  cmd->add_option("--watchdog-ms", *watchdog_ms, "A step that neither returns nor blocks within this is a DEADLOCK")->capture_default_str()->check(CLI::Range(10, 600000));
  cmd->add_option("--shrink-budget", *shrink_s, "Seconds shrinking each fault's counterexample may take")
      ->capture_default_str()->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--shard", *shard, "Run shard I of N (0-based): faults i (in table order) with i mod N = I, and the control "
                                     "programs likewise. Default: from GTEST_* / TEST_* sharding variables, else all");
  cmd->add_option("--junit", *junit, "Write a JUnit XML report to FILE: one test case per fault (a survivor fails) and the control");
  cmd->add_flag("--shortest", c->shortest, "Also find each fault's shortest exposing program (BFS over the model's state graph)");
  cmd->add_option("--shortest-depth", c->bounds.max_depth, "Longest program the BFS considers")->capture_default_str()->check(CLI::Range(1u, 8u));
  cmd->add_option("--shortest-seconds", c->shortest_seconds, "Seconds per fault for the BFS search")->capture_default_str();
  cmd->callback([c, budget, race_seconds, jobs, fault_list, watchdog_ms, shrink_s, shard, junit, sut, cmd, &exit_code] {
    if (!sut->library.empty()) {
      // Through the plug-in path: each fault is injected with LOCKSTEP_FAULT into the SUT's process
      // (the built-in implementation built as liblockstep_rump.so reads it).
      SutMutantArgs m;
      m.run.sut = *sut;
      m.run.seed = c->campaign.seed;
      m.run.steps = c->campaign.steps;
      m.run.threads = c->campaign.lockstep.program.chooser.hosts;
      m.run.maxproc = c->campaign.lockstep.program.maxproc;  // the built-in runs' (ProgramConfig) unless given
      m.run.pid_max = ProgramConfig{}.pid_max;  // pids wrap within a program, as in the built-in runs
      m.run.budget_s = *budget;
      m.run.shrink_s = *shrink_s;
      m.run.watchdog_ms = *watchdog_ms;
      m.race_seconds = *race_seconds;
      if (cmd->count("--control-programs") > 0) m.control_programs = c->control_programs;
      std::string error;
      const auto selected = impl::FaultSet::parse(*fault_list, &error);
      if (!selected) throw CLI::ValidationError("--fault", error);
      // The faults a call-by-call check can see run call by call; race faults go through stress --sut
      // (sut_race_faults.cpp); `park_spins`-like faults are listed with why not. Named with --fault,
      // every fault runs, and one that is not found fails the run like any other survivor.
      const bool named = !fault_list->empty();
      m.races_must_die = named;
      for (const impl::FaultInfo& f : named ? std::vector<impl::FaultInfo>(impl::all_faults().begin(), impl::all_faults().end()) : impl::project_faults()) {
        if (named && !selected->has(f.fault)) continue;
        if (!named && f.api_silent)
          m.silent.emplace_back(std::string(f.name), "the same answer to every call; only a controlled scheduler or §7 progress shows it");
        else if (f.race && *race_seconds > 0)
          m.races.emplace_back(f.name);
        else if (!named && f.race)
          m.silent.emplace_back(std::string(f.name), "a race inside operations: call by call one call runs at a time (--race-seconds 0)");
        else
          m.faults.emplace_back(f.name);
      }
      for (const char* opt : {"--strategy", "--shard", "--shortest"})
        if (cmd->count(opt) > 0) m.run.refused.emplace_back(opt);
      if (!m.run.refused.empty()) {
        std::fprintf(stderr, "lockstep: %s: does not apply with --sut (a foreign SUT runs on its own threads)\n", m.run.refused.front().c_str());
        exit_code = 2;
        return;
      }
      exit_code = mutants_sut(std::move(m));
      return;
    }
    if (cmd->count("--race-seconds") > 0) throw CLI::ValidationError("--race-seconds", "applies only with --sut (the built-in runs interleave inside operations)");
    c->campaign.shard = resolve_shard(*shard);
    c->campaign.shrink_budget = std::chrono::milliseconds(static_cast<long long>(*shrink_s * 1000));
    c->campaign.time_budget = std::chrono::milliseconds(static_cast<long long>(*budget * 1000));
    c->campaign.lockstep.watchdog = std::chrono::milliseconds(*watchdog_ms);
    c->campaign.jobs = *jobs != 0 ? *jobs : std::max(1u, std::thread::hardware_concurrency());
    std::string error;
    const auto selected = impl::FaultSet::parse(*fault_list, &error);
    if (!selected) throw CLI::ValidationError("--fault", error);
    for (const impl::FaultInfo& f : impl::all_faults())
      if (selected->has(f.fault)) c->faults.push_back(f);
    const MutantReport r = run_mutants(*c, [](const std::string& s) { std::fprintf(stderr, "mutants: %s\n", s.c_str()); });
    std::fputs(mutant_table(r, *c).c_str(), stdout);
    if (!junit->empty()) {
      if (const std::string err = write_file_atomically(*junit, junit_xml(r, *c)); !err.empty()) {
        std::fprintf(stderr, "lockstep: %s\n", err.c_str());
        exit_code = 2;
        return;
      }
    }
    // The scorecard: a surviving fault fails the run as a false alarm does.
    exit_code = r.false_alarm || r.survived() > 0 ? 1 : 0;
  });
}

}  // namespace lockstep::cli
