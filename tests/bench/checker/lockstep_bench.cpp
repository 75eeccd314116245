// Lockstep throughput against its floor. The floor, measured in the same run, is a
// round trip of control between two OS threads through std::mutex +
// std::condition_variable, the primitive the controlled scheduler hands control
// with: a lockstep step needs at least one such round trip (checker -> actor ->
// checker). Reported: steps/s of whole lockstep runs (fresh kernel per program,
// model, comparisons included) and their ratio to the floor's round trips/s.
// Both for one operation at a time (`op`) and with interleaving inside operations (`portfolio`):
// there every sync point is a handoff, so a step costs several round trips, not one.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "checker/lockstep.hpp"
#include "checker/program.hpp"
#include "checker/strategy.hpp"

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

double lockstep_steps_per_second(std::size_t programs, std::size_t steps, const Strategy& strategy, std::uint64_t* total_steps) {
  SplitMix src(7);
  LockstepConfig c;
  c.schedule.strategy = strategy;
  c.program.chooser.misuse_percent = 0;  // a FATAL would end a program early
  std::vector<Program> progs;
  for (std::size_t i = 0; i < programs; ++i) progs.push_back(random_program(src, steps));
  std::uint64_t n = 0;
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
  }
  *total_steps = n;
  return static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t programs = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200;
  // Best of three for both sides: the figures are rates, and interference only lowers them.
  double floor = 0;
  for (int i = 0; i < 3; ++i) floor = std::max(floor, round_trips_per_second(100000));
  std::printf("lockstep_bench\n");
  std::printf("  floor: mutex+condvar round trip between two threads   %10.0f round trips/s\n", floor);
  // op: one operation at a time, control handed over at operation boundaries and blocking points;
  // portfolio (the default of `lockstep run`): preemption at every sync point and rounds of
  // overlapping operations, each judged over every order of its model steps.
  for (const char* name : {"op", "portfolio"}) {
    const Strategy strategy = *parse_strategy(name);
    for (std::size_t steps : {40, 200}) {
      std::uint64_t n = 0;
      double rate = 0;
      for (int i = 0; i < 3; ++i) rate = std::max(rate, lockstep_steps_per_second(programs, steps, strategy, &n));
      std::printf("  %-9s programs of <= %3zu steps (%6llu steps run)  %10.0f steps/s   ratio to floor %.3f  (goal >= 0.5)\n", name,
                  steps, static_cast<unsigned long long>(n), rate, rate / floor);
    }
  }
  return 0;
}
