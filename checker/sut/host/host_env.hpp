// The host's settings from its environment (noise.hpp, serial.hpp), read once in main before any
// thread starts. Each reader leaves `out` as it was when the variable is unset or empty, and on a bad
// value returns false with `error` naming the variable, its value and what was expected.
#pragma once

#include <cstdint>

namespace lockstep::checker::sut {

// A probability in [0, 1) or, with `one_allowed`, [0, 1].
bool probability_env(const char* name, double& out, bool one_allowed, char* error, unsigned long error_len);
// A count of microseconds in 1..1000000.
bool microseconds_env(const char* name, long& out, char* error, unsigned long error_len);
// `p` as a fraction of 2^64, for comparing with a 64-bit random number (0: never, 1: always).
std::uint64_t threshold(double p);

}  // namespace lockstep::checker::sut
