// `lockstep mutants --sut`: the race faults. Such a fault shows only while two calls are in flight at
// once, which the call-by-call plug-in run never has; `stress --sut` has them (one call in flight on
// every host and kthread body of the SUT's child), so each race fault gets one free-running stress
// run of the fault's time budget, judged like `lockstep stress`, with the host's mixed schedule
// (serial and free phases), delays and spurious wake-ups in the SUT's pthread calls as for any plug-in. Whether a run's real threads hit
// the window is chance, so a race fault stress misses is reported as not found, with the run's
// figures, and does not fail the table; named with --fault it runs call by call like any other.
#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>

#include "checker/stress_sut.hpp"
#include "checker/stress_verdict.hpp"
#include "checker/sut_process.hpp"
#include "sut_options.hpp"

namespace lockstep::cli {

using namespace lockstep::checker;

namespace {

double probability_from_env(const char* name, double otherwise) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return otherwise;
  char* end = nullptr;
  const double p = std::strtod(v, &end);
  if (end == v || *end != '\0' || !(p >= 0 && p < 1)) throw std::invalid_argument(fmt::format("{}={}: expected a probability in [0, 1)", name, v));
  return p;
}

}  // namespace

std::string check_race_environment() {
  try {
    probability_from_env("LOCKSTEP_DELAY_PROB", 0);
    probability_from_env("LOCKSTEP_SPURIOUS_PROB", 0);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return {};
}

RaceFaultResult stress_race_fault(const SutMutantArgs& m, const std::string& fault) {
  stress::StressConfig c;
  c.threads = std::max(2, m.run.threads);
  c.kthreads = 2;
  c.duration = m.race_seconds;
  c.ops = 0;
  c.seed = m.run.seed;
  c.tick = std::chrono::milliseconds(20);  // a clock phase placeable from outside (STRESS.md, "A plug-in SUT")
  c.delay_probability = m.stress_delay_probability;
  RaceFaultResult out;
  // The caller's LOCKSTEP_DELAY_PROB / LOCKSTEP_SPURIOUS_PROB, when set, tune the runs' noise (the
  // host puts it into the SUT's pthread calls, checker/sut/host/noise.hpp); else stress's defaults.
  try {
    c.delay_probability = probability_from_env("LOCKSTEP_DELAY_PROB", c.delay_probability);
    c.spurious_probability = probability_from_env("LOCKSTEP_SPURIOUS_PROB", c.spurious_probability);
  } catch (const std::invalid_argument& e) {
    out.bad_input = e.what();
    return out;
  }
  stress::SutStressOptions s;
  s.spawn.host = sut::default_host_path();
  s.spawn.library = m.run.sut.library;
  s.tick_ns = c.tick.count();
  s.spawn.env = {{"LOCKSTEP_FAULT", fault}, {"LOCKSTEP_TICK_US", "20000"}};
  for (auto& v : sut::noise_environment(c.delay_probability, c.spurious_probability, c.max_delay, c.seed)) s.spawn.env.push_back(std::move(v));
  // Serial and free phases, as `stress --sut` runs by default (checker/sut/host/serial.hpp).
  for (auto& v : sut::schedule_environment("mixed")) s.spawn.env.push_back(std::move(v));
  stress::SutStressInfo info;
  try {
    const stress::StressRecording rec = stress::record_sut_stress(c, s, info);
    stress::VerdictOptions v;
    v.budget.max_seconds = m.stress_judge_seconds;
    v.shrink = false;
    const stress::StressVerdict verdict = stress::judge_stress(rec, v);
    out.seconds = rec.stats.seconds;
    out.calls = rec.stats.host_ops + rec.stats.kthread_ops;
    out.killed = verdict.kind == stress::StressVerdictKind::Violation || verdict.kind == stress::StressVerdictKind::Deadlock;
    out.decided = verdict.kind != stress::StressVerdictKind::Unknown;
    out.how = out.killed ? fmt::format("stress --sut: {}", verdict.line)
              : out.decided ? fmt::format("stress --sut: agree after {} calls in {:.0f} s (the window was not hit)", out.calls, out.seconds)
                            : fmt::format("stress --sut: UNKNOWN after {} calls (the judge's {:.0f} s ran out)", out.calls, v.budget.max_seconds);
  } catch (const std::exception& e) {
    out.how = fmt::format("stress --sut could not run: {}", e.what());
  }
  return out;
}

}  // namespace lockstep::cli
