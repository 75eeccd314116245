// `lockstep run --sut LIB` and `lockstep mutants --sut LIB`: a plug-in SUT checked in lockstep
// through the C API, each program in a child process (checker/sut). The summary says what was loaded,
// which operations were generated, what could be compared, and that the controlled scheduler does
// not apply.
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "checker/atomic_file.hpp"
#include "checker/junit.hpp"
#include "checker/progress.hpp"
#include "checker/program.hpp"
#include "checker/sut_campaign.hpp"
#include "checker/stress_files.hpp"
#include "checker/sut_state.hpp"
#include "checker/trace_io.hpp"
#include "impl/faults.hpp"
#include "sut_options.hpp"

namespace lockstep::cli {

using namespace lockstep::checker;
using namespace lockstep::checker::sut;

namespace {

std::string join(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : std::string(sep)) + x;
  return s;
}

// The limits a SUT that reads them from the environment runs with unless told otherwise: the built-in
// run's (ProgramConfig), small enough that programs reach maxproc and wrap pids (EAGAIN, K6's panic,
// the pid cursor's wrap); at the SPEC's 64 and 30000 they are never reached.
const int kSmallMaxproc = checker::ProgramConfig{}.maxproc;
const model::Pid kSmallPidMax = checker::ProgramConfig{}.pid_max;

// The campaign's configuration, or an error for a SUT that cannot be loaded (exit 2). Resolves the
// limits `a` leaves to the SUT (SutRunArgs::maxproc).
std::optional<SutCampaignConfig> configure(SutRunArgs& a, SutNames& names, std::string& error) {
  SutCampaignConfig c;
  c.run.spawn.host = default_host_path();
  c.run.spawn.library = a.sut.library;
  if (!a.fault.empty()) c.run.spawn.env.emplace_back("LOCKSTEP_FAULT", a.fault);
  if (std::error_code ec; !std::filesystem::exists(a.sut.library, ec)) {
    error = fmt::format("--sut: {}: no such file", a.sut.library);
    return std::nullopt;
  }
  const std::optional<SutNames> n = probe_names(c.run.spawn, error);
  if (!n) return std::nullopt;
  names = *n;
  if (!names.missing_required.empty()) {
    error = fmt::format("--sut: {} does not export the required {}", a.sut.library, join(names.missing_required));
    return std::nullopt;
  }
  const bool env_limits = (names.mask & bit(Call::EnvLimits)) != 0;
  if (a.maxproc == 0) a.maxproc = env_limits ? kSmallMaxproc : model::kDefaultMaxproc;
  if (a.pid_max == 0) a.pid_max = env_limits ? kSmallPidMax : model::kPidMax;
  // The built-in implementation as a SUT reads these (lockstep_sut_env_limits); a foreign SUT that
  // does not must be configured to match.
  c.run.spawn.env.emplace_back("LOCKSTEP_MAXPROC", std::to_string(a.maxproc));
  c.run.spawn.env.emplace_back("LOCKSTEP_PID_MAX", std::to_string(a.pid_max));
  c.run.program.chooser.hosts = a.threads;
  c.run.program.chooser.max_kthreads = a.kthreads;
  c.run.program.maxproc = a.maxproc;
  restrict_to(c.run.program, names);
  c.run.program.pid_max = a.pid_max;
  c.run.tick_ns = static_cast<std::int64_t>(a.sut.tick_us) * 1000;
  c.run.block_window = std::chrono::milliseconds(a.sut.block_window_ms);
  c.run.watchdog = std::chrono::milliseconds(a.watchdog_ms);
  c.run.max_tick_wait = std::chrono::milliseconds(a.sut.max_tick_wait_ms);
  c.run.probe = !a.sut.no_probe;
  c.seed = a.seed;
  c.programs = a.programs;
  c.steps = a.steps;
  c.time_budget = std::chrono::milliseconds(static_cast<long long>(a.budget_s * 1000));
  c.shrink = a.shrink;
  c.shrink_budget = std::chrono::milliseconds(static_cast<long long>(a.shrink_s * 1000));
  return c;
}

std::string header_text(const SutRunArgs& a, const SutNames& n, const SutCampaignConfig& c) {
  std::string s = fmt::format("SUT: {} (loaded in a child process in {:.1f} ms: spawn, dlopen, constructors)\n", a.sut.library,
                              n.spawn_seconds * 1000);
  s += fmt::format("  exports {} of the {} names lockstep knows: {}\n", n.present.size(), kCallCount, join(n.present));
  const std::vector<std::string> ops = generated_ops(n);
  s += fmt::format("  operations generated: {}\n", join(ops));
  std::vector<std::string> absent;
  for (std::size_t i = 0; i < kCallCount; ++i)
    if (((n.mask >> i) & 1u) == 0) absent.emplace_back(kCallNames[i]);
  if (!absent.empty()) s += fmt::format("  not exported, so not generated: {}\n", join(absent));
  s += fmt::format(
      "  compared: what the API shows (return values and errno, pids and uids, curlwp by first appearance, fds and "
      "fstat sizes, console lines on stderr, FATAL as the process's death with its panic rule, whether a call "
      "blocks: no return within {} ms, and whether a new kthread's first instruction finds *newp set){}{}\n",
      c.run.block_window.count(), c.run.probe ? "; every free host's curlwp / pid / ppid / uid after each step" : "",
      has_introspection(n.mask) ? "; and the whole SPEC §7 state after each step (lockstep_sut_state), except while a timed wait is pending"
                                : "; no introspection (the SUT does not export lockstep_sut_name_host and lockstep_sut_state)");
  s += fmt::format("  limits: maxproc {}, PID_MAX {} ({})\n", a.maxproc, a.pid_max,
                   (n.mask & bit(Call::EnvLimits)) != 0
                       ? "passed as LOCKSTEP_MAXPROC / LOCKSTEP_PID_MAX, which the SUT reads: it exports lockstep_sut_env_limits"
                       : "passed as LOCKSTEP_MAXPROC / LOCKSTEP_PID_MAX; the SUT does not export lockstep_sut_env_limits, so it must "
                         "be built with these");
  s += fmt::format("  time: the SUT's real ticks of {:.3f} ms ({})\n", static_cast<double>(n.tick_ns > 0 ? n.tick_ns : c.run.tick_ns) / 1e6,
                   n.tick_ns > 0 ? "lockstep_sut_tick_ns" : "not exported: --sut-tick-us");
  s += "  scheduler: none. A foreign SUT runs on its own OS threads, so the controlled scheduler does not apply: "
       "lockstep releases one call at a time and waits for it to return or block.\n";
  return s;
}

std::string race_phase_text(double seconds) {
  if (seconds <= 0) return "  concurrent phase: none (--race-seconds 0): races inside operations are not looked for\n";
  return fmt::format("  concurrent phase: then {:.0f} s of stress --sut on the same library: a call in flight on every host thread and "
                     "kthread body at once, the host scheduling the SUT's calls at its pthread calls (serial and free phases, delays, "
                     "spurious wake-ups), hosts meeting on one process, fd table and new path; the history judged for linearizability "
                     "(SPEC §8)\n",
                     seconds);
}

// The concurrent phase's share of the time budget: --race-seconds, at most half the budget; none for
// a replay (one program) or with --race-seconds 0.
double race_phase_seconds(const SutRunArgs& a) { return a.replay.empty() ? std::min(a.race_seconds, a.budget_s / 2) : 0; }

// What the concurrent phase found, for the summary; writes its files on a failure (and with
// --trace-dir). Returns false when the files could not be written.
bool report_race_phase(const SutRunArgs& a, const RacePhase& p, std::string& s, std::string& error) {
  s += "\nconcurrent phase (stress --sut):\n";
  if (!p.ran()) {
    s += fmt::format("not run: {}\n", p.could_not_run);
    return true;
  }
  if (p.info.requested_tick_ns != 0)
    s += fmt::format("tick      {:.0f} ms, not {:.0f} ms: rump_init took {:.3f} ms, and the clock's phase is placed only when it takes under "
                     "half a tick\n",
                     static_cast<double>(p.info.tick_ns) / 1e6, static_cast<double>(p.info.requested_tick_ns) / 1e6,
                     static_cast<double>(p.info.clock_slack_ns) / 1e6);
  if (p.episodes > 1 || p.config.ops != 0)
    s += fmt::format("episodes  {} of at most {} calls, each in a fresh child and judged on its own (no introspection, so no barrier "
                     "to commit at: one long history outgrows the judge), {} calls in all{}; below: {}\n",
                     p.episodes, p.config.ops, p.episode_calls,
                     p.episodes_unknown > 0 ? fmt::format(", {} left UNKNOWN by the judge", p.episodes_unknown) : "",
                     p.verdict.kind == stress::StressVerdictKind::Agree ? "the last" : "the one that decides the verdict");
  s += recording_summary(p.rec, p.config) + verdict_summary(p.rec, p.verdict);
  const bool failed = p.verdict.kind != stress::StressVerdictKind::Agree;
  if (a.no_traces || (!failed && a.trace_dir.empty())) return true;
  const std::string dir = a.trace_dir.empty() ? "lockstep-traces" : a.trace_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string name = a.trace_name;
  if (name.empty()) name = a.fault.empty() ? fmt::format("sut-seed-{}", a.seed) : "sut-" + a.fault;
  const stress::StressFiles files =
      write_stress_files(dir, name + ".stress", p.rec, p.verdict, a.seed, a.fault.empty() ? std::vector<std::string>{} : std::vector<std::string>{a.fault});
  for (const std::string& f : files.written) s += fmt::format("wrote     {}\n", f);
  error = files.error;
  return error.empty();
}

std::string verdict_line(const SutCampaignReport& r, const RacePhase* race) {
  if (r.agreed() && race != nullptr && race->ran()) {
    const stress::StressVerdict& v = race->verdict;
    switch (v.kind) {
      case stress::StressVerdictKind::Agree: break;
      case stress::StressVerdictKind::Violation:
        return fmt::format("VERDICT: violation in the concurrent phase ({}): every call-by-call program agreed\n", model::rule_name(v.judgement.rule));
      case stress::StressVerdictKind::Deadlock:
        return "VERDICT: deadlock in the concurrent phase: every call-by-call program agreed\n";
      case stress::StressVerdictKind::Unknown:
        return "VERDICT: unknown: every call-by-call program agreed; the judge of the concurrent phase ran out of budget (its history "
               "is kept)\n";
    }
    return "VERDICT: agree (the SUT and the model agreed on every call of every program, and the concurrent phase's history is "
           "linearizable)\n";
  }
  if (r.agreed())
    return "VERDICT: agree (the SUT and the model agreed on every call of every program)\n";
  if (!r.error.empty()) return fmt::format("VERDICT: none: the run stopped, {}\n", r.error);
  const SutRunResult& f = r.failure->shrunk_result;
  return fmt::format("VERDICT: {} ({})\n", to_string(f.verdict), model::rule_name(f.rule));
}

void write_traces(const SutRunArgs& a, SutCampaignConfig& c, std::string& trace_error) {
  if (a.no_traces) return;
  const bool default_dir = a.trace_dir.empty();
  const std::string dir = default_dir ? "lockstep-traces" : a.trace_dir;
  std::string name = a.trace_name;
  if (name.empty()) name = a.fault.empty() ? fmt::format("sut-seed-{}", a.seed) : "sut-" + a.fault;
  auto writer = [dir, name, default_dir, &trace_error, a](const char* suffix) {
    return [dir, name, default_dir, suffix, &trace_error, a](const Program& p, const SutRunResult& r) {
      std::error_code ec;
      if (default_dir) std::filesystem::create_directories(dir, ec);
      TraceHeader h;
      h.tool = "lockstep run --sut";
      h.seed = a.seed;
      h.config = TraceConfig{a.threads, a.kthreads, a.maxproc, a.pid_max};
      if (!a.fault.empty()) h.faults.push_back(a.fault);
      h.program = encode(p);
      h.expect.verdict = r.verdict == SutVerdict::Deadlock ? Verdict::Deadlock : r.agreed() ? Verdict::Agree : Verdict::Diverge;
      h.expect.step = r.events.empty() ? 0 : r.events.size() - 1;
      h.expect.rule = r.rule;
      h.expect.what = r.failure;
      const std::string path = fmt::format("{}/{}{}", dir, name, suffix);
      const std::string err = write_trace(path, h, r.events);
      if (!err.empty() && trace_error.empty()) trace_error = err;
      else if (err.empty()) std::fprintf(stderr, "lockstep: wrote %s\n", path.c_str());
    };
  };
  c.on_failure_found = writer(".original.trace.jsonl");
  c.on_failure_shrunk = writer(".trace.jsonl");
}

std::string reproduce(const SutRunArgs& a, const Program& p) {
  std::string cmd = fmt::format("lockstep run --sut {} --threads {} --kthreads {} --maxproc {}", a.sut.library, a.threads,
                                a.kthreads, a.maxproc);
  cmd += fmt::format(" --pid-max {}", a.pid_max);
  if (!a.fault.empty()) cmd += fmt::format(" --fault {}", a.fault);
  return cmd + fmt::format(" --replay '{}'", encode(p));
}

std::string junit_text(const SutCampaignReport& r, const SutRunArgs& a, const RacePhase* race) {
  std::string cases;
  std::size_t failures = r.failure ? 1 : 0, errors = r.error.empty() ? 0 : 1, tests = 1;
  double seconds = r.seconds;
  cases += fmt::format("  <testcase classname=\"lockstep.sut\" name=\"{} programs, seed {}\" time=\"{:.3f}\">\n",
                       r.programs, a.seed, r.seconds);
  if (r.failure)
    cases += fmt::format("    <failure message=\"{}\">{}</failure>\n", xml_escape(r.failure->shrunk_result.failure),
                         xml_escape(sut_listing(r.failure->shrunk_result) + "\n" + reproduce(a, r.failure->shrunk)));
  if (!r.error.empty()) cases += fmt::format("    <error message=\"{}\"/>\n", xml_escape(r.error));
  cases += "  </testcase>\n";
  if (race != nullptr && race->ran()) {
    ++tests;
    seconds += race->rec.stats.seconds;
    const bool bad = race->verdict.kind != stress::StressVerdictKind::Agree;
    failures += bad ? 1 : 0;
    cases += fmt::format("  <testcase classname=\"lockstep.sut\" name=\"concurrent phase: {} calls, seed {}\" time=\"{:.3f}\">\n",
                         race->rec.history.ops.size(), a.seed, race->rec.stats.seconds);
    if (bad)
      cases += fmt::format("    <failure message=\"{}\">{}</failure>\n", xml_escape(race->verdict.line),
                           xml_escape(verdict_summary(race->rec, race->verdict)));
    cases += "  </testcase>\n";
  }
  return fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"lockstep run --sut {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3f}\">\n{}</testsuite>\n",
                     xml_escape(a.sut.library), tests, failures, errors, seconds, cases);
}

}  // namespace

int run_sut(SutRunArgs a) {
  if (!a.refused.empty()) {
    std::fprintf(stderr, "lockstep: %s: the controlled scheduler does not apply to a foreign SUT (it runs on its own threads), "
                         "so this option has no meaning with --sut\n", join(a.refused).c_str());
    return 2;
  }
  SutNames names;
  std::string error;
  std::optional<SutCampaignConfig> c = configure(a, names, error);
  if (!c) {
    std::fprintf(stderr, "lockstep: %s\n", error.c_str());
    return 2;
  }
  // A bad LOCKSTEP_*_PROB for the concurrent phase is refused before the programs run, not after.
  if (const std::string bad = a.race_seconds > 0 && a.replay.empty() ? check_race_environment() : ""; !bad.empty()) {
    std::fprintf(stderr, "lockstep: %s\n", bad.c_str());
    return 2;
  }
  if (!a.replay.empty()) {
    Program p;
    if (!decode(a.replay, p, error)) {
      std::fprintf(stderr, "lockstep: --replay: %s\n", error.c_str());
      return 2;
    }
    c->replay = p;
  }
  // The concurrent phase's seconds come out of the budget (at most half of it).
  const double race_seconds = race_phase_seconds(a);
  c->time_budget -= std::chrono::milliseconds(static_cast<long long>(race_seconds * 1000));
  std::string trace_error;
  write_traces(a, *c, trace_error);
  std::fputs((header_text(a, names, *c) + (c->replay ? "" : race_phase_text(race_seconds))).c_str(), stdout);
  std::fflush(stdout);
  SutCampaignReport rep;
  {
    checker::Progress bar("lockstep run --sut", c->replay ? 1 : c->programs);
    rep = run_sut_campaign(*c, [&](const SutProgress& p) {
      bar.update(p.programs, p.shrinking ? fmt::format("shrinking, {} candidates tried", p.programs) : fmt::format("{} steps", p.steps));
    });
    bar.finish();
  }
  std::string s = "\n" + rep.coverage.table();
  s += fmt::format("programs {}  steps {}  calls {}  {:.1f} s  {:.1f} programs/s  {:.0f} calls/s  child start {:.2f} ms/program{}\n",
                   rep.programs, rep.steps, rep.calls, rep.seconds, rep.seconds > 0 ? rep.programs / rep.seconds : 0,
                   rep.seconds > 0 ? rep.calls / rep.seconds : 0, rep.programs ? rep.spawn_seconds * 1000 / rep.programs : 0,
                   rep.budget_exhausted ? "  (time budget reached)" : "");
  if (rep.reused > 0 || rep.states_compared > 0)
    s += fmt::format("{} programs ran in a child reset with lockstep_sut_reset; {} §7 states compared with lockstep_sut_state\n",
                     rep.reused, rep.states_compared);
  if (rep.armed_compared > 0)
    s += fmt::format("{} states read while a timed wait pended: the timeouts the SUT armed compared with the model's\n", rep.armed_compared);
  if (rep.kthread_pids_asked > 0)
    s += fmt::format("{} kthread pids learnt with {} newlwp requests (scans of the pids the model has free; EBUSY names the kthread's): the SUT does not export lockstep_proc_pid\n",
                     rep.kthread_pids_asked, rep.pid_probes);
  if (rep.failure) {
    const SutFailure& f = *rep.failure;
    s += fmt::format("\nFAILURE in program {} ({} steps; shrunk to {} in {} runs{}):\n{}\n{}\n", f.program_index, f.original.steps.size(),
                     f.shrunk.steps.size(), f.shrink_runs, f.shrink_budget_exhausted ? ", shrink budget reached" : "",
                     sut_listing(f.shrunk_result), f.shrunk_result.failure);
    if (!f.shrunk_result.output.empty()) {
      std::string out = f.shrunk_result.output;
      if (out.size() > 800) out = "..." + out.substr(out.size() - 800);
      s += fmt::format("the SUT's output:\n{}\n", out);
    }
    if (!f.shrink_error.empty()) s += fmt::format("shrinking stopped early: {}\n", f.shrink_error);
    s += fmt::format("reproduce: {}\n", reproduce(a, f.shrunk));
  }
  if (!rep.error.empty()) {
    // Not a verdict on the SUT: the machine could not start its process (the host or the library
    // went away, or no process can be made), so the run ends as an error, like one refused at start.
    s += verdict_line(rep, nullptr);
    std::fputs(s.c_str(), stdout);
    std::fprintf(stderr, "lockstep: %s\n", rep.error.c_str());
    if (!a.junit.empty())
      if (const std::string err = write_file_atomically(a.junit, junit_text(rep, a, nullptr)); !err.empty())
        std::fprintf(stderr, "lockstep: %s\n", err.c_str());
    return 2;
  }
  // Races inside operations, which no call-by-call program shows: only after the programs agreed (a
  // failure is reported as found, without a second opinion that could only repeat or hide it).
  std::optional<RacePhase> race;
  std::string race_error;
  if (rep.agreed() && race_seconds > 0) {
    std::fputs(s.c_str(), stdout);
    std::fflush(stdout);
    s.clear();
    RacePhaseOptions ro;
    ro.seconds = race_seconds;
    ro.tick_us = a.sut.tick_us;
    ro.fault = a.fault;
    ro.shrink = a.shrink;
    ro.shrink_seconds = std::min(a.shrink_s, 10.0);
    if (!has_introspection(names.mask)) ro.episode_ops = kEpisodeOps;
    checker::Progress bar("concurrent phase", static_cast<std::uint64_t>(race_seconds * 1000));
    ro.progress = [&bar](double secs, std::uint64_t calls) { bar.update(static_cast<std::uint64_t>(secs * 1000), fmt::format("ms, {} calls", calls)); };
    race = run_race_phase(a, ro);
    bar.finish();
    if (!race->bad_input.empty()) {
      std::fprintf(stderr, "lockstep: %s\n", race->bad_input.c_str());
      return 2;
    }
    if (!report_race_phase(a, *race, s, race_error) && trace_error.empty()) trace_error = race_error;
  }
  s += verdict_line(rep, race ? &*race : nullptr);
  std::fputs(s.c_str(), stdout);
  if (!trace_error.empty()) {
    std::fprintf(stderr, "lockstep: %s\n", trace_error.c_str());
    return 2;
  }
  if (!a.junit.empty()) {
    if (const std::string err = write_file_atomically(a.junit, junit_text(rep, a, race ? &*race : nullptr)); !err.empty()) {
      std::fprintf(stderr, "lockstep: %s\n", err.c_str());
      return 2;
    }
  }
  if (!rep.agreed() || (race && race->found())) return 1;
  return race && race->ran() && race->verdict.kind == stress::StressVerdictKind::Unknown ? 3 : 0;
}

int mutants_sut(SutMutantArgs m) {
  SutNames names;
  std::string error;
  SutRunArgs base = m.run;
  base.no_traces = true;
  if (const std::string bad = m.races.empty() ? "" : check_race_environment(); !bad.empty()) {
    std::fprintf(stderr, "lockstep: %s\n", bad.c_str());
    return 2;
  }
  std::optional<SutCampaignConfig> c0 = configure(base, names, error);
  if (!c0) {
    std::fprintf(stderr, "lockstep: %s\n", error.c_str());
    return 2;
  }
  std::fputs(header_text(base, names, *c0).c_str(), stdout);
  std::string table = fmt::format("\n{:<28} {:<10} {:>9} {:>8}  {}\n", "fault", "result", "seconds", "programs", "how (shrunk)");
  int survived = 0;
  for (const std::string& fault : m.faults) {
    SutRunArgs a = base;
    a.fault = fault;
    std::optional<SutCampaignConfig> c = configure(a, names, error);
    if (!c) {
      std::fprintf(stderr, "lockstep: %s\n", error.c_str());
      return 2;
    }
    const SutCampaignReport r = run_sut_campaign(*c);
    if (!r.error.empty()) {
      std::fprintf(stderr, "lockstep: %s: %s\n", fault.c_str(), r.error.c_str());
      return 2;
    }
    std::string how = "-";
    if (r.failure) {
      const SutRunResult& f = r.failure->shrunk_result;
      how = fmt::format("{} {} in {} steps", to_string(f.verdict), model::rule_name(f.rule), r.failure->shrunk.steps.size());
    } else {
      ++survived;
    }
    const std::string line = fmt::format("{:<28} {:<10} {:>9.1f} {:>8}  {}\n", fault, r.failure ? "killed" : "SURVIVED", r.seconds, r.programs, how);
    std::fprintf(stderr, "mutants --sut: %s", line.c_str());
    table += line;
  }
  // The control: the same SUT with no fault must agree, or every kill above means nothing.
  SutRunArgs ca = base;
  ca.programs = m.control_programs;
  std::optional<SutCampaignConfig> cc = configure(ca, names, error);
  if (!cc) {
    std::fprintf(stderr, "lockstep: %s\n", error.c_str());
    return 2;
  }
  const SutCampaignReport control = run_sut_campaign(*cc);
  if (!control.error.empty()) {
    std::fprintf(stderr, "lockstep: the control run: %s\n", control.error.c_str());
    return 2;
  }
  table += fmt::format("{:<28} {:<10} {:>9.1f} {:>8}  {}\n", "(control: no fault)", control.agreed() ? "agree" : "FALSE ALARM",
                       control.seconds, control.programs, control.agreed() ? "" : control.failure->shrunk_result.failure);
  const std::size_t killed = m.faults.size() - static_cast<std::size_t>(survived);
  std::size_t races_found = 0;
  for (const std::string& fault : m.races) {
    std::fprintf(stderr, "mutants --sut: %s through stress --sut (%.0f s)\n", fault.c_str(), m.race_seconds);
    const RaceFaultResult r = stress_race_fault(m, fault);
    if (!r.bad_input.empty()) {
      std::fprintf(stderr, "lockstep: %s\n", r.bad_input.c_str());
      return 2;
    }
    races_found += r.killed ? 1 : 0;
    if (!r.killed && m.races_must_die) ++survived;
    table += fmt::format("{:<28} {:<10} {:>9.1f} {:>8}  {}\n", fault, r.killed ? "killed" : r.decided ? "not found" : "unknown", r.seconds, "-", r.how);
  }
  for (const auto& [fault, why] : m.silent) table += fmt::format("{:<28} {:<10} {:>9} {:>8}  {}\n", fault, "not run", "-", "-", why);
  table += fmt::format("\nkilled {}/{} through the plug-in path; control {}", killed, m.faults.size(), control.agreed() ? "agreed" : "FAILED");
  if (!m.races.empty())
    table += fmt::format("; race faults (not observable call by call): {} of {} found by one stress --sut run each", races_found, m.races.size());
  if (!m.silent.empty()) table += fmt::format("; {} not observable through the API (name them with --fault to run them)", m.silent.size());
  table += "\n";
  std::fputs(table.c_str(), stdout);
  return survived > 0 || !control.agreed() ? 1 : 0;
}

}  // namespace lockstep::cli
