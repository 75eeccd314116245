// `lockstep verify FILE...`: Z3 judges SPEC §6 (R1-R6, S1-S6) on each recorded trace, independently
// of the model (checker/VERIFY.md). Exit 0 when every invariant holds on every trace, 1 when one is
// violated (the report names the event and the events that force it), 2 on bad input.
#include <cstdio>
#include <stdexcept>

#include <fmt/format.h>

#include "checker/trace_io.hpp"
#include "checker/verify.hpp"
#include "commands.hpp"

namespace lockstep::cli {

using namespace lockstep::checker;

void add_verify(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("verify", "Prove with Z3 that SPEC §6's invariants hold on recorded traces; exit 0 when they all do");
  auto files = std::make_shared<std::vector<std::string>>();
  auto window = std::make_shared<std::size_t>(2048);
  auto no_explain = std::make_shared<bool>(false);
  cmd->add_option("FILE", *files, "Traces (traces/FORMAT.md)")->required();
  cmd->add_option("--window", *window, "Events per incremental solver window")->check(CLI::PositiveNumber);
  cmd->add_flag("--no-explain", *no_explain, "Do not compute unsat cores for violations");
  cmd->callback([files, window, no_explain, &exit_code] {
    int worst = 0;
    for (const std::string& file : *files) {
      VTrace t;
      try {
        const Trace tr = read_trace(file);
        t = to_vtrace(tr.header, tr.events);
      } catch (const TraceFormatError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        worst = 2;
        continue;
      }
      VerifyReport rep;
      try {
        rep = verify(t, VerifyOptions{.window = *window, .explain = !*no_explain});
      } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "%s: %s\n", file.c_str(), e.what());
        worst = 2;
        continue;
      }
      std::fputs(fmt::format("== {}\n{}", file, render(rep)).c_str(), stdout);
      if (!rep.all_hold() && worst == 0) worst = 1;
    }
    exit_code = worst;
  });
}

}  // namespace lockstep::cli
