// lockstep: a model and lockstep conformance checker for rump_lwproc(3) and kthread(9).
#include <cstdio>
#include <exception>

#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"lockstep: reference model and conformance checker for rump_lwproc(3) and kthread(9)"};
  app.require_subcommand(1);
  int exit_code = 0;
  lockstep::cli::add_run(app, exit_code);
  lockstep::cli::add_mutants(app, exit_code);
  lockstep::cli::add_model_run(app, exit_code);
  lockstep::cli::add_faults(app, exit_code);
  lockstep::cli::add_replay(app, exit_code);
  lockstep::cli::add_check_trace(app, exit_code);
  lockstep::cli::add_show(app, exit_code);
  lockstep::cli::add_verify(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line saying what was wrong, then exit 2 (bad usage), whatever CLI11's own code.
    std::fprintf(stderr, "lockstep: %s (see 'lockstep --help')\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    // Its own code: 3 is `verify`'s UNDECIDED, and a CI job must not read a crash as a verdict.
    std::fprintf(stderr, "lockstep: internal error: %s\n", e.what());
    return 4;
  }
  return exit_code;
}
