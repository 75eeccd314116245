// `lockstep run`: the CI conformance run. Random multi-thread programs run in lockstep
// on the impl (controlled scheduler) and the model; the first divergence is shrunk and
// printed with a command that replays it.
#include <cstdio>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "checker/run_trace.hpp"
#include "checker/atomic_file.hpp"
#include "checker/campaign.hpp"
#include "checker/junit.hpp"
#include "checker/progress.hpp"
#include "checker/report.hpp"
#include "checker/trace_io.hpp"
#include "commands.hpp"
#include "sut_options.hpp"
#include "strategy_option.hpp"
#include "shard_option.hpp"

namespace lockstep::cli {

using namespace lockstep::checker;

void add_run(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("run", "Conformance run: random programs on impl and model in lockstep");
  struct Opts {
    CampaignConfig c;
    std::string fault, junit, replay, trace_dir, trace_name, shard;
    std::uint64_t program = 0;
    double budget_s = 60;
    double shrink_s = 30;
    int watchdog_ms = 2000;
    bool no_shrink = false;
    bool no_traces = false;
    bool os_threads = false;
    unsigned jobs = 0;
    double race_seconds = 10;
    SutOptions sut;
  };
  auto o = std::make_shared<Opts>();
  // A conformance run must find races: the default interleaves inside operations.
  o->c.lockstep.schedule.strategy = checker::Strategy{checker::Strategy::Kind::Portfolio};
  // The default run is a minute of programs: as many as the machine runs in it (the cap is only
  // there so that a run always has a known end).
  o->c.programs = 1000000;
  cmd->add_option("--seed", o->c.seed, "Run seed; program i's seed derives from it")->capture_default_str();
  add_strategy_option(cmd, o, o->c.lockstep.schedule.strategy);
  add_sut_options(cmd, o->sut);
  cmd->add_option("--race-seconds", o->race_seconds,
                  "With --sut: seconds of concurrent stress on the library after its call-by-call programs (stress --sut: calls in "
                  "flight on every host at once, judged for linearizability), taken from --time-budget (at most half of it); 0: none")
      ->capture_default_str()->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--programs", o->c.programs, "Programs to run")->capture_default_str()->check(CLI::Range(1ull, 1ull << 40));
  cmd->add_option("--steps", o->c.steps, "Steps per program, at most")->capture_default_str()->check(CLI::Range(1u, 100000u));
  cmd->add_option("--threads", o->c.lockstep.program.chooser.hosts, "Host threads")->capture_default_str()->check(CLI::Range(1, 16));
  cmd->add_option("--kthreads", o->c.lockstep.program.chooser.max_kthreads, "Kthreads alive at most")->capture_default_str()->check(CLI::Range(0, 16));
  cmd->add_option("--maxproc", o->c.lockstep.program.maxproc, "maxproc of each kernel instance")->capture_default_str()->check(CLI::Range(2, 30000));
  cmd->add_option("--pid-max", o->c.lockstep.program.pid_max, "PID_MAX of each kernel instance (SPEC: 30000; small so pids wrap)")->capture_default_str()->check(CLI::Range(2, 30000));
  cmd->add_option("--shard", o->shard, "Run shard I of N (0-based): the program indices i with i mod N = I. Default: from "
                                       "GTEST_TOTAL_SHARDS/GTEST_SHARD_INDEX or TEST_TOTAL_SHARDS/TEST_SHARD_INDEX, else all");
  auto* program_opt = cmd->add_option("--program", o->program, "Run only program I of this seed (what a failing run prints; any shard count)");
  cmd->add_option("--fault", o->fault, "Injected fault(s) to enable in the impl, comma-separated (see 'lockstep faults')");
  cmd->add_option("--time-budget", o->budget_s, "Seconds after which no new program starts")->capture_default_str()->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--junit", o->junit, "Write a JUnit XML report to FILE");
  cmd->add_option("--schedule-seed", o->c.lockstep.schedule.seed, "With --replay and an interleaving strategy: the schedule's seed (what a failing run prints)")
      ->capture_default_str();
  cmd->add_option("--replay", o->replay, "Run this one program (the text a failing run prints) instead of random ones");
  cmd->add_flag("--os-threads", o->os_threads,
                 "Run the controlled impl's threads as OS threads instead of fibers (slower; the same seed gives the same run)");
  cmd->add_option("--jobs", o->jobs,
                  "Programs run side by side, each on its own kernel instances (0: one per hardware thread). The report and the failure "
                  "found are the same for every value; only how many programs a time budget reaches differs")
      ->capture_default_str()
      ->check(CLI::Range(0u, 256u));
  cmd->add_option("--watchdog-ms", o->watchdog_ms, "A step that neither returns nor blocks within this is a DEADLOCK")->capture_default_str()->check(CLI::Range(10, 600000));
  cmd->add_option("--shrink-budget", o->shrink_s, "Seconds shrinking may take")->capture_default_str()->check(CLI::Range(0.0, 1e6));
  cmd->add_flag("--no-shrink", o->no_shrink, "Report the first failing program as found");
  cmd->add_option("--trace-dir", o->trace_dir, "On a failure write DIR/NAME.original.trace.jsonl (before shrinking) and DIR/NAME.trace.jsonl "
                                               "(shrunk); default: ./lockstep-traces, created when a failure is found")
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--no-traces", o->no_traces, "Write no trace files on a failure");
  cmd->add_option("--trace-name", o->trace_name, "NAME of the trace files (default: the fault's name, or seed-N)");
  cmd->callback([o, program_opt, cmd, &exit_code] {
    CampaignConfig& c = o->c;
    if (!o->sut.library.empty()) {
      SutRunArgs a;
      a.sut = o->sut;
      a.seed = c.seed;
      if (cmd->count("--programs") > 0) a.programs = c.programs;
      a.steps = c.steps;
      a.threads = c.lockstep.program.chooser.hosts;
      a.kthreads = c.lockstep.program.chooser.max_kthreads;
      if (cmd->count("--maxproc") > 0) a.maxproc = c.lockstep.program.maxproc;  // else the SUT's default (SutRunArgs)
      if (cmd->count("--pid-max") > 0) a.pid_max = c.lockstep.program.pid_max;
      a.fault = o->fault;
      a.budget_s = cmd->count("--time-budget") > 0 ? o->budget_s : 60;
      a.shrink_s = o->shrink_s;
      a.watchdog_ms = o->watchdog_ms;
      a.shrink = !o->no_shrink;
      a.junit = o->junit;
      a.replay = o->replay;
      a.trace_dir = o->trace_dir;
      a.trace_name = o->trace_name;
      a.no_traces = o->no_traces;
      a.race_seconds = o->race_seconds;
      for (const char* opt : {"--strategy", "--schedule-seed", "--shard", "--program"})
        if (cmd->count(opt) > 0) a.refused.emplace_back(opt);
      exit_code = run_sut(std::move(a));
      return;
    }
    if (cmd->count("--race-seconds") > 0)
      throw CLI::ValidationError("--race-seconds", "applies only with --sut (the built-in runs interleave inside operations)");
    c.shard = resolve_shard(o->shard);
    if (program_opt->count() > 0) c.program = o->program;
    std::string error;
    auto faults = impl::FaultSet::parse(o->fault, &error);
    if (!faults) throw CLI::ValidationError("--fault", error);
    c.lockstep.faults = *faults;
    c.lockstep.watchdog = std::chrono::milliseconds(o->watchdog_ms);
    c.lockstep.fibers = !o->os_threads;
    c.jobs = o->jobs != 0 ? o->jobs : std::max(1u, std::thread::hardware_concurrency());
    c.time_budget = std::chrono::milliseconds(static_cast<long long>(o->budget_s * 1000));
    c.shrink = !o->no_shrink;
    c.shrink_budget = std::chrono::milliseconds(static_cast<long long>(o->shrink_s * 1000));
    // Traces of a failure: the original is written before shrinking starts, so a crash or a kill
    // while shrinking still leaves it; both writes are atomic (traces/FORMAT.md).
    std::string trace_error;
    if (!o->no_traces) {
      const bool default_dir = o->trace_dir.empty();
      if (default_dir) o->trace_dir = "lockstep-traces";
      std::string name = o->trace_name;
      if (name.empty())
        for (auto f : c.lockstep.faults.names()) name += (name.empty() ? "" : "+") + std::string(f);
      if (name.empty()) name = fmt::format("seed-{}", c.seed);
      // The writers live in o->c: they must not own `o` (a reference cycle, a leak at exit).
      Opts* opts = o.get();
      auto writer = [opts, &c, &trace_error, name, default_dir](const char* suffix) {
        return [opts, &c, &trace_error, name, suffix, default_dir](const Program& p, const LockstepResult& r) {
          std::error_code ec;
          if (default_dir) std::filesystem::create_directories(opts->trace_dir, ec);
          const std::string path = fmt::format("{}/{}{}", opts->trace_dir, name, suffix);
          std::vector<TraceEvent> events = r.events;
          if (r.verdict == Verdict::Deadlock && r.events.size() < p.steps.size())
            append_stuck_step(events, stuck_op(r, c.lockstep, p), c.lockstep, r.unfinished_turns);
          const std::string err = write_trace(path, trace_header(r, c.lockstep, c.seed, encode(p)), events);
          if (!err.empty() && trace_error.empty()) trace_error = err;
          else if (err.empty()) std::fprintf(stderr, "lockstep: wrote %s\n", path.c_str());
        };
      };
      c.on_failure_found = writer(".original.trace.jsonl");
      c.on_failure_shrunk = writer(".trace.jsonl");
    }
    CampaignReport rep;
    if (!o->replay.empty()) {
      Program p;
      if (!decode(o->replay, p, error)) throw CLI::ValidationError("--replay", error);
      rep = replay_program(p, c);
      // replay_program does not shrink, so its one failure is both the original and the shrunk trace.
      if (rep.failure && c.on_failure_shrunk) c.on_failure_shrunk(rep.failure->shrunk, rep.failure->shrunk_result);
    } else {
      Progress bar("lockstep run", c.programs, c.time_budget);
      rep = run_campaign(c, [&](const CampaignProgress& p) {
        bar.update(p.shrinking ? c.programs : p.programs,
                   p.shrinking ? fmt::format("shrinking, {} candidates tried", p.programs) : fmt::format("{} steps", p.steps));
      });
      bar.finish();
    }
    std::fputs(campaign_summary(rep, c).c_str(), stdout);
    if (!trace_error.empty()) {
      std::fprintf(stderr, "lockstep: %s\n", trace_error.c_str());
      exit_code = 2;
      return;
    }
    if (!o->junit.empty()) {
      const std::string err = write_file_atomically(o->junit, junit_xml(rep, c));
      if (!err.empty()) {
        std::fprintf(stderr, "lockstep: %s\n", err.c_str());
        exit_code = 2;
        return;
      }
    }
    exit_code = rep.agreed() ? 0 : 1;
  });
}

}  // namespace lockstep::cli
