// Each `lockstep` subcommand lives in its own cmd_*.cpp and registers itself here.
// A command's callback stores the process exit code in `exit_code`:
// 0 all agree / success, 1 a divergence or violation was found, 2 bad usage or input.
#pragma once
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


}  // namespace lockstep::cli
