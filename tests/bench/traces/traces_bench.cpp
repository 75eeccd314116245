// Trace throughput on one long program (default 10^6 steps): the original lockstep run (the
// baseline, measured in this run), writing its trace, reading it back (parse + validation),
// and replaying it (read + lockstep run of its ops + event-by-event comparison).
//
// The default program is a steady-state cycle (fork, files, last-lwp release, suspend, park,
// resume, work, tick, switch) whose observed state stays bounded, so every step costs the same
// and 10^6 steps take minutes. A random program (`--random`) keeps creating objects that SPEC §7
// compares after every step (released lwps of processes 0 and 1 stay listed, fds and console
// lines accumulate), so its per-step cost grows with its length on both sides alike.
// Usage: traces_bench [STEPS] [--random]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "checker/run_trace.hpp"
#include "checker/program.hpp"
#include "checker/random_source.hpp"
#include "checker/trace_check.hpp"
#include "checker/trace_io.hpp"

using namespace lockstep::checker;
using Clock = std::chrono::steady_clock;

namespace {
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
}  // namespace

namespace {
using namespace lockstep::model;

// One cycle of 14 ops that leaves the observed state as it found it.
std::vector<Op> steady_program(std::size_t steps) {
  const ProcId k = 2;  // the kthread created first
  std::vector<Op> ops = {Op{Actor::host(1), op::KthreadCreate{0, "worker"}}};
  LwpId next_lwp = 2;  // lwp#1 is the kthread's own
  while (ops.size() < steps) {
    const LwpId l = next_lwp++;
    const std::vector<Op> cycle = {
        Op{Actor::host(0), op::Rfork{kRumpRffdg}},     Op{Actor::host(0), op::Open{"/log", true}},
        Op{Actor::host(0), op::Write{3, 64}},          Op{Actor::host(0), op::Fstat{3}},
        Op{Actor::host(0), op::Close{3}},              Op{Actor::host(0), op::Switch{kNoLwp}},
        Op{Actor::host(2), op::Switch{l}},             Op{Actor::host(2), op::Release{}},
        Op{Actor::host(1), op::Suspend{k, 5}},         Op{Actor::kthread(k), op::SuspendCheck{k}},
        Op{Actor::host(1), op::Resume{k}},             Op{Actor::kthread(k), op::Work{}},
        Op{Actor::kthread(k), op::SuspendCheck{k}},    Op{Actor::clock(), op::Tick{1}}};
    for (const Op& o : cycle)
      if (ops.size() < steps) ops.push_back(o);
  }
  return ops;
}
}  // namespace

int main(int argc, char** argv) {
  const std::size_t steps = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const bool random = argc > 2 && std::string(argv[2]) == "--random";
  LockstepConfig c;
  c.program.chooser.misuse_percent = 0;  // a FATAL would end the program early
  c.invariants = false;                  // the replay does not evaluate them either: same work on both sides
  SplitMix src(11);

  auto t0 = Clock::now();
  const LockstepResult r = random ? run_lockstep(random_program(src, steps), c) : run_lockstep(steady_program(steps), c);
  const double run_s = since(t0);
  if (r.verdict != Verdict::Agree) {
    std::fprintf(stderr, "traces_bench: the correct impl diverged: %s\n", r.summary().c_str());
    return 1;
  }
  const std::size_t n = r.events.size();
  const std::string path = (std::filesystem::temp_directory_path() / ("traces_bench_" + std::to_string(::getpid()) + ".trace.jsonl")).string();

  t0 = Clock::now();
  const std::vector<TraceEvent>& events = r.events;
  const std::string err = write_trace(path, trace_header(r, c, 11, ""), events);
  const double write_s = since(t0);
  if (!err.empty()) {
    std::fprintf(stderr, "traces_bench: %s\n", err.c_str());
    return 1;
  }
  const auto bytes = std::filesystem::file_size(path);

  t0 = Clock::now();
  Trace t = read_trace(path);
  const double read_s = since(t0);

  t0 = Clock::now();
  Trace again = read_trace(path);
  const ReplayReport rep = replay_trace(again, {}, c.watchdog);
  const double replay_s = since(t0);
  std::filesystem::remove(path);
  if (!rep.reproduced()) {
    std::fprintf(stderr, "traces_bench: the replay did not reproduce: step %zu: %s\n", rep.mismatch->step, rep.mismatch->what.c_str());
    return 1;
  }

  std::printf("%s program: trace of %zu events, %.1f MB (%.0f bytes/event)\n", random ? "random" : "steady-state", n,
              bytes / 1e6, static_cast<double>(bytes) / n);
  std::printf("baseline: original lockstep run   %9.0f events/s  (%.2f s)\n", n / run_s, run_s);
  std::printf("write (events + JSON + fsync)      %9.0f events/s  (%.2f s)\n", n / write_s, write_s);
  std::printf("read (parse + validate)            %9.0f events/s  (%.2f s)\n", t.events.size() / read_s, read_s);
  std::printf("replay (read + run + compare)      %9.0f events/s  (%.2f s) = %.0f%% of the original run's speed (goal >= 50%%)\n",
              n / replay_s, replay_s, 100.0 * run_s / replay_s);
  return 0;
}
