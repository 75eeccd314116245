// `--sut LIB` and its options, shared by `lockstep run` and `lockstep mutants` (cmd_run_sut.cpp):
// a plug-in SUT is checked in lockstep through the C API in a child process (checker/sut/SUT.md).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "checker/stress_sut.hpp"
#include "checker/stress_verdict.hpp"

namespace lockstep::cli {

struct SutOptions {
  std::string library;          // empty: no --sut
  int tick_us = 10000;          // the SUT's tick when it does not export lockstep_sut_tick_ns
  int block_window_ms = 5;
  int max_tick_wait_ms = 2000;
  bool no_probe = false;
};

inline void add_sut_options(CLI::App* cmd, SutOptions& o) {
  cmd->add_option("--sut", o.library, "Check this shared library (the C API of <rump/rump.h>, <sys/kthread.h>) instead of "
                                      "the built-in implementation, in a child process (README: Checking your implementation)");
  cmd->add_option("--sut-tick-us", o.tick_us, "With --sut: the SUT's tick in microseconds when it does not export "
                                              "lockstep_sut_tick_ns")->capture_default_str()->check(CLI::Range(100, 1000000));
  cmd->add_option("--block-window-ms", o.block_window_ms, "With --sut: a call the model says blocks must not return within this")
      ->capture_default_str()->check(CLI::Range(1, 10000));
  cmd->add_option("--max-tick-wait-ms", o.max_tick_wait_ms, "With --sut: the most real time one tick step waits for timeouts")
      ->capture_default_str()->check(CLI::Range(10, 600000));
  cmd->add_flag("--no-probe", o.no_probe, "With --sut: do not ask every free host its curlwp, pid, ppid and uid after each step");
}

struct SutRunArgs {
  SutOptions sut;
  std::uint64_t seed = 1;
  std::uint64_t programs = 1000000;
  std::uint32_t steps = 100;
  int threads = 3;
  int kthreads = 2;
  // 0: the default for the SUT (configure() in cmd_run_sut.cpp): the built-in run's small limits when
  // it reads them from LOCKSTEP_MAXPROC / LOCKSTEP_PID_MAX (it exports lockstep_sut_env_limits), else
  // the SPEC's 64 and 30000. Either way the child gets both variables.
  int maxproc = 0;
  int pid_max = 0;
  std::string fault;             // LOCKSTEP_FAULT in the child (the built-in impl as a SUT reads it)
  double budget_s = 60;
  double shrink_s = 30;
  int watchdog_ms = 2000;
  bool shrink = true;
  std::string junit, replay, trace_dir, trace_name;
  bool no_traces = false;
  // The concurrent phase after the call-by-call programs (seconds of stress --sut; 0: none). It counts
  // against budget_s: the programs get budget_s less this, this at most half of budget_s.
  double race_seconds = 10;
  std::vector<std::string> refused;  // options given that do not apply to a SUT (exit 2)
};

// `lockstep run --sut`: returns the exit code.
int run_sut(SutRunArgs a);

struct SutMutantArgs {
  SutRunArgs run;
  std::vector<std::string> faults;  // the faults to inject through LOCKSTEP_FAULT
  std::vector<std::pair<std::string, std::string>> silent;  // faults not run: not observable this way, and why
  std::vector<std::string> races;   // faults shown only by two calls in flight: run through stress --sut
  double race_seconds = 10;         // each one's stress run
  bool races_must_die = false;      // named with --fault: a race fault not found fails the run
  double stress_delay_probability = 0.05;  // LOCKSTEP_DELAY_PROB of those runs (the built-in impl reads it)
  double stress_judge_seconds = 30;
  std::uint64_t control_programs = 40;
};

// One `stress --sut` run of a's library, judged (sut_race_faults.cpp): what a call-by-call run cannot
// show, two calls in flight at once. The host's mixed schedule (serial and free phases), delays and
// spurious wake-ups in the SUT's pthread calls, a.threads hosts (at least 2), 2 kthreads.
struct RacePhaseOptions {
  double seconds = 10;
  // The tick: LOCKSTEP_TICK_US in the child (a SUT that reads it, as the built-in one does, runs at it),
  // and what is assumed of a SUT that does not export lockstep_sut_tick_ns. run --sut passes its
  // --sut-tick-us, which is what such a SUT's tick is said to be.
  int tick_us = 20000;
  std::string fault;                 // LOCKSTEP_FAULT in the child (empty: none)
  double delay_probability = 0.05;   // LOCKSTEP_DELAY_PROB, when set, overrides it (as the spurious one)
  double judge_seconds = 30;
  bool shrink = false;
  double shrink_seconds = 10;
  // 0: one run for all the seconds. Else episodes of at most this many calls, each in a fresh child
  // and judged on its own, until the seconds or the judge's budget are spent (run_race_phase).
  std::uint64_t episode_ops = 0;
  stress::Progress progress;         // seconds run and calls made, now and then
};
// Calls per episode for a SUT without introspection: its histories have no barrier to commit at, and
// the judge explains 3-4·10^3 calls in hundredths of a second where 10^5 outgrew its 30 s.
inline constexpr std::uint64_t kEpisodeOps = 4000;
struct RacePhase {
  stress::StressConfig config;
  stress::SutStressInfo info;
  stress::StressRecording rec;
  stress::StressVerdict verdict;
  std::string could_not_run;  // the SUT could not be stressed (it did not start, its rump_init is too slow): why
  std::string bad_input;      // a bad LOCKSTEP_*_PROB in the environment (exit 2)
  // Episodes (RacePhaseOptions::episode_ops): how many ran, their calls in all, how many the judge
  // left UNKNOWN. `rec` and `verdict` are the first violating episode's, else the first unknown one's,
  // else the last one's.
  std::uint64_t episodes = 1, episode_calls = 0, episodes_unknown = 0;
  bool ran() const { return could_not_run.empty() && bad_input.empty(); }
  bool found() const { return ran() && (verdict.kind == stress::StressVerdictKind::Violation || verdict.kind == stress::StressVerdictKind::Deadlock); }
};
RacePhase run_race_phase(const SutRunArgs& a, const RacePhaseOptions& o);

// One race fault through `stress --sut` for the fault's time budget (sut_race_faults.cpp).
struct RaceFaultResult {
  bool killed = false;   // a violation or a deadlock
  bool decided = false;  // false: the judge's budget ran out (UNKNOWN)
  double seconds = 0;
  std::uint64_t calls = 0;
  std::string how;       // the verdict line, or why nothing was found
  std::string bad_input; // a bad LOCKSTEP_*_PROB in the environment (exit 2)
};
RaceFaultResult stress_race_fault(const SutMutantArgs& m, const std::string& fault);
// Empty, or what is wrong with the LOCKSTEP_*_PROB the race runs would take from the environment.
std::string check_race_environment();
// `lockstep mutants --sut`: the kill table through the plug-in path; returns the exit code.
int mutants_sut(SutMutantArgs a);

}  // namespace lockstep::cli
