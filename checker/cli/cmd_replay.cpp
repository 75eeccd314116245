// `lockstep replay FILE [--fault NAME]`: re-executes a trace's ops on a fresh impl (controlled
// scheduler) and the model, and says whether the run reproduces the trace event for event.
// Exit 0 reproduced, 1 not reproduced, 2 bad input.
#include <cstdio>

#include <fmt/format.h>

#include "checker/run_trace.hpp"
#include "checker/trace_check.hpp"
#include "commands.hpp"
#include "load_trace.hpp"

namespace lockstep::cli {

using namespace lockstep::checker;

void add_replay(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("replay", "Re-run a trace on impl and model; exit 0 when it reproduces event for event");
  struct Opts {
    std::string file, fault, write;
    int watchdog_ms = 2000;
    bool listing = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("FILE", o->file, "A trace (traces/FORMAT.md)")->required();
  cmd->add_option("--fault", o->fault, "Injected fault(s) to enable in the impl, comma-separated (default: none, the correct impl)");
  cmd->add_option("--watchdog-ms", o->watchdog_ms, "A step that neither returns nor blocks within this is a DEADLOCK")->capture_default_str()->check(CLI::Range(10, 600000));
  cmd->add_flag("--listing", o->listing, "Print the replay's numbered listing");
  cmd->add_option("--write", o->write, "Also write the replay's own run as a trace to FILE (atomically): re-records a trace, "
                                       "e.g. a foreign one, with this tool's rules, labels and digests");
  cmd->callback([o, &exit_code] {
    std::string error;
    auto faults = impl::FaultSet::parse(o->fault, &error);
    if (!faults) throw CLI::ValidationError("--fault", error);
    std::optional<Trace> loaded = load_trace(o->file);
    if (!loaded) {
      exit_code = 2;
      return;
    }
    Trace& t = *loaded;
    const ReplayReport rep = replay_trace(t, *faults, std::chrono::milliseconds(o->watchdog_ms));
    std::fputs(fmt::format("trace {}: {} events, written by {}, recorded {}\nexpecting {}\n", o->file, t.events.size(),
                           t.header.tool.empty() ? "an unnamed tool" : t.header.tool,
                           t.header.faults.empty() ? std::string("on the correct impl") : "under fault " + t.header.faults.front(),
                           rep.expectation)
                   .c_str(),
               stdout);
    if (!o->write.empty()) {
      LockstepConfig c = lockstep_config(t.header, *faults);
      const std::string err = write_trace(o->write, trace_header(rep.result, c, t.header.seed, t.header.program), rep.result.events);
      if (!err.empty()) {
        std::fprintf(stderr, "lockstep: %s\n", err.c_str());
        exit_code = 2;
        return;
      }
    }
    if (o->listing || (!rep.reproduced() && rep.result.events.size() <= 60)) std::fputs(listing(rep.result).c_str(), stdout);
    if (rep.reproduced()) {
      const bool by_verdict = t.header.schedule && *faults != checker::trace_faults(t.header);
      std::fputs((by_verdict ? fmt::format("REPRODUCED: the interleaved run reaches the expected verdict; {}\n", rep.result.summary())
                             : fmt::format("REPRODUCED: {} events identical (outcomes, wake-ups, bindings, digests); {}\n",
                                           rep.result.events.size(), rep.result.summary()))
                     .c_str(),
                 stdout);
      exit_code = 0;
    } else {
      const TraceMismatch& m = *rep.mismatch;
      std::fputs(fmt::format("NOT REPRODUCED at step {}{}: {}\n", m.step, m.rule ? fmt::format(" [{}]", model::rule_name(*m.rule)) : "", m.what).c_str(),
                 stdout);
      exit_code = 1;
    }
  });
}

}  // namespace lockstep::cli
