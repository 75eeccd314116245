// Fuzz target: the `lockstep` command line (checker/cli/main.cpp, checker/commands.hpp and every
// subcommand's options in checker/cmd_*.cpp, parsed by CLI11). Only parsing: the app is the one
// `lockstep` builds (make_app), told to stop before the subcommand's callback (stop_before_commands),
// so nothing is run.
// The input is the argument list after "lockstep", arguments separated by NUL bytes.
// Properties, beyond "no crash, no UB, no leak, no hang":
//  * parse() ends with ParsedOnly (a valid command line), or with a CLI::Error (main turns a ParseError into exit 2 with one line,
//    a CLI::Success into --help's output); any other exception is what main reports as an internal
//    error (exit 4), so here it is a crash;
//  * a ParseError's message, main's one line on stderr, has no line break (unless an argument has one).
#include <cstdint>
#include <string>
#include <vector>

#include "commands.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // CLI11's parse(vector) takes the arguments in reverse order (the next one at the back).
  std::vector<std::string> args;
  const char* p = reinterpret_cast<const char*>(data);
  for (std::size_t begin = 0, i = 0; i <= size; ++i)
    if (i == size || data[i] == 0) {
      if (i > begin || i < size) args.emplace_back(p + begin, i - begin);
      begin = i + 1;
    }
  if (args.size() > 64) return 0;  // a command line is short; CLI11's matching is not linear in it
  std::vector<std::string> reversed(args.rbegin(), args.rend());

  int exit_code = 0;
  const std::unique_ptr<CLI::App> app = lockstep::cli::make_app(exit_code);
  lockstep::cli::stop_before_commands(*app);
  try {
    app->parse(reversed);
    lockstep::fuzz::fail("parse() returned: neither a command to run nor an error");
  } catch (const lockstep::cli::ParsedOnly&) {
    // A valid command line.
  } catch (const CLI::ParseError& e) {
    const std::string what = e.what();
    bool newline_given = false;
    for (const std::string& a : args) newline_given |= a.find_first_of("\n\r") != std::string::npos;
    if (!newline_given && what.find_first_of("\n\r") != std::string::npos) lockstep::fuzz::fail("a usage error of more than one line: " + what);
  } catch (const CLI::Error&) {
    // CLI::Success and friends: --help and the like.
  }
  if (exit_code != 0) lockstep::fuzz::fail("a subcommand's callback ran: exit_code was set");
  return 0;
}
