// `lockstep stress`: free-running stress on real threads. The impl runs on the real backend with
// delays injected at its sync points; every call is recorded; the history is judged against the
// model (checker/stress, checker/lin). Exit 0 agree, 1 violation or deadlock, 2 bad usage,
// 3 unknown (the judge's budget ran out; the history is kept on disk).
#include <algorithm>
#include <cstdio>
#include <optional>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "checker/atomic_file.hpp"
#include "checker/junit.hpp"
#include "checker/stress.hpp"
#include "checker/stress_files.hpp"
#include "checker/stress_sut.hpp"
#include "checker/stress_trace.hpp"
#include "checker/stress_verdict.hpp"
#include "checker/trace_io.hpp"
#include "commands.hpp"

namespace lockstep::cli {

using namespace lockstep::checker;
using namespace lockstep::checker::stress;

namespace {

struct Opts {
  StressConfig c;
  VerdictOptions v;
  std::string fault, junit, trace_dir, trace_name;
  double tick_ms = 1.0;
  bool tick_given = false;  // --tick-ms: the user's tick, never lengthened
  long max_delay_us = 200;
  long barrier_ms = 10;
  bool no_shrink = false;
  std::string sut;
  std::string sut_schedule = "mixed";
  int maxproc = 64;
};

// `stress --sut LIB`: the same run from outside a plug-in SUT (checker/stress/src/sut_stress_run.cpp).
// What lockstep cannot do there is said, never skipped silently: it has no controlled scheduler over
// the SUT's threads (its delays and spurious wake-ups go into the SUT's pthread calls instead), and
// without introspection it compares answers, never the §7 state. nullopt: the SUT could not be used (exit 2, one line on stderr).
std::optional<StressRecording> record_plugin(const Opts& o, const stress::Progress& progress, int& exit_code) {
  const StressConfig& c = o.c;
  SutStressOptions s;
  s.spawn.host = sut::default_host_path();
  s.spawn.library = o.sut;
  s.maxproc = o.maxproc;
  s.tick_ns = c.tick.count();
  s.may_lengthen_tick = !o.tick_given;
  if (!o.fault.empty()) s.spawn.env.emplace_back("LOCKSTEP_FAULT", o.fault);
  s.spawn.env.emplace_back("LOCKSTEP_TICK_US", std::to_string(std::max<long long>(100, c.tick.count() / 1000)));
  for (auto& v : sut::noise_environment(c.delay_probability, c.spurious_probability, c.max_delay, c.seed)) s.spawn.env.push_back(std::move(v));
  for (auto& v : sut::schedule_environment(o.sut_schedule)) s.spawn.env.push_back(std::move(v));
  if (std::error_code ec; !std::filesystem::exists(o.sut, ec)) {
    std::fprintf(stderr, "lockstep: --sut: %s: no such file\n", o.sut.c_str());
    exit_code = 2;
    return std::nullopt;
  }
  std::printf("lockstep stress --sut %s: %d host threads, %d kthreads (up to %d), maxproc %d, seed %llu\n", o.sut.c_str(), c.threads,
              c.kthreads, c.max_kthreads, o.maxproc, static_cast<unsigned long long>(c.seed));
  const char* serial_text = "one SUT call runs at a time, switched at the SUT's pthread mutex and condition calls, with windows after "
                            "an unlock for the next call to run in (its own threads run free)";
  if (o.sut_schedule == "serial") std::printf("          schedule: serial (checker/sut/host/serial.hpp): %s\n", serial_text);
  else if (o.sut_schedule == "mixed")
    std::printf("          schedule: mixed (checker/sut/host/serial.hpp): phases of 100-500 ms, serial (%s) and free (the OS schedules them)\n",
                serial_text);
  else std::printf("          schedule: free: the SUT's calls run on their threads as the OS schedules them\n");
  std::printf("          noise: the SUT's pthread mutexes and condition variables are lockstep-sut-host's (checker/sut/host/noise.hpp): "
              "a delay at %g of their sync points (when not serial), a spurious wake-up at %g of their waits\n",
              c.delay_probability, c.spurious_probability);
  std::fflush(stdout);
  SutStressInfo info;
  try {
    StressRecording rec = record_sut_stress(c, s, info, progress);
    std::fprintf(stderr, "\r%60s\r", "");
    std::printf("loaded    %s: tick %.3g ms (%s), rump_init took %.3f ms (the clock's phase is known to that), child started in %.1f ms\n",
                o.sut.c_str(), static_cast<double>(info.tick_ns) / 1e6,
                std::find(info.exported.begin(), info.exported.end(), "lockstep_sut_tick_ns") != info.exported.end() ? "lockstep_sut_tick_ns"
                                                                                                                    : "--tick-ms",
                static_cast<double>(info.clock_slack_ns) / 1e6, info.spawn_seconds * 1e3);
    if (info.requested_tick_ns != 0)
      std::printf("          the tick is %.3g ms, not %.3g ms: rump_init took half of that or more in 5 children, and no --tick-ms was given\n",
                  static_cast<double>(info.tick_ns) / 1e6, static_cast<double>(info.requested_tick_ns) / 1e6);
    std::printf("generated %s (timed waits of 1..%d ticks)\n", fmt::format("{}", fmt::join(info.generated, ", ")).c_str(), info.max_timo);
    if (!info.not_generated.empty()) std::printf("not drawn %s\n", fmt::format("{}", fmt::join(info.not_generated, "; ")).c_str());
    std::printf("compared  every answer (return values, errno, curlwp, pids, fstat sizes) against the model, in some order real time allows\n");
    if (rec.panic && !info.output.empty()) std::printf("SUT output (last lines):\n%s\n", info.output.substr(info.output.size() > 2000 ? info.output.size() - 2000 : 0).c_str());
    return rec;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\r%60s\r", "");
    std::fprintf(stderr, "lockstep: --sut: %s\n", e.what());
    exit_code = 2;
    return std::nullopt;
  }
}

}  // namespace

void add_stress(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("stress", "Free-running stress on real threads; the recorded history is judged against the model");
  auto o = std::make_shared<Opts>();
  o->c.threads = static_cast<int>(2 * std::max(1u, std::thread::hardware_concurrency()));
  cmd->add_option("--duration", o->c.duration, "Seconds of free running")->capture_default_str();
  cmd->add_option("--ops", o->c.ops, "Stop after this many recorded calls (0: no limit)")->capture_default_str();
  cmd->add_option("--threads", o->c.threads, "Host threads (default: 2 x cores)")->capture_default_str();
  cmd->add_option("--kthreads", o->c.kthreads, "Kthreads started at the beginning")->capture_default_str();
  cmd->add_option("--max-kthreads", o->c.max_kthreads, "Kthreads alive at most (hosts create more while fewer)")->capture_default_str();
  cmd->add_option("--seed", o->c.seed, "Seed of the op mix and of the delays (a real run is not reproducible by it)")->capture_default_str();
  cmd->add_option("--delay-prob", o->c.delay_probability, "Probability of a delay at each sync point (0: none)")->capture_default_str();
  cmd->add_option("--max-delay-us", o->max_delay_us, "Longest injected sleep, microseconds")->capture_default_str();
  cmd->add_option("--focus-percent", o->c.focus_percent, "Share of a host's calls, in percent, that lean on the process the hosts share "
                                                         "for a stretch (its fd table, a new path, its parent's end); 0: none")
      ->capture_default_str();
  cmd->add_option("--spurious-prob", o->c.spurious_probability, "Probability that a condition wait wakes spuriously")->capture_default_str();
  auto* tick_opt = cmd->add_option("--tick-ms", o->tick_ms, "Length of a kernel tick, milliseconds (with --sut: 20 unless given; "
                                                            "LOCKSTEP_TICK_US in the child, assumed when the SUT does not export its tick)")
                       ->capture_default_str();
  cmd->add_option("--barrier-ms", o->barrier_ms, "Pause every thread and observe the impl's state this often (0: only at the end)")->capture_default_str();
  cmd->add_option("--fault", o->fault, "Injected fault(s) to enable in the impl, comma-separated (see 'lockstep faults')");
  cmd->add_option("--judge-budget", o->v.budget.max_seconds, "Seconds the judge may take; past it the verdict is UNKNOWN")->capture_default_str();
  cmd->add_option("--shrink-budget", o->v.shrink_seconds, "Seconds shrinking a violation may take")->capture_default_str();
  cmd->add_flag("--no-shrink", o->no_shrink, "Report a violation's whole history, unshrunk");
  cmd->add_flag("--no-commit", [o](std::int64_t) { o->v.commit = false; },
                "Judge without committing at barrier observations (slower; for cross-checking the judge)");
  cmd->add_flag("--no-record", [o](std::int64_t) { o->c.record = false; }, "Run without recording or judging (measures the recorder's cost)");
  cmd->add_option("--trace-dir", o->trace_dir, "Where traces and the history go (default: ./lockstep-traces on a failure; nothing on agree)");
  cmd->add_option("--trace-name", o->trace_name, "NAME of the files (default: stress-SEED, or the fault's name)");
  cmd->add_option("--junit", o->junit, "Write a JUnit XML report to FILE");
  cmd->add_option("--sut", o->sut, "Stress this shared library (the C API of <rump/rump.h>, <sys/kthread.h>) in a child process "
                                   "instead of the built-in implementation (README: Checking your implementation)");
  cmd->add_option("--sut-schedule", o->sut_schedule,
                  "With --sut: serial (one SUT call at a time, switched at the SUT's own sync points, a window after an unlock for "
                  "the next call), free (the OS schedules the SUT's threads) or mixed (phases of 100-500 ms of each)")
      ->capture_default_str()->check(CLI::IsMember({"serial", "mixed", "free"}));
  cmd->add_option("--maxproc", o->maxproc, "With --sut: the SUT's maxproc (LOCKSTEP_MAXPROC in the child)")
      ->capture_default_str()->check(CLI::Range(4, 100000));
  cmd->callback([o, tick_opt, &exit_code] {
    StressConfig& c = o->c;
    std::string error;
    auto faults = impl::FaultSet::parse(o->fault, &error);
    if (!faults) throw CLI::ValidationError("--fault", error);
    c.faults = *faults;
    // A SUT's clock starts somewhere inside rump_init, which lockstep times from outside (a few ms for
    // a SUT that builds its tables there): a tick several times longer keeps the phase placeable.
    o->tick_given = tick_opt->count() != 0;
    if (!o->sut.empty() && !o->tick_given) o->tick_ms = 20;
    if (!(o->tick_ms >= 0.1 && o->tick_ms <= 1000)) throw CLI::ValidationError("--tick-ms", "must be in [0.1, 1000]");
    if (o->max_delay_us < 0 || o->max_delay_us > 1'000'000) throw CLI::ValidationError("--max-delay-us", "must be in [0, 1000000]");
    if (!(o->v.budget.max_seconds > 0)) throw CLI::ValidationError("--judge-budget", "must be > 0");
    if (!(o->v.shrink_seconds >= 0)) throw CLI::ValidationError("--shrink-budget", "must be >= 0");
    c.tick = std::chrono::nanoseconds(static_cast<long long>(o->tick_ms * 1e6));
    c.max_delay = std::chrono::microseconds(o->max_delay_us);
    if (o->barrier_ms < 0 || o->barrier_ms > 3'600'000) throw CLI::ValidationError("--barrier-ms", "must be in [0, 3600000]");
    c.barrier = std::chrono::milliseconds(o->barrier_ms);
    if (auto bad = check_config(c)) throw CLI::ValidationError("stress", *bad);
    o->v.shrink = !o->no_shrink;

    std::vector<std::string> fault_names;
    for (auto f : c.faults.names()) fault_names.emplace_back(f);
    std::string name = o->trace_name;
    if (name.empty()) name = fmt::format("{}", fmt::join(fault_names, "+"));
    if (name.empty()) name = fmt::format("stress-{}", c.seed);

    if (!o->sut.empty() && !c.record) throw CLI::ValidationError("--no-record", "does not apply to --sut (lockstep records from outside the SUT)");
    if (o->sut.empty()) std::printf("lockstep stress: %d host threads, %d kthreads (up to %d), tick %.3g ms, delays %s, faults %s\n", c.threads, c.kthreads,
                c.max_kthreads, o->tick_ms,
                c.delay_probability > 0 ? fmt::format("p={} up to {} us, spurious wakeups p={}", c.delay_probability, o->max_delay_us, c.spurious_probability).c_str() : "off",
                fault_names.empty() ? "none" : fmt::format("{}", fmt::join(fault_names, ",")).c_str());
    std::fflush(stdout);
    const stress::Progress progress = [](double s, std::uint64_t n) {
      std::fprintf(stderr, "\rstress: %.1f s, %llu calls", s, static_cast<unsigned long long>(n));
    };
    StressRecording rec;
    if (o->sut.empty()) {
      rec = record_stress(c, progress);
    } else {
      std::optional<StressRecording> r = record_plugin(*o, progress, exit_code);
      if (!r) return;
      rec = std::move(*r);
    }
    std::fprintf(stderr, "\r%60s\r", "");
    std::fputs(recording_summary(rec, c).c_str(), stdout);
    if (!c.record) {
      exit_code = rec.stuck.empty() && !rec.panic ? 0 : 1;
      return;
    }
    std::fflush(stdout);
    const StressVerdict v = judge_stress(rec, o->v);
    std::fputs(verdict_summary(rec, v).c_str(), stdout);

    // Files: on anything but agree by default, always with --trace-dir.
    const bool failed = v.kind != StressVerdictKind::Agree;
    if (failed || !o->trace_dir.empty()) {
      const std::string dir = o->trace_dir.empty() ? "lockstep-traces" : o->trace_dir;
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      const StressFiles files = write_stress_files(dir, name, rec, v, c.seed, fault_names);
      for (const std::string& f : files.written) std::printf("wrote     %s\n", f.c_str());
      if (!files.error.empty()) {
        std::fprintf(stderr, "lockstep: %s\n", files.error.c_str());
        exit_code = 2;
        return;
      }
    }
    if (!o->junit.empty()) {
      const std::string err = write_file_atomically(o->junit, stress_junit(rec, v, c));
      if (!err.empty()) {
        std::fprintf(stderr, "lockstep: %s\n", err.c_str());
        exit_code = 2;
        return;
      }
    }
    exit_code = stress::exit_code(v.kind);
  });
}

}  // namespace lockstep::cli
