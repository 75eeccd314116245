// Noise in a foreign SUT's synchronisation, the way the built-in implementation's delay decorator
// (impl/delay_backend.hpp) widens race windows in process, but for any SUT that synchronises with
// pthread mutexes and condition variables (std::mutex and std::condition_variable call them).
//
// lockstep-sut-host defines pthread_mutex_lock / _unlock, pthread_cond_signal / _broadcast and
// pthread_cond_wait / _timedwait / _clockwait (noise.cpp); the dynamic linker binds the SUT's calls to the
// executable's definitions ahead of libc's. With probability `delay` at each of them (before a lock,
// after an unlock, before a signal) the calling thread yields or sleeps 1..max_delay_us µs: a thread
// that stays longer between two critical sections lets other calls run whole inside the gap, where a
// lifecycle's races live. With probability `spurious` a condition wait returns at once, its mutex
// dropped and taken again: POSIX allows it, and a SUT that does not loop on its predicate is caught.
//
// Only threads running a SUT call (and threads the SUT made itself) are noisy; the host's own
// bookkeeping (reading requests, waiting in an inbox, writing replies) is not.
#pragma once

#include <cstdint>

namespace lockstep::checker::sut {

struct NoiseConfig {
  double delay = 0;      // per sync point, in [0, 1)
  double spurious = 0;   // per condition wait, in [0, 1)
  int max_delay_us = 200;
  std::uint64_t seed = 1;
};

// Read from LOCKSTEP_SUT_DELAY_PROB, LOCKSTEP_SUT_SPURIOUS_PROB, LOCKSTEP_SUT_MAX_DELAY_US and
// LOCKSTEP_DELAY_SEED; call once, before any thread starts. Returns false with `error` set when a
// value is out of range.
bool configure_noise_from_env(char* error, unsigned long error_len);

// Whether the calling thread is the host's own (quiet) or running SUT code (noisy, the default).
void set_quiet(bool quiet);

}  // namespace lockstep::checker::sut
