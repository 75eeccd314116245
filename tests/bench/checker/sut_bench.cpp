// The plug-in path's cost (checker/sut): the same impl checked in-process (lockstep run, strategy op:
// one operation at a time, under the controlled scheduler) and through the plug-in path
// (liblockstep_rump.so in a child process, with and without probes), on the same programs in one run;
// and what one program pays to start its child (posix_spawn, exec, dlopen, Hello).
//   sut_bench [--programs N] [--steps N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "checker/lockstep.hpp"
#include "checker/model_run.hpp"
#include "checker/sut_lockstep.hpp"

using namespace lockstep::checker;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::vector<Program> programs(std::size_t n, std::uint32_t steps, const ProgramConfig&) {
  std::vector<Program> v;
  for (std::size_t i = 0; i < n; ++i) {
    SplitMix src(program_seed(42, i));
    v.push_back(random_program(src, steps, kChoicesPerStep));
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 100;
  std::uint32_t steps = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--programs") == 0) n = std::strtoul(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--steps") == 0) steps = static_cast<std::uint32_t>(std::strtoul(argv[i + 1], nullptr, 10));
  }
  setenv("LOCKSTEP_TICK_US", "1000", 1);

  sut::SutRunConfig sc;
  sc.spawn.host = LOCKSTEP_SUT_HOST;
  sc.spawn.library = LOCKSTEP_RUMP_SUT;
  sc.spawn.env = {{"LOCKSTEP_MAXPROC", "12"}, {"LOCKSTEP_PID_MAX", "12"}};
  std::string error;
  const auto names = sut::probe_names(sc.spawn, error);
  if (!names) {
    std::fprintf(stderr, "sut_bench: %s\n", error.c_str());
    return 2;
  }
  sut::restrict_to(sc.program, *names);
  sc.program.maxproc = 12;
  sc.program.pid_max = 12;
  const std::vector<Program> ps = programs(n, steps, sc.program);

  // Starting a child: spawn + exec + dlopen + Hello, alone.
  double spawn = 0;
  for (int i = 0; i < 50; ++i) spawn += sut::probe_names(sc.spawn, error)->spawn_seconds;
  std::printf("child start (posix_spawn, exec, dlopen, Hello): %.2f ms mean over 50\n", spawn / 50 * 1000);

  // In-process: the same programs, same chooser restriction, on the controlled backend, one op at a time.
  LockstepConfig lc;
  lc.program = sc.program;
  auto t0 = Clock::now();
  std::uint64_t in_steps = 0;
  for (const Program& p : ps) in_steps += run_lockstep(p, lc).events.size();
  const double in_s = seconds_since(t0);
  std::printf("in-process (strategy op):       %6zu programs  %8.1f programs/s  %9.0f steps/s\n", n, n / in_s, in_steps / in_s);

  for (bool probe : {false, true}) {
    sc.probe = probe;
    t0 = Clock::now();
    std::uint64_t calls = 0, prog_steps = 0, agreed = 0;
    double start = 0, window = 0, ticks = 0;
    for (const Program& p : ps) {
      const sut::SutRunResult r = sut::run_sut_program(p, sc);
      calls += r.calls;
      prog_steps += r.program_steps;
      start += r.spawn_seconds;
      window += r.block_window_seconds;
      ticks += r.tick_wait_seconds;
      agreed += r.agreed();
    }
    const double s = seconds_since(t0);
    std::printf("plug-in%-24s %6zu programs  %8.1f programs/s  %9.0f steps/s  %8.0f calls/s  ratio to in-process %.2f  "
                "time: child start %.0f%%, block windows %.0f%%, tick waits %.0f%%  (%llu of %zu agreed)\n",
                probe ? " (probes on):" : " (probes off):", n, n / s, prog_steps / s, calls / s, (n / s) / (n / in_s),
                100 * start / s, 100 * window / s, 100 * ticks / s, static_cast<unsigned long long>(agreed), n);
  }
  return 0;
}
