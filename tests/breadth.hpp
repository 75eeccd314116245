// How many random cases a breadth test draws. Tests whose worth is in how many histories, programs
// or seeds they judge (every linearisation of 400 histories, 300 programs' states) take 30-95 s each
// under ASan, a third of the sanitizer preset's time. Under a sanitizer they draw a third of their
// cases: the sanitizer looks for memory, UB and race errors in the code those cases run, which a
// third of them already runs through; the optimised build draws them all, so no case leaves CI.
// The thresholds a test asserts on what its cases reached are measured on the third it draws.
#pragma once

#include <cstddef>
#include <cstdint>

#ifndef LOCKSTEP_TEST_SANITIZED
#error "tests/CMakeLists.txt defines LOCKSTEP_TEST_SANITIZED (1 under a sanitizer preset, else 0)"
#endif

namespace lockstep::test {

inline constexpr bool kSanitized = LOCKSTEP_TEST_SANITIZED != 0;

// Under a sanitizer a breadth test takes every third seed (1, 4, 7, ...), spread over the whole
// range its generator's parameters cycle through, as the full run's seeds are.
inline constexpr std::uint64_t kSeedStride = kSanitized ? 3 : 1;

// n cases in an optimised build, a third of them (rounded up) under a sanitizer: for a test that
// counts the cases it keeps.
constexpr std::size_t breadth(std::size_t n) { return kSanitized ? (n + 2) / 3 : n; }

// What a test asserts its cases reached: `full` over all of them, `sanitized` (measured on the
// seeds a sanitizer build takes, with the same margin) over a third.
constexpr std::size_t reached(std::size_t full, std::size_t sanitized) { return kSanitized ? sanitized : full; }

}  // namespace lockstep::test
