// `lockstep check-trace FILE`: validates a trace against the model alone, without the impl,
// so a trace recorded by any implementation of these APIs can be judged. Exit 0 when every
// event is one the model allows and the trace records no divergence, 1 otherwise, 2 bad input.
#include <cstdio>

#include <fmt/format.h>

#include "checker/trace_check.hpp"
#include "commands.hpp"
#include "load_trace.hpp"

namespace lockstep::cli {

using namespace lockstep::checker;

void add_check_trace(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("check-trace", "Check a trace against the model alone (no impl); exit 0 when valid");
  auto file = std::make_shared<std::string>();
  cmd->add_option("FILE", *file, "A trace (traces/FORMAT.md), from lockstep or any other implementation")->required();
  cmd->callback([file, &exit_code] {
    // Reading validates format and symbols; the model then judges the behaviour.
    const std::optional<Trace> loaded = load_trace(*file);
    if (!loaded) {
      exit_code = 2;
      return;
    }
    const Trace& t = *loaded;
    const CheckReport rep = check_trace(t);
    if (!rep.valid()) {
      const TraceMismatch& m = *rep.mismatch;
      std::fputs(fmt::format("INVALID at step {} ({}:{}){}: {}\n", m.step, *file, m.step + 2,
                             m.rule ? fmt::format(" [{}]", model::rule_name(*m.rule)) : "", m.what)
                     .c_str(),
                 stdout);
      exit_code = 1;
      return;
    }
    const TraceExpect& x = t.header.expect;
    if (x.verdict == Verdict::Diverge) {
      // Our traces record the model's outcomes, and at the divergence what the impl did instead.
      std::fputs(fmt::format("INVALID at step {} ({}:{}) [{}]: the model allows every recorded event, but the recording run "
                             "observed the implementation diverge: {}: expected {}{}\n",
                             x.step, *file, x.step + 2, model::rule_name(x.rule), x.what, x.expected,
                             x.observed.empty() ? "" : ", observed " + x.observed)
                     .c_str(),
                 stdout);
      exit_code = 1;
      return;
    }
    if (x.verdict == Verdict::Deadlock) {
      std::fputs(fmt::format("INVALID at step {}: the recording run deadlocked there\n", x.step).c_str(), stdout);
      exit_code = 1;
      return;
    }
    std::fputs(fmt::format("VALID: the model allows all {} events (outcomes, wake-ups, bindings{})\n", rep.events,
                           t.events.empty() || t.events.front().digest ? ", digests" : "")
                   .c_str(),
               stdout);
    exit_code = 0;
  });
}

}  // namespace lockstep::cli
