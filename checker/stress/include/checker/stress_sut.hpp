// `lockstep stress --sut LIB`: free-running stress on a plug-in SUT (checker/sut). The SUT runs in a
// child process (lockstep-sut-host); lockstep keeps a call in flight on every host thread and every
// kthread body of the child at once, stamps each request before it writes it and each reply when it
// reads it, and judges the recorded history with the same judge as in-process stress (STRESS.md,
// "A plug-in SUT"). The controlled scheduler does not apply; the host schedules the SUT's calls at its
// pthread calls instead (serial, mixed or free phases, with delays and spurious wake-ups:
// checker/sut/host/serial.hpp, noise.hpp), as SpawnOptions::env asks.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "checker/stress.hpp"
#include "checker/sut_process.hpp"

namespace lockstep::checker::stress {

struct SutStressOptions {
  sut::SpawnOptions spawn;              // host and library; env is passed on (LOCKSTEP_FAULT, ...)
  std::int64_t tick_ns = 10'000'000;    // the SUT's tick when it does not export lockstep_sut_tick_ns
  int maxproc = 64;                     // the SUT's (SPEC default); LOCKSTEP_MAXPROC in the child
  // The tick is lockstep's choice, not the user's: when rump_init takes half of it or more in five
  // children and the SUT runs at spawn.env's LOCKSTEP_TICK_US (it exports that tick), the run tries
  // a longer one (4x rump_init's time, at least twice the tick, at most 1 s) rather than give up.
  bool may_lengthen_tick = false;
};

// What the run learnt about the SUT, for the summary.
struct SutStressInfo {
  std::vector<std::string> exported;       // C names the SUT exports
  std::vector<std::string> generated;      // op kinds the run drew
  std::vector<std::string> not_generated;  // op kinds it could not, each with why
  std::int64_t tick_ns = 0;
  std::int64_t requested_tick_ns = 0;      // not 0: the tick first asked for, lengthened to tick_ns (may_lengthen_tick)
  std::int64_t clock_slack_ns = 0;         // how long rump_init took: the uncertainty of the clock's phase
  int max_timo = 0;                        // timed suspends and wait_exits draw their timeout from 1..max_timo ticks
  double spawn_seconds = 0;
  std::string output;                      // what the SUT wrote to stdout / stderr
};

// Throws std::invalid_argument on a config out of range, std::runtime_error when the SUT cannot be
// started, lacks a required name, or its rump_init takes half a tick or more (the clock's phase
// could not be placed; a longer tick helps) after any lengthening may_lengthen_tick allows.
StressRecording record_sut_stress(const StressConfig& c, const SutStressOptions& s, SutStressInfo& info, const Progress& progress = {});

}  // namespace lockstep::checker::stress
