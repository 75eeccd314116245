// Lockstep throughput against its floor. The floor, measured in the same run, is a
// round trip of control between two OS threads through std::mutex +
// std::condition_variable, the primitive the controlled scheduler hands control
// with: a lockstep step needs at least one such round trip (checker -> actor ->
// checker). Reported: steps/s of whole lockstep runs (fresh kernel per program,
// model, comparisons included) and their ratio to the floor's round trips/s.
// Both for one operation at a time (`op`) and with interleaving inside operations (`portfolio`):
// there every sync point is a handoff, so a step costs several round trips, not one. Each with the
// controlled backend's threads as fibers (the default) and as OS threads (the floor's primitive).
// Also the cost of one scheduling decision alone: run() of a thread to its next yield point; and a
// whole campaign as `lockstep run` runs it by default, on one worker and on one per hardware thread.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "checker/campaign.hpp"
#include "checker/lockstep.hpp"
#include "checker/program.hpp"
#include "checker/strategy.hpp"
#include "impl/controlled.hpp"

using namespace lockstep::checker;
using Clock = std::chrono::steady_clock;

namespace {

double round_trips_per_second(int n) {
  std::mutex m;
  std::condition_variable cv;
  int turn = 0;  // 0: the control thread's turn, 1: the actor's
  std::thread actor([&] {
    std::unique_lock lk(m);
    for (int i = 0; i < n; ++i) {
      cv.wait(lk, [&] { return turn == 1; });
      turn = 0;
      cv.notify_all();
    }
  });
  const auto t0 = Clock::now();
  {
    std::unique_lock lk(m);
    for (int i = 0; i < n; ++i) {
      turn = 1;
      cv.notify_all();
      cv.wait(lk, [&] { return turn == 0; });
    }
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  actor.join();
  return n / s;
}

// ns per scheduling decision: two threads yield n times each, the control alternates run() between them.
double ns_per_decision(bool fibers, int n) {
  using CB = lockstep::impl::sync::ControlledBackend;
  CB::Options o;
  o.preempt = CB::Preempt::every_sync_point;
  o.fibers = fibers;
  CB b(o);
  auto body = [&b, n] {
    for (int i = 0; i < n; ++i) b.yield_point("bench");
  };
  auto t1 = b.spawn("a", body);
  auto t2 = b.spawn("b", body);
  std::uint64_t decisions = 0;
  const auto t0 = Clock::now();
  for (bool any = true; any;) {
    any = false;
    for (CB::ThreadId id : {1u, 2u})
      if (b.thread(id)->state == CB::State::runnable) {
        b.run(id);
        ++decisions;
        any = true;
      }
  }
  const double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  t1->join();
  t2->join();
  return ns / static_cast<double>(decisions);
}

struct Rate {
  double steps_per_s = 0, programs_per_s = 0;
  double decisions_per_step = 0;  // scheduling decisions (trace turns) per step
};

Rate lockstep_rate(std::size_t programs, std::size_t steps, const Strategy& strategy, bool fibers, std::uint64_t* total_steps) {
  SplitMix src(7);
  LockstepConfig c;
  c.schedule.strategy = strategy;
  c.fibers = fibers;
  c.program.chooser.misuse_percent = 0;  // a FATAL would end a program early
  std::vector<Program> progs;
  for (std::size_t i = 0; i < programs; ++i) progs.push_back(random_program(src, steps));
  std::uint64_t n = 0, turns = 0;
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < progs.size(); ++i) {
    const Program& p = progs[i];
    c.schedule.seed = i + 1;  // a schedule per program, as a campaign gives
    c.schedule.program_index = i;
    const LockstepResult r = run_lockstep(p, c);
    if (r.verdict != Verdict::Agree) {
      std::fprintf(stderr, "lockstep_bench: the correct impl diverged: %s\n", r.summary().c_str());
      std::exit(1);
    }
    n += r.events.size();
    for (const TraceEvent& e : r.events) turns += e.turns.size();
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  *total_steps = n;
  return Rate{static_cast<double>(n) / s, static_cast<double>(progs.size()) / s, static_cast<double>(turns) / static_cast<double>(n)};
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t programs = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200;
  // `lockstep_bench N quick`: only the floor and the interleaving-on fiber line (for profiling and
  // for comparing two builds quickly); the full bench prints every line.
  const bool quick = argc > 2 && std::string(argv[2]) == "quick";
  // Best of three everywhere: the figures are rates, and interference only lowers them.
  double floor = 0;
  for (int i = 0; i < 3; ++i) floor = std::max(floor, round_trips_per_second(100000));
  double fiber_ns = 1e18, os_ns = 1e18;
  for (int i = 0; i < 3; ++i) {
    fiber_ns = std::min(fiber_ns, ns_per_decision(true, 200000));
    os_ns = std::min(os_ns, ns_per_decision(false, 20000));
  }
  std::printf("lockstep_bench\n");
  std::printf("  floor: mutex+condvar round trip between two OS threads        %10.0f round trips/s\n", floor);
  std::printf("  one scheduling decision: fibers %.0f ns, OS threads %.0f ns (%.0fx)   goal < 1000 ns: %s\n", fiber_ns, os_ns,
              os_ns / fiber_ns, fiber_ns < 1000 ? "met" : "NOT MET");
  // interleaving off (op): one operation at a time, control handed over at operation boundaries and
  // blocking points; interleaving on (portfolio, the default of `lockstep run`): preemption at every
  // sync point and rounds of overlapping operations, each judged over every order of its model steps.
  double decisions_per_step[2] = {0, 0};
  for (const char* name : {"op", "portfolio"}) {
    if (quick && std::string(name) == "op") continue;
    const Strategy strategy = *parse_strategy(name);
    const char* mode = std::string(name) == "op" ? "interleaving off" : "interleaving on";
    for (bool fibers : {false, true}) {
      if (quick && !fibers) continue;
      std::uint64_t n = 0;
      Rate best;
      for (int i = 0; i < 3; ++i) {
        const Rate r = lockstep_rate(programs, 100, strategy, fibers, &n);
        if (r.steps_per_s > best.steps_per_s) best = r;
      }
      std::printf("  %-16s (%s), %-10s %6llu steps  %10.0f steps/s  %8.1f schedules/s  ratio to floor %.3f  %.1f decisions/step\n", mode,
                  name, fibers ? "fibers" : "OS threads", static_cast<unsigned long long>(n), best.steps_per_s, best.programs_per_s,
                  best.steps_per_s / floor, best.decisions_per_step);
      if (fibers) decisions_per_step[std::string(name) == "op" ? 0 : 1] = best.decisions_per_step;
    }
  }
  // What the scheduling decisions alone allow: a step makes decisions_per_step of them at fiber_ns
  // each, so no checker work at all would reach more than this many steps/s.
  if (quick) return 0;
  const double ceiling = 1e9 / (decisions_per_step[1] * fiber_ns);
  std::printf("  interleaving on, decisions alone: %.1f decisions/step x %.0f ns = at most %.0f steps/s, ratio to floor %.2f\n",
              decisions_per_step[1], fiber_ns, ceiling, ceiling / floor);
  // What `lockstep run` does by default: a campaign (RapidCheck's programs, a schedule per program,
  // portfolio, fibers), on one worker and on one per hardware thread (CampaignConfig::jobs). The
  // floor is one OS thread's figure, so this line is not read as a ratio to it.
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned jobs : {1u, cores}) {
    CampaignConfig c;
    c.seed = 1;
    c.programs = programs * 10;
    c.lockstep.schedule.strategy = *parse_strategy("portfolio");
    c.time_budget = std::chrono::hours(1);
    c.jobs = jobs;
    double best = 0, best_programs = 0;
    std::uint64_t steps = 0;
    for (int i = 0; i < 3; ++i) {
      const CampaignReport r = run_campaign(c);
      if (!r.agreed()) {
        std::fprintf(stderr, "lockstep_bench: the correct impl diverged in a campaign\n");
        return 1;
      }
      steps = r.steps;
      if (static_cast<double>(r.steps) / r.seconds > best) best = static_cast<double>(r.steps) / r.seconds, best_programs = static_cast<double>(r.programs) / r.seconds;
    }
    std::printf("  campaign as lockstep run's default (portfolio, fibers), %u job%s: %llu steps  %10.0f steps/s  %8.1f programs/s\n", jobs,
                jobs == 1 ? "" : "s", static_cast<unsigned long long>(steps), best, best_programs);
    if (cores == 1) break;
  }
  return 0;
}
