// steady_clock's time as the kernel's coarse monotonic clock keeps it: the same clock
// (CLOCK_MONOTONIC), read without the TSC, so it lags by at most one timer tick (1-4 ms). For the
// deadlines a scheduling turn is given (a run's time budget, a watchdog of a second or more), where
// a few ms do not matter and one exact read per turn was about 3% of a lockstep run.
#pragma once
#include <chrono>
#include <ctime>

namespace lockstep::impl {

inline std::chrono::steady_clock::time_point coarse_steady_now() {
#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
  timespec ts{};
  if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
    return std::chrono::steady_clock::time_point(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
#endif
  return std::chrono::steady_clock::now();
}

}  // namespace lockstep::impl
