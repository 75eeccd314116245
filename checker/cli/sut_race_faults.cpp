// One `stress --sut` run of a plug-in, judged like `lockstep stress`: the concurrent phase of
// `run --sut` and `mutants --sut`'s race faults. Such a race shows only while two calls are in flight
// at once, which the call-by-call plug-in run never has; `stress --sut` has them (one call in flight
// on every host and kthread body of the SUT's child), with the host's mixed schedule (serial and free
// phases), delays and spurious wake-ups in the SUT's pthread calls. Whether a run's real threads hit
// a window is chance: `mutants --sut` reports a race fault stress misses as not found, with the run's
// figures, and does not fail the table; named with --fault it runs call by call like any other.
#include <algorithm>
#include <chrono>
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

RacePhase run_race_phase(const SutRunArgs& a, const RacePhaseOptions& o) {
  RacePhase out;
  stress::StressConfig& c = out.config;
  c.threads = std::max(2, a.threads);
  c.kthreads = 2;
  c.duration = o.seconds;
  c.ops = 0;
  c.seed = a.seed;
  c.tick = std::chrono::microseconds(o.tick_us);
  c.delay_probability = o.delay_probability;
  // The caller's LOCKSTEP_DELAY_PROB / LOCKSTEP_SPURIOUS_PROB, when set, tune the runs' noise (the
  // host puts it into the SUT's pthread calls, checker/sut/host/noise.hpp); else stress's defaults.
  try {
    c.delay_probability = probability_from_env("LOCKSTEP_DELAY_PROB", c.delay_probability);
    c.spurious_probability = probability_from_env("LOCKSTEP_SPURIOUS_PROB", c.spurious_probability);
  } catch (const std::invalid_argument& e) {
    out.bad_input = e.what();
    return out;
  }
  auto options = [&](std::uint64_t seed) {
    stress::SutStressOptions s;
    s.spawn.host = sut::default_host_path();
    s.spawn.library = a.sut.library;
    s.tick_ns = c.tick.count();
    s.spawn.env = {{"LOCKSTEP_TICK_US", std::to_string(o.tick_us)}};
    // A SUT that runs at the tick it is given (it exports it) gets a longer one when its rump_init is
    // too slow for this (a sanitizer build on a loaded machine): its calls are checked either way.
    s.may_lengthen_tick = true;
    if (!o.fault.empty()) s.spawn.env.emplace_back("LOCKSTEP_FAULT", o.fault);
    for (auto& v : sut::noise_environment(c.delay_probability, c.spurious_probability, c.max_delay, seed)) s.spawn.env.push_back(std::move(v));
    // Serial and free phases, as `stress --sut` runs by default (checker/sut/host/serial.hpp).
    for (auto& v : sut::schedule_environment("mixed")) s.spawn.env.push_back(std::move(v));
    return s;
  };
  // One run, or episodes: each a fresh child (an instance of its own, so a history of its own) with
  // the next seed, judged within what is left of the judge's budget. The first violation or deadlock
  // ends the phase; an UNKNOWN episode is kept as the verdict unless a later one is found violating.
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  double judge_left = o.judge_seconds;
  bool kept = false;
  out.episodes = 0;
  for (std::uint64_t e = 0;; ++e) {
    const double left = o.seconds - std::chrono::duration<double>(Clock::now() - start).count();
    if (e > 0 && (o.episode_ops == 0 || left < 0.5 || judge_left < 0.5)) break;
    stress::StressConfig ce = c;
    ce.seed = c.seed + e;
    if (o.episode_ops != 0) {
      ce.ops = o.episode_ops;
      ce.duration = std::max(left, 0.5);
    }
    stress::SutStressInfo info;
    stress::StressRecording rec;
    const double offset = o.seconds - left;
    const std::uint64_t calls_before = out.episode_calls;
    const stress::Progress progress = o.progress ? stress::Progress([&](double secs, std::uint64_t calls) { o.progress(offset + secs, calls_before + calls); })
                                                 : stress::Progress();
    try {
      rec = stress::record_sut_stress(ce, options(ce.seed), info, progress);
    } catch (const std::exception& ex) {
      if (e == 0) {
        out.could_not_run = ex.what();
        return out;
      }
      break;  // a later child that cannot be stressed: what ran stands
    }
    stress::VerdictOptions v;
    v.budget.max_seconds = judge_left;
    v.shrink = o.shrink;
    v.shrink_seconds = o.shrink_seconds;
    const auto j0 = Clock::now();
    stress::StressVerdict verdict = stress::judge_stress(rec, v);
    judge_left -= std::chrono::duration<double>(Clock::now() - j0).count();
    ++out.episodes;
    out.episode_calls += rec.stats.host_ops + rec.stats.kthread_ops;
    const bool unknown = verdict.kind == stress::StressVerdictKind::Unknown;
    if (unknown) ++out.episodes_unknown;
    const bool found = verdict.kind == stress::StressVerdictKind::Violation || verdict.kind == stress::StressVerdictKind::Deadlock;
    if (found || !kept) {
      out.config = ce;
      out.info = std::move(info);
      out.rec = std::move(rec);
      out.verdict = std::move(verdict);
      kept = unknown;  // an unknown episode stays the verdict unless a violation follows
    }
    if (found) break;
  }
  return out;
}

RaceFaultResult stress_race_fault(const SutMutantArgs& m, const std::string& fault) {
  RacePhaseOptions o;
  o.seconds = m.race_seconds;
  o.tick_us = 20000;  // the built-in library's clock phase placeable from outside (STRESS.md, "A plug-in SUT")
  o.fault = fault;
  o.delay_probability = m.stress_delay_probability;
  o.judge_seconds = m.stress_judge_seconds;
  const RacePhase p = run_race_phase(m.run, o);
  RaceFaultResult out;
  out.bad_input = p.bad_input;
  if (!p.ran()) {
    if (p.bad_input.empty()) out.how = fmt::format("stress --sut could not run: {}", p.could_not_run);
    return out;
  }
  out.seconds = p.rec.stats.seconds;
  out.calls = p.rec.stats.host_ops + p.rec.stats.kthread_ops;
  out.killed = p.found();
  out.decided = p.verdict.kind != stress::StressVerdictKind::Unknown;
  out.how = out.killed ? fmt::format("stress --sut: {}", p.verdict.line)
            : out.decided ? fmt::format("stress --sut: agree after {} calls in {:.0f} s (the window was not hit)", out.calls, out.seconds)
                          : fmt::format("stress --sut: UNKNOWN after {} calls (the judge's {:.0f} s ran out)", out.calls, o.judge_seconds);
  return out;
}

}  // namespace lockstep::cli
