// Each `lockstep` subcommand lives in its own cmd_*.cpp and registers itself here.
// A command's callback stores the process exit code in `exit_code`:
//   0  all agree / success
//   1  a divergence, deadlock or violation was found (mutants: a fault survived)
//   2  bad usage or bad input (one line on stderr says which file, which line, what was expected)
//   3  undecided: `verify` or `stress`'s judge ran out of its budget (never reported as "holds")
//   4  internal error: an exception escaped a command (main.cpp), never read as a verdict
#pragma once
#include <memory>

#include <CLI/CLI.hpp>

namespace lockstep::cli {

void add_model_run(CLI::App& app, int& exit_code);
void add_run(CLI::App& app, int& exit_code);
void add_mutants(CLI::App& app, int& exit_code);
void add_faults(CLI::App& app, int& exit_code);
void add_replay(CLI::App& app, int& exit_code);
void add_check_trace(CLI::App& app, int& exit_code);
void add_show(CLI::App& app, int& exit_code);
void add_verify(CLI::App& app, int& exit_code);
void add_stress(CLI::App& app, int& exit_code);

// The whole `lockstep` command line: every subcommand above, exactly one required. Parsing it runs
// the chosen subcommand's callback (the command itself), which stores its exit code in `exit_code`.
inline std::unique_ptr<CLI::App> make_app(int& exit_code) {
  auto app = std::make_unique<CLI::App>("lockstep: reference model and conformance checker for rump_lwproc(3) and kthread(9)");
  app->require_subcommand(1);
  add_run(*app, exit_code);
  add_mutants(*app, exit_code);
  add_model_run(*app, exit_code);
  add_faults(*app, exit_code);
  add_replay(*app, exit_code);
  add_check_trace(*app, exit_code);
  add_show(*app, exit_code);
  add_verify(*app, exit_code);
  add_stress(*app, exit_code);
  return app;
}

// Parse only (tests/fuzz/fuzz_cli.cpp): once `app` has checked a whole command line (options, types,
// ranges, required arguments), parse() throws ParsedOnly instead of running the subcommand's
// callback. (The callbacks stay in place: they own the variables the options write into.)
struct ParsedOnly {};
inline void stop_before_commands(CLI::App& app) {
  app.parse_complete_callback([] { throw ParsedOnly{}; });
}

}  // namespace lockstep::cli
