#include "host_env.hpp"

#include <stdio.h>
#include <stdlib.h>

namespace lockstep::checker::sut {

bool probability_env(const char* name, double& out, bool one_allowed, char* error, unsigned long error_len) {
  const char* v = getenv(name);
  if (v == nullptr || *v == '\0') return true;
  char* end = nullptr;
  const double p = strtod(v, &end);
  if (end == v || *end != '\0' || !(p >= 0 && (one_allowed ? p <= 1 : p < 1))) {
    snprintf(error, error_len, "%s=%s: expected a probability in [0, 1%s", name, v, one_allowed ? "]" : ")");
    return false;
  }
  out = p;
  return true;
}

bool microseconds_env(const char* name, long& out, char* error, unsigned long error_len) {
  const char* v = getenv(name);
  if (v == nullptr || *v == '\0') return true;
  char* end = nullptr;
  const long us = strtol(v, &end, 10);
  if (end == v || *end != '\0' || us < 1 || us > 1'000'000) {
    snprintf(error, error_len, "%s=%s: expected 1..1000000", name, v);
    return false;
  }
  out = us;
  return true;
}

std::uint64_t threshold(double p) {
  if (p <= 0) return 0;
  if (p >= 1) return ~std::uint64_t{0};
  return static_cast<std::uint64_t>(p * 18446744073709551616.0);
}

}  // namespace lockstep::checker::sut
