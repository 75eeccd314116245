// Free-running stress (issue #14): the impl on real OS threads and the real clock, with delays
// injected at its sync points; every call recorded with monotonic timestamps; the recorded history
// judged against the model by checker/lin (SPEC §8). The pipeline, in one pass:
//
//   StressConfig --record_stress--> StressRecording (a lin::History + timings)
//                --lin::judge-----> Judgement (agree / violation / unknown)
//                --shrink_witness-> a small sub-history no order explains (on a violation)
//                --stress_trace---> the judged order as a trace; --history_svg--> an SVG
//
// checker/stress/STRESS.md has the design: what the recorder writes, how ticks enter the history,
// how the run ends at a quiescent point, and which partitions of a history are sound.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "checker/lin_history.hpp"
#include "impl/faults.hpp"

namespace lockstep::checker::stress {

struct StressConfig {
  int threads = 4;                 // host threads H0..H{threads-1} (the CLI defaults to 2 x cores)
  int kthreads = 2;                // kthreads started at the beginning, bodies looping on suspend_check + work
  int max_kthreads = 6;            // kthread_create / kproc_start are tried only while fewer are alive
  double duration = 5.0;           // seconds of free running (the run also ends at `ops`)
  std::uint64_t ops = 100'000;     // host and kthread calls recorded, at most; 0: no limit
  std::uint64_t seed = 1;
  double delay_probability = 0.05; // delay injection at sync points (impl/delay_backend.hpp); 0: off
  std::chrono::microseconds max_delay{200};
  double spurious_probability = 0.02;  // a condition wait returns spuriously (allowed; non-looping waits fail)
  // The share of a host's draws that lean on the process the hosts share (host_chooser.hpp, "The
  // focus"), in percent; 0: every host draws from its own view only.
  int focus_percent = 50;
  std::chrono::nanoseconds tick = std::chrono::milliseconds(1);
  // Every `barrier` the threads pause at a gate until only untimed waits are in flight, and the
  // impl's §7 state is observed (0: only at the end). Each observation pins what no answer shows
  // (which lid, which uid, which flag) and lets the judge commit to the order before it.
  std::chrono::milliseconds barrier{10};
  impl::FaultSet faults;
  bool record = true;              // false: the same run without recording (the overhead baseline)
  // How long the end of the run waits for each thread to return or to block in a kernel wait, and
  // for the teardown; a thread still running after it is reported (the impl hangs), never waited for.
  std::chrono::milliseconds grace{3000};
};

struct StressStats {
  std::uint64_t host_ops = 0;      // host calls made (reaper included)
  std::uint64_t focused = 0;       // host calls drawn leaning on the shared focus (host_chooser.hpp)
  std::uint64_t kthread_ops = 0;   // kthread body calls made (suspend_check, work, exit)
  std::uint64_t ticks = 0;         // clock ticks in the history
  double seconds = 0;              // of free running
  std::uint64_t sync_points = 0;   // sync points passed, and how many of them were delayed
  std::uint64_t delays = 0;
  std::uint64_t spurious_wakeups = 0;
  int kthreads_created = 0;
  std::uint64_t barriers = 0;          // barriers observed
  std::uint64_t barriers_skipped = 0;  // barriers that did not settle in time (no observation)
};

struct StressRecording {
  lin::History history;            // empty ops when !config.record
  // Per op of `history`: its invocation and response in ns since the run began (-1: no response),
  // for drawings; ticks have both at the tick's instant.
  std::vector<std::int64_t> call_ns, ret_ns;
  // Per op: for a call that waited, when its request had taken effect (it went to sleep in the
  // critical section that made it); -1 otherwise. The trace orders later calls after it.
  std::vector<std::int64_t> request_ns;
  StressStats stats;
  int hosts = 0;
  int maxproc = 0;
  model::Pid pid_max = 0;
  // A thread that at the end neither returned nor waited in a kernel wait within the grace period:
  // the impl hangs (a deadlock or a livelock). Its call stays in flight in the history.
  std::vector<std::string> stuck;
  std::optional<std::string> panic;  // the impl panicked (a FATAL the run did not ask for)
  bool observed = false;             // the history ends with the impl's §7 observation
  bool abandoned = false;            // teardown did not finish within the grace: the kernel was leaked
  bool plugin = false;               // recorded from outside a plug-in SUT (stress_sut.hpp): no sync points seen
  bool introspected = false;         // the plug-in SUT's §7 state was read at barriers (lockstep_sut_state)
};

// Called about every 100 ms while the run is free: seconds so far, calls so far.
using Progress = std::function<void(double seconds, std::uint64_t calls)>;

// Throws std::invalid_argument on a config out of range (threads < 1, duration <= 0, probability
// outside [0, 1], ...), with one line saying which.
StressRecording record_stress(const StressConfig& c, const Progress& progress = {});

// Why `c` cannot run, or nullopt.
std::optional<std::string> check_config(const StressConfig& c);

}  // namespace lockstep::checker::stress
