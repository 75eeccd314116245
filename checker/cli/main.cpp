// lockstep: a model and lockstep conformance checker for rump_lwproc(3) and kthread(9).
#include <cstdio>
#include <exception>
#include <memory>

#include "commands.hpp"

int main(int argc, char** argv) {
  int exit_code = 0;
  const std::unique_ptr<CLI::App> app = lockstep::cli::make_app(exit_code);
  try {
    app->parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app->exit(e);
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
